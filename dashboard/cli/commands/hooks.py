"""`hooks install | uninstall | status`: the agent's own hooks write receipts Dispatch reads as evidence."""

from __future__ import annotations

import argparse
import json
import sys

from dashboard.cli.context import fleet_from
from dashboard.cli.exits import EXIT_CONFIG, EXIT_OK, UsageError


async def cmd_hooks(args: argparse.Namespace) -> int:
    from dashboard.services.hooks import SYSTEMS, apply

    unknown = [a for a in args.agent or [] if a not in SYSTEMS]
    if unknown:
        raise UsageError(f"hooks for {unknown[0]} are not wired (known: {', '.join(SYSTEMS)}); nothing was changed")
    if args.config_dir and len(args.agent or SYSTEMS) > 1:
        raise UsageError("--config-dir names one agent's directory: give --agent too; nothing was changed")
    async with fleet_from(args) as fleet:
        fleet.host(args.machine)  # RegistryError (usage) for a machine the registry does not know
        done = await apply(fleet, args.machine, args.hooks_command, args.agent, args.config_dir)
    if args.json:
        print(json.dumps([st.to_json() for st in done] if len(done) != 1 else done[0].to_json()))
    for st in done:
        if args.json:
            break
        where = f"{st.machine}: " if st.machine != "local" else ""
        if st.error:
            print(f"dispatch: error: {where}{st.agent}: {st.error}", file=sys.stderr)
        elif not st.present and not st.events and args.agent is None:
            print(f"{where}{st.agent}: not set up here ({st.settings} absent); skipped")
        else:
            events = ", ".join(st.events) or "none"
            script = "present" if st.script else "absent"
            print(f"{where}{st.agent}: receipts from {events} ({st.settings}); receipt command {script}")
            if st.note:
                print(f"{where}{st.agent}: note: {st.note}")
    return EXIT_CONFIG if any(st.error for st in done) else EXIT_OK
