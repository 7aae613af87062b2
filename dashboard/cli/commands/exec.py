"""`exec`: one shell command to one shell pane, behind the blocklist."""

from __future__ import annotations

import argparse
import json

from dashboard.cli.args import MAX_WAIT_S, check_targets, in_range
from dashboard.cli.context import fleet_from, open_store
from dashboard.cli.exits import EXIT_COMMAND_FAILED, EXIT_OK, EXIT_UNDELIVERED, UsageError, exit_code
from dashboard.core.model import Verdict
from dashboard.core.wording import human_line


async def cmd_exec(args: argparse.Namespace) -> int:
    from dashboard.services.execute import ExecOptions, run_exec

    command = " ".join(args.words)
    if not command.strip():
        raise UsageError("no command: dispatch exec TARGET -- COMMAND…")
    in_range("--timeout", args.timeout, 0, MAX_WAIT_S, " seconds", above_low=True)
    opts = ExecOptions(wait=args.wait, timeout=args.timeout, dry_run=args.dry_run)
    async with fleet_from(args) as fleet:
        check_targets([args.target], fleet.names)
        host, _ = fleet.route(args.target)
        if args.dry_run:
            rec = await run_exec(host, None, args.target, command, opts)
        else:
            async with open_store() as store:
                rec = await run_exec(host, store, args.target, command, opts)
    if args.json:
        out = rec.to_json()
        if args.dry_run:
            out = {**out, "verdict": "would-run" if rec.verdict is Verdict.PENDING else str(rec.verdict)}
        print(json.dumps(out, ensure_ascii=False))
    elif args.dry_run and rec.verdict is Verdict.PENDING:
        print(f"would run: {command!r} in {rec.pane_id} ({rec.target}) — blocklist and guard allow it")
    else:
        print(human_line(rec))
    if args.dry_run:
        return EXIT_OK if rec.verdict is Verdict.PENDING else exit_code(rec.verdict)
    if rec.verdict is Verdict.FINISHED and rec.exit_status:
        return EXIT_COMMAND_FAILED
    if rec.verdict is Verdict.STARTED and args.wait:
        return EXIT_UNDELIVERED  # asked to see it finish, and it did not within --timeout
    return exit_code(rec.verdict)
