"""`send`, `batch`, `resend`, `canary`: prompts to agents, each through the one delivery path."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING

from dashboard.cli.args import MAX_LEASE_S, MAX_WAIT_S, check_targets, in_range, read_prompt, send_options
from dashboard.cli.context import fleet_from, open_store
from dashboard.cli.exits import EXIT_OK, EXIT_REFUSED, EXIT_UNDELIVERED, UsageError, batch_exit_code, exit_code
from dashboard.core.model import Verdict, batch_ref
from dashboard.core.wording import human_line

if TYPE_CHECKING:
    from dashboard.core.model import SendRecord
    from dashboard.core.ports import SendLog, TmuxHost
    from dashboard.services.fleet import Fleet


async def cmd_send(args: argparse.Namespace) -> int:
    from dashboard.services.send import send

    opts = send_options(args)
    prompt = read_prompt(args, opts.max_bytes)
    async with fleet_from(args) as fleet, open_store() as store:
        check_targets([args.target], fleet.names)  # an unknown machine: usage error, nothing recorded
        host, _ = fleet.route(args.target)
        rec = await send(host, store, args.target, prompt, opts)
        if args.wait and rec.verdict.delivered:
            await _with_reply(fleet.host_of(rec.machine, rec.server), store, rec, args.timeout)
    print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec))
    return exit_code(rec.verdict)


async def _with_reply(host: TmuxHost, store: SendLog, rec: SendRecord, timeout: float) -> None:
    """Wait for the turn `rec` started, put the agent's answer on the record, and log it."""
    from dashboard.services.reply import wait_for_reply

    reply = await wait_for_reply(host, rec, timeout)
    rec.reply, rec.reply_source = reply.text, reply.source
    await store.finish_send(rec)


async def cmd_batch(args: argparse.Namespace) -> int:
    from dashboard.services.batch import BatchSummary, run_batch

    opts = send_options(args)
    prompt = read_prompt(args, opts.max_bytes)
    started = time.monotonic()
    summary: BatchSummary | None = None
    targets = list(args.targets)
    async with fleet_from(args) as fleet:
        check_targets(targets, fleet.names)  # before anything is recorded: one unknown machine stops the batch
        if args.spread is not None:
            targets = await _spread_targets(fleet, targets, args.spread, args.json)
            if not targets:
                print("dispatch: no ready agent pane to spread over", file=sys.stderr)
                return EXIT_REFUSED
        elif not targets:
            raise UsageError("no targets: name the panes, or use --spread N")
        async with open_store() as store:
            waits: list[asyncio.Task[None]] = []

            async def report(rec: SendRecord) -> None:
                if args.wait and rec.verdict.delivered:  # each pane's turn is waited for on its own
                    await _with_reply(fleet.host_of(rec.machine, rec.server), store, rec, args.timeout)
                print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec), flush=True)

            async for rec in run_batch(fleet, store, targets, prompt, opts):
                assert rec.batch is not None
                summary = summary or BatchSummary(rec.batch, len(targets))
                summary.counts[str(rec.verdict)] += 1
                waits.append(asyncio.create_task(report(rec)))
            await asyncio.gather(*waits)
    assert summary is not None
    summary.elapsed_ms = round((time.monotonic() - started) * 1000)
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        counts = ", ".join(f"{n} {v}" for v, n in summary.counts.most_common())
        ref = batch_ref(summary.batch)
        print(f"batch {ref}: {counts} in {summary.elapsed_ms} ms (dispatch log --batch {ref})")
    return batch_exit_code([Verdict(v) for v in summary.counts])


async def cmd_canary(args: argparse.Namespace) -> int:
    from dashboard.services.canary import canary_prompt, canary_token, wait_for_canary
    from dashboard.services.send import SendOptions, send

    token = args.expect or canary_token()
    prompt = args.prompt if args.prompt else canary_prompt(token)
    if args.expect and not args.prompt:
        raise UsageError("--expect needs --prompt (a generated prompt asks for a generated token)")
    if args.expect is not None and not args.expect.strip():
        raise UsageError("--expect needs a non-empty string")
    in_range("--timeout", args.timeout, 0, MAX_WAIT_S, " seconds", above_low=True)
    in_range("--lease-timeout", args.lease_timeout, 0, MAX_LEASE_S, " seconds")
    opts = SendOptions(lease_timeout=args.lease_timeout)
    async with fleet_from(args) as fleet:
        check_targets([args.target], fleet.names)
        host, _ = fleet.route(args.target)
        async with open_store() as store:
            rec = await send(host, store, args.target, prompt, opts, meta={"canary": token})
            if not rec.verdict.delivered:
                result = None
            else:
                result = await wait_for_canary(
                    host, rec.pane_id or args.target, prompt, token, args.timeout, transcript=args.transcript
                )
    passed = result is not None and result.passed
    if args.json:
        print(json.dumps({**rec.to_json(), "canary": result.to_json() if result else None, "passed": passed}))
    elif result is None:
        print(f"canary not sent: {human_line(rec)}")
    else:
        print(f"canary {'PASSED' if passed else 'FAILED'}: {token} — {result.evidence} ({result.waited_ms} ms)")
    if result is None:
        return exit_code(rec.verdict)
    return EXIT_OK if passed else EXIT_UNDELIVERED


async def _spread_targets(fleet: Fleet, targets: list[str], n: int, as_json: bool) -> list[str]:
    """The keys of up to N ready agents, round-robin across accounts; what was passed over is said on stderr."""
    from dashboard.services.accounts import spread_over

    if n < 1:
        raise UsageError("--spread needs N >= 1")
    result, unreachable = await spread_over(fleet, targets, n)
    for line in unreachable:
        print(f"dispatch: {line}", file=sys.stderr)
    others = 0
    for v, why in result.skipped:
        if targets or why.startswith("rate-limited"):  # a pane the operator named is never passed over silently
            print(f"skipped {v.pane.address} ({v.account or 'no account'}): {why}", file=sys.stderr)
        else:
            others += 1
    if others:
        print(f"skipped {others} pane(s) that are not ready agents (busy, shells, dialogs…)", file=sys.stderr)
    picked = [f"{v.account or '-'}:{v.pane.address}" for v in result.picked]
    if not as_json:
        print(f"spread over {len({v.account for v in result.picked})} account(s): {', '.join(picked)}", file=sys.stderr)
    return [v.pane.key for v in result.picked]


async def cmd_resend(args: argparse.Namespace) -> int:
    from dashboard.services.send import CannotResend, SendOptions, resend

    async with open_store() as store:
        old = await store.get(args.id)
        if old is None:
            raise UsageError(f"no send #{args.id} in the log")
        if not old.pane_id:
            raise UsageError(f"send #{args.id} never reached a pane ({old.reason}); nothing to re-send to")
        async with fleet_from(args) as fleet:
            try:
                # the record's own machine and tmux server, whatever -L/-S/$TMUX this command was given
                rec = await resend(fleet.host_of(old.machine, old.server), store, old, SendOptions())
            except CannotResend as exc:
                raise UsageError(str(exc)) from None
    print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec))
    return exit_code(rec.verdict)
