"""N sender processes × M fake-agent panes, released together: what the per-pane lease costs, and that it holds.

One private tmux server (socket, lease files and records all under one temp dir, removed at exit) with
max(M) fake agents (styles rotated, `--turn 0.05`), one session each. For every (N, M) cell, N sender
processes (multiprocessing, spawn; `tests/integration/race_worker.py`, each with its own event loop,
store connection and tmux client, sharing one SQLite log as several `dispatch` commands would) wait on
one barrier; every round all of them are released at once and each sends one prompt to every one of the
M panes (all-to-all, concurrently within the sender), so every pane sees N senders at the same instant.
The delay is fixed (`DelayPolicy(fixed_ms=30)`) and the agents' turns are short, so what is measured is
the lease: senders queue on it, the winner sends, the others take it in turn and either send after the
agent's short turn or are refused because it is still working.

Per cell: deliveries per second of sending time (each round from the release to its last verdict;
the settle pause between rounds is not counted), the lease wait of every send that asked for the lease
(`timings["lease_wait_ms"]`: p50 / p95 / max), refusals by reason (`busy lease`: another sender held the
pane for the whole --lease-timeout; `agent busy`: the lease was ours but the agent was still working),
and the ground truth from the fake agents' own records: merged prompts (an arrival that is not exactly
one whole prompt addressed to that pane) and false claims (a submitted/queued verdict whose prompt did
not arrive exactly once) — both must be 0, and the script exits 1 otherwise.

Run: python bench/contention.py [--senders 1,2,4,8] [--panes 1,4,16] [--rounds R] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as C

from tests.integration import race_worker

PROMPT_RE = re.compile(r"round (\d+) from (\S+) to (\S+)")
DELIVERED = ("submitted", "queued")


@dataclass
class Cell:
    senders: int
    panes: int
    rounds: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    round_ms: list[float] = field(default_factory=list)
    delivered: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    false_claims: list[str] = field(default_factory=list)
    unclaimed: int = 0
    failed: str = ""
    wall_s: float = 0.0

    @property
    def sends(self) -> int:
        return len(self.rows)

    @property
    def per_s(self) -> float:
        busy = sum(self.round_ms) / 1000
        return self.delivered / busy if busy > 0 else float("nan")


def arrivals(path: Path, skip: int) -> list[str]:
    """Prompts the agent accepted (submitted or queued) after its first `skip` record lines."""
    if not path.exists():
        return []
    lines = [line for line in path.read_text().splitlines() if line.strip()][skip:]
    rows = [json.loads(line) for line in lines]
    return [str(r["text"]) for r in rows if r.get("kind") in DELIVERED]


def line_count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def refusal_kind(row: dict[str, Any]) -> str:
    evidence = row.get("evidence") or [""]
    if row["verdict"] == "refused":
        code = str(evidence[0]).removeprefix("guard:")
        return {"leased": "busy lease", "busy": "agent busy"}.get(code, f"refused: {code}")
    return str(row["verdict"])


def run_cell(
    args: argparse.Namespace, server: C.TmuxServer, work: Path, records: list[Path], n: int, m: int, rounds: int
) -> Cell:
    cell = Cell(n, m, rounds)
    targets = tuple(f"p{i}:0.0" for i in range(m))
    skip = [line_count(records[i]) for i in range(m)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    tags = [f"n{n}m{m}s{j}" for j in range(n)]
    jobs = [
        race_worker.Job(
            tag,
            server.name,
            targets,
            rounds,
            db=str(work / "home" / "dispatch.db"),
            out=str(work / f"out-{tag}.jsonl"),
            delay_ms=args.delay_ms,
            lease_timeout=args.lease_timeout,
            settle=args.settle,
        )
        for tag in tags
    ]
    procs = [ctx.Process(target=race_worker.run, args=(job, barrier), name=f"sender-{job.tag}") for job in jobs]
    t = time.monotonic()
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(args.worker_timeout)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
    cell.wall_s = time.monotonic() - t
    bad = [f"{p.name} exit {p.exitcode}" for p in procs if p.exitcode != 0]
    if bad:
        cell.failed = ", ".join(bad)
        return cell
    for job in jobs:
        out = Path(job.out)
        cell.rows += [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        out.unlink()

    time.sleep(0.3)  # an agent records a prompt before the sender sees it land; this is margin only
    by_round: dict[int, float] = {}
    for r in cell.rows:
        by_round[int(r["round"])] = max(by_round.get(int(r["round"]), 0.0), float(r["since_release_ms"]))
        if r.get("lease_wait_ms") is not None:
            cell.waits.append(float(r["lease_wait_ms"]))
        if r["verdict"] in DELIVERED:
            cell.delivered += 1
        else:
            cell.refused[refusal_kind(r)] += 1
    cell.round_ms = [by_round[k] for k in sorted(by_round)]

    # ground truth: what each agent received during this cell
    got = {targets[i]: arrivals(records[i], skip[i]) for i in range(m)}
    mine = set(tags)
    for target, texts in got.items():
        for text in texts:
            match = PROMPT_RE.fullmatch(text)
            if match is None or text.count("round ") != 1 or match.group(2) not in mine:
                cell.merged.append(f"{target}: {text!r}")
            elif match.group(3) != target:
                cell.stray.append(f"{target}: {text!r}")
    claimed: Counter[tuple[str, str]] = Counter()
    for r in cell.rows:
        if r["verdict"] not in DELIVERED:
            continue
        match = PROMPT_RE.fullmatch(str(r["prompt"]))
        target = match.group(3) if match else ""
        claimed[(target, str(r["prompt"]))] += 1
        if got.get(target, []).count(str(r["prompt"])) != 1:
            cell.false_claims.append(f"#{r['id']} {r['verdict']} {r['prompt']!r}")
    cell.unclaimed = sum(1 for target, texts in got.items() for text in texts if not claimed[(target, text)])
    return cell


async def wait_idle(poller: Any, ids: list[str], timeout: float) -> dict[str, str]:
    return await C.wait_states(poller, ids, {"idle"}, timeout=timeout)


def rounds_for(args: argparse.Namespace, n: int, m: int) -> int:
    if args.rounds:
        return int(args.rounds)
    return max(args.min_rounds, min(args.max_rounds, math.ceil(args.sends / (n * m))))


async def run(args: argparse.Namespace) -> int:
    from dashboard.adapters.tmux import LocalTmux

    budget = C.Budget(args.budget)
    work = C.tempdir("dispatch-bench-contention-")
    # the tmux socket, and with it every lease file (`dispatch-leases/` beside the socket), live in the
    # temp dir: nothing is left in /tmp/tmux-UID when it is removed; the senders inherit this
    os.environ["TMUX_TMPDIR"] = str(work)
    (work / "home").mkdir()
    print(C.machine_line())
    cells_wanted = [(n, m) for m in args.panes for n in args.senders]
    most = max(args.panes)
    records = [work / f"agent{i}.jsonl" for i in range(most)]
    launcher = C.agent_launcher(work, args.turn, pycache=work / "pycache")
    server = C.TmuxServer("contention")
    server.start_sessions([(f"p{i}", f"exec sh {launcher} {C.STYLES[i % 3]} {i}") for i in range(most)])
    poller = LocalTmux(socket_name=server.name)
    panes = {p.session: p.pane_id for p in await poller.list_panes()}
    ids = [panes[f"p{i}"] for i in range(most)]
    t = time.monotonic()
    states = await wait_idle(poller, ids, 30.0)
    if len(states) != most or set(states.values()) != {"idle"}:
        print(f"agents did not all become idle: {Counter(states.values())}; giving up", file=sys.stderr)
        return 1
    styles = Counter(C.STYLES[i % 3] for i in range(most))
    print(
        f"server: {most} fake agents ({dict(styles)}, turn {args.turn} s) idle after {time.monotonic() - t:.1f} s;"
        f" delay fixed {args.delay_ms:g} ms, lease timeout {args.lease_timeout:g} s, settle {args.settle:g} s"
        f" between rounds; every sender sends to every pane each round"
    )
    print()

    cells: list[Cell] = []
    skipped: list[tuple[int, int]] = []
    for n, m in cells_wanted:
        rounds = rounds_for(args, n, m)
        if cells and budget.left() < 5:
            skipped.append((n, m))
            continue
        states = await wait_idle(poller, ids[:m], 10.0)
        if set(states.values()) != {"idle"}:
            print(f"note: panes not idle before N={n} M={m}: {Counter(states.values())}")
        load0 = C.loadavg()
        cell = await asyncio.to_thread(run_cell, args, server, work, records, n, m, rounds)
        cells.append(cell)
        waits = cell.waits
        print(
            f"N={n:<2} M={m:<3} {rounds:>3} rounds, {cell.sends:>4} sends in {cell.wall_s:5.1f} s (load {load0}):"
            f" {cell.delivered} delivered, {cell.per_s:6.1f}/s; lease wait p95 {C.pct(waits, 95):6.0f} ms"
            + (f"  !! {cell.failed}" if cell.failed else "")
            + (f"  !! merged {len(cell.merged)}" if cell.merged else "")
            + (f"  !! false claims {len(cell.false_claims)}" if cell.false_claims else ""),
            flush=True,
        )

    print()
    rows: list[list[object]] = []
    for c in cells:
        rows.append(
            [
                f"{c.senders} × {c.panes}",
                c.rounds,
                c.sends,
                c.delivered,
                f"{c.per_s:.1f}",
                C.median(c.round_ms),
                C.pct(c.waits, 50),
                C.pct(c.waits, 95),
                max(c.waits, default=float("nan")),
                c.refused["busy lease"],
                c.refused["agent busy"],
                sum(v for k, v in c.refused.items() if k not in ("busy lease", "agent busy")),
                len(c.merged) + len(c.stray),
                len(c.false_claims),
                c.unclaimed,
            ]
        )
    headers = [
        "senders × panes",
        "rounds",
        "sends",
        "delivered",
        "deliv/s",
        "round ms",
        "wait p50",
        "p95",
        "max",
        "busy lease",
        "agent busy",
        "other",
        "merged",
        "false claims",
        "unclaimed",
    ]
    print(C.table(headers, rows, nd=0))
    print(
        "deliv/s: deliveries per second of sending time (release to the round's last verdict, settle excluded);"
        " round ms: median of that; wait: lease_wait_ms of every send that asked for the lease;"
        " busy lease / agent busy: refusals; other: any other non-delivery; merged / false claims: must be 0;"
        " unclaimed: arrivals whose send did not claim them (a missed claim, not a false one)"
    )
    others = Counter[str]()
    for c in cells:
        others.update({k: v for k, v in c.refused.items() if k not in ("busy lease", "agent busy")})
    if others:
        print(f"other non-deliveries: {dict(others)}")
    for c in cells:
        for what, items in (("merged", c.merged), ("stray", c.stray), ("false claim", c.false_claims)):
            for item in items[:5]:
                print(f"!! N={c.senders} M={c.panes} {what}: {item}")
        if c.failed:
            print(f"!! N={c.senders} M={c.panes} sender failed: {c.failed}")
    if skipped:
        print(f"skipped for the {args.budget:g} s budget: {', '.join(f'{n}×{m}' for n, m in skipped)}")

    merged = sum(len(c.merged) + len(c.stray) for c in cells)
    false = sum(len(c.false_claims) for c in cells)
    failed = [c for c in cells if c.failed]
    all_waits = [w for c in cells for w in c.waits]
    rates = [c.per_s for c in cells if c.delivered]
    refused = Counter[str]()
    for c in cells:
        refused.update(c.refused)
    print(
        f"SUMMARY contention: {len(cells)} cells (N {','.join(map(str, args.senders))} senders ×"
        f" M {','.join(map(str, args.panes))} panes), {sum(c.sends for c in cells)} sends,"
        f" {sum(c.delivered for c in cells)} delivered at {min(rates, default=0):.1f}–{max(rates, default=0):.1f}/s;"
        f" lease wait p95 {C.pct(all_waits, 95):.0f} ms, max {max(all_waits, default=0):.0f} ms;"
        f" refused busy lease {refused['busy lease']}, agent busy {refused['agent busy']};"
        f" merged {merged}, false claims {false}"
        + (f", FAILED senders in {len(failed)} cells" if failed else "")
        + f"; load {C.loadavg()}; run {budget.elapsed():.0f} s"
    )
    return 1 if merged or false or failed else 0


def ints(text: str) -> list[int]:
    values = [int(x) for x in text.split(",") if x.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"a comma-separated list of positive integers, not {text!r}")
    return values


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--senders", type=ints, default=None, help="sender processes per cell (1,2,4,8; --quick 1,4)")
    p.add_argument("--panes", type=ints, default=None, help="panes per cell (1,4,16; --quick 1,4)")
    p.add_argument("--rounds", type=int, default=0, help="rounds per cell (default: enough for --sends sends)")
    p.add_argument("--sends", type=int, default=96, help="sends per cell when --rounds is not given (96)")
    p.add_argument("--min-rounds", type=int, default=3, help="at least this many rounds per cell (3)")
    p.add_argument("--max-rounds", type=int, default=48, help="at most this many rounds per cell (48)")
    p.add_argument("--turn", type=float, default=0.05, help="fake agent turn in seconds (0.05)")
    p.add_argument("--delay-ms", type=float, default=30.0, help="fixed paste→submit delay (30)")
    p.add_argument("--lease-timeout", type=float, default=5.0, help="SendOptions.lease_timeout in seconds (5)")
    p.add_argument("--settle", type=float, default=0.15, help="pause after each round, not timed (0.15 s)")
    p.add_argument("--worker-timeout", type=float, default=300.0, help="kill a sender after this (300 s)")
    p.add_argument("--quick", action="store_true", help="a smaller run")
    p.add_argument("--budget", type=float, default=None, help="no new cell when < 5 s of it is left (170, --quick 60)")
    args = p.parse_args()
    args.senders = args.senders or ([1, 4] if args.quick else [1, 2, 4, 8])
    args.panes = args.panes or ([1, 4] if args.quick else [1, 4, 16])
    if args.quick and not args.rounds:
        args.sends, args.max_rounds = 16, 8
    args.budget = args.budget if args.budget is not None else (60.0 if args.quick else 170.0)
    return C.run_bench(run(args))


if __name__ == "__main__":
    sys.exit(main())
