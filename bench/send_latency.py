"""Latency of one verified send to an idle fake agent: CLI cold, CLI warm (a daemon runs it), in-process.

Each send is split into
  delay     delay_ms: the deliberate paste→Enter pause (DelayPolicy, 150 ms floor)
  reaction  timings.reaction_ms: last Enter → evidence seen by the tool
  overhead  wall − delay − reaction: everything the tool itself costs
For the CLI, wall is the subprocess wall time (interpreter start → exit); the overhead is further split
into "outside the pipeline" (wall − elapsed_ms: start-up, imports, store open, exit) and "pipeline"
(elapsed_ms − delay − reaction). In-process, wall is the time around `await send(...)`.
In-process, the Enter is timestamped and compared with the fake agent's own record of the
submission, so reaction is split into the agent's real reaction and the tool's detection lag.

Run: python bench/send_latency.py [--n 20] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _common as C

TARGET_OVERHEAD_MS = 25.0  # in-process
TARGET_WARM_MS = 40.0  # a CLI send beyond its delay, a daemon running
TARGET_COLD_MS = 90.0  # a CLI send beyond its delay, no daemon


def make_prompt(kind: str, i: int) -> str:
    return f"Bench {kind} send {i}: list the failing tests in this repository and reply with CANARY-{kind}{i}"


def agent_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def submitted_at(path: Path, prompt: str) -> float | None:
    for row in agent_records(path):
        if row.get("kind") in ("submitted", "queued") and row.get("text", "").rstrip() == prompt:
            return float(row["t"])
    return None


async def run(args: argparse.Namespace) -> int:
    from dashboard.adapters.store import Store
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.send import SendOptions, send

    budget = C.Budget(args.budget)
    print(C.machine_line())
    work = C.tempdir("dispatch-bench-latency-")
    home, pycache = work / "home", work / "pycache"
    home.mkdir()
    server = C.TmuxServer("latency")
    records = {s: work / f"{s}.jsonl" for s in C.STYLES}
    server.start_sessions([(s, C.agent_command(s, records[s], args.turn, pycache=pycache)) for s in C.STYLES])
    poller = LocalTmux(socket_name=server.name)
    panes = {p.session: p.pane_id for p in await poller.list_panes()}
    states = await C.wait_states(poller, panes.values(), {"idle"}, timeout=20)
    if set(states.values()) != {"idle"}:
        print(f"agents did not become idle: {states}", file=sys.stderr)
        return 1
    env = C.child_env(home, pycache if not args.cold_bytecode else None)

    # start-up reference: a bare interpreter, and the CLI doing nothing (after one warm-up each)
    startup: dict[str, list[float]] = {
        "python -S -c pass (no site)": [],
        "python -c pass": [],
        f"{C.cli_name()} --version": [],
    }
    for _ in range(1 + args.startup_reps):
        startup["python -S -c pass (no site)"].append(C.wall_ms([sys.executable, "-S", "-c", "pass"], env)[0])
        startup["python -c pass"].append(C.wall_ms([sys.executable, "-c", "pass"], env)[0])
        startup[f"{C.cli_name()} --version"].append(C.wall_ms([*C.cli_argv(server.name, "--version")], env)[0])

    store = Store(home / "dispatch.db")
    await store.open()
    verdicts: dict[str, Counter[str]] = {"cli": Counter(), "cli-warm": Counter(), "in-process": Counter()}
    truth_miss: dict[str, int] = {"cli": 0, "cli-warm": 0, "in-process": 0}
    rows: dict[str, list[dict[str, float]]] = {"cli": [], "cli-warm": []}
    cli_rows, warm_rows = rows["cli"], rows["cli-warm"]
    inproc_rows: list[dict[str, float]] = []
    stopped_early = ""
    try:
        # ---- CLI: `dispatch -L SOCK send TARGET PROMPT --json` (C.cli_argv; the first send is a warm-up) ----
        # cold: the command runs in its own process; warm: a daemon of the same state runs it (cli/warm.py)
        async def cli_phase(label: str, env: dict[str, str]) -> str:
            for i in range(args.n + 1):
                if budget.left() < args.budget * (0.65 if label == "cli" else 0.4):
                    return f"{label} phase stopped at {i - 1} sends (time budget)"
                style = C.STYLES[i % 3]
                await C.wait_states(poller, [panes[style]], {"idle"}, timeout=5)
                prompt = make_prompt(label[-1], i)
                wall, done = C.wall_ms(C.cli_argv(server.name, "send", f"{style}:0.0", prompt, "--json"), env)
                if not done.stdout.strip():
                    raise SystemExit(f"send failed (rc {done.returncode}): {done.stderr.strip()}")
                obj = json.loads(done.stdout)
                rec = await store.get(int(obj["id"]), snapshots=False)
                assert rec is not None
                if i == 0:
                    continue
                verdicts[label][str(obj["verdict"])] += 1
                await asyncio.sleep(0.05)
                if obj["verdict"] in ("submitted", "queued") and submitted_at(records[style], prompt) is None:
                    truth_miss[label] += 1
                reaction = float(rec.timings.get("reaction_ms", float("nan")))
                rows[label].append(
                    {
                        "wall": wall,
                        "delay": float(obj["delay_ms"]),
                        "reaction": reaction,
                        "overhead": wall - obj["delay_ms"] - reaction,
                        "outside": wall - obj["elapsed_ms"],
                        "pipeline": obj["elapsed_ms"] - obj["delay_ms"] - reaction,
                    }
                )
            return ""

        stopped_early = await cli_phase("cli", {**env, "DISPATCH_NO_DAEMON": "1"})
        started = C.wall_ms(C.cli_argv(server.name, "daemon", "start"), env)[1]
        if started.returncode != 0:
            raise SystemExit(f"daemon start failed: {started.stderr.strip()}")
        try:
            stopped_early = await cli_phase("cli-warm", env) or stopped_early
        finally:
            C.wall_ms(C.cli_argv(server.name, "daemon", "stop"), env)

        # ---- in-process: dashboard.services.send.send() with one store and one host ----
        host = LocalTmux(socket_name=server.name)
        enter: dict[str, tuple[float, float]] = {}
        original_send_keys = host.send_keys

        async def timed_send_keys(pane_id: str, *keys: str) -> None:
            t0 = time.time()
            await original_send_keys(pane_id, *keys)
            enter[pane_id] = (t0, time.time())  # the last Enter; reaction_ms counts from its return

        host.send_keys = timed_send_keys  # type: ignore[method-assign]
        opts = SendOptions()
        for i in range(args.n + 1):
            if budget.left() < 8:
                stopped_early += ("; " if stopped_early else "") + f"in-process phase stopped at {i - 1} sends"
                break
            style = C.STYLES[i % 3]
            await C.wait_states(poller, [panes[style]], {"idle"}, timeout=5)
            prompt = make_prompt("p", i)
            calls = host.calls
            t = time.perf_counter()
            rec = await send(host, store, f"{style}:0.0", prompt, opts)
            wall = (time.perf_counter() - t) * 1000
            if i == 0:
                continue
            verdicts["in-process"][str(rec.verdict)] += 1
            await asyncio.sleep(0.05)
            seen = submitted_at(records[style], prompt)
            if rec.verdict.delivered and seen is None:
                truth_miss["in-process"] += 1
            reaction = float(rec.timings.get("reaction_ms", float("nan")))
            agent = detect = float("nan")
            if seen is not None and panes[style] in enter:
                issued, returned = enter[panes[style]]
                agent = (seen - issued) * 1000  # send-keys spawned → agent recorded the submit
                detect = reaction - (seen - returned) * 1000  # agent recorded it → the tool saw evidence
            inproc_rows.append(
                {
                    "wall": wall,
                    "delay": float(rec.delay_ms),
                    "reaction": reaction,
                    "agent": agent,
                    "detect": detect,
                    "overhead": wall - rec.delay_ms - reaction,
                    "pipeline": rec.elapsed_ms - rec.delay_ms - reaction,
                    "finish": wall - rec.elapsed_ms,
                    "inspect": float(rec.timings.get("inspect_ms", float("nan"))),
                    "paste": float(rec.timings.get("paste_ms", float("nan"))),
                    "paste_seen": float(rec.timings.get("paste_seen_ms", float("nan"))),
                    "calls": float(host.calls - calls),
                }
            )
    finally:
        await store.close()

    def stats(rows: list[dict[str, float]], key: str) -> list[object]:
        vals = [r[key] for r in rows if r[key] == r[key]]
        return [C.pct(vals, 50), C.pct(vals, 90), C.pct(vals, 100) if vals else float("nan")]

    print()
    print(C.table(["start-up (median ms)", "ms"], [[k, C.median(v[1:])] for k, v in startup.items()]))
    print()
    print(f"CLI: {C.cli_name()} send --json, {len(cli_rows)} sends, verdicts {dict(verdicts['cli'])}")
    print(
        C.table(
            ["ms", "p50", "p90", "max"],
            [
                ["wall (subprocess)", *stats(cli_rows, "wall")],
                ["delay (delay_ms)", *stats(cli_rows, "delay")],
                ["reaction (reaction_ms)", *stats(cli_rows, "reaction")],
                ["tool overhead", *stats(cli_rows, "overhead")],
                ["  outside pipeline", *stats(cli_rows, "outside")],
                ["  in pipeline", *stats(cli_rows, "pipeline")],
            ],
        )
    )
    print()
    print(
        f"CLI warm: the same command with a daemon running, {len(warm_rows)} sends,"
        f" verdicts {dict(verdicts['cli-warm'])}"
    )
    print(
        C.table(
            ["ms", "p50", "p90", "max"],
            [
                ["wall (subprocess)", *stats(warm_rows, "wall")],
                ["delay (delay_ms)", *stats(warm_rows, "delay")],
                ["reaction (reaction_ms)", *stats(warm_rows, "reaction")],
                ["tool overhead", *stats(warm_rows, "overhead")],
                ["  outside pipeline", *stats(warm_rows, "outside")],
                ["  in pipeline", *stats(warm_rows, "pipeline")],
            ],
        )
    )
    print()
    print(f"in-process: services.send.send(), {len(inproc_rows)} sends, verdicts {dict(verdicts['in-process'])}")
    print(
        C.table(
            ["ms", "p50", "p90", "max"],
            [
                ["wall (await send)", *stats(inproc_rows, "wall")],
                ["delay (delay_ms)", *stats(inproc_rows, "delay")],
                ["reaction (reaction_ms)", *stats(inproc_rows, "reaction")],
                ["  agent (send-keys → agent record)", *stats(inproc_rows, "agent")],
                ["  tool lag (agent record → seen)", *stats(inproc_rows, "detect")],
                ["tool overhead", *stats(inproc_rows, "overhead")],
                ["  in pipeline", *stats(inproc_rows, "pipeline")],
                ["  finish_send (after elapsed)", *stats(inproc_rows, "finish")],
                ["inspect_ms", *stats(inproc_rows, "inspect")],
                ["paste_ms", *stats(inproc_rows, "paste")],
                ["paste_seen_ms", *stats(inproc_rows, "paste_seen")],
                ["tmux processes per send", *stats(inproc_rows, "calls")],
            ],
        )
    )
    if any(truth_miss.values()):
        print(f"!! delivered verdicts the fake agent did not record: {truth_miss}")
    if stopped_early:
        print(f"note: {stopped_early}")
    bytecode = "recompiled every start (PYTHONDONTWRITEBYTECODE)" if args.cold_bytecode else "warm pycache"
    print(f"load after: {C.loadavg()}; CLI bytecode: {bytecode}")

    cli_o = C.pct([r["overhead"] for r in cli_rows], 50)
    warm_o = C.pct([r["overhead"] for r in warm_rows], 50)
    in_o = C.pct([r["overhead"] for r in inproc_rows], 50)

    def verdict(x: float, target: float = TARGET_OVERHEAD_MS) -> str:
        return "meets" if x <= target else "misses"

    print(
        f"SUMMARY send_latency: tool overhead p50 CLI cold {cli_o:.0f} ms ({verdict(cli_o, TARGET_COLD_MS)}"
        f" ≤{TARGET_COLD_MS:.0f}), warm {warm_o:.0f} ms ({verdict(warm_o, TARGET_WARM_MS)} ≤{TARGET_WARM_MS:.0f}),"
        f" in-process {in_o:.0f} ms ({verdict(in_o)} ≤{TARGET_OVERHEAD_MS:.0f});"
        f" wall p50 CLI {C.pct([r['wall'] for r in cli_rows], 50):.0f} ms,"
        f" in-process {C.pct([r['wall'] for r in inproc_rows], 50):.0f} ms;"
        f" delay p50 {C.pct([r['delay'] for r in inproc_rows], 50):.0f} ms,"
        f" reaction p50 {C.pct([r['reaction'] for r in inproc_rows], 50):.0f} ms;"
        f" {len(cli_rows)}+{len(inproc_rows)} sends in {budget.elapsed():.0f} s"
    )
    ok = all(v.keys() <= {"submitted"} for v in verdicts.values()) and not any(truth_miss.values())
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=None, help="sends per mode (default 20, --quick 6)")
    p.add_argument("--quick", action="store_true", help="a smaller run")
    p.add_argument("--turn", type=float, default=0.3, help="fake agent turn length in seconds (0.3)")
    p.add_argument("--budget", type=float, default=None, help="time budget in seconds (55, --quick 25)")
    p.add_argument(
        "--cold-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE for the CLI (recompile every start) instead of a warm pycache",
    )
    args = p.parse_args()
    args.n = args.n if args.n is not None else (6 if args.quick else 20)
    args.budget = args.budget if args.budget is not None else (35.0 if args.quick else 80.0)
    args.startup_reps = 3 if args.quick else 5
    return C.run_bench(run(args))


if __name__ == "__main__":
    sys.exit(main())
