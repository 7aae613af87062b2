"""Schedules, canaries and the daemon: real daemon processes, real tmux, fake agents that do and don't echo.

Time-dependent logic runs on an injected clock; the durability tests use real processes and kill -9.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from dashboard.adapters.schedules import Schedules
from dashboard.adapters.store import Store
from dashboard.cli import main
from dashboard.core.model import PaneState, Schedule
from dashboard.core.schedule import next_fire, parse_spec
from dashboard.services.fleet import Fleet
from dashboard.services.scheduler import Scheduler
from tests.integration.conftest import ROOT, Bench

T0 = 1_800_000_000.0  # a fixed "now" for the injected clock


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _schedule(name: str, target: str, every: str, now: float, **kw: object) -> Schedule:
    from datetime import datetime

    spec = parse_spec("every", every, datetime.fromtimestamp(now, UTC))
    s = Schedule(name=name, target=target, kind=spec.kind, spec=spec.text, anchor=spec.anchor, **kw)  # type: ignore[arg-type]
    s.next_fire = next_fire(spec, now, UTC)
    return s


def _scheduler(bench: Bench, store: Store, clock: Clock, lines: list[str]) -> Scheduler:
    return Scheduler(store, Schedules(store), lambda: Fleet(bench.host), UTC, clock=clock, log=lines.append)


async def test_canary_passes_only_when_the_agent_echoes(bench: Bench, store: Store) -> None:
    good = bench.agent("good", style="claude")
    mute = bench.agent("mute", "--no-echo", style="codex")
    await bench.wait_state(good.pane_id, PaneState.IDLE)
    await bench.wait_state(mute.pane_id, PaneState.IDLE)
    clock = Clock(T0)
    lines: list[str] = []
    sched = _scheduler(bench, store, clock, lines)
    schedules = Schedules(store)
    for name, target in (("good", "good:0.0"), ("mute", "mute:0.0")):
        await schedules.add(_schedule(name, target, "1h", T0, canary=True, expect_timeout=6.0))
    clock.now = T0 + 3600
    runs = await sched.tick()
    assert len(runs) == 2
    await sched.drain(30)
    by_name = {}
    for name in ("good", "mute"):
        s = await schedules.get(name)
        assert s is not None
        [run] = await schedules.runs(s.id or 0)
        by_name[name] = run
    good_run, mute_run = by_name["good"], by_name["mute"]
    assert (good_run.outcome, good_run.canary, good_run.verdict) == ("ok", "passed", "submitted")
    assert (mute_run.outcome, mute_run.canary, mute_run.verdict) == ("failed", "failed", "submitted")
    assert good_run.expect and good_run.expect.startswith("CANARY-") and good_run.expect != mute_run.expect
    assert good.received() == [good.received()[0]] and good_run.expect in good.received()[0]
    assert mute_run.expect in mute.received()[0]  # asked, answered without it
    assert "did not appear" in mute_run.detail


async def test_missing_target_fails_then_failing_then_recovers(bench: Bench, store: Store, tmp_path: Path) -> None:
    """The loop that fired into a session whose prerequisites did not exist yet: it must say so, loudly."""
    clock = Clock(T0)
    lines: list[str] = []
    sched = _scheduler(bench, store, clock, lines)
    schedules = Schedules(store)
    hook = tmp_path / "on-failure.json"
    s = _schedule("late", "late:0.0", "1m", T0, prompt="run the nightly checks", fail_after=3,
                  on_failure=f"cat > {hook}")  # fmt: skip
    await schedules.add(s)
    states = []
    for i in range(1, 4):
        clock.now = T0 + 60 * i
        assert len(await sched.tick()) == 1
        await sched.drain(10)
        got = await schedules.get("late")
        assert got is not None
        states.append((got.state, got.failures))
    assert states == [("ok", 1), ("ok", 2), ("failing", 3)]
    runs = await schedules.runs(s.id or 0)
    assert [r.outcome for r in runs] == ["failed"] * 3 and all("not delivered: refused" in r.detail for r in runs)
    details = json.loads(hook.read_text())
    assert details["schedule"]["name"] == "late" and details["failures"] == 3
    assert any("FAILING" in line for line in lines)
    agent = bench.agent("late")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    clock.now = T0 + 60 * 4
    await sched.tick()
    await sched.drain(15)
    got = await schedules.get("late")
    assert got is not None and (got.state, got.failures) == ("ok", 0)
    assert agent.received() == ["run the nightly checks"]
    assert any("recovered" in line for line in lines)


@pytest.mark.parametrize("policy", ["skip", "once"])
async def test_downtime_follows_the_missed_policy(bench: Bench, store: Store, policy: str) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    clock = Clock(T0)
    sched = _scheduler(bench, store, clock, [])
    schedules = Schedules(store)
    s = _schedule("hourly", "a:0.0", "1h", T0, prompt=f"catch up ({policy})", missed=policy)
    await schedules.add(s)
    clock.now = T0 + 5 * 3600 + 600  # down for five scheduled times, back 10 minutes after the last
    fired = await sched.tick()
    await sched.drain(15)
    runs = await schedules.runs(s.id or 0)
    outcomes = sorted(r.outcome for r in runs)
    if policy == "skip":
        assert fired == [] and outcomes == ["missed"] * 5 and agent.received() == []
    else:
        assert len(fired) == 1 and outcomes == ["missed"] * 4 + ["ok"]
        assert agent.received() == ["catch up (once)"]  # once, never a burst
    got = await schedules.get("hourly")
    assert got is not None and got.next_fire == T0 + 6 * 3600
    assert await sched.tick() == []  # nothing more is due


# ----- real daemon processes ---------------------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "DISPATCH_HOME": str(home), "PYTHONPATH": str(ROOT)}


def _dispatch(home: Path, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *argv], env=_env(home), capture_output=True, text=True, timeout=timeout
    )


def _runners(home: Path) -> list[int]:
    """Live `daemon run` processes of this state directory."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"daemon" in cmd and b"run" in cmd and f"DISPATCH_HOME={home}".encode() in env.split(b"\0"):
            out.append(int(pid))
    return out


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "state"
    yield home
    for pid in _runners(home):
        os.kill(pid, signal.SIGKILL)


def test_four_daemons_started_at_once_leave_one_running(home: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-m", "dashboard", "daemon", "start"], env=_env(home),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    results = [(p.wait(timeout=30), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1, 1, 1], results
    assert all("already running" in err for code, _, err in results if code == 1)
    time.sleep(0.5)
    [pid] = _runners(home)
    status = json.loads(_dispatch(home, "daemon", "status", "--json").stdout)
    assert status["running"] and status["pid"] == pid
    again = _dispatch(home, "daemon", "start")
    assert again.returncode == 1 and f"pid {pid}" in again.stderr
    assert _dispatch(home, "daemon", "stop").returncode == 0
    assert _runners(home) == [] and _dispatch(home, "daemon", "status").returncode == 1


def test_a_stale_pidfile_is_taken_over(home: Path) -> None:
    assert _dispatch(home, "daemon", "start").returncode == 0
    [pid] = _runners(home)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    assert (home / "daemon.pid").read_text().strip() == str(pid)  # the file is still there
    assert _dispatch(home, "daemon", "status").returncode == 1  # but nobody holds it
    assert _dispatch(home, "daemon", "start").returncode == 0
    [new] = _runners(home)
    assert new != pid
    assert _dispatch(home, "daemon", "stop").returncode == 0


def test_kill_9_mid_fire_neither_loses_nor_duplicates_a_run(bench: Bench, home: Path) -> None:
    """Again and again: a daemon firing a canary every second is killed at a random moment and restarted."""
    agent = bench.agent("a", "--turn", "0.1")
    sock = bench.server.socket_name
    assert sock
    # two schedules at one pane: their runs collide every second (the lease keeps them apart)
    for name in ("tick", "tock"):
        add = _dispatch(home, "-L", sock, "schedule", "add", name, "--target", "a:0.0", "--every", "1s", "--canary",
                        "--expect-timeout", "3", "--missed", "skip")  # fmt: skip
        assert add.returncode == 0, add.stderr
    rng = random.Random(7)
    for _ in range(8):
        assert _dispatch(home, "-L", sock, "daemon", "start").returncode == 0
        time.sleep(rng.uniform(0.4, 1.6))
        for pid in _runners(home):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    # the daemon is started on the default server: the schedules remember theirs (-L at `schedule add`)
    assert _dispatch(home, "daemon", "start").returncode == 0
    time.sleep(2.5)
    assert _dispatch(home, "daemon", "stop").returncode == 0
    shown = json.loads(_dispatch(home, "schedule", "show", "tick", "--json").stdout)
    other = json.loads(_dispatch(home, "schedule", "show", "tock", "--json").stdout)
    runs = [r for r in shown["runs"]]
    assert runs and not any(r["outcome"] == "running" for r in runs + other["runs"])
    assert sum(r["outcome"] == "ok" for r in runs + other["runs"]) >= 3, [(r["outcome"], r["detail"]) for r in runs]
    received = [t for t in agent.received()]
    tokens = [r["expect"] for r in runs + other["runs"] if r["expect"]]
    merged = [text for text in received if sum(t in text for t in tokens) > 1]
    assert merged == [], "one submission carried two runs' prompts"
    # nothing sent twice, nothing sent that is not on record
    for token in tokens:
        assert sum(token in text for text in received) <= 1, token
    assert all(any(t in text for t in tokens) for text in received)
    for r in runs:
        if r["outcome"] == "ok":
            assert sum(r["expect"] in text for text in received) == 1
    # nothing lost: every second from the first run to the last has a row (fired, missed or interrupted)
    times = sorted(r["scheduled"] for r in runs if not r["manual"])
    steps = {round(b - a, 3) for a, b in itertools.pairwise(times)}
    assert steps <= {1.0}, steps


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--cron", "61 * * * *", "hi"], "61"),
        (["--at", "2001-01-01T03:00", "hi"], "past"),
        (["--every", "0s", "hi"], ""),
        (["--every", "5m"], "no prompt"),
        (["--every", "5m", "--target", "nowhere:x:0.0", "hi"], "unknown machine"),
    ],
)
def test_bad_schedules_are_refused_with_a_reason(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = [] if "--target" in argv else ["--target", "a:0.0"]
    assert main(["schedule", "add", "s1", *target, *argv]) == 2
    assert says in capsys.readouterr().err


def test_duplicate_schedule_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "add", "dup", "--target", "a:0.0", "--every", "5m", "hi"]) == 0
    capsys.readouterr()
    assert main(["schedule", "add", "dup", "--target", "a:0.0", "--every", "5m", "hi"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_schedule_cli_pause_run_show_remove(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    agent = bench.agent("a")
    sock = bench.server.socket_name
    assert sock
    assert main(["schedule", "add", "nightly", "--target", "a:0.0", "--cron", "0 3 * * *", "--canary"]) == 0
    assert main(["schedule", "pause", "nightly"]) == 0
    for _ in range(100):
        if agent.records("ready") or "? for shortcuts" in bench.screen(agent.pane_id):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    capsys.readouterr()
    assert main(["schedule", "run", "nightly", "-L", sock, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert (run["outcome"], run["canary"], run["manual"]) == ("ok", "passed", True)
    assert main(["schedule", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["paused"] and listed["last_runs"] == ["ok"]
    assert main(["schedule", "remove", "nightly"]) == 0
    assert main(["schedule", "show", "nightly"]) == 2


async def test_one_off_canary_command(bench: Bench, capsys: pytest.CaptureFixture[str]) -> None:
    good = bench.agent("good")
    mute = bench.agent("mute", "--no-echo")
    await bench.wait_state(good.pane_id, PaneState.IDLE)
    await bench.wait_state(mute.pane_id, PaneState.IDLE)
    sock = bench.server.socket_name
    assert sock
    import asyncio

    code = await asyncio.to_thread(main, ["-L", sock, "canary", "good:0.0", "--timeout", "8", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["passed"], out["verdict"]) == (0, True, "submitted")
    assert out["canary"]["expect"] in good.received()[0]
    code = await asyncio.to_thread(main, ["-L", sock, "canary", "mute:0.0", "--timeout", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["passed"]) == (4, False) and "did not appear" in out["canary"]["evidence"]


async def test_a_stale_claim_after_a_crash_is_not_fired_twice_under_once(bench: Bench, store: Store) -> None:
    """A daemon claimed the 3:00 run and died before sending; it restarts at 9:00 with --missed once:
    one catch-up send in all (the stale claim is recorded missed, the policy fires once)."""
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    clock = Clock(T0)
    schedules = Schedules(store)
    s = await schedules.add(_schedule("hourly", "a:0.0", "1h", T0, prompt="catch up once", missed="once"))
    due = s.next_fire
    assert due is not None
    run = await schedules.claim(s, due, due, [], due + 3600, pid=999_999_999)  # a dead daemon's claim
    assert run is not None
    clock.now = T0 + 6 * 3600 + 60
    sched = _scheduler(bench, store, clock, [])
    await sched.recover()
    await sched.tick()
    await sched.drain(15)
    assert agent.received() == ["catch up once"]
    runs = await schedules.runs(s.id or 0)
    assert sorted(r.outcome for r in runs).count("ok") == 1
    stale = next(r for r in runs if r.id == run.id)
    assert stale.outcome == "missed" and "died before sending" in stale.detail
