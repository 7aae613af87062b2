"""`dispatch agents list | show | explain`: what is known about agents, and why a pane reads as it does."""

from __future__ import annotations

import asyncio
import json

import pytest

from dashboard.cli import main
from dashboard.core.model import PaneState
from tests.integration.conftest import Bench


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


async def test_explain_names_the_process_markers_state_and_composer(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = bench.agent("a", style="claude")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    watch = f"watch -t -n 0.3 tmux -L {bench.host.socket_name} capture-pane -p -t a:0.0"
    mirror = bench._new("m", f"exec env LANG=C.UTF-8 LC_ALL=C.UTF-8 {watch}")
    await asyncio.sleep(1.5)
    code, out = await asyncio.to_thread(_run, capsys, *cli_env, "agents", "explain", "a:0.0", "--json")
    real = json.loads(out)
    assert code == 0 and real["agent"] == "claude" and real["runs_agent"] is True and real["state"] == "idle"
    assert real["markers"] == ["composer-empty"] and real["composer_lines"] is not None
    assert real["scores"]["claude"] >= 3 and real["server"]
    code, out = await asyncio.to_thread(_run, capsys, *cli_env, "agents", "explain", mirror, "--json")
    look = json.loads(out)
    assert look["agent"] == "claude" and look["runs_agent"] is False and look["cmdline"].startswith("watch")
    code, out = await asyncio.to_thread(_run, capsys, *cli_env, "agents", "explain", "a:0.0")
    assert "the process is the agent: yes" in out and "because composer-empty" in out


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "agents", "list", "--json")
    names = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and set(names) >= {"claude", "codex", "gemini", "opencode"}
    assert names["claude"]["checked_against"] and names["claude"]["source"] == "built-in (claude.toml)"
    code, out = _run(capsys, "agents", "show", "gemini", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["processes"] == ["gemini"] and shown["composer"]["bottom"] and shown["working"]
    assert main(["agents", "show", "aider"]) == 2
    assert "no agent profile named 'aider'" in capsys.readouterr().err
