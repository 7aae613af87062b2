"""The command-line contract: JSON fields, exit codes, one-line errors, nothing lost."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.core.model import PaneState
from tests.integration.conftest import ROOT, Bench

CONTRACT = {"server",
    "id", "batch", "target", "pane_id", "machine", "agent", "state_before", "verdict",
    "evidence", "reason", "attempts", "delay_ms", "elapsed_ms",
}  # fmt: skip


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_send_json_contract_and_no_ansi(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = bench.agent("a", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    code, out, _ = await _in_thread(run, [*cli_env, "send", "a:0.0", "hello from the cli", "--json"], capsys)
    obj = json.loads(out)
    assert set(obj) == CONTRACT and code == 0
    assert obj["verdict"] == "submitted" and obj["machine"] == "local" and obj["batch"] is None
    assert "\x1b" not in out
    assert agent.received() == ["hello from the cli"]


async def test_exit_codes(bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shell = bench.shell("sh")
    stuck = bench.agent("stuck", "--swallow-enters", "9")
    await bench.wait_state(stuck.pane_id, PaneState.IDLE)
    await bench.wait_state(shell, PaneState.SHELL)
    assert (await _in_thread(run, [*cli_env, "send", shell, "rm -rf /tmp/x"], capsys))[0] == 3
    assert (await _in_thread(run, [*cli_env, "send", "%999", "hi"], capsys))[0] == 3
    code, out, _ = await _in_thread(run, [*cli_env, "send", "stuck", "hi there", "--verify-ms", "900"], capsys)
    assert code == 4 and out.startswith("stuck-in-composer:") and "dispatch show" in out
    # usage errors: no prompt, both prompt and file, unreadable file, bad timing value
    assert (await _in_thread(run, [*cli_env, "send", "stuck"], capsys))[0] == 2
    missing = tmp_path / "nope.md"
    code, _, err = await _in_thread(run, [*cli_env, "send", "stuck", "-f", str(missing)], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot read prompt file" in err
    code, _, err = await _in_thread(run, [*cli_env, "send", "stuck", "x", "--delay-ms", "-3"], capsys)
    assert code == 2 and "--delay-ms" in err


async def test_prompt_from_file_and_stdin(bench: Bench, cli_env: list[str], tmp_path: Path) -> None:
    agent = bench.agent("a", style="gemini")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    prompt = "line one of the file\nline two of the file"
    (tmp_path / "p.md").write_text(prompt + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "dashboard", *["-L", bench.host.socket_name or ""], "send", "a", "-f"]
    done = subprocess.run([*argv, str(tmp_path / "p.md"), "--json"], capture_output=True, text=True, env=env)
    assert json.loads(done.stdout)["verdict"] == "submitted", done.stderr
    await bench.wait_state(agent.pane_id, PaneState.IDLE, timeout=5)
    done = subprocess.run([*argv, "-", "--json"], input="from stdin", capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert agent.received() == [prompt, "from stdin"]


async def test_locked_database_sends_nothing(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    assert (await _in_thread(run, ["log"], capsys))[0] == 0  # creates the database
    db = Path(os.environ["DISPATCH_HOME"]) / "dispatch.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setenv("DISPATCH_DB_BUSY_MS", "200")
    try:
        code, out, err = await _in_thread(run, [*cli_env, "send", "a", "must not be sent", "--json"], capsys)
    finally:
        holder.rollback()
        holder.close()
    assert code == 1 and out == "" and "locked" in err and "nothing was sent" in err
    assert agent.records() == [] and "must not be sent" not in bench.screen(agent.pane_id)


async def test_batch_json_lines_then_summary(
    bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    agents = [bench.agent(f"b{i}", style=s) for i, s in enumerate(("claude", "codex", "gemini"))]
    shell = bench.shell("sh")
    for a in agents:
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    targets = [a.pane_id for a in agents] + [shell, agents[0].pane_id]
    code, out, _ = await _in_thread(run, [*cli_env, "batch", *targets, "-m", "batch prompt", "--json"], capsys)
    lines = [json.loads(line) for line in out.splitlines()]
    sends, summary = lines[:-1], lines[-1]
    assert len(sends) == 5 and all(set(s) == CONTRACT for s in sends)
    assert len({s["batch"] for s in sends}) == 1 and summary["batch"] == sends[0]["batch"]
    assert summary["verdicts"] == {"submitted": 3, "refused": 2} and summary["ok"] is False
    assert code == 3
    for a in agents:
        assert a.received() == ["batch prompt"]  # the duplicate target did not send twice
    assert summary["batch"].startswith("b")  # one spelling of a batch everywhere: b7 in JSON too
    for spelling in (summary["batch"], summary["batch"].removeprefix("b")):
        code, out, _ = await _in_thread(run, ["log", "--batch", spelling, "--json"], capsys)
        assert code == 0 and len(json.loads(out)) == 5, spelling


async def test_panes_log_show(bench: Bench, cli_env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    agent = bench.agent("a", style="codex")
    shell = bench.shell("sh")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    await bench.wait_state(shell, PaneState.SHELL)
    code, out, _ = await _in_thread(run, [*cli_env, "panes", "--json"], capsys)
    panes = {p["pane_id"]: p for p in json.loads(out)}
    assert panes[agent.pane_id]["agent"] == "codex" and panes[agent.pane_id]["state"] == "idle"
    assert panes[shell]["state"] == "shell"
    await _in_thread(run, [*cli_env, "send", "a", "show me the diff"], capsys)
    code, out, _ = await _in_thread(run, ["log", "--json", "-n", "5"], capsys)
    entry = json.loads(out)[0]
    assert entry["verdict"] == "submitted"
    code, out, _ = await _in_thread(run, ["show", str(entry["id"])], capsys)
    assert code == 0 and "submitted" in out and "+› show me the diff" in out.replace("+ ", "+")
    assert (await _in_thread(run, ["show", "99999"], capsys))[0] == 2


async def _in_thread(fn, *args):  # type: ignore[no-untyped-def]
    """main() runs its own event loop (asyncio.run); keep it off the test's loop."""
    import asyncio

    return await asyncio.to_thread(fn, *args)


def test_no_command_opens_the_dashboard_on_the_chosen_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dispatch -L x` starts the dashboard with that server; the TUI itself is not run here."""
    import dashboard.ui.app as ui

    made: list[object] = []

    class FakeApp:
        def __init__(self, services: object, **kwargs: object) -> None:
            made.append(services)

        async def run_async(self) -> int:
            return 0

    monkeypatch.setattr(ui, "DispatchApp", FakeApp)
    assert main(["-L", "somesock"]) == 0
    services = made[0]
    host = services.fleet.local  # type: ignore[attr-defined]
    db = services.state_dir / "dispatch.db"  # type: ignore[attr-defined]
    assert getattr(host, "socket_name", None) == "somesock"
    assert str(db).startswith(os.environ["DISPATCH_HOME"])
