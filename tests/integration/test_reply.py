"""`send --wait`: the turn's end and the agent's answer, read back off the screen."""

from __future__ import annotations

import asyncio
import json

import pytest

from dashboard.cli import main
from dashboard.core.agents import known
from dashboard.core.model import PaneState
from dashboard.core.reply import reply_after
from tests.integration.conftest import Bench


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(list(argv))
    out = capsys.readouterr().out.strip()
    if out.startswith("["):
        return code, list(json.loads(out))
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("style", ["claude", "codex", "gemini"])
async def test_wait_returns_the_exact_answer(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str], style: str
) -> None:
    agent = bench.agent("a", style=style, turn=0.6)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    code, [rec] = await asyncio.to_thread(
        _run, capsys, *cli_env, "send", "a:0.0", f"reply with exactly CANARY-r{style}", "--wait", "--json"
    )
    assert code == 0 and rec["verdict"] == "submitted"
    assert (rec["reply"], rec["reply_source"]) == (f"CANARY-r{style}", "screen")
    code, [logged] = await asyncio.to_thread(_run, capsys, *cli_env, "log", "--json", "-n", "1")
    assert logged["reply"] == f"CANARY-r{style}"  # kept in the log with the send


async def test_wait_gives_up_at_the_timeout_and_says_so(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = bench.agent("a", style="claude", turn=6.0)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    code, [rec] = await asyncio.to_thread(
        _run, capsys, *cli_env, "send", "a:0.0", "a long turn CANARY-slow", "--wait", "--timeout", "1", "--json"
    )
    assert code == 0 and rec["verdict"] == "submitted"  # delivered: the reply is what is missing
    assert (rec["reply"], rec["reply_source"]) == (None, "timeout")


async def test_batch_wait_hands_back_each_panes_answer(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    agents = [bench.agent(n, style=s, turn=0.5) for n, s in (("a", "claude"), ("b", "codex"))]
    for a in agents:
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    code, rows = await asyncio.to_thread(
        _run, capsys, *cli_env, "batch", "a:0.0", "b:0.0", "-m", "reply with exactly CANARY-both", "--wait", "--json"
    )
    sends = [r for r in rows if not r.get("summary")]
    assert code == 0 and len(sends) == 2
    assert all((r["reply"], r["reply_source"]) == ("CANARY-both", "screen") for r in sends), sends


def test_reply_after_takes_the_last_copy_and_undoes_wrapping() -> None:
    claude = known()["claude"]
    lines = [
        "❯ say CANARY-1",
        "● CANARY-1",
        "❯ a long prompt that the transcript wraps over",
        "  two lines, then asks for CANARY-2",
        "● CANARY-2 and",
        "  a second line of answer",
        "✻ Brewed for 3s",
        "─" * 30,
        "❯ ",
    ]
    prompt = "a long prompt that the transcript wraps over two lines, then asks for CANARY-2"
    assert reply_after(claude, lines, 8, prompt) == "CANARY-2 and\na second line of answer"
    assert reply_after(claude, lines, 8, "say CANARY-1") is not None
    assert reply_after(claude, lines, 8, "never sent") is None
