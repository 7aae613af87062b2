"""The send log (adapters.store.Store): write rate, bytes per send, and reading recent sends.

Each send is written the way services.send does it: `begin_send` (the pending row) then
`finish_send` (outcome + three snapshots). The snapshots are drawn by the project's fake agent
renderer at 120x40 with its ANSI colours: `before` is the visible screen plus 200 lines of
scrollback (as `capture-pane -e -S -200` returns it), `after-paste` the screen with the prompt in
the composer, `after` the screen while working. Also measured: 100 sends written concurrently
(what a 100-pane batch does to the one Store), the zlib time spent in the event loop, the worst
event-loop stall, the DB bytes per send (file growth, and after checkpoint + VACUUM), and reads
of the last 100 sends (in-process and through `dispatch log` / `dispatch show`).

Run: python bench/log_write.py [--n 2000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import zlib
from pathlib import Path

import _common as C

_TEXT = (
    "the test suite fails on import because the fixture path moved; rename the module, update the imports, "
    "run pytest again and report which cases still fail with their tracebacks and a one line cause each "
    "refactor parse config into a dataclass keep backwards compatible keys add a migration note to the changelog "
    "async sqlite writer batches commits every hundred rows while the reader uses the pane index"
)
WORDS = tuple(_TEXT.split())


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def snapshot_set(style: str, seed: int, history: int = 200) -> dict[str, str]:
    """before (screen + `history` scrollback lines), after-paste and after, as the pipeline stores them."""
    from dashboard.demo.fake_agent import FakeAgent, Options, Turn, clip

    rng = random.Random(seed)
    agent = FakeAgent(Options(style=style, cwd="~/src/proj", turn=5.0), -1, -1)
    width, height = 120, 40
    while True:
        agent.items.append(("user", sentence(rng, rng.randint(12, 60))))
        reply = "\n".join(sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(3, 12)))
        agent.items.append(("reply", reply))
        agent.items.append(("done", f"Worked for {rng.randint(2, 90)}s"))
        if len(agent.render(width, height)) >= history + height + 5:
            break

    def screen(lines: list[str], keep: int) -> list[str]:
        return [clip(line, width) for line in lines[-keep:]]

    before = "\n".join(screen(agent.render(width, height), history + height)) + "\n"
    prompt = sentence(rng, 25)
    agent.composer.insert(prompt)
    after_paste = "\n".join(screen(agent.render(width, height), height))
    agent.composer.clear()
    agent.items.append(("user", prompt))
    agent.turn = Turn(prompt, 9, time.monotonic(), time.monotonic() + 5, None)
    after = "\n".join(screen(agent.render(width, height), height))
    return {"before": before, "after-paste": after_paste, "after": after}


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def record(i: int, snaps: dict[str, str], batch: int | None = None) -> object:
    from dashboard.core.model import SendRecord, Verdict

    rec = SendRecord(target=f"work:{i % 7}.0", prompt=f"bench prompt {i}: " + "x" * 60, batch=batch)
    rec.options = {"raw": False, "when_idle": False, "queue": False, "retries": 2, "verify_ms": 5000}
    rec.snapshots = dict(snaps)
    rec.pane_id, rec.agent, rec.state_before = f"%{i % 7}", "claude", "idle"
    rec.verdict, rec.reason = Verdict.SUBMITTED, "working indicator appeared"
    rec.evidence = ["working-indicator: ✻ Billowing…", "left-composer"]
    rec.delay_ms, rec.attempts, rec.elapsed_ms = 184, 1, 254
    rec.timings = {"inspect_ms": 8, "paste_ms": 4, "paste_seen_ms": 5, "reaction_ms": 46, "verify_ms": 48}
    return rec


async def run(args: argparse.Namespace) -> int:
    from dashboard.adapters.store import Store

    budget = C.Budget(args.budget)
    print(C.machine_line())
    work = C.tempdir("dispatch-bench-log-")
    path = work / "dispatch.db"
    pool = [snapshot_set(C.STYLES[k % 3], k) for k in range(args.pool)]
    raw = [sum(len(v.encode()) for v in s.values()) for s in pool]
    packed = [sum(len(zlib.compress(v.encode(), 6)) for v in s.values()) for s in pool]
    t = time.perf_counter()
    for s in pool:
        for v in s.values():
            zlib.compress(v.encode(), 6)
    zlib_ms = (time.perf_counter() - t) * 1000 / len(pool)
    lines = pool[0]["before"].count("\n")
    print(
        f"snapshots: before {lines} lines ({len(pool[0]['before'].encode()) / 1024:.1f} KB),"
        f" after-paste/after 40 lines; per send raw {C.median(raw) / 1024:.1f} KB,"
        f" zlib-6 {C.median(packed) / 1024:.1f} KB; {args.pool} distinct sets cycled"
    )

    store = Store(path)
    await store.open()
    empty = db_bytes(path)
    per_send: list[float] = []
    n_done = 0
    try:
        # ---- sequential: one send after the other ----
        with C.LoopLag() as lag:
            t0 = time.perf_counter()
            for i in range(args.n):
                if budget.left() < args.budget * 0.4:
                    break
                rec = record(i, pool[i % len(pool)])
                t = time.perf_counter()
                await store.begin_send(rec)  # type: ignore[arg-type]
                await store.finish_send(rec)  # type: ignore[arg-type]
                per_send.append((time.perf_counter() - t) * 1000)
                n_done += 1
            seq_s = time.perf_counter() - t0
        grown = db_bytes(path) - empty

        # ---- concurrent: 100 sends at once through the one Store, as a 100-pane batch does ----
        conc_ms: list[float] = []
        conc_begin: list[float] = []
        conc_lag = 0.0
        for r in range(args.conc_rounds):
            if budget.left() < 8:
                break
            batch = await store.new_batch("bench batch", [f"work:{k}.0" for k in range(100)])
            recs = [record(100_000 + r * 100 + k, pool[k % len(pool)], batch=batch) for k in range(100)]
            with C.LoopLag() as lag2:
                t = time.perf_counter()
                await asyncio.gather(*(store.begin_send(x) for x in recs))  # type: ignore[arg-type]
                conc_begin.append((time.perf_counter() - t) * 1000)
                await asyncio.gather(*(store.finish_send(x) for x in recs))  # type: ignore[arg-type]
                conc_ms.append((time.perf_counter() - t) * 1000)
            conc_lag = max(conc_lag, lag2.worst)

        # ---- reads ----
        recent: list[float] = []
        for _ in range(20):
            t = time.perf_counter()
            last = await store.recent(100)
            recent.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        full = [await store.get(r.id) for r in last if r.id is not None]  # type: ignore[misc]
        get100 = (time.perf_counter() - t) * 1000
        assert all(f is not None and len(f.snapshots) == 3 for f in full)
        last_id = last[0].id
    finally:
        await store.close()

    env = C.child_env(work, work / "pycache")
    cli_log: list[float] = []
    cli_show: list[float] = []
    for i in range(4 if not args.quick else 2):
        ms, done = C.wall_ms([sys.executable, "-m", "dashboard", "log", "-n", "100", "--json"], env)
        if done.returncode != 0:
            print(f"dispatch log failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        if i:
            cli_log.append(ms)
        ms, done = C.wall_ms([sys.executable, "-m", "dashboard", "show", str(last_id), "--json"], env)
        if done.returncode != 0:
            print(f"dispatch show failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        if i:
            cli_show.append(ms)

    total = n_done + 100 * len(conc_ms)
    before_vac = db_bytes(path)
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("VACUUM")
    con.close()
    vacuumed = db_bytes(path)

    rate = n_done / seq_s if seq_s else float("nan")
    print()
    print(f"sequential: {n_done} sends (begin_send + finish_send) in {seq_s:.2f} s = {rate:.0f} sends/s")
    print(
        C.table(
            ["ms", "p50", "p90", "p99", "max"],
            [
                ["per send (begin+finish)", *(C.pct(per_send, q) for q in (50, 90, 99, 100))],
                ["event-loop stall (10 ms ticker)", *(C.pct(lag.samples, q) for q in (50, 90, 99, 100))],
            ],
            nd=2,
        )
    )
    print(f"zlib-6 of the 3 snapshots, in the event loop: {zlib_ms:.2f} ms per send")
    if conc_ms:
        print(
            f"100 concurrent sends through one Store: begin_send of all 100 {C.median(conc_begin):.0f} ms,"
            f" begin+finish {C.median(conc_ms):.0f} ms ({C.median(conc_ms) / 100:.2f} ms per send,"
            f" {100_000 / C.median(conc_ms):.0f} sends/s); worst loop stall {conc_lag:.1f} ms;"
            f" median of {len(conc_ms)} rounds"
        )
    print()
    print(
        C.table(
            ["bytes per send", "KB"],
            [
                ["raw snapshots", C.median(raw) / 1024],
                ["zlib-compressed snapshots", C.median(packed) / 1024],
                [f"file growth / {n_done} (db+wal+shm)", grown / max(1, n_done) / 1024],
                [f"after checkpoint + VACUUM / {total}", vacuumed / max(1, total) / 1024],
            ],
            nd=2,
        )
    )
    print(f"files: {before_vac / 1e6:.1f} MB before VACUUM (db+wal+shm), {vacuumed / 1e6:.1f} MB after")
    print()
    print(
        C.table(
            ["read", "ms"],
            [
                ["store.recent(100), median of 20", C.median(recent)],
                ["store.get() x100 with snapshots", get100],
                ["  per send", get100 / 100],
                [f"dispatch log -n 100 --json (CLI wall, median of {len(cli_log)})", C.median(cli_log)],
                [f"dispatch show ID --json (CLI wall, median of {len(cli_show)})", C.median(cli_show)],
            ],
            nd=2,
        )
    )
    print(f"load after: {C.loadavg()}")
    print(
        f"SUMMARY log_write: {rate:.0f} sends/s sequential (p50 {C.pct(per_send, 50):.2f} ms, p99"
        f" {C.pct(per_send, 99):.2f} ms), 100 concurrent in {C.median(conc_ms):.0f} ms;"
        f" {vacuumed / max(1, total) / 1024:.1f} KB/send after VACUUM ({grown / max(1, n_done) / 1024:.1f} KB"
        f" file growth); recent(100) {C.median(recent):.2f} ms, 100 full reads {get100:.0f} ms"
    )
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=None, help="sequential sends (default 2000, --quick 300)")
    p.add_argument("--quick", action="store_true", help="a smaller run")
    p.add_argument("--budget", type=float, default=None, help="time budget in seconds (50, --quick 20)")
    args = p.parse_args()
    args.n = args.n if args.n is not None else (300 if args.quick else 2000)
    args.budget = args.budget if args.budget is not None else (20.0 if args.quick else 50.0)
    args.pool = 6 if args.quick else 24
    args.conc_rounds = 2 if args.quick else 5
    return C.run_bench(run(args))


if __name__ == "__main__":
    sys.exit(main())
