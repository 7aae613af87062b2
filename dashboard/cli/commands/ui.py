"""`ui` and `demo`: the dashboard (Textual is imported only here)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from dashboard.adapters.paths import Paths
from dashboard.cli.args import in_range
from dashboard.cli.context import host_from


async def cmd_ui(args: argparse.Namespace) -> int:
    in_range("--interval", args.interval, 0.05, 3600, " seconds")
    from dashboard.services.bundle import services_for
    from dashboard.ui.app import DispatchApp  # Textual only for the dashboard

    services = services_for(host_from(args), Paths.from_env().db)
    if args.notify:
        from dashboard.adapters.notify import CommandNotifier

        services.notify = CommandNotifier(args.notify)
    app = DispatchApp(services, refresh_interval=args.interval, feed=args.feed)
    code = await app.run_async()
    return code or 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from dashboard.demo.server import DEMO_PROMPT, run_scripted_demo, start_demo

    if args.script:
        code: int = await run_scripted_demo(keep=args.keep, as_json=args.json)
        return code
    from dashboard.services.bundle import services_for
    from dashboard.ui.app import DispatchApp  # Textual only for the dashboard

    async def autoplay(app: DispatchApp) -> None:
        """Open with a batch to every demo pane, so a newcomer sees sends land and failures caught."""
        await asyncio.sleep(1.5)
        app.notify("Demo: one prompt to every pane — watch the verdicts land.", title="Dispatch demo")
        app.query_one("#composer").text = DEMO_PROMPT  # type: ignore[attr-defined]
        app.dispatch_prompt(sorted(app.statuses, key=lambda p: int(p.lstrip("%"))), DEMO_PROMPT)

    demo = await start_demo()
    loop = asyncio.get_running_loop()
    closing = (signal.SIGHUP, signal.SIGTERM)
    try:
        # the demo's sends go to the demo's own log, never into the user's
        app = DispatchApp(services_for(demo.host, demo.db), on_ready=None if args.no_autoplay else autoplay)
        for sig in closing:  # a closed terminal (SIGHUP) or a kill (SIGTERM) still takes the demo fleet down
            loop.add_signal_handler(sig, app.exit)
        result = await app.run_async()
    finally:
        for sig in closing:
            loop.remove_signal_handler(sig)
        if not args.keep:
            await demo.stop()
    if args.keep:
        print(f"the demo fleet is still running: tmux -L {demo.socket} attach")
    return result or 0
