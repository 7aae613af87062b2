"""`log`, `show`, `panes`, `evidence`, `verify`: reading the log and the panes."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.adapters.config import load_registry
from dashboard.adapters.paths import Paths
from dashboard.cli.args import MAX_ROW_ID
from dashboard.cli.context import fleet_from, open_store
from dashboard.cli.exits import EXIT_ERROR, EXIT_HOST, EXIT_OK, EXIT_UNDELIVERED, EXIT_USAGE, UsageError
from dashboard.core.model import SendRecord, Verdict, batch_ref
from dashboard.core.ports import HostError
from dashboard.core.registry import qualify
from dashboard.core.wording import CHECK_MARKS

if TYPE_CHECKING:
    from dashboard.adapters.store import Store


def parse_ref(ref: str) -> tuple[str, int]:
    """`b12` / `batch:12` → ("batch", 12); `42` / `send:42` / `#42` → ("send", 42)."""
    m = re.fullmatch(r"(?:(b|batch:?)|(send:|#)?)(\d+)", ref.strip())
    if m is None:
        raise UsageError(f"'{ref}' is not a batch (b12) or a send (42)")
    kind, number = ("batch" if m.group(1) else "send"), int(m.group(3))
    if not 1 <= number <= MAX_ROW_ID:
        raise UsageError(f"no {kind} {number} in the log")
    return kind, number


async def _records_for(store: Store, ref: str, *, snapshots: bool) -> tuple[str, int, list[SendRecord]]:
    kind, number = parse_ref(ref)
    if kind == "batch":
        metas = list(reversed(await store.recent(100_000, batch=number)))
        if not metas:
            raise UsageError(f"no batch {number} in the log")
        recs = [await store.get(r.id or 0, snapshots=snapshots) or r for r in metas] if snapshots else metas
        return kind, number, recs
    rec = await store.get(number, snapshots=snapshots)
    if rec is None:
        raise UsageError(f"no send #{number} in the log")
    return kind, number, [rec]


async def cmd_evidence(args: argparse.Namespace) -> int:
    from dashboard.services.evidence import FORMAT, VERSION, export

    paths = Paths.from_env()
    registry = load_registry(paths.config_file)
    async with open_store() as store:
        kind, number, recs = await _records_for(store, args.ref, snapshots=True)
    out: Path = args.out or paths.data / "evidence" / f"{kind}-{number}"
    try:
        export(recs, kind, number, out, registry)
    except OSError as exc:
        raise UsageError(f"cannot write evidence to {out}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"dir": str(out), "sends": len(recs), "format": FORMAT, "version": VERSION}))
    else:
        print(f"{len(recs)} send(s) exported to {out} ({FORMAT} v{VERSION}); check them later: dispatch verify {out}")
    return EXIT_OK


async def cmd_verify(args: argparse.Namespace) -> int:
    from dashboard.services.evidence import load_export
    from dashboard.services.verify import verify

    source = Path(args.ref)
    if source.is_dir():
        try:
            _, recs = load_export(source)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        async with open_store() as store:
            # the "before" screens tell a repeated prompt's old copy from the new one
            _, _, recs = await _records_for(store, args.ref, snapshots=True)
    async with fleet_from(args).read_only() as fleet:
        report = await verify(fleet, recs)
    if args.json:
        for c in report.checks:
            print(json.dumps(c.to_json(), ensure_ascii=False))
        print(json.dumps(report.to_json()))
    else:
        for c in report.checks:
            mark = CHECK_MARKS[c.result]
            where = f"{c.pane_id} ({c.target})" if c.pane_id else c.target
            print(f"{mark} {c.result:9} {where:28} claimed {c.claim:14} — {c.why}")
    counts = report.counts
    if not args.json:
        tally = f"{counts['confirmed']} confirmed, {counts['refuted']} refuted, {counts['unknown']} unknown"
        print(f"{tally} of {len(report.checks)}")
    if counts["refuted"]:
        return EXIT_UNDELIVERED
    claimed_unknown = any(c.result == "unknown" and Verdict(c.claim).delivered for c in report.checks)
    return EXIT_ERROR if claimed_unknown else EXIT_OK


async def cmd_panes(args: argparse.Namespace) -> int:
    from dashboard.services.panes import PaneView, survey

    fleet = fleet_from(args)
    names = args.machines or fleet.names
    for name in names:
        fleet.host(name)  # an unknown machine is a usage error before anything connects

    async def one(name: str) -> list[PaneView] | HostError:
        try:
            return await survey(fleet.host(name))
        except HostError as exc:
            return exc

    async with fleet:
        results = dict(zip(names, await asyncio.gather(*(one(n) for n in names)), strict=True))
    from datetime import datetime

    from dashboard.core.accounts import parse_reset, until
    from dashboard.services.accounts import AccountResolver

    resolver = AccountResolver(fleet.registry.accounts)
    results = {n: (r if isinstance(r, HostError) else await resolver.attach(fleet.host, r)) for n, r in results.items()}
    failed = {n: r for n, r in results.items() if isinstance(r, HostError)}
    views = [(n, v) for n, r in results.items() if not isinstance(r, HostError) for v in r]
    for exc in failed.values():
        print(f"dispatch: {exc}", file=sys.stderr)
    code = EXIT_HOST if failed else EXIT_OK
    if args.json:
        print(json.dumps([{**v.to_json(), "machine": n} for n, v in views], ensure_ascii=False))
        return code
    if not views:
        where = ", ".join(fleet.host(n).describe() for n in names if n not in failed)
        print(f"no panes on {where}" if where else "no machine answered")
        return code
    width = 22 if len(names) > 1 else 18
    print(f"{'PANE':6} {'TARGET':{width}} {'AGENT':9} {'PROFILE':12} {'STATE':18} {'HOOKS':5} {'COMMAND':10} "
          "COMPOSER / LAST LINE")  # fmt: skip
    now = datetime.now()
    for name, v in views:
        detail = v.cls.composer if v.cls.composer else v.cls.last_line
        detail = " ⏎ ".join((detail or "").splitlines())
        if v.cls.reset:
            when = parse_reset(v.cls.reset, now)
            detail = f"resets {v.cls.reset}" + (f" ({until(when, now)})" if when else "") + f" · {detail}"
        if v.needs is not None:
            detail = f"{v.needs.why} ({v.needs.source}) · {detail}"
        target = qualify(name, v.pane.target)
        print(
            f"{v.pane.pane_id:6} {target[:width]:{width}} {v.cls.agent or '-':9} {(v.account or '-')[:12]:12} "
            f"{v.shown_state:18} {'yes' if v.hooks else '-':5} {v.pane.command[:10]:10} {detail[:60]}"
        )
    return code


async def cmd_log(args: argparse.Namespace) -> int:
    async with open_store() as store:
        recs = await store.recent(args.limit, batch=args.batch, machine=args.machine)
    if args.json:
        print(json.dumps([{**r.to_json(), "created": r.created, "kind": r.kind} for r in recs], ensure_ascii=False))
        return EXIT_OK
    if not recs:
        print("no sends recorded yet")
    for r in recs:
        when = time.strftime("%m-%d %H:%M:%S", time.localtime(r.created))
        batch = batch_ref(r.batch) or ""
        prompt = " ⏎ ".join(r.prompt.splitlines())
        what = f"$ {prompt[:40]}" if r.kind == "exec" else repr(prompt[:40])
        verdict = f"{r.verdict} {r.exit_status}" if r.exit_status is not None else str(r.verdict)
        print(
            f"{r.id:>5} {when} {batch:>4} {verdict:18} {r.pane_id or '-':5} {r.target[:16]:16} "
            f"{r.agent or '-':8} {what}"
        )
    return EXIT_OK


async def cmd_show(args: argparse.Namespace) -> int:
    from dashboard.core.diff import plain_lines, unified

    async with open_store() as store:
        rec = await store.get(args.id)
    if rec is None:
        print(f"dispatch: error: no send #{args.id} in the log", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    **rec.to_json(),
                    "prompt": rec.prompt,
                    "timings": rec.timings,
                    "snapshots": {k: plain_lines(v) for k, v in rec.snapshots.items()},
                },
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    out = sys.stdout
    out.write(f"send #{rec.id}  {rec.verdict}  {rec.target} ({rec.pane_id or '?'}) on {rec.machine}\n")
    out.write(f"  when      {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(rec.created))}")
    out.write(f"  batch {batch_ref(rec.batch)}\n" if rec.batch else "\n")
    out.write(f"  agent     {rec.agent or '-'} (state before: {rec.state_before or '-'})\n")
    out.write(f"  reason    {rec.reason}\n")
    out.write(f"  evidence  {', '.join(rec.evidence) or '-'}\n")
    out.write(f"  attempts  {rec.attempts}   delay {rec.delay_ms} ms   total {rec.elapsed_ms} ms\n")
    if rec.timings:
        out.write("  timings   " + "  ".join(f"{k}={v:g}" for k, v in rec.timings.items()) + "\n")
    prompt_lines = rec.prompt.splitlines() or [""]
    out.write(
        f"  prompt    {prompt_lines[0][:100]!r}"
        + (f" (+{len(prompt_lines) - 1} lines)\n" if len(prompt_lines) > 1 else "\n")
    )
    before, after = rec.snapshots.get("before"), rec.snapshots.get("after")
    if before is not None and after is not None:
        out.write("\n--- before → after (pane screen) ---\n")
        color = out.isatty()
        for line in unified(before, after):
            if color and line.startswith("+") and not line.startswith("+++"):
                line = f"\x1b[32m{line}\x1b[0m"
            elif color and line.startswith("-") and not line.startswith("---"):
                line = f"\x1b[31m{line}\x1b[0m"
            out.write(line + "\n")
    elif before is not None:
        out.write("\n--- screen at inspection (no send happened) ---\n")
        out.write("\n".join(plain_lines(before)[-15:]) + "\n")
    return EXIT_OK
