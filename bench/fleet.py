"""The fleet over real OpenSSH: connect time, refresh of 3 machines × 50 panes, send overhead over SSH.

Needs root (machines are network namespaces with their own hostname, machine-id and sshd; see
tests/fleetns.py). Each machine runs a private tmux server with 50 `sleep` panes (refresh cost) and
machine m1 also one idle fake agent (send cost).

  connect    SshLink.connection() from nothing: TCP + SSH handshake + auth + identity check (one exec)
  refresh    FleetWatcher.refresh() over the 3 machines with open connections (one list-panes and one
             chained capture per machine, machines concurrently) — target ≤ 30 ms
  send       send() to the fake agent on m1: wall − delay − reaction = what the tool adds, SSH included
             — target ≤ 50 ms beyond the delay

Run: python bench/fleet.py [--n 20] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common as C

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_REFRESH_MS = 30.0
TARGET_SEND_MS = 50.0
TARGET_FEED_MS = 150.0
PANES = 50


async def main(args: argparse.Namespace) -> int:
    from tests.fleetns import NetnsFleet, fleet_unavailable_reason

    reason = fleet_unavailable_reason()
    if reason:
        print(f"bench/fleet.py needs network namespaces: {reason}")
        return 2
    root = Path(tempfile.mkdtemp(prefix="dispatch-bench-fleet-", dir="/run"))
    home = Path(C.tempdir("dispatch-bench-fleet-home-"))
    os.environ["DISPATCH_HOME"] = str(home)
    try:
        with NetnsFleet(root, n=3, prefix="dbenchf", subnet=240) as ns:
            return await measure(args, ns, home)
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def measure(args: argparse.Namespace, ns: object, home: Path) -> int:
    from dashboard.adapters.config import load_registry
    from dashboard.adapters.ssh import SshLink
    from dashboard.adapters.store import Store
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.fleet import Fleet
    from dashboard.services.send import SendOptions, send
    from dashboard.services.watch import FleetWatcher
    from tests.fleetns import NetnsFleet

    assert isinstance(ns, NetnsFleet)
    sock = "bench"
    record = ns.root / "agent.jsonl"
    agent = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", "claude", "--turn", "0.3"]
    agent += ["--record", str(record)]
    for m in ns.machines:
        chain = ["new-session", "-d", "-s", "p", "-x", "80", "-y", "24", "sleep 600"]
        for _ in range(PANES - 1):
            chain += [";", "new-window", "-t", "p", "sleep 600"]
        ns.ssh(m, shlex.join(["tmux", "-L", sock, *chain]))
    m1 = ns.machines[0]
    launch = f"exec env PYTHONPATH={shlex.quote(str(ROOT))} {shlex.join(agent)}"
    ns.ssh(m1, shlex.join(["tmux", "-L", sock, "new-session", "-d", "-s", "agent", "-x", "120", "-y", "40", launch]))

    (home / "config.toml").write_text(f"[ssh]\nconfig = {json.dumps(str(ns.ssh_config))}\n")
    for m in ns.machines:
        _, done = C.wall_ms(
            [sys.executable, "-m", "dashboard", "fleet", "add", m.name, m.name, "--socket", sock], dict(os.environ)
        )
        assert done.returncode == 0, done.stderr
    registry = load_registry(home / "config.toml")
    assert len(registry.machines) == 3, "fleet add failed"

    # connect: fresh link each time (identity check included)
    connect: list[float] = []
    for _ in range(args.n):
        link = SshLink(registry.get("m2"), registry.ssh_config)
        t = time.perf_counter()
        await link.connection()
        connect.append((time.perf_counter() - t) * 1000)
        await link.close()

    # refresh: 3 machines × 50 panes (+1 agent on m1), connections open, local server absent
    fleet = Fleet(LocalTmux(socket_name=f"absent-{os.getpid()}"), registry)
    watcher = FleetWatcher(fleet)
    for _ in range(3):
        await watcher.refresh()
    refresh: list[float] = []
    panes = 0
    for _ in range(args.n):
        t = time.perf_counter()
        statuses = await watcher.refresh()
        refresh.append((time.perf_counter() - t) * 1000)
        panes = len(statuses)
    calls = sum(getattr(fleet.host(n), "calls", 0) for n in fleet.names)

    # send over SSH to the idle agent on m1
    host = fleet.host("m1")
    overhead: list[float] = []
    delays: list[float] = []
    async with Store(home / "bench.db") as store:
        for i in range(args.n):
            await _wait_idle(host)
            t = time.perf_counter()
            rec = await send(host, store, "m1:agent:0.0", f"fleet bench prompt {i}: reply CANARY-F{i}", SendOptions())
            wall = (time.perf_counter() - t) * 1000
            assert rec.verdict.delivered, (rec.verdict, rec.reason)
            reaction = float(rec.timings.get("reaction_ms", 0.0))
            overhead.append(wall - rec.delay_ms - reaction)
            delays.append(rec.delay_ms)
    received = sum(1 for line in record.read_text().splitlines() if '"submitted"' in line)
    feed_ms = await _feed_latency(ns, fleet, sock, args.n)
    await fleet.close()

    def row(label: str, xs: list[float], target: float | None) -> list[object]:
        ok = "" if target is None else ("✓" if C.pct(xs, 50) <= target else "✗")
        return [label, C.pct(xs, 50), C.pct(xs, 95), max(xs), f"{target:g} {ok}" if target else "-"]

    print(C.machine_line())
    print(f"3 machines (netns + sshd), {PANES} panes each, {args.n} runs; refresh saw {panes} panes")
    print(
        C.table(
            ["measure", "p50 ms", "p95 ms", "max ms", "target"],
            [
                row("connect + identity check (1 machine)", connect, None),
                row(f"refresh 3 × {PANES} panes", refresh, TARGET_REFRESH_MS),
                row("send over SSH: tool overhead", overhead, TARGET_SEND_MS),
                row("output → looked at again, over the feed", feed_ms, TARGET_FEED_MS),
            ],
        )
    )
    print(f"tmux execs over SSH in the whole run: {calls}; agent received {received}/{args.n} prompts")
    print(
        f"SUMMARY fleet: connect p50 {C.pct(connect, 50):.0f} ms; refresh 3×{PANES} p50 {C.pct(refresh, 50):.1f} ms"
        f" (≤{TARGET_REFRESH_MS:g}); send overhead over SSH p50 {C.pct(overhead, 50):.0f} ms (≤{TARGET_SEND_MS:g})"
        f" beyond a delay of {C.pct(delays, 50):.0f} ms; output → captured over the feed p95"
        f" {C.pct(feed_ms, 95):.0f} ms (≤{TARGET_FEED_MS:g})"
    )
    return 0


PRINTER = "import time\nwhile 1:\n print('TS', time.time_ns(), flush=True)\n time.sleep(0.2)"


async def _feed_latency(ns: object, fleet: object, sock: str, n: int) -> list[float]:
    """A pane on m2 prints its clock every 200 ms (netns machines share this kernel's clock); each time the
    feed reports it, the pane is captured again over SSH: latency = that capture's end − the newest stamp in it."""
    import re

    from dashboard.services.watch import PaneWatcher
    from tests.fleetns import NetnsFleet

    assert isinstance(ns, NetnsFleet)
    m2 = ns.machines[1]
    cmd = shlex.join(["python3", "-c", PRINTER])
    ns.ssh(m2, shlex.join(["tmux", "-L", sock, "new-session", "-d", "-s", "printer", "-x", "120", "-y", "40", cmd]))
    feed = fleet.feed("m2", always=True)  # type: ignore[attr-defined]  # the figure is --feed on
    watcher = PaneWatcher(fleet.host("m2"))  # type: ignore[attr-defined]
    statuses = await watcher.refresh()
    await feed.follow({s.view.pane.session for s in statuses})
    out: list[float] = []
    try:
        while len(out) < max(20, n * 3):
            changes = await feed.next(5.0)
            if not changes.panes:
                continue
            looked = await watcher.refresh(changed=changes.panes)
            now = time.time_ns()
            for st in looked:
                stamps = re.findall(r"TS (\d{19})", "\n".join(st.view.screen.lines))
                if st.view.pane.pane_id in changes.panes and stamps:
                    out.append((now - int(stamps[-1])) / 1e6)
    finally:
        await feed.close()
    return out


async def _wait_idle(host: object) -> None:
    from dashboard.services.panes import survey

    for _ in range(200):
        views = [v for v in await survey(host) if v.cls.agent]  # type: ignore[arg-type]
        if views and all(v.cls.state.value == "idle" for v in views):
            return
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 runs")
    a = parser.parse_args()
    if a.quick:
        a.n = 5
    sys.exit(C.run_bench(main(a)))
