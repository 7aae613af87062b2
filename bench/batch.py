"""One prompt to 100 fake-agent panes with `run_batch`, against one send to one pane.

One private tmux server, one session, 100 windows of 120x40 (plus a few extra panes for the single
sends), all created by one chained tmux command and running the project's fake agent (styles rotated,
`--turn 5`). Prints both wall times and their ratio (target ≤ 1.5×, issue 15), the verdict counts, the tmux
processes spawned (LocalTmux.calls, broken down by command), the CPU used while the batch ran
(machine, agents, tmux server, this process) and the worst event-loop stall.

Run: python bench/batch.py [--panes 100] [--quick]
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

TARGET_RATIO = 1.5
PROMPT = "Run the unit tests, fix the first failure you find, and reply with exactly CANARY-batch"


def received(path: Path, prompt: str) -> bool:
    if not path.exists():
        return False
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("kind") in ("submitted", "queued") and row.get("text", "").rstrip() == prompt:
                return True
    return False


def counting(host: Any) -> Counter[str]:
    """Wrap host.run so every tmux process is counted by its first command (captures by pane count)."""
    counts: Counter[str] = Counter()
    original = host.run

    async def run(*args: str, **kw: Any) -> str:
        head = args[0] if args else "?"
        if head == "display-message" and "capture-pane" in args:
            counts["capture chain"] += 1
            counts["  panes captured"] += args.count("capture-pane")
        elif head == "capture-pane":
            counts["capture (single)"] += 1
            counts["  panes captured"] += 1
        else:
            counts[head] += 1
        return str(await original(*args, **kw))

    host.run = run
    return counts


class LoopWork:
    """Adds up event-loop time spent in blocking work during a batch (instrumentation, patched in and out).

    - spawn: `subprocess.Popen()` inside asyncio's subprocess transport (fork+exec of each tmux client)
    - screen: parse_capture + classify/classify_as + judge as services.send calls them
    """

    def __init__(self) -> None:
        self.ms: Counter[str] = Counter()
        self.n: Counter[str] = Counter()
        self._undo: list[tuple[Any, str, Any]] = []

    def _wrap(self, owner: Any, name: str, key: str) -> None:
        original = getattr(owner, name)

        def timed(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                self.ms[key] += (time.perf_counter() - t) * 1000
                self.n[key] += 1

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def __enter__(self) -> LoopWork:
        import subprocess

        import dashboard.services.send as send_mod

        self._wrap(subprocess.Popen, "__init__", "spawn (fork+exec of tmux)")
        for fn in ("parse_capture", "classify", "classify_as", "judge"):
            self._wrap(send_mod, fn, "parse + classify + judge")
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            owner, name, original = self._undo.pop()
            setattr(owner, name, original)


async def run(args: argparse.Namespace) -> int:
    from dashboard.adapters.store import Store
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.batch import run_batch
    from dashboard.services.send import SendOptions, send

    budget = C.Budget(args.budget)
    print(C.machine_line())
    work = C.tempdir("dispatch-bench-batch-")
    pycache = work / "pycache"
    total = args.panes + args.singles
    records = [work / f"agent{i}.jsonl" for i in range(total)]
    flags = ("--no-spinner",) if args.no_spinner else ()
    launcher = C.agent_launcher(work, args.turn, *flags, pycache=pycache)
    cmds = [f"exec sh {launcher} {C.STYLES[i % 3]} {i}" for i in range(total)]
    server = C.TmuxServer("batch")
    t = time.perf_counter()
    server.start(cmds, session="b")
    created_ms = (time.perf_counter() - t) * 1000
    poller = LocalTmux(socket_name=server.name)
    panes = await poller.list_panes()
    sizes = Counter(f"{p.width}x{p.height}" for p in panes)
    ids = [p.pane_id for p in panes]
    t = time.perf_counter()
    states = await C.wait_states(poller, ids, {"idle"}, timeout=min(45.0, budget.left() - 10))
    ready_s = time.perf_counter() - t
    not_idle = Counter(s for s in states.values() if s != "idle")
    print(
        f"server: {len(panes)} panes {dict(sizes)} created by one tmux call in {created_ms:.0f} ms;"
        f" all idle after {ready_s:.1f} s" + (f" (NOT idle: {dict(not_idle)})" if not_idle else "")
    )
    if not_idle or len(states) != total:
        print("agents did not all become idle; giving up", file=sys.stderr)
        return 1
    await asyncio.sleep(1.0)  # let the start-up burst settle
    agent_pids = [p.pid for p in panes if p.pid]
    server_pid = server.server_pid()
    fleet_pids = [*agent_pids, *([server_pid] if server_pid else [])]
    mine0, cpu0, t = C.procs_cpu_s(fleet_pids), C.cpu_times(), time.perf_counter()
    await asyncio.sleep(1.5)
    idle_busy = C.busy_pct(cpu0)
    mine = 100 * (C.procs_cpu_s(fleet_pids) - mine0) / (time.perf_counter() - t) / C.cpu_count()
    print(
        f"idle fleet: machine CPU {idle_busy:.0f} % busy of {C.cpu_count()} cores, of which the fleet"
        f" (agents + tmux server) {mine:.0f} % and other processes ~{max(0.0, idle_busy - mine):.0f} %;"
        f" load {C.loadavg()}"
    )

    by_window = {p.window_index: p for p in panes}
    batch_targets = [f"b:{i}.0" for i in range(args.panes)]
    single_targets = [f"b:{i}.0" for i in range(args.panes, total)]
    opts = SendOptions()
    store = Store(work / "dispatch.db")
    await store.open()
    timed = TimedStore(store)
    try:
        # ---- one send to one pane (each on its own idle pane; the fleet stays idle) ----
        singles: list[float] = []
        single_calls: list[int] = []
        single_verdicts: Counter[str] = Counter()
        for target in single_targets:
            host = LocalTmux(socket_name=server.name)
            t = time.perf_counter()
            rec = await send(host, store, target, PROMPT, opts)
            singles.append((time.perf_counter() - t) * 1000)
            single_calls.append(host.calls)
            single_verdicts[str(rec.verdict)] += 1
        single_ms = C.median(singles)

        async def one_batch(log: Any, prompt: str) -> dict[str, Any]:
            host = LocalTmux(socket_name=server.name)
            counts = counting(host)
            r: dict[str, Any] = {"counts": counts, "host": host}
            cpu_agents0 = C.procs_cpu_s(agent_pids)
            cpu_server0 = C.proc_cpu_s(server_pid) if server_pid else None
            cpu_self0 = time.process_time()
            r["load0"] = C.loadavg()
            cpu0 = C.cpu_times()
            recs = []
            done_at: list[float] = []
            with C.LoopLag() as lag, LoopWork() as work:
                t = time.perf_counter()
                async for rec in run_batch(host, log, batch_targets, prompt, opts):
                    recs.append(rec)
                    done_at.append((time.perf_counter() - t) * 1000)
                r["ms"] = (time.perf_counter() - t) * 1000
            r["work"] = work
            r["busy"] = C.busy_pct(cpu0)
            r["cpu_self"] = time.process_time() - cpu_self0
            r["cpu_agents"] = C.procs_cpu_s(agent_pids) - cpu_agents0
            cpu_server1 = C.proc_cpu_s(server_pid) if server_pid else None
            r["cpu_server"] = cpu_server1 - cpu_server0 if cpu_server0 is not None and cpu_server1 is not None else None
            r["recs"], r["done_at"], r["lag"] = recs, done_at, lag
            r["verdicts"] = Counter(str(x.verdict) for x in recs)
            return r

        # ---- the batch, logged to the real store ----
        main = await one_batch(timed, PROMPT)
        # ---- diagnostic: the same batch with a store that writes nothing (what the tmux path costs) ----
        null: dict[str, Any] | None = None
        if not args.skip_null and budget.left() > args.turn + 12:
            states = await C.wait_states(poller, ids[: args.panes], {"idle"}, timeout=args.turn + 8)
            if set(states.values()) == {"idle"}:
                null = await one_batch(NullStore(), PROMPT + " (null store)")
            else:
                print(f"note: agents not idle again for the null-store batch: {Counter(states.values())}")
    finally:
        await store.close()

    await asyncio.sleep(0.3)
    recs = main["recs"]
    verdicts = main["verdicts"]
    truth_bad = sum(1 for r in recs if r.verdict.delivered and not received(records[_window(r, by_window)], PROMPT))
    truth_missed = sum(1 for r in recs if not r.verdict.delivered and received(records[_window(r, by_window)], PROMPT))
    elapsed = [float(r.elapsed_ms) for r in recs]
    reaction = [float(r.timings["reaction_ms"]) for r in recs if "reaction_ms" in r.timings]
    inspect = [float(r.timings["inspect_ms"]) for r in recs if "inspect_ms" in r.timings]
    paste = [float(r.timings["paste_ms"]) for r in recs if "paste_ms" in r.timings]
    seen = [float(r.timings["paste_seen_ms"]) for r in recs if "paste_seen_ms" in r.timings]
    delay = [float(r.delay_ms) for r in recs]
    retried = sum(1 for r in recs if r.attempts > 1)
    batch_ms = float(main["ms"])
    host = main["host"]
    lag = main["lag"]

    print()
    rows: list[list[object]] = [
        [f"one send (median of {len(singles)})", single_ms, len(singles), C.median(single_calls), 1.0],
        [f"run_batch to {args.panes} panes", batch_ms, len(recs), host.calls, batch_ms / single_ms],
    ]
    if null is not None:
        rows.append(
            [
                "  same, null store (diagnostic)",
                null["ms"],
                len(null["recs"]),
                null["host"].calls,
                null["ms"] / single_ms,
            ]
        )
    print(C.table(["", "wall ms", "sends", "tmux procs", "x single"], rows, nd=2))
    print(f"ratio batch/single: {batch_ms / single_ms:.2f}x (target ≤ {TARGET_RATIO}x)")
    print(f"single-send verdicts: {dict(single_verdicts)}; batch verdicts: {dict(verdicts)}; retried sends: {retried}")
    if null is not None:
        print(f"null-store batch verdicts: {dict(null['verdicts'])}")
    if truth_bad or truth_missed:
        print(
            f"!! ground truth: {truth_bad} delivered verdicts not received, {truth_missed} received but not delivered"
        )
    else:
        print("ground truth: every delivered verdict matches the fake agent's own record")
    print()
    begin, finish = timed.calls["begin_send"], timed.calls["finish_send"]
    print(
        C.table(
            ["per send in the batch (ms)", "p50", "p90", "max"],
            [
                ["elapsed_ms", C.pct(elapsed, 50), C.pct(elapsed, 90), max(elapsed, default=float("nan"))],
                [
                    "  inspect_ms (incl. begin_send)",
                    C.pct(inspect, 50),
                    C.pct(inspect, 90),
                    max(inspect, default=float("nan")),
                ],
                ["  paste_ms", C.pct(paste, 50), C.pct(paste, 90), max(paste, default=float("nan"))],
                ["  delay_ms", C.pct(delay, 50), C.pct(delay, 90), max(delay, default=float("nan"))],
                ["  paste_seen_ms", C.pct(seen, 50), C.pct(seen, 90), max(seen, default=float("nan"))],
                ["  reaction_ms", C.pct(reaction, 50), C.pct(reaction, 90), max(reaction, default=float("nan"))],
                [
                    "store.begin_send (wait + write)",
                    C.pct(begin, 50),
                    C.pct(begin, 90),
                    max(begin, default=float("nan")),
                ],
                [
                    "store.finish_send (wait + write)",
                    C.pct(finish, 50),
                    C.pct(finish, 90),
                    max(finish, default=float("nan")),
                ],
                [
                    "finished at (from batch start)",
                    C.pct(main["done_at"], 50),
                    C.pct(main["done_at"], 90),
                    max(main["done_at"]),
                ],
                ["event-loop stall (10 ms ticker)", C.pct(lag.samples, 50), C.pct(lag.samples, 90), lag.worst],
            ],
        )
    )
    if null is not None:
        ne = [float(r.elapsed_ms) for r in null["recs"]]
        ni = [float(r.timings["inspect_ms"]) for r in null["recs"] if "inspect_ms" in r.timings]
        npaste = [float(r.timings["paste_ms"]) for r in null["recs"] if "paste_ms" in r.timings]
        nr = [float(r.timings["reaction_ms"]) for r in null["recs"] if "reaction_ms" in r.timings]
        print(
            f"null store (p50 / max): elapsed_ms {C.pct(ne, 50):.0f} / {max(ne):.0f}, inspect_ms {C.pct(ni, 50):.0f}"
            f" / {max(ni):.0f}, paste_ms {C.pct(npaste, 50):.0f} / {max(npaste):.0f}, reaction_ms"
            f" {C.pct(nr, 50):.0f} / {max(nr):.0f}; worst loop stall {null['lag'].worst:.0f} ms"
        )
    print()
    work_rows = []
    for key in main["work"].ms:
        w = main["work"]
        row: list[object] = [key, w.ms[key], w.n[key], w.ms[key] / max(1, w.n[key])]
        if null is not None:
            row += [null["work"].ms[key], null["work"].n[key]]
        else:
            row += ["-", "-"]
        work_rows.append(row)
    print(
        C.table(
            ["blocking work in the event loop", "total ms", "calls", "ms/call", "null store ms", "calls"], work_rows
        )
    )
    print()
    count_rows = [[k, v, null["counts"].get(k, 0) if null else "-"] for k, v in main["counts"].items()]
    print(C.table(["tmux processes in the batch", "n", "null store"], count_rows))
    print()
    cores = C.cpu_count()
    secs = batch_ms / 1000

    def share(cpu: float | None) -> str:
        return "-" if cpu is None else f"{cpu:.2f} s ({100 * cpu / secs:.0f} % of one core)"

    print(
        C.table(
            ["CPU while the batch ran", "value"],
            [
                ["machine busy", f"{main['busy']:.0f} % of {cores} cores (before, idle fleet: {idle_busy:.0f} %)"],
                [f"{len(agent_pids)} fake agents", share(main["cpu_agents"])],
                ["tmux server", share(main["cpu_server"])],
                ["this process (dispatch)", share(main["cpu_self"])],
                ["load before / after", f"{main['load0']} / {C.loadavg()}"],
            ],
        )
    )
    ratio = batch_ms / single_ms
    extra = f" (null store {null['ms'] / single_ms:.2f}x)" if null is not None else ""
    print(
        f"SUMMARY batch: {len(recs)} panes in {batch_ms:.0f} ms vs one send {single_ms:.0f} ms ="
        f" {ratio:.2f}x ({'meets' if ratio <= TARGET_RATIO else 'misses'} ≤{TARGET_RATIO}x){extra};"
        f" verdicts {dict(verdicts)}; {host.calls} tmux processes; machine CPU {main['busy']:.0f} % busy"
        f" (idle before {idle_busy:.0f} %); worst loop stall {lag.worst:.0f} ms; run {budget.elapsed():.0f} s"
    )
    ok = verdicts.keys() <= {"submitted", "queued"} and not truth_bad
    return 0 if ok else 1


class TimedStore:
    """Passes every call to the real Store, timing begin_send/finish_send (lock wait included)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: dict[str, list[float]] = {"begin_send": [], "finish_send": []}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in self.calls:
            return attr

        async def timed(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return await attr(*a, **kw)
            finally:
                self.calls[name].append((time.perf_counter() - t) * 1000)

        return timed


class NullStore:
    """A store that records nothing: isolates the tmux/classify path of a batch."""

    def __init__(self) -> None:
        self._next = 0

    async def new_batch(self, prompt: str, targets: list[str]) -> int:
        return 1

    async def finish_batch(self, batch: int) -> None:
        return None

    async def begin_send(self, rec: Any) -> int:
        self._next += 1
        rec.id = self._next
        return rec.id

    async def finish_send(self, rec: Any) -> None:
        if rec.id is None:
            await self.begin_send(rec)

    def spill(self, rec: Any) -> str | None:
        return None


def _window(rec: Any, by_window: dict[int, Any]) -> int:
    for index, pane in by_window.items():
        if pane.pane_id == rec.pane_id:
            return int(index)
    raise KeyError(rec.pane_id)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--panes", type=int, default=None, help="panes in the batch (default 100, --quick 20)")
    p.add_argument("--singles", type=int, default=None, help="single sends to time (default 3, --quick 2)")
    p.add_argument("--turn", type=float, default=5.0, help="fake agent turn length in seconds (5)")
    p.add_argument("--no-spinner", action="store_true", help="agents draw no spinner while working (less CPU)")
    p.add_argument("--skip-null", action="store_true", help="skip the diagnostic null-store batch")
    p.add_argument("--quick", action="store_true", help="a smaller run")
    p.add_argument("--budget", type=float, default=None, help="time budget in seconds (60, --quick 30)")
    args = p.parse_args()
    args.panes = args.panes if args.panes is not None else (20 if args.quick else 100)
    args.singles = args.singles if args.singles is not None else (2 if args.quick else 3)
    args.budget = args.budget if args.budget is not None else (30.0 if args.quick else 60.0)
    return C.run_bench(run(args))


if __name__ == "__main__":
    sys.exit(main())
