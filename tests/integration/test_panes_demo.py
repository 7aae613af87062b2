"""Listing panes in bulk, and the scripted demo's honesty."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dashboard.adapters.tmux import LocalTmux
from dashboard.core.model import PaneState
from dashboard.services.panes import survey
from tests.integration.conftest import ROOT, Bench


async def test_survey_uses_two_tmux_calls_for_many_panes(bench: Bench) -> None:
    agents = [bench.agent(f"a{i}", style=("claude", "codex", "gemini")[i % 3]) for i in range(6)]
    shell = bench.shell("sh")
    for a in agents:
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    host = LocalTmux(socket_name=bench.host.socket_name)
    views = await survey(host)
    assert host.calls == 2  # one list-panes, one chained capture of every pane
    states = {v.pane.pane_id: (v.cls.agent, v.cls.state) for v in views}
    assert states[shell] == (None, PaneState.SHELL)
    assert {states[a.pane_id] for a in agents} == {(s, PaneState.IDLE) for s in ("claude", "codex", "gemini")}


async def test_survey_survives_a_pane_vanishing(bench: Bench) -> None:
    """A pane killed between list and capture is dropped, the others still come back."""
    keep = bench.agent("keep")
    gone = bench.shell("gone")
    await bench.wait_state(keep.pane_id, PaneState.IDLE)
    host = LocalTmux(socket_name=bench.host.socket_name)
    panes = await host.list_panes()
    bench.server.cmd("kill-pane", "-t", gone)
    texts = await host.capture_many([p.pane_id for p in panes])
    assert texts[gone] is None and texts[keep.pane_id]


def test_scripted_demo_is_honest(capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.demo.server import run_scripted_demo

    code = asyncio.run(run_scripted_demo(as_json=True))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    truth = {row["target"]: row for row in lines if "agent_received" in row}
    assert code == 0 and len(truth) == 12
    for row in truth.values():  # a delivery is claimed exactly when the fake agent got the prompt
        assert (row["verdict"] in ("submitted", "queued")) == row["agent_received"], row
    verdicts = {row["verdict"] for row in truth.values()}
    assert {"submitted", "refused", "stuck-in-composer", "not-received"} <= verdicts


async def test_shared_paste_survives_a_vanished_pane(bench: Bench) -> None:
    """Pastes of one text share a buffer and one tmux call; a dead target does not stop the others."""
    from dashboard.core.ports import TmuxError

    agents = [bench.agent(f"p{i}") for i in range(3)]
    for a in agents:
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    host = LocalTmux(socket_name=bench.host.socket_name)
    bench.server.cmd("kill-pane", "-t", agents[1].pane_id)
    results = await asyncio.gather(*(host.paste(a.pane_id, "shared text") for a in agents), return_exceptions=True)
    assert results[0] is None and results[2] is None and isinstance(results[1], TmuxError)
    await asyncio.sleep(0.3)
    for a in (agents[0], agents[2]):
        assert "shared text" in bench.screen(a.pane_id)
    assert "dispatch-" not in "\n".join(bench.server.cmd("list-buffers").stdout)  # no buffer left behind


async def test_watching_skips_quiet_panes_but_sees_output(bench: Bench) -> None:
    """A watcher re-captures only panes with recent output; a change is still seen at once."""
    from dashboard.services.watch import PaneWatcher

    quiet = bench.agent("quiet")
    shell = bench.shell("sh")
    await bench.wait_state(quiet.pane_id, PaneState.IDLE)
    await bench.wait_state(shell, PaneState.SHELL)
    host = LocalTmux(socket_name=bench.host.socket_name)
    watcher = PaneWatcher(host)
    await watcher.refresh()
    await asyncio.sleep(2.6)  # let tmux's one-second activity stamps age
    calls = host.calls
    first = {s.pane_id: s.state for s in await watcher.refresh()}
    assert host.calls == calls + 1  # list-panes only: nothing to capture
    assert first == {quiet.pane_id: PaneState.IDLE, shell: PaneState.SHELL}
    bench.server.cmd("send-keys", "-t", quiet.pane_id, "-l", "typed now")
    await asyncio.sleep(0.3)
    after = {s.pane_id: s for s in await watcher.refresh()}
    assert after[quiet.pane_id].state is PaneState.STUCK and after[quiet.pane_id].view.cls.composer == "typed now"


@pytest.mark.parametrize("sig", ["HUP", "TERM"])
async def test_the_demo_takes_its_fleet_down_when_its_terminal_closes(bench: Bench, sig: str) -> None:
    """`dispatch demo` in a real terminal: a closed terminal (SIGHUP) or SIGTERM leaves no server, agents or files."""
    env = f"exec env PYTHONPATH={shlex.quote(str(ROOT))} DISPATCH_HOME={shlex.quote(str(bench.tmp / 'home'))}"
    pane = bench._new("ui", f"{env} {shlex.quote(sys.executable)} -m dashboard demo --no-autoplay", x=160, y=48)
    pid = int(bench.server.cmd("display-message", "-p", "-t", pane, "#{pane_pid}").stdout[0])
    demo = LocalTmux(socket_name=f"dispatch-demo-{pid}")
    workdir = ""
    for _ in range(200):
        with contextlib.suppress(Exception):
            workdir = (await demo.run("display-message", "-p", "-t", "api:", "#{pane_current_path}")).strip()
        if workdir and "Dispatch" in "\n".join(bench.server.cmd("capture-pane", "-p", "-t", pane).stdout):
            break
        await asyncio.sleep(0.05)
    assert workdir.startswith(tempfile.gettempdir()) and Path(workdir).is_dir(), workdir
    os.kill(pid, getattr(signal, f"SIG{sig}"))
    for _ in range(200):
        alive = subprocess.run(["tmux", "-L", demo.socket_name or "", "ls"], capture_output=True).returncode == 0
        if not alive and not Path(workdir).exists():
            break
        await asyncio.sleep(0.05)
    assert not alive, "the demo's tmux server (and its fake agents) outlived the dashboard"
    assert not Path(workdir).exists(), "the demo's files outlived the dashboard"
