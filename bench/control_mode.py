"""Change feed: tmux control mode (`tmux -C attach`, `%output` lines) against the dashboard's 1 s polling.

A private server holds ONE session of 100 windows (`sleep 600`); for the busy phase, N=10 of them are
respawned into a python one-liner printing `TS <time.time_ns()>` every 100 ms, and respawned back to
`sleep 600` afterwards. Per method, an idle phase (nobody prints) and a busy phase:

  control  a `tmux -C attach` child; latency = moment its `%output` line is read − printer timestamp
  polling  PaneWatcher(LocalTmux).refresh() every 1 s; latency = end of the first refresh whose capture
           shows the line − printer timestamp

CPU is % of one core: the bench process itself, its tmux client processes (the `-C` client, or the
short-lived `tmux` children of polling) and the tmux server. Window sizes are compared before and
after the control client attaches (a control client must not resize anything).

Run: python bench/control_mode.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import sys
import time

import _common as C

WINDOWS = 100
PRINTERS = 10
TS = re.compile(r"TS (\d{19})")
PRINTER = "import time\nwhile 1:\n print('TS', time.time_ns(), flush=True)\n time.sleep(0.1)"


def sizes(server: C.TmuxServer) -> list[str]:
    return server.tmux("list-windows", "-t", "b", "-F", "#{window_width}x#{window_height}").split()


def respawn(server: C.TmuxServer, panes: list[str], cmd: str) -> None:
    args: list[str] = []
    for p in panes:
        args += [*([";"] if args else []), "respawn-pane", "-k", "-t", p, cmd]
    server.tmux(*args)


def children_s() -> float:
    t = os.times()
    return t.children_user + t.children_system


class Meter:
    """CPU seconds of the bench, its tmux clients and the server over one phase, as % of one core."""

    def __init__(self, server_pid: int, client_pid: int | None) -> None:
        self.server_pid, self.client_pid = server_pid, client_pid
        self.t0 = time.monotonic()
        self.s0 = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        me = C.proc_cpu_s(os.getpid()) or 0.0
        client = (C.proc_cpu_s(self.client_pid) or 0.0) if self.client_pid else children_s()
        return me, client, C.proc_cpu_s(self.server_pid) or 0.0

    def stop(self) -> tuple[float, float, float]:
        s1, dt = self._sample(), time.monotonic() - self.t0
        return tuple(100.0 * (b - a) / dt for a, b in zip(self.s0, s1, strict=True))  # type: ignore[return-value]


async def control_phase(
    server: C.TmuxServer, spid: int, busy: list[str], secs: float, printing: bool
) -> tuple[list[float], tuple[float, float, float], tuple[list[str], list[str]]]:
    before = sizes(server)
    proc = await asyncio.create_subprocess_exec(
        "tmux",
        "-L",
        server.name,
        "-C",
        "attach",
        "-t",
        "b",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stdin is not None
    lat: list[float] = []
    start_ns = 0

    async def reader() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            now = time.time_ns()
            if line.startswith(b"%output ") and start_ns:
                for m in TS.finditer(line.decode(errors="replace")):
                    ts = int(m.group(1))
                    if ts >= start_ns:
                        lat.append((now - ts) / 1e6)

    task = asyncio.ensure_future(reader())
    try:
        await asyncio.sleep(0.5)  # attach settles
        after = sizes(server)
        if printing:
            respawn(server, busy, f"exec {shlex.quote(sys.executable)} -u -c {shlex.quote(PRINTER)}")
            await asyncio.sleep(0.5)
        meter = Meter(spid, proc.pid)
        start_ns = time.time_ns()
        await asyncio.sleep(secs)
        cpu = meter.stop()
        start_ns = 0
    finally:
        if printing:
            respawn(server, busy, "sleep 600")
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        task.cancel()
    return lat, cpu, (before, after)


async def poll_phase(
    server: C.TmuxServer, spid: int, busy: list[str], secs: float, printing: bool
) -> tuple[list[float], tuple[float, float, float]]:
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.watch import PaneWatcher

    watcher = PaneWatcher(LocalTmux(socket_name=server.name))
    await watcher.refresh()  # warm: memo and profiles filled, as in a running dashboard
    if printing:
        respawn(server, busy, f"exec {shlex.quote(sys.executable)} -u -c {shlex.quote(PRINTER)}")
        await asyncio.sleep(0.5)
    want = set(busy)
    seen: set[tuple[str, int]] = set()
    lat: list[float] = []
    meter = Meter(spid, None)
    start_ns = time.time_ns()
    t0 = time.monotonic()
    k = 0
    try:
        while time.monotonic() - t0 < secs:
            statuses = await watcher.refresh()
            now = time.time_ns()
            for st in statuses:
                if st.pane_id not in want:
                    continue
                for m in TS.finditer("\n".join(st.view.screen.lines)):
                    ts = int(m.group(1))
                    if (st.pane_id, ts) not in seen:
                        seen.add((st.pane_id, ts))
                        if ts >= start_ns:
                            lat.append((now - ts) / 1e6)
            k += 1
            await asyncio.sleep(max(0.0, t0 + k - time.monotonic()))
        cpu = meter.stop()
    finally:
        if printing:
            respawn(server, busy, "sleep 600")
    return lat, cpu


async def run(args: argparse.Namespace) -> int:
    secs = 4.0 if args.quick else 15.0
    print(C.machine_line())
    server = C.TmuxServer("ctlmode")
    server.start(["sleep 600"] * WINDOWS, size=(120, 40))
    panes = server.tmux("list-panes", "-s", "-t", "b", "-F", "#{pane_id}").split()
    busy = panes[:: WINDOWS // PRINTERS][:PRINTERS]
    spid = server.server_pid()
    if spid is None:
        print("SUMMARY control_mode: tmux server did not start")
        return 1
    await asyncio.sleep(0.5)
    rows = []
    resized = False
    res: dict[tuple[str, str], tuple[list[float], tuple[float, float, float]]] = {}
    for phase, printing in (("idle", False), ("busy", True)):
        lat, cpu, (before, after) = await control_phase(server, spid, busy, secs, printing)
        resized |= before != after
        res["control", phase] = (lat, cpu)
    for phase, printing in (("idle", False), ("busy", True)):
        res["polling", phase] = await poll_phase(server, spid, busy, secs, printing)
    for (method, phase), (lat, cpu) in res.items():
        rows.append([method, phase, len(lat), C.pct(lat, 50), C.pct(lat, 95), *cpu])
    head = ["method", "phase", "lines", "p50 ms", "p95 ms", "bench %", "clients %", "server %"]
    print(f"{WINDOWS} windows in one session, {PRINTERS} printing every 100 ms when busy, {secs:g} s per phase")
    print(C.table(head, rows, nd=2))
    final = sizes(server)
    print(f"window sizes: {sorted(set(final))} (unchanged after -C attach: {'yes' if not resized else 'NO'})")
    cb, pb = res["control", "busy"], res["polling", "busy"]
    print(
        f"SUMMARY control_mode: busy p50 {C.fmt(C.pct(cb[0], 50), 2)} ms vs polling {C.fmt(C.pct(pb[0], 50), 0)} ms;"
        f" busy CPU bench+client+server {sum(cb[1]):.1f} % vs polling {sum(pb[1]):.1f} %;"
        f" idle {sum(res['control', 'idle'][1]):.1f} % vs {sum(res['polling', 'idle'][1]):.1f} %;"
        f" sizes {'unchanged' if not resized else 'CHANGED'}"
    )
    return 0 if not resized else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 s phases instead of 15 s")
    return C.run_bench(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
