"""`hooks install | uninstall | status`: the agent's own hooks write receipts Dispatch reads as evidence."""

from __future__ import annotations

import argparse
import json
import os
import sys

from dashboard.cli.exits import EXIT_CONFIG, EXIT_OK, UsageError


async def cmd_hooks(args: argparse.Namespace) -> int:
    from dashboard.services.hooks import HookError, claude_config_dir, install_claude, status_claude, uninstall_claude

    if args.agent != "claude":
        raise UsageError(f"hooks for {args.agent} are not wired yet (claude is); nothing was changed")
    folder = claude_config_dir(dict(os.environ), args.config_dir)
    action = {"install": install_claude, "uninstall": uninstall_claude, "status": status_claude}[args.hooks_command]
    try:
        st = action(folder)
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
