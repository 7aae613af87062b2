"""`hooks install | uninstall | status`: the agent's own hooks write receipts Dispatch reads as evidence."""

from __future__ import annotations

import argparse
import json
import os
import sys

from dashboard.cli.exits import EXIT_CONFIG, EXIT_OK, UsageError


async def cmd_hooks(args: argparse.Namespace) -> int:
    from dashboard.services.hooks import SYSTEMS, HookError, config_dir, install, status, uninstall

    system = SYSTEMS.get(args.agent)
    if system is None:
        raise UsageError(f"hooks for {args.agent} are not wired (known: {', '.join(SYSTEMS)}); nothing was changed")
    folder = config_dir(system, dict(os.environ), args.config_dir)
    action = {"install": install, "uninstall": uninstall, "status": status}[args.hooks_command]
    try:
        st = action(system, folder)
    except HookError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        raise UsageError(f"{folder}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(st.to_json()))
    else:
        events = ", ".join(st.installed) or "none"
        script = "present" if st.script else "absent"
        print(f"{st.agent}: receipts from {events} ({st.settings}); receipt command {script}")
    return EXIT_OK
