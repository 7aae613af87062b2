"""A real tmux server per test (libtmux's `server` fixture) with fake agents and shells in it."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libtmux
import pytest

from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.classify import classify
from dashboard.core.model import PaneState
from dashboard.core.screen import parse_capture

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Agent:
    """A fake agent in its own session; `records()` is its ground truth of what it received."""

    name: str
    pane_id: str
    record: Path

    def records(self, *kinds: str) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        rows = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return [r for r in rows if not kinds or r["kind"] in kinds]

    def received(self) -> list[str]:
        """Prompts the agent accepted (submitted or queued), exactly as it got them."""
        return [r["text"] for r in self.records("submitted", "queued")]


@dataclass
class Bench:
    server: libtmux.Server
    host: LocalTmux
    tmp: Path

    def _new(self, name: str, command: str, x: int = 120, y: int = 40) -> str:
        self.server.cmd("new-session", "-d", "-s", name, "-x", str(x), "-y", str(y), command)
        out = self.server.cmd("display-message", "-p", "-t", f"{name}:", "#{pane_id}").stdout
        return out[0]

    def agent(self, name: str, *flags: str, style: str = "claude", turn: float = 1.0) -> Agent:
        record = self.tmp / f"{name}.jsonl"
        argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", style, "--turn", str(turn)]
        argv += ["--record", str(record), "--cwd", "/home/operator/proj", *flags]
        cmd = f"exec env PYTHONPATH={shlex.quote(str(ROOT))} {shlex.join(argv)}"
        return Agent(name, self._new(name, cmd), record)

    def shell(self, name: str) -> str:
        return self._new(name, "env PS1='$ ' sh")

    async def state(self, pane_id: str) -> PaneState:
        pane = next(p for p in await self.host.list_panes() if p.pane_id == pane_id)
        screen = parse_capture(await self.host.capture(pane_id), height=pane.height)
        return classify(pane, screen).state

    async def wait_state(self, pane_id: str, *states: PaneState, timeout: float = 10.0) -> PaneState:
        deadline = time.monotonic() + timeout
        state = PaneState.UNKNOWN
        while time.monotonic() < deadline:
            state = await self.state(pane_id)
            if state in states:
                return state
            await asyncio.sleep(0.05)
        raise AssertionError(f"{pane_id} stayed {state}, wanted {states}")

    def screen(self, pane_id: str) -> str:
        return "\n".join(self.server.cmd("capture-pane", "-p", "-t", pane_id).stdout)


@pytest.fixture
def bench(server: libtmux.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    """A private tmux server (reaped by libtmux) started with a throwaway HOME and a plain shell."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHELL", "/bin/sh")
    monkeypatch.delenv("TMUX", raising=False)
    assert server.socket_name
    return Bench(server, LocalTmux(socket_name=server.socket_name), tmp_path)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "dispatch.db") as s:
        yield s


@pytest.fixture
def cli_env(bench: Bench) -> list[str]:
    """argv prefix selecting the bench's server for `dashboard.cli.main`."""
    assert bench.server.socket_name
    return ["-L", bench.server.socket_name]


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
