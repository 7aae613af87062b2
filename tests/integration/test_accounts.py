"""Profiles on a real tmux server: tmux option, config rule, agent environment; spread and rate limits."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys

import pytest

from dashboard.cli import main
from dashboard.core.model import PaneState
from tests.integration.conftest import ROOT, Bench


def _agent_with_env(bench: Bench, name: str, env: str) -> str:
    argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", "claude", "--turn", "0.5"]
    return bench._new(name, f"exec env {env} PYTHONPATH={shlex.quote(str(ROOT))} {shlex.join(argv)}")


async def test_accounts_from_option_config_and_environment(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str], _isolated_state: object
) -> None:
    home = _isolated_state
    home.mkdir(parents=True, exist_ok=True)  # type: ignore[attr-defined]
    (home / "config.toml").write_text('[accounts]\n"local:ruled*" = "team"\n')  # type: ignore[operator]
    tagged = bench.agent("tagged")
    bench.server.cmd("set-option", "-p", "-t", tagged.pane_id, "@dispatch_account", "work")
    ruled = bench.agent("ruled")
    env = _agent_with_env(bench, "envd", "CLAUDE_CONFIG_DIR=/home/op/.claude-personal")
    for pane in (tagged.pane_id, ruled.pane_id, env):
        await bench.wait_state(pane, PaneState.IDLE)
    code = await asyncio.to_thread(main, [*cli_env, "panes", "--json"])
    rows = {r["target"].split(":")[0]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 0
    assert (rows["tagged"]["account"], rows["tagged"]["account_source"]) == ("work", "tmux option")
    assert (rows["ruled"]["account"], rows["ruled"]["account_source"]) == ("team", "config")
    assert (rows["envd"]["account"], rows["envd"]["account_source"]) == ("claude-personal", "environment")


async def test_spread_batch_skips_the_limited_account(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    a1, a2 = bench.agent("w1"), bench.agent("w2")
    p1, p2 = bench.agent("p1", "--rate-limit"), bench.agent("p2")
    for a, account in ((a1, "work"), (a2, "work"), (p1, "personal"), (p2, "personal")):
        # the option's old name (@dispatch_profile) is still read
        bench.server.cmd("set-option", "-p", "-t", a.pane_id, "@dispatch_profile", account)
    for a in (a1, a2, p2):
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    await bench.wait_state(p1.pane_id, PaneState.RATE_LIMITED)
    code = await asyncio.to_thread(main, [*cli_env, "batch", "--spread", "2", "-m", "nightly triage", "--json"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows[-1]["delivered"] == 2
    targets = sorted(r["target"] for r in rows[:-1])
    assert targets == ["p2:0.0", "w1:0.0"]  # one per account, never the limited one
    assert "skipped p1:0.0 (personal): rate-limited, resets 3pm" in err
    assert p1.received() == [] and a2.received() == []
    # named targets are never passed over without a word: a shell, a pane that is not there
    shell = bench.shell("sh")
    await bench.wait_state(shell, PaneState.SHELL)
    argv = [*cli_env, "batch", "--spread", "1", "w2:0.0", "sh:0.0", "nosuch:0.0", "-m", "named", "--json"]
    code = await asyncio.to_thread(main, argv)
    _, err = capsys.readouterr()
    assert code == 0 and "skipped sh:0.0 (no account): not ready (shell)" in err, err
    assert "nosuch:0.0: no such pane; passed over" in err, err
    # a plain batch refuses the limited pane with its reset time
    code = await asyncio.to_thread(main, [*cli_env, "batch", "p1:0.0", "-m", "anyway?", "--json"])
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert code == 3 and row["verdict"] == "refused" and "resets 3pm" in row["reason"]
