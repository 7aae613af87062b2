"""The independent verifier: sends that failed silently after the fact are refuted, exactly those.

It only ever sees a read-only view of the host; a test proves no write call is reachable through it.
"""

from __future__ import annotations

import ast
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dashboard.adapters.paths import Paths
from dashboard.adapters.readonly import ReadOnlyHost, WriteRefused
from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.cli import main
from dashboard.core.model import PaneState, Verdict
from dashboard.services.batch import run_batch
from dashboard.services.evidence import load_export
from dashboard.services.fleet import Fleet
from dashboard.services.verify import verify
from tests.integration.conftest import ROOT, Bench

PROMPT = "Summarise the failing tests in this repository and propose one fix"


async def _batch(bench: Bench, store: Store, names: list[str]) -> int:
    recs = [r async for r in run_batch(bench.host, store, [f"{n}:0.0" for n in names], PROMPT)]
    assert {r.verdict for r in recs} == {Verdict.SUBMITTED}, [(r.target, r.verdict, r.reason) for r in recs]
    assert recs[0].batch is not None
    return recs[0].batch


@pytest.fixture
async def home_store() -> AsyncIterator[Store]:
    """The log the command line uses too (DISPATCH_HOME of this test)."""
    async with Store(Paths.from_env().db) as s:
        yield s


async def test_verifier_refutes_exactly_the_silent_failures(
    bench: Bench, home_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = home_store
    names = ["killed", "cleared", "stuck", "fine1", "fine2"]
    agents = {n: bench.agent(n, style="codex" if n == "fine2" else "claude", turn=0.3) for n in names}
    for a in agents.values():
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    batch = await _batch(bench, store, names)
    for a in agents.values():
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    # after the fact: the pane killed, the transcript gone (agent restarted), the prompt typed back into the composer
    bench.server.cmd("kill-pane", "-t", agents["killed"].pane_id)
    agent_cmd = f"exec env PYTHONPATH={ROOT} {sys.executable} -m dashboard.demo.fake_agent --style claude"
    bench.server.cmd("respawn-pane", "-k", "-t", agents["cleared"].pane_id, agent_cmd)
    await bench.wait_state(agents["cleared"].pane_id, PaneState.IDLE)
    bench.server.cmd("send-keys", "-t", agents["stuck"].pane_id, "-l", PROMPT)
    await bench.wait_state(agents["stuck"].pane_id, PaneState.STUCK)

    # with their before-screens, as `dispatch verify` and the dashboard load them: without one, a prompt
    # missing from the screen could have scrolled away, and the verifier would rightly say unknown
    listed = list(reversed(await store.recent(50, batch=batch)))
    recs = [r for r in [await store.get(x.id or 0) for x in listed] if r is not None]
    report = await verify(Fleet(bench.host), recs)
    got = {c.target.split(":")[0]: (c.result, c.why) for c in report.checks}
    assert {n: r for n, (r, _) in got.items()} == {
        "killed": "refuted", "cleared": "refuted", "stuck": "refuted", "fine1": "confirmed", "fine2": "confirmed",
    }  # fmt: skip
    assert "gone" in got["killed"][1]
    assert "not in the transcript" in got["cleared"][1]
    assert "still in the composer" in got["stuck"][1]
    assert report.to_json()["confirmed"] == 2

    # the same from an exported evidence directory, through the command line
    out = tmp_path / "evidence"
    sock = bench.server.socket_name
    assert sock
    assert await asyncio.to_thread(main, ["evidence", f"b{batch}", "--out", str(out)]) == 0
    summary, loaded = load_export(out)
    assert summary["batch"] == f"b{batch}" and len(loaded) == 5
    data = json.loads((out / f"send-{recs[0].id}.json").read_text())
    assert data["format"] == "dispatch-evidence" and data["version"] == 1
    assert data["machine_identity"]["hostname"] and data["snapshots"]["before"] and data["timings"]
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["-L", sock, "verify", str(out), "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 4  # something was refuted
    assert lines[-1]["refuted"] == 3 and lines[-1]["confirmed"] == 2


async def test_a_queued_and_a_collapsed_prompt(bench: Bench, store: Store) -> None:
    """A long multi-line paste that Claude shows collapsed cannot be matched: unknown, never confirmed."""
    agent = bench.agent("long", "--paste-collapse", "2")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    prompt = "\n".join(f"line {i} of a long prompt about the migration" for i in range(6))
    recs = [r async for r in run_batch(bench.host, store, ["long:0.0"], prompt)]
    assert recs[0].verdict is Verdict.SUBMITTED
    report = await verify(Fleet(bench.host), recs)
    assert report.checks[0].result in ("unknown", "confirmed")
    if report.checks[0].result == "unknown":
        assert "collapsed" in report.checks[0].why


async def test_no_write_call_is_reachable_from_the_verifier(bench: Bench) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    screen = bench.screen(agent.pane_id)
    view = ReadOnlyHost(LocalTmux(socket_name=bench.server.socket_name))
    for name in ("paste", "send_keys", "run", "exec", "run_exec", "send"):
        assert not hasattr(view, name)
    # even reaching through the view, the client underneath refuses anything but read commands
    inner = view._host  # type: ignore[attr-defined]
    with pytest.raises(WriteRefused):
        await inner.send_keys(agent.pane_id, "x")
    with pytest.raises(WriteRefused):
        await inner.paste(agent.pane_id, "typed through the back door")
    with pytest.raises(WriteRefused):
        await inner.run("list-panes", ";", "send-keys", "-t", agent.pane_id, "y")
    with pytest.raises(WriteRefused):  # tmux ends a command at an argument ending in ';'
        await inner.run("display-message", "-p", "x;", "send-keys", "-t", agent.pane_id, "z", "Enter")
    assert [p.pane_id for p in await view.list_panes()] == [agent.pane_id]
    await asyncio.sleep(0.3)
    assert bench.screen(agent.pane_id) == screen and agent.records("submitted", "queued") == []
    # a read-only fleet hands out only such views; the writable fleet it came from stays writable
    fleet = Fleet(bench.host)
    ro = fleet.read_only()
    assert isinstance(ro.host("local"), ReadOnlyHost) and not isinstance(fleet.host("local"), ReadOnlyHost)
    assert ro.host("local") is not fleet.host("local")
    await fleet.host("local").send_keys(agent.pane_id, "Escape")  # the writable fleet still writes
    # and the verifier's module never imports the parts that type
    tree = ast.parse(Path(ROOT / "dashboard/services/verify.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"dashboard.services.send", "dashboard.services.execute", "dashboard.services.batch"}


async def test_a_repeated_prompt_is_not_confirmed_by_its_old_copy(bench: Bench, store: Store) -> None:
    """'continue' sent twice: if the second one was lost, the first one's echo must not confirm it."""
    agent = bench.agent("rep", turn=0.2)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    [first] = [r async for r in run_batch(bench.host, store, ["rep:0.0"], "continue with the next step")]
    assert first.verdict is Verdict.SUBMITTED
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    before = bench.host.capture(agent.pane_id, 200)
    # a second send that "claims" delivery but never reached the pane (its before-screen holds the first copy)
    lost = await store.get(first.id or 0)
    assert lost is not None
    lost.snapshots = {"before": await before}
    report = await verify(Fleet(bench.host), [lost])
    assert report.checks[0].result == "unknown" and "already on screen" in report.checks[0].why
