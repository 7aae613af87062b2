"""`dispatch agents learn`: a profile proposed from a live agent reads the screens it was made from."""

from __future__ import annotations

import asyncio
import re
import tomllib
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.core.agents import AgentBook, known, parse_profile, use
from dashboard.core.model import PaneState, Verdict
from dashboard.services.learn import learn
from dashboard.services.send import SendOptions, send
from tests.integration.conftest import Bench


@pytest.mark.parametrize("style", ["claude", "codex", "gemini"])
async def test_learned_profile_reads_its_screens_and_proves_itself(
    bench: Bench, store: object, tmp_path: Path, style: str
) -> None:
    agent = bench.agent("a", style=style, turn=1.0)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    pane = await bench.host.pane(agent.pane_id)
    assert pane is not None
    result = await learn(bench.host, pane, "mine", tmp_path)
    assert result.ok, (result.learned.notes, result.checks)
    assert {stem for stem, _, _ in result.checks} == {"idle", "typed", "done", "working"}
    assert not any("dispatch-learn" in t for t in agent.received())  # the marker was never submitted
    assert result.profile_file is not None
    profile = parse_profile(tomllib.loads(result.profile_file.read_text()), str(result.profile_file))
    # proved with a live verified send, the learned profile alone in force
    saved = known()
    use(AgentBook((profile,), {"mine": "learned"}))
    try:
        await bench.wait_state(agent.pane_id, PaneState.IDLE)
        await asyncio.sleep(0.5)
        rec = await send(bench.host, store, "a:0.0", "proof of the learned profile CANARY-l1", SendOptions())  # type: ignore[arg-type]
    finally:
        use(saved)
    assert (rec.agent, rec.verdict) == ("mine", Verdict.SUBMITTED), (rec.reason, rec.evidence)
    assert "proof of the learned profile CANARY-l1" in agent.received()


def test_learn_refuses_what_is_not_an_agent(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bench.shell("sh")
    assert main([*cli_env, "agents", "learn", "sh:0.0", "--name", "x"]) == 2
    assert "not a live agent pane" in capsys.readouterr().err
    assert main([*cli_env, "agents", "learn", "sh:0.0", "--name", "Bad Name"]) == 2


async def test_learn_submits_nothing_where_it_cannot_see_its_marker(bench: Bench, tmp_path: Path) -> None:
    """A frozen agent never draws the paste: no profile, and no prompt submitted behind its back."""
    agent = bench.agent("f", "--frozen", style="claude")
    await asyncio.sleep(1.0)
    pane = await bench.host.pane(agent.pane_id)
    assert pane is not None
    result = await learn(bench.host, pane, "frozen", tmp_path)
    assert not result.ok and result.profile_file is None
    assert any("marker never showed" in n for n in result.learned.notes)
    await asyncio.sleep(0.5)
    assert agent.received() == []


def test_the_working_marker_is_the_line_that_says_how_to_stop_not_a_passing_joke() -> None:
    """Qwen Code shows a random joke beside its timer: the learned marker must be the lasting part."""
    from dashboard.core.learn import _working_phrase

    joke = "⠋ Why do programmers prefer dark mode (esc to cancel, 3s)"
    other = "⠙ Engaging the improbability drive (esc to cancel, 4s)"
    phrase = _working_phrase([[joke], [joke], [other]], ["> idle composer"])
    assert phrase is not None and "esc" in phrase and "programmers" not in phrase
    assert re.search(phrase, "⠹ Poking the bear… (esc to cancel, 9s)")
