"""`dispatch panes --json` and in-process `survey()` on servers of 1, 200 (and 250) panes and on fake agents.

Each server is private, created by one chained tmux command, measured, and killed before the next:
  1 / 200 / 250 windows running `sleep 600` (empty screens: the cost of listing and capturing),
  1 / 50 fake agents (idle, drawn screens: the cost of classifying real-looking TUIs).
Figures are medians of 5 runs (3 with --quick) after one warm-up: CLI wall time (interpreter
start → exit), and in-process survey() split into list-panes, the chained capture, and
parse+classify, with the number of tmux processes one survey spawns. Target: ≤ 20 ms extra for
200 panes over 1 pane. The 250-pane row shows what happens past tmux's per-command size limit.

Run: python bench/panes.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

import _common as C

TARGET_EXTRA_MS = 20.0


@dataclass
class Variant:
    label: str
    n: int
    kind: str  # "sleep" or "agent"
    base: str | None = None  # label of the variant this one's "extra" is measured against
    figures: dict[str, float] = field(default_factory=dict)


@dataclass
class Live:
    """A started variant: its server, host and CLI environment, and the raw samples."""

    v: Variant
    server: C.TmuxServer
    env: dict[str, str]
    samples: dict[str, list[float]] = field(default_factory=dict)
    size: int = 0
    states: dict[str, int] = field(default_factory=dict)


async def start(v: Variant) -> Live:
    from dashboard.adapters.tmux import LocalTmux

    work = C.tempdir("dispatch-bench-panes-")
    server = C.TmuxServer("panes")
    if v.kind == "sleep":
        cmds = ["sleep 600"] * v.n
    else:
        launcher = C.agent_launcher(work, 2.0, pycache=work / "pycache")
        cmds = [f"exec sh {launcher} {C.STYLES[i % 3]} {i}" for i in range(v.n)]
    server.start(cmds, session="p")
    host = LocalTmux(socket_name=server.name)
    panes = await host.list_panes()
    if len(panes) != v.n:
        raise RuntimeError(f"{v.label}: {len(panes)} panes instead of {v.n}")
    return Live(v, server, C.child_env(work / "home", work / "pycache"))


async def ready(live: Live) -> None:
    from dashboard.adapters.tmux import LocalTmux

    if live.v.kind != "agent":
        return
    host = LocalTmux(socket_name=live.server.name)
    panes = await host.list_panes()
    states = await C.wait_states(host, [p.pane_id for p in panes], {"idle"}, timeout=30)
    if set(states.values()) != {"idle"}:
        raise RuntimeError(f"{live.v.label}: agents not idle: {states}")


def cli_once(live: Live, keep: bool) -> None:
    ms, done = C.wall_ms(C.cli_argv(live.server.name, "panes", "--json"), live.env)
    if done.returncode != 0:
        raise RuntimeError(f"dispatch panes failed: {done.stderr.strip()}")
    rows = json.loads(done.stdout)
    if len(rows) != live.v.n:
        raise RuntimeError(f"{live.v.label}: dispatch panes listed {len(rows)} of {live.v.n}")
    live.size = len(done.stdout)
    if keep:
        live.samples.setdefault("cli", []).append(ms)


async def survey_once(live: Live, keep: bool) -> None:
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.core.classify import classify
    from dashboard.core.screen import parse_capture
    from dashboard.services.panes import survey

    h = LocalTmux(socket_name=live.server.name)
    t0 = time.perf_counter()
    views = await survey(h)
    t1 = time.perf_counter()
    calls = h.calls
    # the same three steps again, timed one by one
    ps = await h.list_panes()
    t2 = time.perf_counter()
    texts = await h.capture_many([p.pane_id for p in ps])
    t3 = time.perf_counter()
    for p in ps:
        text = texts.get(p.pane_id)
        if text is not None:
            classify(p, parse_capture(text, height=p.height))
    t4 = time.perf_counter()
    live.states = {}
    for view in views:
        live.states[str(view.cls.state)] = live.states.get(str(view.cls.state), 0) + 1
    if keep:
        for key, val in (
            ("survey", (t1 - t0) * 1000),
            ("list", (t2 - t1) * 1000),
            ("capture", (t3 - t2) * 1000),
            ("classify", (t4 - t3) * 1000),
            ("calls", float(calls)),
        ):
            live.samples.setdefault(key, []).append(val)


async def run(args: argparse.Namespace) -> int:
    budget = C.Budget(args.budget)
    print(C.machine_line())
    agents = 10 if args.quick else 50
    variants = [
        Variant("1 pane (sleep)", 1, "sleep"),
        Variant("200 panes (sleep)", 200, "sleep", base="1 pane (sleep)"),
        Variant("1 fake agent", 1, "agent"),
        Variant(f"{agents} fake agents", agents, "agent", base="1 fake agent"),
    ]
    if not args.no_250:
        variants.append(Variant("250 panes (sleep)", 250, "sleep", base="1 pane (sleep)"))
    by_label = {v.label: v for v in variants}
    lives: list[Live] = []
    try:
        for v in variants:
            lives.append(await start(v))
        for live in lives:
            await ready(live)
        await asyncio.sleep(1.0)  # let the agents' start-up settle
        # interleaved rounds (one run of every variant per round), so load drift hits all rows alike
        for r in range(args.reps + 1):
            if budget.left() < 3:
                print(f"note: stopped after {r - 1} rounds (time budget)")
                break
            for live in lives:
                cli_once(live, keep=r > 0)
            for live in lives:
                await survey_once(live, keep=r > 0)
    finally:
        for live in lives:
            live.server.kill()
    for live in lives:
        if live.samples:
            live.v.figures = {k: C.median(x) for k, x in live.samples.items()}
            live.v.figures["kb"] = live.size / 1024
            live.v.figures["states"] = live.states  # type: ignore[assignment]
    skipped = [v.label for v in variants if not v.figures]
    done = [v for v in variants if v.figures]

    def extra(v: Variant, key: str) -> float:
        base = by_label.get(v.base or "")
        if base is None or not base.figures:
            return float("nan")
        return float(v.figures[key]) - float(base.figures[key])

    print()
    print(f"median of {args.reps} runs (ms); extra = minus the 1-pane row of the same kind")
    print(
        C.table(
            [
                "",
                "CLI wall",
                "CLI extra",
                "survey()",
                "survey extra",
                "list",
                "capture",
                "classify",
                "tmux procs",
                "JSON KB",
            ],
            [
                [
                    v.label,
                    v.figures["cli"],
                    extra(v, "cli"),
                    v.figures["survey"],
                    extra(v, "survey"),
                    v.figures["list"],
                    v.figures["capture"],
                    v.figures["classify"],
                    v.figures["calls"],
                    v.figures["kb"],
                ]
                for v in done
            ],
        )
    )
    for v in done:
        print(f"  {v.label}: states {v.figures['states']}")
    print(f"load after: {C.loadavg()}")
    if skipped:
        print(f"note: skipped for time: {', '.join(skipped)}")
    big = by_label["200 panes (sleep)"]
    if not big.figures:
        print("SUMMARY panes: 200-pane run did not complete")
        return 1
    cli_x, in_x = extra(big, "cli"), extra(big, "survey")
    ag = by_label[f"{agents} fake agents"]
    parts = [
        f"SUMMARY panes: 200 panes cost +{cli_x:.1f} ms CLI ({'meets' if cli_x <= TARGET_EXTRA_MS else 'misses'}"
        f" ≤{TARGET_EXTRA_MS:.0f}) and +{in_x:.1f} ms in-process over 1 pane (CLI {big.figures['cli']:.0f} ms,"
        f" {big.figures['calls']:.0f} tmux procs/survey)"
    ]
    if ag.figures:
        parts.append(f"{agents} fake agents +{extra(ag, 'cli'):.1f} ms CLI, +{extra(ag, 'survey'):.1f} ms in-process")
    over = by_label.get("250 panes (sleep)")
    if over is not None and over.figures:
        parts.append(f"250 panes +{extra(over, 'cli'):.0f} ms CLI with {over.figures['calls']:.0f} tmux procs/survey")
    print("; ".join(parts))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="a smaller run (3 reps, 10 agents)")
    p.add_argument("--no-250", action="store_true", help="skip the 250-pane row")
    p.add_argument("--budget", type=float, default=None, help="time budget in seconds (60, --quick 30)")
    args = p.parse_args()
    args.reps = 3 if args.quick else 5
    args.budget = args.budget if args.budget is not None else (30.0 if args.quick else 60.0)
    return C.run_bench(run(args))


if __name__ == "__main__":
    sys.exit(main())
