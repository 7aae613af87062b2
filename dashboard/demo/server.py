"""The built-in demo fleet: a private tmux server full of fake agents, some of them misbehaving.

Used by `dispatch demo` (and the dashboard's demo mode) so a newcomer sees verified sends, and the
failures they catch, with no agents of their own. Each fake agent records what it really
received, so the demo can show the tool's verdicts next to the ground truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dashboard
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.ports import TmuxError


@dataclass(frozen=True, slots=True)
class DemoAgent:
    """One pane of the demo: where it lives, how it behaves, and what it is expected to show."""

    session: str
    window: str
    style: str | None  # None: a plain shell
    flags: tuple[str, ...] = ()
    behaviour: str = "well-behaved"


FLEET: tuple[DemoAgent, ...] = (
    DemoAgent("api", "claude", "claude"),
    DemoAgent("api", "codex", "codex"),
    DemoAgent("api", "gemini", "gemini"),
    DemoAgent("web", "swallow", "claude", ("--swallow-enters", "1"), "swallows the first Enter"),
    DemoAgent("web", "burst", "codex", ("--burst-ms", "400"), "takes a quick Enter as a newline"),
    DemoAgent("web", "stuck", "gemini", ("--swallow-enters", "99"), "never accepts Enter"),
    DemoAgent("ml", "slow", "claude", ("--slow-start", "6"), "starts slowly"),
    DemoAgent("ml", "dialog", "codex", ("--dialog",), "waits on a trust dialog"),
    DemoAgent("ml", "limited", "claude", ("--rate-limit",), "is rate-limited"),
    DemoAgent("ops", "frozen", "gemini", ("--frozen",), "is hung (reads nothing)"),
    DemoAgent("ops", "crash", "claude", ("--die-mid-turn",), "dies mid-turn"),
    DemoAgent("ops", "shell", None, (), "a plain shell"),
)

DEMO_PROMPT = "Summarise the open TODOs in this repository, then reply with exactly CANARY-demo1"


@dataclass
class DemoServer:
    """A running demo: its tmux host, its record files, and how to tear it down."""

    host: LocalTmux
    workdir: Path
    agents: dict[str, DemoAgent]

    @property
    def socket(self) -> str:
        assert self.host.socket_name
        return self.host.socket_name

    @property
    def db(self) -> Path:
        """The demo's own log: its sends never enter the user's real one (it goes with `stop`)."""
        return self.workdir / "dispatch.db"

    def record_path(self, target: str) -> Path:
        return self.workdir / f"{target.replace(':', '_')}.jsonl"

    def received(self, target: str) -> list[str]:
        """What the fake agent at `target` says it received (submitted or queued)."""
        path = self.record_path(target)
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r["text"] for r in rows if r.get("kind") in ("submitted", "queued")]

    async def stop(self) -> None:
        with contextlib.suppress(TmuxError):
            await self.host.run("kill-server")
        shutil.rmtree(self.workdir, ignore_errors=True)


async def start_demo(socket: str | None = None, *, turn: float = 4.0, size: tuple[int, int] = (120, 40)) -> DemoServer:
    """Start the demo tmux server with every FLEET agent (one chained tmux call)."""
    socket = socket or f"dispatch-demo-{os.getpid()}"
    host = LocalTmux(socket_name=socket)
    workdir = Path(tempfile.mkdtemp(prefix="dispatch-demo-"))
    root = str(Path(dashboard.__file__).resolve().parent.parent)
    agents: dict[str, DemoAgent] = {}
    args: list[str] = []
    made: set[str] = set()
    for agent in FLEET:
        target = f"{agent.session}:{agent.window}"
        agents[target] = agent
        if agent.style is None:
            command = "exec env PS1='$ ' sh"
        else:
            argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", agent.style, "--turn", str(turn)]
            argv += [
                "--cwd",
                f"~/src/{agent.session}",
                "--record",
                str(workdir / f"{agent.session}_{agent.window}.jsonl"),
            ]
            command = f"exec env PYTHONPATH={shlex.quote(root)} {shlex.join([*argv, *agent.flags])}"
        if args:
            args.append(";")
        if agent.session not in made:
            made.add(agent.session)
            args += ["new-session", "-d", "-s", agent.session, "-n", agent.window, "-x", str(size[0]), "-y"]
            args += [str(size[1]), "-c", str(workdir), command]
        else:
            args += ["new-window", "-d", "-t", f"{agent.session}:", "-n", agent.window, "-c", str(workdir), command]
        # keep crashed agents' panes visible as dead panes instead of closing them
        args += [";", "set-option", "-p", "-t", target, "remain-on-exit", "on"]
        if agent.style is not None:
            # two subscriptions, as a real fleet would have: the grid shows ⚑ and per-account counts
            account = "work" if agent.session in ("api", "web") else "personal"
            args += [";", "set-option", "-p", "-t", target, "@dispatch_account", account]
    await host.run(*args)
    return DemoServer(host, workdir, agents)


async def wait_ready(fleet: DemoServer, timeout: float = 5.0) -> None:
    """Wait until the well-behaved agents show their composer (slow starters may still be starting)."""
    from dashboard.core.model import PaneState
    from dashboard.services.panes import survey

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = await survey(fleet.host)
        ready = {f"{v.pane.session}:{v.pane.window_name}" for v in views if v.cls.state is not PaneState.UNKNOWN}
        if all(t in ready for t, a in fleet.agents.items() if "--slow-start" not in a.flags):
            return
        await asyncio.sleep(0.1)


async def run_scripted_demo(*, keep: bool = False, as_json: bool = False) -> int:
    """Start the fleet, show its panes, batch one prompt to all of them, compare with ground truth."""
    from dashboard.adapters.store import Store
    from dashboard.core.wording import human_line
    from dashboard.services.batch import run_batch
    from dashboard.services.panes import survey
    from dashboard.services.send import SendOptions

    out = sys.stdout
    fleet = await start_demo()
    try:
        await wait_ready(fleet)
        if not as_json:
            out.write(f"demo fleet on tmux -L {fleet.socket}: {len(fleet.agents)} panes\n\n")
            for v in await survey(fleet.host):
                agent = fleet.agents.get(f"{v.pane.session}:{v.pane.window_name}")
                note = agent.behaviour if agent else ""
                out.write(f"  {v.pane.pane_id:4} {v.pane.target:9} {v.cls.agent or '-':7} {v.cls.state:18} {note}\n")
            out.write(f"\nbatch → every pane: {DEMO_PROMPT!r}\n\n")
        targets = list(fleet.agents)
        results = []
        async with Store(fleet.db) as store:
            async for rec in run_batch(fleet.host, store, targets, DEMO_PROMPT, SendOptions(verify_ms=3000)):
                results.append(rec)
                if as_json:
                    out.write(json.dumps(rec.to_json()) + "\n")
                else:
                    out.write(f"  {human_line(rec)}\n")
                out.flush()
        await asyncio.sleep(0.2)
        if not as_json:
            out.write("\nverdict vs. what each fake agent actually received:\n")
        honest = True
        for rec in sorted(results, key=lambda r: r.target):
            name = next((t for t in fleet.agents if rec.requested == t), rec.target)
            got = any(text.rstrip() == DEMO_PROMPT for text in fleet.received(name))
            claim = rec.verdict.delivered
            honest &= claim <= got  # never claim a delivery the agent did not see
            if as_json:
                out.write(json.dumps({"target": name, "verdict": str(rec.verdict), "agent_received": got}) + "\n")
            else:
                mark = "ok " if claim == got else ("!! " if claim else "   ")
                out.write(f"  {mark}{name:13} {rec.verdict!s:18} agent received: {'yes' if got else 'no'}\n")
        if not as_json:
            out.write(
                "\nEvery 'submitted' above is backed by evidence on screen; every failure names what was seen.\n"
                "Inspect one with: dispatch show ID\n"
            )
            if keep:
                out.write(f"the fleet is still running: tmux -L {fleet.socket} attach\n")
        return 0 if honest else 1
    finally:
        if not keep:
            await fleet.stop()
