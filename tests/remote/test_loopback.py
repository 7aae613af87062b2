"""The fleet over one real sshd on 127.0.0.1, run as whoever runs the tests: no root needed.

What one machine (this one, reached over SSH) can show: `fleet add` records the true identity,
a send lands on an agent behind the SSH link, trust on first use, identity and host-key mismatches
refused with the reason, unreachable machines fail fast, a malformed entry is a config error. The
agent's tmux server runs here, so the test starts it locally; dispatch reaches it only through sshd.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.adapters.config import load_registry
from tests.remote.conftest import run_cli
from tests.remote.loopback import NAME, LoopbackSshd, sshd_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
HOSTNAME = os.uname().nodename


def _machine_id() -> str:
    return Path("/etc/machine-id").read_text().strip()


def _start() -> LoopbackSshd:
    """A running loopback sshd, or a skip naming what is missing."""
    reason = sshd_unavailable_reason()
    if reason:
        pytest.skip(f"loopback sshd tests: {reason}")
    return LoopbackSshd().__enter__()


@pytest.fixture(scope="module")
def sshd() -> Iterator[LoopbackSshd]:
    """One sshd per module and xdist worker (own temp dir, own free port), shared by its tests."""
    server = _start()
    try:
        yield server
    finally:
        server.close()


@dataclass
class Agent:
    target: str
    record: Path

    def received(self) -> list[tuple[str, str]]:
        """(kind, text) of every input the agent took: submitted, queued, or left as a newline/swallowed."""
        if not self.record.exists():
            return []
        rows = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return [(r["kind"], r["text"]) for r in rows if r["kind"] in ("submitted", "queued", "newline", "swallowed")]


@dataclass
class Loop:
    """One test's view: its own tmux socket and DISPATCH_HOME, the registry pointing at `ssh_config`."""

    sshd: LoopbackSshd
    home: Path
    socket: str

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    def use_ssh_config(self, ssh_config: Path) -> None:
        self.config.write_text(f"[ssh]\nconfig = {json.dumps(str(ssh_config))}\n")

    def add(self, *flags: str, name: str = NAME) -> tuple[int, dict[str, object]]:
        code, rows, _ = run_cli("fleet", "add", name, NAME, "--socket", self.socket, *flags, "--json")
        return code, rows[0] if rows else {}

    def tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {shlex.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def agent(self, session: str = "a", machine: str = NAME) -> Agent:
        """A fake Claude in this test's tmux server here, once it has drawn its composer."""
        record = self.home / f"{session}.jsonl"
        argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", "claude", "--turn", "1"]
        cmd = f"exec env PYTHONPATH={shlex.quote(str(ROOT))} {shlex.join([*argv, '--record', str(record)])}"
        self.tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
        deadline = time.monotonic() + 15
        while not any(s in (screen := self.tmux("capture-pane", "-p", "-t", f"{session}:")) for s in ("? for", "›")):
            assert time.monotonic() < deadline, f"the fake agent never drew its composer:\n{screen}"
            time.sleep(0.05)
        return Agent(f"{machine}:{session}:0.0", record)


@pytest.fixture
def loop(sshd: LoopbackSshd, _isolated_state: Path) -> Iterator[Loop]:
    home = _isolated_state
    home.mkdir(parents=True, exist_ok=True)
    fixture = Loop(sshd, home, f"lb{secrets.token_hex(4)}")
    fixture.use_ssh_config(sshd.ssh_config)
    yield fixture
    fixture.tmux("kill-server", check=False)


def _send(target: str, prompt: str = "must not arrive") -> tuple[int, dict[str, object]]:
    code, [rec], _ = run_cli("send", target, prompt, "--json")
    return code, rec


def test_add_records_the_true_identity(loop: Loop) -> None:
    code, added = loop.add()
    assert code == 0 and added["recorded"] is True
    expected = {"hostname": HOSTNAME, "machine_id": _machine_id(), "host_key": loop.sshd.host_key_fingerprint()}
    assert added["identity"] == expected
    m = load_registry(loop.config).get(NAME)
    assert (m.hostname, m.machine_id, m.host_key, m.socket) == (*expected.values(), loop.socket)


def test_send_lands_through_sshd(loop: Loop) -> None:
    assert loop.add()[0] == 0
    agent = loop.agent()
    code, rec = _send(agent.target, "summarise the failing tests")
    assert (code, rec["verdict"], rec["machine"], rec["target"]) == (0, "submitted", NAME, agent.target)
    assert agent.received() == [("submitted", "summarise the failing tests")]

    code, panes, _ = run_cli("panes", NAME, "--json")
    assert code == 0 and [(p["machine"], p["agent"]) for p in panes] == [(NAME, "claude")]
    code, [check], _ = run_cli("fleet", "check", NAME, "--json")
    assert code == 0 and check["ok"] and check["tmux"] and check["agent_panes"] == 1
    assert check["identity"]["tmux_host"] == HOSTNAME


def test_unknown_host_key_needs_explicit_trust(loop: Loop) -> None:
    """Trust on first use: nothing is recorded until the key that was presented is accepted."""
    empty = loop.home / "empty_known_hosts"
    empty.write_text("")
    config = loop.home / "ssh_config"
    config.write_text(loop.sshd.client_config(empty))
    loop.use_ssh_config(config)
    fingerprint = loop.sshd.host_key_fingerprint()

    assert loop.add()[0] == 5
    assert NAME not in load_registry(loop.config).machines
    assert loop.add("--accept-key", "SHA256:" + "A" * 43)[0] == 5
    assert NAME not in load_registry(loop.config).machines
    assert loop.add("--accept-key", fingerprint)[0] == 0
    assert load_registry(loop.config).get(NAME).host_key == fingerprint
    # known_hosts is still empty: the key pinned in the registry is what is trusted now
    agent = loop.agent()
    code, rec = _send(agent.target, "pinned")
    assert (code, rec["verdict"], rec["machine"]) == (0, "submitted", NAME)
    assert agent.received() == [("submitted", "pinned")] and empty.read_text() == ""


@pytest.mark.parametrize(
    ("field", "wrong", "label", "actual"),
    [("hostname", "impostor", "hostname", HOSTNAME), ("machine_id", "f" * 32, "machine-id", None)],
)
def test_identity_mismatch_is_refused(loop: Loop, field: str, wrong: str, label: str, actual: str | None) -> None:
    """The registry says one machine, the one that answers is another: nothing is sent."""
    assert loop.add()[0] == 0
    agent = loop.agent()
    text = loop.config.read_text()
    edited = re.sub(rf"^{field} = .*$", f'{field} = "{wrong}"', text, count=1, flags=re.M)
    assert edited != text
    loop.config.write_text(edited)

    code, rec = _send(agent.target)
    assert (code, rec["verdict"]) == (5, "identity-mismatch"), rec
    assert f"{label} expected '{wrong}', got '{actual or _machine_id()}'" in str(rec["reason"])
    code, [check], _ = run_cli("fleet", "check", NAME, "--json")
    assert code == 5 and check["reachable"] and not check["identity_ok"]
    assert agent.received() == []


def test_changed_host_key_is_refused(_isolated_state: Path) -> None:
    """A new host key: untrusted it fails the handshake; trusted by known_hosts it is still not the pinned one."""
    server = _start()  # its own sshd: rekeying the module's would change it under the other tests
    loop = Loop(server, _isolated_state, f"lb{secrets.token_hex(4)}")
    try:
        loop.home.mkdir(parents=True, exist_ok=True)
        loop.use_ssh_config(server.ssh_config)
        assert loop.add()[0] == 0
        recorded = server.host_key_fingerprint()
        agent = loop.agent()

        new = server.rekey(trust=False)
        code, rec = _send(agent.target)
        assert (code, rec["verdict"]) == (5, "unreachable"), rec
        assert "not trusted" in str(rec["reason"]) and new in str(rec["reason"])

        newer = server.rekey(trust=True)
        code, rec = _send(agent.target)
        assert (code, rec["verdict"]) == (5, "identity-mismatch"), rec
        assert f"host key expected '{recorded}', got '{newer}'" in str(rec["reason"])
        assert agent.received() == []

        assert loop.add("--replace")[0] == 0  # re-recorded on purpose: sends work again
        code, rec = _send(agent.target, "after re-recording")
        assert (code, rec["verdict"]) == (0, "submitted")
        assert agent.received() == [("submitted", "after re-recording")]
    finally:
        loop.tmux("kill-server", check=False)
        server.close()


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_unreachable_machine_fails_fast(loop: Loop, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening (refused at once), or a listener that never speaks SSH (the connect timeout)."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))  # bound, so no one else takes the port; listening only if "silent"
        if kind == "silent":
            hole.listen(8)
        port = hole.getsockname()[1]
        assert loop.add()[0] == 0
        with loop.config.open("a") as f:
            f.write(
                f'\n[machines.ghost]\naddress = "127.0.0.1"\nport = {port}\nconnect_timeout = 1.5\n'
                f'hostname = "ghost"\nmachine_id = "{"0" * 32}"\nhost_key = "SHA256:{"A" * 43}"\n'
            )
        started = time.monotonic()
        code, rec = _send("ghost:a:0.0", "hello?")
        elapsed = time.monotonic() - started
        assert (code, rec["verdict"]) == (5, "unreachable"), rec
        why = "connection refused" if kind == "refused" else "no answer within 1.5s"
        assert elapsed < 5 and f"ghost (127.0.0.1:{port}): {why}" in str(rec["reason"])

        code, rows, _ = run_cli("fleet", "check", "--json")
        by = {r["machine"]: r for r in rows}
        assert code == 5 and by[NAME]["ok"] and not by["ghost"]["reachable"] and not by["ghost"]["ok"]
        code, panes, _ = run_cli("panes", "ghost", "--json")
        assert code == 5 and panes == [] and "ghost" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "named"),
    [('port = "22"', "machines.loop.port: expected an integer"), ('hostnmae = "vm"', "machines.loop.hostnmae")],
)
def test_malformed_entry_is_a_config_error(
    loop: Loop, line: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert loop.add()[0] == 0
    agent = loop.agent()
    capsys.readouterr()
    with loop.config.open("a") as f:
        f.write(line + "\n")  # lands in [machines.loop], the last table
    code, rows, _ = run_cli("send", agent.target, "must not arrive", "--json")
    assert (code, rows) == (6, [])
    assert named in capsys.readouterr().err
    assert agent.received() == []


def test_a_chatty_login_shell_does_not_corrupt_the_identity(loop: Loop) -> None:
    """An rc file that prints (a banner, a greeting) must not end up in the recorded hostname."""
    rc = loop.sshd.home / ".bashrc"
    original = rc.read_text()
    rc.write_text(original + "\necho welcome to the box\n")
    try:
        loop.tmux("new-session", "-d", "-s", "idle", "sleep 600")  # the tmux-host check runs too
        code, added = loop.add()
        assert code == 0, added
        assert added["identity"] == {
            "hostname": HOSTNAME, "machine_id": _machine_id(), "host_key": loop.sshd.host_key_fingerprint()
        }  # fmt: skip
    finally:
        rc.write_text(original)


def test_accept_key_must_match_even_when_known_hosts_trusts_the_key(loop: Loop) -> None:
    code, _ = loop.add("--accept-key", "SHA256:" + "A" * 43)
    assert code == 5
    assert NAME not in load_registry(loop.config).machines
    assert loop.add("--accept-key", loop.sshd.host_key_fingerprint())[0] == 0
