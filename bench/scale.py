"""Scale: what each pane, each batch target and each machine costs, from 1 to 1,000 panes — and a chart of it.

Three sweeps, each on private servers killed before the next (figures are medians of `--n` runs):
  panes     N = 1, 10, 100, 500, 1000 windows on one local tmux server, a tenth of them idle fake agents (at
            most 50; the rest `sleep`): `dispatch panes --json` as a process (cold: no daemon), and in
            process a first survey (list + capture + classify every pane) and a steady one (the dashboard's
            PaneWatcher after its first look: only panes whose facts or output moved are looked at again).
  batch     B = 1, 10, 50, 100, 200 idle fake agents: `run_batch` to all of them (log included) against one
            send in the same run.
  machines  3 and 10 machines (network namespaces with real sshd; root only, else skipped) × 100 `sleep`
            panes each: FleetWatcher.refresh over all of them, connections open.
Prints the per-pane / per-target / per-machine cost (slope between the two largest sizes) and writes
bench/charts/scale.svg (ms against panes, log-log), the chart the README shows.

Run: python bench/scale.py [--quick] [--n 5] [--no-machines]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
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
CHART = Path(__file__).parent / "charts" / "scale.svg"
SLEEP = "exec sleep 600"
PROMPT = "Run the unit tests, fix the first failure you find, and reply with exactly CANARY-scale"


async def panes_sweep(sizes: list[int], n: int, work: Path) -> dict[str, list[tuple[int, float]]]:
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.panes import survey
    from dashboard.services.watch import PaneWatcher

    out: dict[str, list[tuple[int, float]]] = {"dispatch panes (process)": [], "first survey": [], "steady survey": []}
    env = {**C.child_env(work / "home", work / "pycache"), "DISPATCH_NO_DAEMON": "1"}
    launcher = C.agent_launcher(work, 5.0, pycache=work / "pycache")
    for size in sizes:
        agents = min(50, size // 10)
        server = C.TmuxServer(f"scale{size}")
        cmds = [f"exec sh {launcher} {C.STYLES[i % 3]} {i}" for i in range(agents)] + [SLEEP] * (size - agents)
        server.start(cmds, session="s")
        host = LocalTmux(socket_name=server.name)
        ids = [p.pane_id for p in await host.list_panes()]
        await C.wait_states(host, ids[:agents], {"idle"}, timeout=60)
        cli, first, steady = [], [], []
        for _ in range(n):
            ms, done = C.wall_ms(C.cli_argv(server.name, "panes", "--json"), env, timeout=120)
            assert done.returncode == 0 and len(json.loads(done.stdout)) == size, done.stderr[-300:]
            cli.append(ms)
            t = time.perf_counter()
            await survey(LocalTmux(socket_name=server.name))
            first.append((time.perf_counter() - t) * 1000)
        watcher = PaneWatcher(LocalTmux(socket_name=server.name))
        await watcher.refresh()
        await asyncio.sleep(2.2)  # past tmux's one-second activity stamp: the quiet panes are known quiet
        for _ in range(n):
            t = time.perf_counter()
            assert len(await watcher.refresh()) == size
            steady.append((time.perf_counter() - t) * 1000)
        server.kill()
        for key, vals in (("dispatch panes (process)", cli), ("first survey", first), ("steady survey", steady)):
            out[key].append((size, C.median(vals)))
        print(f"  {size:>5} panes ({agents} agents): process {C.median(cli):.0f} ms · first survey"
              f" {C.median(first):.1f} ms · steady {C.median(steady):.1f} ms", flush=True)  # fmt: skip
    return out


async def batch_sweep(sizes: list[int], work: Path) -> dict[str, list[tuple[int, float]]]:
    from dashboard.adapters.store import Store
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.batch import run_batch
    from dashboard.services.send import SendOptions, send

    out: dict[str, list[tuple[int, float]]] = {"batch (run_batch wall)": [], "batch ÷ one send": []}
    launcher = C.agent_launcher(work, 3.0, pycache=work / "pycache")
    for size in sizes:
        server = C.TmuxServer(f"batch{size}")
        cmds = [f"exec sh {launcher} {C.STYLES[i % 3]} {i}" for i in range(size + 1)]
        server.start(cmds, session="s")
        host = LocalTmux(socket_name=server.name)
        ids = [p.pane_id for p in await host.list_panes()]
        states = await C.wait_states(host, ids, {"idle"}, timeout=120)
        assert set(states.values()) == {"idle"}, states
        async with Store(work / f"batch{size}.db") as store:
            t = time.perf_counter()
            one = await send(host, store, ids[-1], PROMPT + " (single)", SendOptions())
            single = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            recs = [r async for r in run_batch(host, store, ids[:size], PROMPT, SendOptions())]
            wall = (time.perf_counter() - t) * 1000
        server.kill()
        delivered = sum(1 for r in recs if r.verdict.delivered)
        assert one.verdict.delivered and delivered == size, (one.verdict, delivered)
        out["batch (run_batch wall)"].append((size, wall))
        out["batch ÷ one send"].append((size, wall / single))
        print(f"  batch of {size:>3}: {wall:.0f} ms vs one send {single:.0f} ms = {wall / single:.2f}×", flush=True)
    return out


async def machines_sweep(counts: list[int], n: int) -> dict[str, list[tuple[int, float]]]:
    from tests.fleetns import NetnsFleet, fleet_unavailable_reason

    reason = fleet_unavailable_reason()
    if reason:
        print(f"  machines skipped: {reason}")
        return {}
    out: dict[str, list[tuple[int, float]]] = {"machines × 100 panes (refresh)": []}
    for count in counts:
        root = Path(tempfile.mkdtemp(prefix="dispatch-bench-scale-", dir="/run"))
        try:
            with NetnsFleet(root, n=count, prefix="dbscale", subnet=236) as ns:
                ms = await _refresh_fleet(ns, n)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        out["machines × 100 panes (refresh)"].append((count * 100, ms))
        print(f"  {count:>2} machines × 100 panes: refresh {ms:.1f} ms", flush=True)
    return out


async def _refresh_fleet(ns: object, n: int) -> float:
    from dashboard.adapters.config import load_registry
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.fleet import Fleet
    from dashboard.services.watch import FleetWatcher
    from tests.fleetns import NetnsFleet

    assert isinstance(ns, NetnsFleet)
    home = Path(C.tempdir("dispatch-bench-scale-home-"))
    os.environ["DISPATCH_HOME"] = str(home)
    for m in ns.machines:
        chain = ["new-session", "-d", "-s", "p", "-x", "80", "-y", "24", "sleep 600"]
        for _ in range(99):
            chain += [";", "new-window", "-t", "p", "sleep 600"]
        ns.ssh(m, shlex.join(["tmux", "-L", "scale", *chain]))
    (home / "config.toml").write_text(f"[ssh]\nconfig = {json.dumps(str(ns.ssh_config))}\n")
    for m in ns.machines:
        _, done = C.wall_ms([sys.executable, "-m", "dashboard", "fleet", "add", m.name, m.name, "--socket", "scale"],
                            dict(os.environ))  # fmt: skip
        assert done.returncode == 0, done.stderr
    fleet = Fleet(LocalTmux(socket_name=f"absent-{os.getpid()}"), load_registry(home / "config.toml"))
    watcher = FleetWatcher(fleet, limit=10.0)
    try:
        for _ in range(3):
            await watcher.refresh()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            assert len(await watcher.refresh()) == 100 * len(ns.machines)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        await fleet.close()
    return C.median(times)


def slope(points: list[tuple[int, float]]) -> float:
    """Cost per unit between the two largest sizes (per unit of one point: one machine's 100 panes)."""
    pts = sorted(points)
    if len(pts) == 1:
        return pts[0][1] / pts[0][0]
    (x0, y0), (x1, y1) = pts[-2:]
    return (y1 - y0) / (x1 - x0)


def chart(series: dict[str, list[tuple[int, float]]], path: Path) -> None:
    """A small log-log SVG line chart (no plotting library: the bench must run anywhere)."""
    w, h, left, bottom, top, right = 720, 380, 60, 44, 20, 250
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts if y > 0]
    lx0, lx1 = math.log10(max(1, min(xs))), math.log10(max(xs))
    ly0, ly1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))

    def px(x: float) -> float:
        return left + (math.log10(max(x, 1)) - lx0) / max(lx1 - lx0, 1e-9) * (w - left - right)

    def py(y: float) -> float:
        return h - bottom - (math.log10(max(y, 1e-3)) - ly0) / max(ly1 - ly0, 1e-9) * (h - bottom - top)

    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             f'font-size="11"><rect width="{w}" height="{h}" fill="white"/>']  # fmt: skip
    for e in range(ly0, ly1 + 1):
        y = py(10**e)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} ms</text>')
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{x}</text>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">panes (batch: targets)</text>')
    for i, (name, pts) in enumerate(series.items()):
        c = colours[i % len(colours)]
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(pts))
        parts.append(f'<polyline points="{line}" fill="none" stroke="{c}" stroke-width="2"/>')
        parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>' for x, y in pts]
        ly = top + 14 + i * 18
        parts.append(f'<line x1="{w - right + 12}" y1="{ly - 4}" x2="{w - right + 30}" y2="{ly - 4}" stroke="{c}" '
                     f'stroke-width="2"/><text x="{w - right + 36}" y="{ly}">{name}</text>')  # fmt: skip
    parts.append("</svg>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))


async def run(args: argparse.Namespace) -> int:
    print(C.machine_line())
    work = C.tempdir("dispatch-bench-scale-")
    (work / "home").mkdir()
    print("panes on one server:")
    panes = await panes_sweep(args.panes, args.n, work)
    print("batches:")
    batches = await batch_sweep(args.batches, work)
    print("machines over SSH:")
    machines = {} if args.no_machines else await machines_sweep(args.machines, args.n)
    series = {**panes, "batch (run_batch wall)": batches["batch (run_batch wall)"], **machines}
    chart(series, CHART)
    rows = [[name, f"{slope(pts):.3f} ms", f"{max(pts)[1]:.0f} ms at {max(pts)[0]}"] for name, pts in series.items()]
    print(C.table(["series", "per pane (slope)", "largest"], rows))
    per_machine = ""
    if machines:
        pts = machines["machines × 100 panes (refresh)"]
        per_machine = f"; per machine of 100 panes {slope(pts) * 100:.1f} ms"
    cli = dict(panes["dispatch panes (process)"])
    ratio = dict(batches["batch ÷ one send"])
    print(f"chart: {CHART.relative_to(ROOT)}")
    print(
        f"SUMMARY scale: dispatch panes {cli.get(1, 0):.0f} ms at 1 pane → {cli.get(max(cli), 0):.0f} ms at {max(cli)}"
        f" (target ≤ 250 ms at 1000); steady survey {slope(panes['steady survey']):.3f} ms/pane;"
        f" batch ÷ one send {', '.join(f'{k}: {v:.2f}×' for k, v in sorted(ratio.items()))} (target ≤ 1.5× at 100)"
        f"{per_machine}"
    )
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="up to 500 panes, batches to 50, 3 machines")
    p.add_argument("--n", type=int, default=None, help="runs per size (5; --quick 3)")
    p.add_argument("--no-machines", action="store_true", help="skip the SSH sweep")
    args = p.parse_args()
    args.n = args.n or (3 if args.quick else 5)
    args.panes = [1, 10, 100, 500] if args.quick else [1, 10, 100, 500, 1000]
    args.batches = [1, 10, 50] if args.quick else [1, 10, 50, 100, 200]
    args.machines = [3] if args.quick else [3, 10]
    return C.run_bench(run(args))


if __name__ == "__main__":
    sys.exit(main())
