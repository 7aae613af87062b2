"""`dispatch serve`: the same dashboard in a browser (textual-serve), behind a token, loopback by default.

Each browser tab runs its own `dispatch ui` process with the server's options, as a terminal would. The
dashboard can send prompts to every agent, so nothing is served without the random token printed with
the URL — on loopback too (other users of the machine reach loopback). The token is part of the path
(`/TOKEN/`, `/TOKEN/ws`), never a cookie (a cookie would go to every other port of the host). A
request whose Host is not this server's, or a websocket opened from another origin, is refused (other
pages in the same browser, DNS rebinding). Static files (the terminal's script and fonts) need no token.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shlex
import signal
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from dashboard.cli.context import server_argv
from dashboard.cli.exits import EXIT_OK, UsageError

WILDCARD = ("0.0.0.0", "::", "")


async def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import aiohttp_jinja2
        import jinja2
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("dispatch serve needs textual-serve: pip install 'dispatch-console[serve]'") from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 0 to 65535")
    token = secrets.token_urlsafe(24)
    extra = ["--feed", args.feed, *(["--notify", args.notify] if args.notify else [])]
    command = shlex.join([sys.executable, "-m", "dashboard", *server_argv(args), "ui", *extra])
    server = Server(command, host=args.host, port=args.port, title="Dispatch", public_url=args.public_url)
    allowed: set[str] = set()  # host:port a browser may name (Host header, Origin)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.host not in allowed:
            raise web.HTTPMisdirectedRequest(text="dispatch serve: not this server's address\n")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc not in allowed:
            raise web.HTTPForbidden(text="dispatch serve: another site may not open the dashboard\n")
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[guard])
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(server.templates_path))
    app.add_routes([
        web.get(f"/{token}/", server.handle_index, name="index"),
        web.get(f"/{token}/ws", server.handle_websocket, name="websocket"),
        web.get(f"/{token}/download/{{key}}", server.handle_download, name="download"),
        web.static("/static", server.statics_path, name="static"),
    ])  # fmt: skip
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
        host = socket.getfqdn() if args.host in WILDCARD else args.host
        server.public_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    server.public_url = server.public_url.rstrip("/")
    allowed.add(urlsplit(server.public_url).netloc)
    if args.host not in WILDCARD:
        allowed.add(f"[{args.host}]:{port}" if ":" in args.host else f"{args.host}:{port}")
    if args.host in ("127.0.0.1", "localhost", "::1"):
        allowed.update({f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"})
    print(f"dispatch: the dashboard is served at {server.public_url}/{token}/  (Ctrl-C stops)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return EXIT_OK
