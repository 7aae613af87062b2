"""A pane is (machine, tmux server, %N) and a process that really is the agent.

Look-alike panes (a `watch` mirror, `less` on a saved screen, a script printing a capture) are
refused with what they look like and what runs there; sends are tied to their tmux server, so a
second server's `%0` or a restarted server never inherits a record.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import libtmux
import pytest

from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.classify import classify
from dashboard.core.model import PaneState, ServerRef, Verdict
from dashboard.core.screen import parse_capture
from dashboard.core.timing import DelayPolicy
from dashboard.services.fleet import Fleet
from dashboard.services.send import CannotResend, SendOptions, resend, send
from tests.integration.conftest import ROOT, Bench

FAST = SendOptions(retry_ms=300, verify_ms=2500, paste_wait_ms=800)
CAPTURE = ROOT / "tests/fixtures/captures/claude/idle.txt"


async def _wait_agent_screen(bench: Bench, pane_id: str) -> None:
    """Until the look-alike's screen alone would pass for Claude Code."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pane = await bench.host.pane(pane_id)
        assert pane is not None
        if classify(pane, parse_capture(await bench.host.capture(pane_id), height=pane.height)).agent == "claude":
            return
        time.sleep(0.1)
    raise AssertionError("the look-alike never showed the agent's screen")


@pytest.mark.parametrize(
    "mirror",
    [
        "watch -t -n 0.2 tmux -L {sock} capture-pane -p -t a:0.0",
        "less {capture}",
        "{py} -c 'import time,sys; sys.stdout.write(open(sys.argv[1]).read()); sys.stdout.flush(); time.sleep(60)'"
        " {capture}",
        "tail -n +1 -f {capture}",
    ],
    ids=["watch", "less", "python-script", "tail"],
)
async def test_look_alike_panes_are_refused(bench: Bench, store: Store, mirror: str) -> None:
    agent = bench.agent("a", style="claude")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    cmd = mirror.format(sock=bench.host.socket_name, capture=shlex.quote(str(CAPTURE)), py=sys.executable)
    env = "LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color PYTHONIOENCODING=utf-8"
    pane = bench._new("m", f"exec env {env} {cmd}")
    await _wait_agent_screen(bench, pane)
    rec = await send(bench.host, store, "m:0.0", "hello mirror", FAST)
    assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:look-alike"], (rec.reason, rec.evidence)
    assert "looks like Claude Code but runs" in rec.reason
    assert Path(cmd.split()[0]).name[:4] in rec.reason
    assert agent.received() == [] and "hello mirror" not in await bench.host.capture(agent.pane_id)


def _second_server(bench: Bench, name: str) -> libtmux.Server:
    server = libtmux.Server(socket_name=f"{bench.host.socket_name}-{name}")
    return server


async def test_sends_belong_to_their_server(bench: Bench, store: Store, tmp_path: Path) -> None:
    """Two servers, each with a fake agent at %0: B's pane never carries A's verdict, and a re-send made
    while the caller's default server is B goes to A."""
    a = bench.agent("a", style="claude", turn=0.3)
    other = _second_server(bench, "b")
    rec_b = tmp_path / "b.jsonl"
    argv = [
        sys.executable,
        "-m",
        "dashboard.demo.fake_agent",
        "--style",
        "claude",
        "--turn",
        "0.3",
        "--record",
        str(rec_b),
    ]
    other.cmd("new-session", "-d", "-s", "a", "-x", "120", "-y", "40", f"exec env PYTHONPATH={ROOT} {shlex.join(argv)}")
    try:
        host_b = LocalTmux(socket_name=other.socket_name)
        await bench.wait_state(a.pane_id, PaneState.IDLE)
        b_pane = (await host_b.list_panes())[0]
        assert b_pane.pane_id == a.pane_id == "%0" and b_pane.server != (await bench.host.list_panes())[0].server

        rec = await send(bench.host, store, "%0", "only for server A", FAST)
        assert rec.verdict is Verdict.SUBMITTED and rec.server is not None
        assert ServerRef.parse(rec.server) == (await bench.host.pane("%0")).server  # type: ignore[union-attr]
        assert b_pane.server is not None
        assert await store.latest_by_pane("local", b_pane.server.key) == {}
        assert set(await store.latest_by_pane("local", rec.server)) == {"%0"}

        # a failed send to re-do: the caller's fleet is opened on server B (its -L), the record names A
        stuck = await send(bench.host, store, "%0", "second for A", SendOptions(verify_ms=1, retries=0))
        fleet = Fleet(host_b)
        host = fleet.host_of(stuck.machine, stuck.server)
        full = await store.get(stuck.id or 0)
        assert full is not None
        await resend(host, store, full, FAST)
        time.sleep(1.0)
        assert "second for A" not in (rec_b.read_text() if rec_b.exists() else "")
        assert "only for server A" not in (rec_b.read_text() if rec_b.exists() else "")
    finally:
        other.kill()


async def test_restarted_server_is_not_the_old_one(bench: Bench, store: Store) -> None:
    """A server restarted on the same socket reuses %0: a re-send of the old record is refused."""
    agent = bench.agent("a", style="claude", turn=0.3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "%0", "before the restart", SendOptions(verify_ms=1, retries=0))
    bench.server.kill()
    time.sleep(0.3)
    bench.agent("a", style="claude", turn=0.3)
    await bench.wait_state("%0", PaneState.IDLE)
    full = await store.get(rec.id or 0)
    assert full is not None
    again = await resend(Fleet(bench.host).host_of(full.machine, full.server), store, full, FAST)
    assert again.verdict is Verdict.REFUSED and again.evidence == ["guard:server-changed"], again.reason


async def test_old_rows_are_server_unknown(bench: Bench, store: Store) -> None:
    """A row logged before servers were recorded is never guessed onto today's %N."""
    agent = bench.agent("a", style="claude")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "%0", "old", SendOptions(verify_ms=1, retries=0))
    await store.db.execute("UPDATE sends SET server = NULL WHERE id = ?", (rec.id,))
    await store.db.commit()
    old = await store.get(rec.id or 0)
    assert old is not None and old.server is None
    with pytest.raises(CannotResend, match="server unknown"):
        await resend(bench.host, store, old, FAST)


def _cli(bench: Bench, home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dashboard", "-L", str(bench.host.socket_name), *args],
        env={**os.environ, "DISPATCH_HOME": str(home), "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


async def test_killed_during_the_delay_is_concluded_and_completed_once(bench: Bench, tmp_path: Path) -> None:
    agent = bench.agent("a", style="claude", turn=0.3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    home = tmp_path / "home"
    prompt = " ".join(["word"] * 250) + " KILLED-MARK"
    proc = _cli(bench, home, "send", "a:0.0", prompt, "--delay-ms", "4000")
    time.sleep(1.5)
    proc.kill()
    proc.wait()
    time.sleep(0.3)
    out = _cli(bench, home, "log", "--json", "-n", "1").communicate(timeout=30)[0]
    import json

    row = json.loads(out.strip().splitlines()[0]) if out.strip().startswith("{") else json.loads(out)[0]
    assert row["verdict"] == "interrupted" and row["pane_id"] == agent.pane_id, row
    assert "resend" in row["reason"], row["reason"]
    done = _cli(bench, home, "resend", str(row["id"]), "--json")
    res, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert json.loads(res)["evidence"][0] == "resubmitted-leftover"
    time.sleep(1.0)
    assert sum("KILLED-MARK" in t for t in agent.received()) == 1


async def test_log_locked_during_the_delay_keeps_the_record(bench: Bench, tmp_path: Path) -> None:
    """The prompt was delivered; the log was locked when the verdict came: the CLI says so, never
    "nothing was sent", and the record is logged by the next command."""
    import sqlite3

    agent = bench.agent("a", style="claude", turn=0.3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    home = tmp_path / "home"
    _cli(bench, home, "log").communicate(timeout=30)  # creates the log
    proc = _cli(bench, home, "send", "a:0.0", "delivered while locked", "--json", "--delay-ms", "1500",
                env={"DISPATCH_DB_BUSY_MS": "300"})  # fmt: skip
    time.sleep(0.8)
    db = sqlite3.connect(home / "dispatch.db", timeout=5, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    _, err = proc.communicate(timeout=60)
    db.execute("COMMIT")
    db.close()
    assert "nothing was sent" not in err and "Traceback" not in err
    assert "submitted" in err and "do not re-send" in err and "log" in err, err
    assert agent.received() == ["delivered while locked"]
    log = _cli(bench, home, "log", "--json", "-n", "1").communicate(timeout=30)[0]
    assert '"submitted"' in log and "pending" not in log, log


async def test_text_added_beside_ours_gets_no_submit_key(bench: Bench, store: Store) -> None:
    """Someone types into the composer during our delay (not a Dispatch sender: the lease cannot stop
    them): the composer no longer shows exactly our text, so no submit key is pressed."""
    import asyncio

    agent = bench.agent("a", style="claude")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    opts = SendOptions(delay=DelayPolicy(fixed_ms=1500), verify_ms=1500)

    async def intrude() -> None:
        await asyncio.sleep(0.6)
        bench.server.cmd("send-keys", "-t", agent.pane_id, "-l", " INTRUDER")

    rec, _ = await asyncio.gather(send(bench.host, store, "a:0.0", "our own words", opts), intrude())
    assert rec.verdict is Verdict.UNRECOGNISED and rec.evidence == ["composer-mismatch"], (rec.reason, rec.evidence)
    assert rec.attempts == 0 and "no submit key" in rec.reason
    time.sleep(0.5)
    assert agent.received() == []
