"""Two `dispatch send` processes racing for one REAL agent (Claude Code from ../shared/agents/kit).

Each round releases two CLI processes at the same instant at one idle pane, "race N alpha" and
"race N beta", and then reads the kit's fake model server's request log (the ground truth):

- no main request may carry both texts (two pastes merged in one composer and submitted together);
- every send that claimed delivery (`submitted` / `queued`) is matched by a main request whose last
  user message is exactly its text, and no text reached the model without its send claiming it;
- a send may be refused (the pane is leased by the other send, or the agent is busy with its turn):
  an honest non-delivery, counted, but at least one send per round must get through;
- nothing is left behind in the composer.

Every round runs (the failure lists them all, with the verdicts and what the model got). The kit
setup and the skip / DISPATCH_REQUIRE_REAL_AGENTS rules are those of test_real_agents.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dashboard.core.model import PaneState
from tests.integration.test_real_agents import (
    _TURN_END,
    LOG_TIMEOUT,
    ROOT,
    START_TIMEOUT,
    TURN_TIMEOUT,
    RealAgent,
    _turn_delay,
    launched,
)

pytestmark = [pytest.mark.realagents, pytest.mark.timeout(420)]

AGENT = "claude"
ROUNDS = 8
RACE_TURN = 1.0  # seconds per main turn on the fake server during the race (short: the rounds wait for it)
DELIVERED = ("submitted", "queued")
# Claude Code puts context in front of a session's first prompt, inside the same user message
REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)
# `python -m dashboard ARGV` once the barrier file exists: the import (the slow part) is done before it,
# so both senders start their send within a millisecond or so of each other
RUNNER = """
import os, sys, time
from pathlib import Path
from dashboard.cli import main
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("barrier never released")
    time.sleep(0.0005)
raise SystemExit(main(sys.argv[3:]))
"""


@dataclass
class Sent:
    text: str
    code: int
    result: dict[str, Any]
    stderr: str

    @property
    def verdict(self) -> str:
        return str(self.result.get("verdict", f"no JSON (exit {self.code})"))

    @property
    def delivered(self) -> bool:
        return self.verdict in DELIVERED


@dataclass
class Round:
    n: int
    sends: list[Sent] = field(default_factory=list)
    model_got: list[str] = field(default_factory=list)  # last user message of every main request
    problems: list[str] = field(default_factory=list)

    @property
    def merged(self) -> bool:
        a, b = (s.text for s in self.sends)
        return any(a in u and b in u for u in self.model_got)

    def line(self) -> str:
        verdicts = ", ".join(f"{s.text!r}: {s.verdict} {s.result.get('evidence')}" for s in self.sends)
        return f"round {self.n}: {verdicts}; model got {self.model_got}" + "".join(
            f"\n    - {p}" for p in self.problems
        )


async def _race(agent: RealAgent, texts: list[str], work: Path) -> list[Sent]:
    """Start one `dispatch send TARGET TEXT --json` per text, release them together, wait for all."""
    work.mkdir(parents=True)
    go = work / "go"
    procs = []
    for i, text in enumerate(texts):
        argv = ["-L", agent.socket, "send", agent.pane_id, text, "--json"]
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                RUNNER,
                str(work / f"ready{i}"),
                str(go),
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=ROOT,
            )
        )
    deadline = time.monotonic() + 30
    while not all((work / f"ready{i}").exists() for i in range(len(texts))):
        assert time.monotonic() < deadline, "the senders never got ready"
        assert all(p.returncode is None for p in procs), "a sender died before the barrier"
        await asyncio.sleep(0.01)
    go.touch()
    outs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=90)
    sent = []
    for text, p, (out, err) in zip(texts, procs, outs, strict=True):
        try:
            result = json.loads(out)
        except ValueError:
            result = {}
        sent.append(Sent(text, p.returncode or 0, result, err.decode(errors="replace")[-500:]))
    return sent


def _mains(agent: RealAgent, offset: int) -> list[dict[str, Any]]:
    return [r for r in agent.requests(offset) if r.get("main") is True and "user" in r]


async def _settle(agent: RealAgent, offset: int, delivered: list[str], rnd: Round) -> None:
    """Until every delivered text reached the model, every main turn since `offset` ended and the pane is idle."""
    deadline = time.monotonic() + LOG_TIMEOUT
    while not all(any(t in r["user"] for r in _mains(agent, offset)) for t in delivered):
        if time.monotonic() > deadline:
            break  # reported below, from the log as it is
        await asyncio.sleep(0.2)
    deadline = time.monotonic() + TURN_TIMEOUT
    while True:
        rows = agent.requests(offset)
        ended = {r.get("n") for r in rows if r.get("event") in _TURN_END}
        if all(r.get("n") in ended for r in _mains(agent, offset)):
            break
        if time.monotonic() > deadline:
            rnd.problems.append("a main turn never ended")
            break
        await asyncio.sleep(0.2)
    # idle again (a queued prompt starts its own turn right after the first one: look a few times)
    deadline = time.monotonic() + TURN_TIMEOUT
    streak = 0
    while streak < 4 and time.monotonic() < deadline:
        cls = await agent.look()
        if cls.state is PaneState.STUCK and cls.composer:
            rnd.problems.append(f"left in the composer: {cls.composer!r} (cleared)")
            agent.keys("C-u")
            streak = 0
        else:
            streak = streak + 1 if cls.state is PaneState.IDLE else 0
        await asyncio.sleep(0.3)
    if streak < 4:
        rnd.problems.append(f"the agent did not come back to idle:\n{agent.screen()}")


def _judge(rnd: Round) -> None:
    alpha, beta = (s.text for s in rnd.sends)
    if rnd.merged:
        rnd.problems.append(f"MERGED: one request carried both {alpha!r} and {beta!r}")
    for s in rnd.sends:
        exact = [u for u in rnd.model_got if u == s.text]
        anywhere = [u for u in rnd.model_got if s.text in u]
        if s.delivered and len(exact) != 1:
            rnd.problems.append(f"{s.text!r} claimed {s.verdict} but the model got it exactly {len(exact)} times")
        if not s.delivered and anywhere:
            rnd.problems.append(f"{s.text!r} reached the model but its send said {s.verdict}")
        if s.verdict not in (*DELIVERED, "refused"):
            rnd.problems.append(f"{s.text!r}: {s.verdict} ({s.result.get('reason')!r}; {s.stderr.strip()!r})")
    if not any(s.delivered for s in rnd.sends):
        rnd.problems.append("neither send was delivered")


async def test_two_senders_race_for_one_real_agent(tmp_path: Path) -> None:
    rounds: list[Round] = []
    with launched(AGENT, tmp_path) as agent, _turn_delay(AGENT, RACE_TURN):
        await agent.wait_state(PaneState.IDLE, START_TIMEOUT)
        for n in range(1, ROUNDS + 1):
            rnd = Round(n)
            rounds.append(rnd)
            await agent.wait_state(PaneState.IDLE, TURN_TIMEOUT, settle=2)
            offset = agent.log_offset()
            rnd.sends = await _race(agent, [f"race {n} alpha", f"race {n} beta"], tmp_path / f"round{n}")
            await _settle(agent, offset, [s.text for s in rnd.sends if s.delivered], rnd)
            rnd.model_got = [REMINDER.sub("", r["user"]).strip() for r in _mains(agent, offset)]
            _judge(rnd)
    merged = sum(r.merged for r in rounds)
    refused = sum(s.verdict == "refused" for r in rounds for s in r.sends)
    delivered = sum(s.delivered for r in rounds for s in r.sends)
    summary = (
        f"{len(rounds)} rounds: {merged} merged, {delivered} sends delivered, {refused} refused, "
        f"{sum(bool(r.problems) for r in rounds)} rounds with problems"
    )
    print(summary, *(r.line() for r in rounds), sep="\n")
    assert not any(r.problems for r in rounds), "\n".join([summary, *(r.line() for r in rounds if r.problems)])
