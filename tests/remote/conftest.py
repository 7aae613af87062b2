"""Real SSH machines for fleet tests: network namespaces, each with its own hostname, machine-id and sshd.

One fleet per pytest-xdist worker (names and subnets derived from the worker id, so workers never
collide), shared by the worker's tests; each test gets its own tmux socket name on the machines,
so tests never see each other's panes. Skipped, with the reason, where namespaces can't be made.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard import cli
from tests.fleetns import Machine, NetnsFleet, fleet_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


@pytest.fixture(scope="session")
def netns_fleet() -> Iterator[NetnsFleet]:
    reason = fleet_unavailable_reason()
    if reason and os.environ.get("DISPATCH_REQUIRE_FLEET_TESTS") == "1":
        pytest.fail(f"fleet tests are required here (DISPATCH_REQUIRE_FLEET_TESTS=1) but: {reason}")
    if reason:
        pytest.skip(f"fleet tests need real sshd machines in network namespaces: {reason}")
    i = _worker_index()
    root = Path(tempfile.mkdtemp(prefix="dispatch-tests-", dir="/run"))
    try:
        with NetnsFleet(root, n=3, prefix=f"dsp{chr(ord('a') + i % 26)}", subnet=210 + i) as fleet:
            yield fleet
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RemoteAgent:
    machine: Machine
    pane_id: str
    target: str
    record: Path

    def received(self) -> list[str]:
        if not self.record.exists():
            return []
        rows = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return [r["text"] for r in rows if r["kind"] in ("submitted", "queued")]


@dataclass
class Fleet3:
    """The worker's machines with a tmux socket private to one test, registered in DISPATCH_HOME."""

    ns: NetnsFleet
    socket: str
    home: Path
    records: Path

    @property
    def machines(self) -> list[Machine]:
        return self.ns.machines

    def tmux(self, machine: Machine, *args: str, check: bool = True) -> str:
        return self.ns.ssh(machine, shlex.join(["tmux", "-L", self.socket, *args]), check=check).stdout

    def agent(self, machine: Machine, session: str, *flags: str, style: str = "claude") -> RemoteAgent:
        record = self.records / f"{machine.name}-{session}.jsonl"
        argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", style, "--turn", "1.0"]
        argv += ["--record", str(record), *flags]
        cmd = f"exec env PYTHONPATH={shlex.quote(str(ROOT))} {shlex.join(argv)}"
        self.tmux(machine, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
        pane = self.tmux(machine, "display-message", "-p", "-t", f"{session}:", "#{pane_id}").strip()
        return RemoteAgent(machine, pane, f"{machine.name}:{session}:0.0", record)

    def shell(self, machine: Machine, session: str) -> str:
        self.tmux(machine, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", "env PS1='$ ' sh")
        return f"{machine.name}:{session}:0.0"

    def wait_ready(self, *agents: RemoteAgent, timeout: float = 15.0) -> None:
        """Until every agent drew its composer (the fake agent's first screen)."""
        deadline = time.monotonic() + timeout
        pending = list(agents)
        while pending and time.monotonic() < deadline:
            pending = [a for a in pending if "? for shortcuts" not in self.screen(a) and "›" not in self.screen(a)]
            if pending:
                time.sleep(0.1)
        assert not pending, f"agents never drew a composer: {[a.target for a in pending]}"

    def screen(self, agent: RemoteAgent) -> str:
        return self.tmux(agent.machine, "capture-pane", "-p", "-t", agent.pane_id, check=False)

    def config(self) -> Path:
        return self.home / "config.toml"


def run_cli(*argv: str) -> tuple[int, list[dict[str, Any]], str]:
    """`dispatch ARGV --json` in this process: exit code, JSON lines, stderr is left to capsys."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(argv))
    rows: list[dict[str, Any]] = []
    for line in out.getvalue().splitlines():
        if line.strip():
            value = json.loads(line)
            rows.extend(value if isinstance(value, list) else [value])
    return code, rows, out.getvalue()


@pytest.fixture
def fleet3(netns_fleet: NetnsFleet, _isolated_state: Path) -> Iterator[Fleet3]:
    """All three machines registered by `dispatch fleet add` (the real trust-on-first-use path)."""
    home = _isolated_state
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f"[ssh]\nconfig = {json.dumps(str(netns_fleet.ssh_config))}\n")
    records = netns_fleet.root / "records" / secrets.token_hex(4)
    records.mkdir(parents=True)
    fleet = Fleet3(netns_fleet, f"t{secrets.token_hex(4)}", home, records)
    for m in netns_fleet.machines:
        code, _, _ = run_cli("fleet", "add", m.name, m.name, "--socket", fleet.socket, "--json")
        assert code == 0
    yield fleet
    for m in netns_fleet.machines:
        fleet.tmux(m, "kill-server", check=False)
