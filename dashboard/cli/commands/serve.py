"""`dispatch serve`: the same dashboard in a browser (textual-serve), loopback only unless asked otherwise.

Each browser tab runs its own `dispatch ui` process with the server's options, as a terminal would.
Bound to anything but loopback, every page and its websocket need the token printed with the URL (it
is kept in a same-site cookie after the first page), so the dashboard — which can send prompts to
every agent — is never open to whoever can reach the port.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import secrets
import shlex
import signal
import socket
import sys
from typing import Any

from dashboard.cli.context import server_argv
from dashboard.cli.exits import EXIT_OK, UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
COOKIE = "dispatch_token"


async def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("dispatch serve needs textual-serve: pip install 'dispatch-console[serve]'") from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 0 to 65535")
    token = None if args.host in LOOPBACK else secrets.token_urlsafe(24)
    extra = ["--notify", args.notify] if args.notify else []
    command = shlex.join([sys.executable, "-m", "dashboard", *server_argv(args), "ui", *extra])

    class Served(Server):
        async def on_startup(self, app: web.Application) -> None:
            return None  # textual-serve's logo would go to our stdout: the URL line below says it all

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if token is None or request.path.startswith("/static/"):
            response: web.StreamResponse = await handler(request)
            return response
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPForbidden(text="dispatch serve: this page needs the token printed with its URL\n")
        response = await handler(request)
        if request.query.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response

    server = Served(command, host=args.host, port=args.port, title="Dispatch", public_url=args.public_url)
    app = await server._make_app()
    app.middlewares.append(guard)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    port = runner.addresses[0][1] if runner.addresses else args.port
    if args.public_url is None:  # the page tells the browser where its websocket is: the real port
        host = socket.getfqdn() if args.host in ("0.0.0.0", "::", "") else args.host
        host = f"[{host}]" if ":" in host else host
        server.public_url = f"http://{host}:{port}"
    url = f"{server.public_url}/" + (f"?token={token}" if token else "")
    print(f"dispatch: the dashboard is served at {url}  (Ctrl-C stops)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return EXIT_OK
