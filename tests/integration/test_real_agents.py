"""The verified send against the REAL agent CLIs (Claude Code, Codex, Gemini CLI, opencode).

Uses the offline kit in ../shared/agents/kit, found beside the repository (see its README): each
agent runs in tmux inside a network namespace that only has loopback, talking to the kit's fake
model server. The server's request log is the ground truth: a prompt counts as submitted only when a
*main* request (one that carries tools) arrives whose last user message contains the canary.

Runs whenever the kit is set up (`kit/setup.sh`, as root); otherwise each test is skipped with the
reason, or fails with it under DISPATCH_REQUIRE_REAL_AGENTS=1 (CI sets that: a broken kit must not
pass as a skip). DISPATCH_REAL_AGENTS=0 skips them on purpose.

One launch per agent (25-35 s each on 2 cores): all the checks on that agent run in one test. Each
launch gets its own tmux socket and is stopped with `kit/stop.sh SOCKET`. The kit has one HOME and one
fake server (one port: BENCH_PORT_BASE + i, with one turn delay and one request log) per agent, so
everything using an agent holds that agent's lock file (xdist workers); and launch.sh / stop.sh run
one at a time (stop.sh stops every fake server once no kit tmux server is left, which would pull the
server from under a launch running at the same moment).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.agents import known
from dashboard.core.classify import classify
from dashboard.core.model import Classification, PaneState, Verdict
from dashboard.core.screen import parse_capture
from dashboard.services.hooks import SYSTEMS, config_dir, install, uninstall
from dashboard.services.reply import wait_for_reply
from dashboard.services.send import SendOptions, send

pytestmark = pytest.mark.realagents

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT.parent / "shared" / "agents" / "kit"  # a copy of shared/ sits beside the repository
STATE = Path(os.environ.get("AGENTBENCH_DIR") or Path(os.environ.get("TMPDIR") or "/tmp") / "agentbench")
AGENTS = ("codex", "gemini", "opencode", "claude")  # claude last: the race test (run before) launches it too

START_TIMEOUT = 90.0  # opencode can show a blank screen for ~20 s on its first start
LOG_TIMEOUT = 30.0  # opencode's first prompt can take ~10 s to reach the server
TURN_TIMEOUT = 45.0
TURN = 2.0  # seconds per main turn (the fake server's `delay`, set on every launch: whoever started the server)
OPTS = SendOptions(verify_ms=8000)
QUEUE_OPTS = SendOptions(verify_ms=8000, queue=True)
SLOW_TURN = 6.0  # seconds per main turn while a test needs the agent busy (fake server's `delay`)
MULTI = (
    "Review the parser module and list every place where tokens lose their source span while lexing.\n"
    "Then summarise which of those places would need new tests, grouped by the kind of token involved.\n"
    "Estimate how long each change would take a single developer, in hours, and say what could break.\n"
    "Do not change any files in this turn; reply with exactly {canary} and nothing else at all."
)


def _kit_problem() -> str | None:
    """Why the kit cannot run here, or None when it can."""
    if not (KIT / "launch.sh").is_file() or not (KIT / "stop.sh").is_file():
        return f"agent kit not found at {KIT} (a copy of shared/ beside the repository)"
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    if os.environ.get("BENCH_NETNS", "agentbench") != "none":
        if os.geteuid() != 0:
            return "the agent kit needs root (network namespace for offline agents; BENCH_NETNS=none to run without)"
        if shutil.which("ip") is None:
            return "`ip` (iproute2) is not installed: no network namespace for the agents"
        try:
            probe = subprocess.run(["ip", "netns", "list"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`ip netns` is unavailable: {exc}"
        if probe.returncode != 0:
            return f"`ip netns` is unavailable: {probe.stderr.decode(errors='replace').strip()}"
    if not (STATE / "rc" / "common.rc").is_file():
        return f"agent kit not set up in {STATE} (run {KIT}/setup.sh as root)"
    return None


def require_kit(agent: str) -> None:
    """Skip (or fail, where the real-agent tests are required) unless `agent` can run from the kit here."""
    required = os.environ.get("DISPATCH_REQUIRE_REAL_AGENTS") == "1"
    if os.environ.get("DISPATCH_REAL_AGENTS") == "0":
        problem: str | None = "real-agent tests switched off (DISPATCH_REAL_AGENTS=0)"
    else:
        problem = _kit_problem() or _agent_problem(agent)
    if problem and required:
        pytest.fail(f"real-agent tests are required here (DISPATCH_REQUIRE_REAL_AGENTS=1) but: {problem}")
    if problem:
        pytest.skip(problem)


def _agent_problem(agent: str) -> str | None:
    binary = STATE / "node" / "node_modules" / ".bin" / agent
    if not binary.exists():
        return f"{agent} is not installed in the kit ({binary} missing; BENCH_AGENTS={agent} {KIT}/setup.sh)"
    if not (STATE / "rc" / f"{agent}.rc").is_file():
        return f"{agent} has no rc file in {STATE}/rc (re-run {KIT}/setup.sh)"
    return None


def _port(agent: str) -> int:
    rc = (STATE / "rc" / f"{agent}.rc").read_text()
    m = re.search(r"^export BENCH_PORT=(\d+)", rc, re.MULTILINE)
    assert m, f"no BENCH_PORT in {agent}.rc"
    return int(m.group(1))


_TURN_END = ("stream_done", "client_disconnected")  # the fake server's log line closing a request


@dataclass
class RealAgent:
    """One real agent CLI in its own tmux server, and its fake model server's request log."""

    name: str
    socket: str
    log: Path
    host: LocalTmux
    pane_id: str = ""

    def log_offset(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def requests(self, offset: int) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        with self.log.open("rb") as f:
            f.seek(offset)
            data = f.read().decode(errors="replace")
        rows = []
        for line in data.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:  # a line still being written
                continue
        return rows

    async def wait_submitted(self, canary: str, offset: int, timeout: float = LOG_TIMEOUT) -> dict[str, Any]:
        """The main request carrying the canary (side requests such as titles quote it too: ignored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [r for r in self.requests(offset) if r.get("main") is True and canary in r.get("user", "")]
            if hits:
                return hits[0]
            await asyncio.sleep(0.25)
        seen = [(r.get("n"), r.get("main"), str(r.get("user", ""))[-80:]) for r in self.requests(offset)]
        raise AssertionError(f"{self.name}: no main request with {canary} within {timeout:g}s; log: {seen}")

    async def wait_turn_end(self, n: int, offset: int, timeout: float = TURN_TIMEOUT) -> dict[str, Any]:
        """The log line that closed request `n`: `stream_done`, or `client_disconnected` when the agent hung up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = [r for r in self.requests(offset) if r.get("n") == n and r.get("event") in _TURN_END]
            if ends:
                return ends[0]
            await asyncio.sleep(0.25)
        raise AssertionError(f"{self.name}: request {n} neither finished nor was dropped within {timeout:g}s")

    async def look(self) -> Classification:
        pane = next(p for p in await self.host.list_panes() if p.pane_id == self.pane_id)
        screen = parse_capture(await self.host.capture(self.pane_id), height=pane.height)
        return classify(pane, screen)

    async def wait_state(self, state: PaneState, timeout: float, settle: int = 3) -> Classification:
        """Wait until the pane classifies as this agent in `state` on `settle` looks in a row."""
        deadline = time.monotonic() + timeout
        streak, cls = 0, None
        while time.monotonic() < deadline:
            cls = await self.look()
            streak = streak + 1 if (cls.agent == self.name and cls.state is state) else 0
            if streak >= settle:
                return cls
            await asyncio.sleep(0.3)
        raise AssertionError(f"{self.name} did not become {state} in {timeout:g}s: {cls}\n{self.screen()}")

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "capture-pane", "-p", "-t", self.pane_id or "0"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", self.pane_id, *keys], check=True, timeout=10)


def _kit(script: str, *args: str, log: Path) -> None:
    """Run a kit script with output to a file (the fake server it may start must not hold our pipes).

    One kit script at a time across xdist workers: launch.sh is only safe from stop.sh once it has
    written its tmux pidfile (stop.sh keeps the fake servers while a kit tmux server is alive), and
    two launches would race on creating the network namespace.
    """
    env = {k: v for k, v in os.environ.items() if not _ci_marker(k)}
    env.update(AGENTBENCH_DIR=str(STATE), BENCH_DELAY=str(TURN))
    with _lock("kit"), log.open("ab") as out:
        proc = subprocess.run(
            ["bash", str(KIT / script), *args], stdout=out, stderr=subprocess.STDOUT, env=env, timeout=120
        )
    if proc.returncode != 0:
        raise AssertionError(f"{script} {' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-2000:]}")


def _ci_marker(name: str) -> bool:
    """A variable by which CLIs detect CI; the tmux server (so every pane) inherits launch.sh's environment.

    Gemini CLI starts headless under CI=true (it then wants a prompt on stdin and exits): a person's
    terminal has none of them.
    """
    return name in _CI_VARS or name.startswith("CI_")


_CI_VARS = frozenset({"CI", "CONTINUOUS_INTEGRATION", "GITHUB_ACTIONS", "BUILD_NUMBER", "RUN_ID"})


def _stop(socket: str, log: Path) -> None:
    """kit/stop.sh SOCKET, then remove the socket file a server killed inside the namespace leaves behind."""
    try:
        _kit("stop.sh", socket, log=log)
    finally:
        path = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket
        alive = subprocess.run(["tmux", "-L", socket, "list-sessions"], capture_output=True, timeout=10).returncode == 0
        if path.is_socket() and not alive:
            path.unlink(missing_ok=True)


@contextmanager
def _lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by every pytest process on this machine (xdist workers), held in the block."""
    with (Path(tempfile.gettempdir()) / f"dispatch-rt-{name}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _control(agent: str, **params: float) -> dict[str, Any]:
    """GET /_control on the agent's fake server (it listens on loopback inside the kit's netns)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    fetch = (
        "import sys, urllib.request; "
        f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{_port(agent)}/_control?{query}', timeout=5)"
        ".read().decode())"
    )
    netns = os.environ.get("BENCH_NETNS", "agentbench")
    argv = [sys.executable, "-c", fetch]
    if netns != "none":
        argv = ["ip", "netns", "exec", netns, *argv]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=15)
    reply: dict[str, Any] = json.loads(out.stdout)
    return reply


@contextmanager
def _turn_delay(agent: str, seconds: float) -> Iterator[None]:
    """Main turns take `seconds` inside the block; the server's previous delay comes back afterwards."""
    before = _control(agent)["delay"]
    _control(agent, delay=seconds)
    try:
        yield
    finally:
        _control(agent, delay=before)


@contextmanager
def launched(name: str, tmp_path: Path) -> Iterator[RealAgent]:
    """A real agent CLI launched by the kit on a unique tmux socket, holding the agent's lock; stopped after.

    Skips (or fails, see `require_kit`) when the kit cannot run `name` here.
    """
    require_kit(name)
    socket = f"dispatch-rt-{name}-{os.getpid()}-{secrets.token_hex(3)}"
    out = tmp_path / f"kit-{name}.log"
    with _lock(name):  # its HOME and its fake server (port, delay, request log) are the kit's, one per agent
        # Claude Code's, Gemini CLI's and opencode's own hooks write receipts for the run (read at start); the
        # settings file is compared byte for byte after uninstall
        hooked = SYSTEMS.get(name)
        home = STATE / "homes" / name
        env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "CODEX_HOME": str(home)}  # the kit's rc
        config = config_dir(hooked, env, None) if hooked else home
        kept = config / {"opencode": "opencode.json", "codex": "config.toml"}.get(name, "settings.json")
        before = kept.read_bytes() if hooked and kept.exists() else None
        stub = _plugin_deps(config) if name == "opencode" else []
        if hooked:
            install(hooked, config)
        try:
            _kit("launch.sh", name, socket, name, log=out)
            agent = RealAgent(name, socket, STATE / "logs" / f"fake_{_port(name)}.jsonl", LocalTmux(socket_name=socket))
            listed = subprocess.run(
                ["tmux", "-L", socket, "display-message", "-p", "-t", f"{name}:", "#{pane_id}"],
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            )
            agent.pane_id = listed.stdout.strip()
            _control(name, delay=TURN)  # the server may be older than this launch, with another delay
            yield agent
        finally:
            _stop(socket, out)
            if hooked:
                uninstall(hooked, config)
                after = kept.read_bytes() if kept.exists() else None
                if name == "codex":  # Codex counts its own notices in config.toml while it runs: ours must be gone
                    assert after is not None and b"dispatch" not in after and not (config / "hooks.json").exists()
                else:
                    _restored(before, after)
                assert not (config / "plugin").exists() or name != "opencode", "uninstall leaves no plugin folder"
            for path in stub:
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)


def _restored(before: bytes | None, after: bytes | None) -> None:
    """Uninstall gave the settings back: the very bytes, or — when the agent rewrote its own settings while it ran
    (Claude Code migrates `autoUpdates` and records an accepted dialog on its first start) — the agent's version with
    none of ours: every setting it had before, unchanged, and no hook of Dispatch's."""
    if after == before:
        return
    assert before is not None and after is not None, "uninstall must restore the settings"
    old, new = json.loads(before), json.loads(after)
    assert b"dispatch" not in after, "uninstall leaves no hook of ours"
    assert {k: new.get(k) for k in old} == old, "uninstall must keep every setting the agent had"
    assert "hooks" in old or "hooks" not in new, "uninstall leaves no hooks key it added"


def _plugin_deps(config: Path) -> list[Path]:
    """opencode installs its plugin package from npm before loading any plugin: ~70 s offline, then it
    gives up. A lock file naming the package and a node_modules folder tell it the install was done (the
    kit's offline home only; a user online gets the real install once). Returns what was made here."""
    made = []
    modules, lock = config / "node_modules", config / "package-lock.json"
    if not modules.exists():
        modules.mkdir(parents=True)
        made.append(modules)
    if not lock.exists():
        lock.write_text('{"packages": {"": {"dependencies": {"@opencode-ai/plugin": "1.18.33"}}}}\n')
        made.append(lock)
    return made


@pytest.fixture(params=AGENTS)
def real_agent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RealAgent]:
    with launched(request.param, tmp_path) as agent:
        yield agent


def _canary(agent: str) -> str:
    return f"CANARY-{agent}{secrets.token_hex(4)}"


async def _send_and_prove(
    agent: RealAgent, store: Store, prompt: str, canary: str, *, reply: bool = False, receipt: bool = False
) -> None:
    await agent.wait_state(PaneState.IDLE, START_TIMEOUT)
    offset = agent.log_offset()
    rec = await send(agent.host, store, agent.pane_id, prompt, OPTS)
    assert rec.agent == agent.name and rec.state_before == "idle", (rec.agent, rec.state_before)
    assert rec.verdict is Verdict.SUBMITTED, (rec.reason, rec.evidence, agent.screen())
    if receipt:  # the agent's own hook received exactly this text in this pane, after this send's submit key
        assert "receipt:UserPromptSubmit" in rec.evidence, rec.evidence
    hit = await agent.wait_submitted(canary, offset)
    assert hit["path"].split("?")[0].endswith(("/messages", "/responses", "streamGenerateContent")), hit["path"]
    # the whole prompt arrived, not a prefix of it
    assert prompt.splitlines()[0] in hit["user"] or len(hit["user"]) >= 6000, hit["user"][-300:]
    if reply:
        # `send --wait`: the turn's end, and the fake model's exact answer read back off the screen
        answer = await wait_for_reply(agent.host, rec, TURN_TIMEOUT)
        assert (answer.text, answer.source) == (canary, "screen"), (answer, agent.screen())
    # the turn ends and the classifier sees the agent idle again, with the reply on screen
    await agent.wait_state(PaneState.IDLE, TURN_TIMEOUT)
    stored = await store.get(rec.id or 0)
    assert stored is not None and stored.verdict is Verdict.SUBMITTED


async def test_real_agent(real_agent: RealAgent, store: Store) -> None:
    """One launch per agent: the guard, one line, four lines, then a prompt queued behind a running turn."""
    await _operator_text_is_refused_and_kept(real_agent, store)
    canary = _canary(real_agent.name)
    hooked = real_agent.name in SYSTEMS
    await _send_and_prove(real_agent, store, f"reply with exactly {canary}", canary, reply=True, receipt=hooked)
    # ~400 chars: Claude shows this paste as `[Pasted text #1 +3 lines]`, opencode as `[Pasted ~4 lines]`
    canary = _canary(real_agent.name)
    await _send_and_prove(real_agent, store, MULTI.format(canary=canary), canary, receipt=hooked)
    await _queue_behind_running_turn(real_agent, store)


async def _operator_text_is_refused_and_kept(agent: RealAgent, store: Store) -> None:
    """Text the operator typed is never merged with or cleared for a dispatched prompt."""
    await agent.wait_state(PaneState.IDLE, START_TIMEOUT)
    offset = agent.log_offset()
    agent.keys("-l", "operator note")
    try:
        cls = await agent.wait_state(PaneState.STUCK, 10, settle=1)
        assert cls.composer == "operator note"
        rec = await send(agent.host, store, agent.pane_id, f"reply with exactly {_canary('x')}", OPTS)
        assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:composer-busy"], (rec.reason, rec.evidence)
        assert "operator note" in rec.reason
        await asyncio.sleep(0.5)
        assert (await agent.look()).composer == "operator note", agent.screen()
    finally:
        agent.keys("C-u")
    await agent.wait_state(PaneState.IDLE, 10)
    assert not [r for r in agent.requests(offset) if r.get("main")], "nothing may reach the model"


async def _queue_behind_running_turn(agent: RealAgent, store: Store) -> None:
    """`send --queue` into a busy agent: QUEUED, and the model gets it in a later turn, the first one intact.

    Claude, Gemini and opencode queue on Enter; Codex queues on Tab (Enter there interrupts the
    running turn and sends at once, which the fake server logs as `client_disconnected`).
    """
    profile = known()[agent.name]
    await agent.wait_state(PaneState.IDLE, START_TIMEOUT)
    offset = agent.log_offset()
    first = _canary(agent.name)
    # only the first turn is slow: the server fixes a request's delay when it arrives, the queued one is quick
    with _turn_delay(agent.name, SLOW_TURN):
        rec = await send(agent.host, store, agent.pane_id, f"reply with exactly {first}", OPTS)
        assert rec.verdict is Verdict.SUBMITTED, (rec.reason, rec.evidence, agent.screen())
        turn = await agent.wait_submitted(first, offset)
    await agent.wait_state(PaneState.WORKING, 10, settle=1)

    queued = _canary(agent.name)
    rec = await send(agent.host, store, agent.pane_id, f"reply with exactly {queued}", QUEUE_OPTS)
    assert rec.state_before == "working", (rec.state_before, rec.reason, agent.screen())
    assert rec.verdict is Verdict.QUEUED, (rec.reason, rec.evidence, agent.screen())
    assert rec.options["submit_key"] == (profile.queue_key or profile.submit_key)

    end = await agent.wait_turn_end(turn["n"], offset)
    later = await agent.wait_submitted(queued, offset, timeout=TURN_TIMEOUT)
    assert end["event"] == "stream_done", f"the running turn was interrupted: {end}"
    # the queued prompt reached the model in a later main request, after the first turn had ended
    assert later["n"] > turn["n"] and later["t"] >= end["t"], (turn, end, later)
    assert queued not in turn["user"]
    await agent.wait_state(PaneState.IDLE, TURN_TIMEOUT)
    stored = await store.get(rec.id or 0)
    assert stored is not None and stored.verdict is Verdict.QUEUED
