"""The warm path: a running daemon runs the CLI's command — same output and codes, or it declines and the CLI runs it.

Real daemon processes (`dispatch daemon start`), real clients (`python -m dashboard` processes, or the
client function in this process), a real tmux server with fake agents whose records are the truth.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.adapters.feed import safe_to_attach
from dashboard.adapters.paths import Paths
from dashboard.adapters.store import Store
from dashboard.cli import warm
from dashboard.core.model import PaneState
from tests.integration.conftest import ROOT, Bench


def _run(*argv: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *argv], env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def daemon(bench: Bench, _isolated_state: Path) -> Iterator[Path]:
    """A daemon of this test's state directory, with this test's environment."""
    home = _isolated_state
    home.mkdir(parents=True, exist_ok=True)
    started = _run("daemon", "start")
    assert started.returncode == 0, started.stderr
    sock = home / warm.SOCKET
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.02)
    assert sock.exists() and (sock.stat().st_mode & 0o777) == 0o600
    yield home
    assert _run("daemon", "stop").returncode == 0
    assert not sock.exists()  # the socket goes with the daemon


def _served(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    code = warm.client(argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_send_is_run_by_the_daemon_and_reads_as_one_run_here(
    bench: Bench, daemon: Path, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    code, out, err = _served([*cli_env, "send", "a:0.0", "warm hello", "--json"], capsys)
    assert code == 0, err
    rec = json.loads(out)
    assert rec["verdict"] == "submitted" and rec["pane_id"] == agent.pane_id
    assert agent.received() == ["warm hello"]
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    # the same command here (no daemon asked): the same fields, the same kind of answer
    cold = _run(*cli_env, "send", "a:0.0", "cold hello", "--json", env={"DISPATCH_NO_DAEMON": "1"})
    assert cold.returncode == 0 and json.loads(cold.stdout).keys() == rec.keys()
    assert agent.received() == ["warm hello", "cold hello"]
    # a failure keeps its code and its line on stderr, word for word
    code, out, err = _served([*cli_env, "send", "nosuch:0.0", "x"], capsys)
    here = _run(*cli_env, "send", "nosuch:0.0", "x", env={"DISPATCH_NO_DAEMON": "1"})
    same = lambda text: re.sub(r"\d+ ms|show \d+", "#", text)  # noqa: E731  (its record id and time differ)
    assert code == here.returncode != 0 and "nosuch" in out
    assert same(out) == same(here.stdout) and same(err) == same(here.stderr)


async def test_what_the_daemon_cannot_do_as_asked_it_declines_and_nothing_is_sent(
    bench: Bench, daemon: Path, cli_env: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    assert _served([*cli_env, "send", "a:0.0", "-f", "-"], capsys)[0] is None  # a prompt on our stdin
    assert _served([*cli_env, "send", "a:0.0", "x", "--no-such-flag"], capsys)[0] is None  # usage: said here
    assert _served([*cli_env, "fleet", "list"], capsys)[0] is None  # not a served command
    monkeypatch.setenv("DISPATCH_MS_PER_WORD", "50")  # the daemon would time the Enter differently
    assert _served([*cli_env, "send", "a:0.0", "x"], capsys)[0] is None
    monkeypatch.delenv("DISPATCH_MS_PER_WORD")
    assert agent.received() == []
    # a usage error through the whole program: the client runs it and says it, exit 2
    usage = _run(*cli_env, "send", "a:0.0", "x", "--no-such-flag")
    assert usage.returncode == 2 and "unrecognized arguments" in usage.stderr


async def test_a_prompt_file_is_read_from_the_clients_directory(
    bench: Bench, daemon: Path, cli_env: list[str], tmp_path: Path
) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    work = tmp_path / "work"
    work.mkdir()
    (work / "prompt.md").write_text("from the file beside the client")
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", *cli_env, "send", "a:0.0", "-f", "prompt.md", "--json"],
        cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert agent.received() == ["from the file beside the client"]


async def test_clients_at_once_each_get_their_own_output(bench: Bench, daemon: Path, cli_env: list[str]) -> None:
    agents = [bench.agent(f"s{i}") for i in range(3)]
    for a in agents:
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "dashboard", *cli_env, "send"]
    pipe = subprocess.PIPE
    procs = [
        subprocess.Popen(
            [*argv, f"s{i}:0.0", f"prompt number {i}", "--json"], env=env, stdout=pipe, stderr=pipe, text=True
        )
        for i in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    for i, (p, (out, err)) in enumerate(zip(procs, outs, strict=True)):
        assert p.returncode == 0, err
        rec = json.loads(out)  # exactly one object: nobody else's output mixed in
        assert rec["target"] == f"s{i}:0.0" and rec["verdict"] == "submitted"
        assert agents[i].received() == [f"prompt number {i}"]


async def test_a_client_killed_mid_send_stops_the_send_in_the_daemon(
    bench: Bench, daemon: Path, cli_env: list[str]
) -> None:
    """Killed during the Enter delay: no Enter is pressed for it; the record says interrupted; resend submits once."""
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    prompt = " ".join(["word"] * 300) + " KILLED-MARK"  # a ~3 s delay before the Enter
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", *cli_env, "send", "a:0.0", prompt, "--json"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    await bench.wait_state(agent.pane_id, PaneState.STUCK, timeout=10)  # pasted, Enter not yet pressed
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    time.sleep(4.0)  # past the delay: a send that went on would have pressed Enter by now
    assert agent.received() == []
    log = _run(*cli_env, "log", "--json", "-n", "1")
    rec = json.loads(log.stdout)
    rec = rec[0] if isinstance(rec, list) else rec
    assert rec["verdict"] == "interrupted", rec
    again = _run(*cli_env, "resend", str(rec["id"]), "--json")
    assert again.returncode == 0, again.stderr
    assert agent.received() == [prompt]


async def test_the_daemon_calls_out_a_pane_that_comes_to_need_a_person(
    bench: Bench, cli_env: list[str], _isolated_state: Path, tmp_path: Path
) -> None:
    """`daemon start --notify CMD`: with no dashboard open, a dialog that appears runs CMD once."""
    _isolated_state.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "notified.txt"
    cmd = f'printf "%s|%s|%s\\n" "$1" "$DISPATCH_KIND" "$DISPATCH_PANE" >> {out}'
    bench.agent("calm")
    started = _run(*cli_env, "daemon", "start", "--notify", cmd)
    assert started.returncode == 0, started.stderr
    try:
        time.sleep(3.0)  # its first look: what was there then is listed, not called out
        asking = bench.agent("asking", "--dialog")
        for _ in range(150):
            if out.exists() and asking.pane_id in out.read_text():
                break
            time.sleep(0.1)
        time.sleep(3.0)  # more looks: still one call for it
        lines = out.read_text().splitlines()
        mine = [line for line in lines if line.endswith(f"|needs-input|{asking.pane_id}")]
        assert len(mine) == 1, lines
        assert mine[0].startswith("asking:0.0: dialog")
        assert not any("calm" in line for line in lines)
    finally:
        assert _run(*cli_env, "daemon", "stop").returncode == 0


async def test_paths_are_the_clients_and_a_prompt_file_that_is_no_file_is_read_by_the_client(
    bench: Bench, daemon: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-S ./sock` names the client's socket (not one beside the daemon); a FIFO or /dev/stdin is never opened
    in the daemon (it would block its loop, or read the daemon's own stdin)."""
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    here = tmp_path / "client-dir"
    here.mkdir()
    sock = bench.server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
    (here / "srv").symlink_to(sock)
    monkeypatch.chdir(here)
    code, _, err = _served(["-S", "./srv", "send", "a:0.0", "over a relative socket", "--json"], capsys)
    assert code == 0, err
    assert agent.received() == ["over a relative socket"]
    os.mkfifo(here / "fifo")
    assert _served(["-S", "./srv", "send", "a:0.0", "-f", "fifo"], capsys)[0] is None  # declined: runs here
    assert _served(["-S", "./srv", "send", "a:0.0", "-f", "/dev/stdin"], capsys)[0] is None


def test_the_command_word_exec_is_found_where_the_command_is() -> None:
    """`-L exec` names a tmux server; only the command `exec` takes everything after -- as its command."""
    from dashboard.cli.run import parse

    args = parse(["-L", "exec", "batch", "-m", "hi", "--", "%0", "%1"])
    assert args.command == "batch" and args.targets == ["%0", "%1"] and args.socket_name == "exec"
    args = parse(["exec", "ops:0.1", "--", "make", "-j", "test"])
    assert args.command == "exec" and args.words[-3:] == ["make", "-j", "test"]


def _control_clients(bench: Bench) -> list[str]:
    rows = bench.server.cmd("list-clients", "-F", "#{client_flags} #{session_name}").stdout
    return sorted(r for r in rows if "control-mode" in r)


async def test_a_daemon_told_feed_on_follows_every_session_and_its_sends_use_it(
    bench: Bench, cli_env: list[str], _isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`daemon start --feed on`: a read-only client per session (and the keeper), new sessions too; gone with it."""
    _isolated_state.mkdir(parents=True, exist_ok=True)
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    started = _run(*cli_env, "daemon", "start", "--feed", "on")
    assert started.returncode == 0, started.stderr
    try:
        for _ in range(100):
            if len(_control_clients(bench)) == 2:
                break
            time.sleep(0.05)
        clients = _control_clients(bench)
        assert len(clients) == 2 and all("read-only" in c and c.endswith(" a") for c in clients), clients
        assert sum("no-output" in c for c in clients) == 1  # the keeper
        bench.shell("b")
        for _ in range(100):
            if any(c.endswith(" b") for c in _control_clients(bench)):
                break
            time.sleep(0.05)
        assert any(c.endswith(" b") and "no-output" not in c for c in _control_clients(bench))
        for _ in range(100):  # its socket is served once the daemon is up
            if (_isolated_state / warm.SOCKET).exists():
                break
            time.sleep(0.02)
        code, out, err = _served([*cli_env, "send", "a:0.0", "fed hello", "--json"], capsys)
        assert code == 0, err
        rec = json.loads(out)
        assert rec["verdict"] == "submitted" and agent.received() == ["fed hello"]
        async with Store(Paths.from_env().db) as log:
            kept = await log.get(rec["id"])
        assert kept is not None and kept.options["looks"] == "feed"  # the daemon's feed woke its looks
    finally:
        assert _run(*cli_env, "daemon", "stop").returncode == 0
    assert _control_clients(bench) == []  # every client went with the daemon


async def test_by_default_a_daemon_leaves_an_older_tmux_alone(
    bench: Bench, cli_env: list[str], _isolated_state: Path
) -> None:
    _isolated_state.mkdir(parents=True, exist_ok=True)
    bench.shell("a")
    version = bench.server.cmd("display-message", "-p", "#{version}").stdout[0]
    started = _run(*cli_env, "daemon", "start")
    assert started.returncode == 0, started.stderr
    try:
        time.sleep(2.0)  # a few of its rounds
        clients = _control_clients(bench)
        assert clients == [] if not safe_to_attach(version) else len(clients) == 2
    finally:
        assert _run(*cli_env, "daemon", "stop").returncode == 0


@pytest.mark.parametrize("xdg", [None, "/srv/xdg-data"])
def test_the_client_finds_the_state_directory_the_cli_uses(
    xdg: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without DISPATCH_HOME the client looks for the socket where Paths (platformdirs) puts the state."""
    monkeypatch.delenv("DISPATCH_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert warm.socket_path() == str(Paths.from_env().data / warm.SOCKET)
