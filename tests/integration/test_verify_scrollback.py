"""The verifier refutes only what it searched for and did not find; what it cannot see is `unknown`.

A delivered prompt leaves the agent's screen as the conversation goes on: into tmux's scrollback
when something scrolls the pane, or nowhere tmux keeps when the agent repaints its own view (the
fake agent does, as full-screen TUIs do). Found in the scrollback it is confirmed; gone from both
it is unknown, because nothing says the search reached back to the send; a prompt that never
arrived is still refuted when the capture provably covers the time since the send.
"""

from __future__ import annotations

import asyncio
import shlex
import sys

from dashboard.adapters.store import Store
from dashboard.core.model import PaneState, SendRecord, Verdict
from dashboard.services.batch import run_batch
from dashboard.services.fleet import Fleet
from dashboard.services.verify import HISTORY, verify
from tests.integration.conftest import ROOT, Agent, Bench

PROMPT = "Summarise the failing tests in this repository and propose one fix"
LATER = "Now write the fix and run the whole suite again"
NEVER = "Rename the config module and update every import of it"


def _agent(bench: Bench, name: str, rows: int) -> Agent:
    """A fake Claude in a short pane: two turns are enough to push the first out of its view."""
    record = bench.tmp / f"{name}.jsonl"
    argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", "claude", "--turn", "0.2"]
    argv += ["--record", str(record), "--cwd", "/home/operator/proj"]
    cmd = f"exec env PYTHONPATH={shlex.quote(str(ROOT))} {shlex.join(argv)}"
    bench.server.cmd("new-session", "-d", "-s", name, "-x", "120", "-y", str(rows), cmd)
    pane_id = bench.server.cmd("display-message", "-p", "-t", f"{name}:", "#{pane_id}").stdout[0]
    return Agent(name, pane_id, record)


def _history_limit(bench: Bench, lines: int) -> None:
    """Scrollback size for panes made from now on (a session keeps the server up to take the option)."""
    bench.shell("keep")
    bench.server.cmd("set-option", "-g", "history-limit", str(lines))


async def _send(bench: Bench, store: Store, agent: Agent, prompt: str) -> SendRecord:
    [rec] = [r async for r in run_batch(bench.host, store, [f"{agent.name}:0.0"], prompt)]
    assert rec.verdict is Verdict.SUBMITTED, (rec.verdict, rec.reason)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    full = await store.get(rec.id or 0)  # with its before-screen, as `dispatch verify` loads it
    assert full is not None
    return full


async def _flood(bench: Bench, agent: Agent, lines: int) -> None:
    """Print `lines` lines into the pane (a long tool output): the screen scrolls into the scrollback.

    Then a key makes the agent repaint its view over them, as the next keystroke would.
    """
    tty = bench.server.cmd("display-message", "-p", "-t", agent.pane_id, "#{pane_tty}").stdout[0]
    text = "".join(f"tool output line {i}\r\n" for i in range(lines))  # the agent's tty is raw: CR LF
    await asyncio.to_thread(_write, tty, text)
    bench.server.cmd("send-keys", "-t", agent.pane_id, "BSpace")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _history_size(bench: Bench, agent: Agent) -> int:
    return int(bench.server.cmd("display-message", "-p", "-t", agent.pane_id, "#{history_size}").stdout[0])


async def test_a_prompt_scrolled_into_the_scrollback_is_confirmed(bench: Bench, store: Store) -> None:
    """Further back than any fixed window would look (past the old 3000 lines): still found, still confirmed."""
    _history_limit(bench, 10_000)
    agent = _agent(bench, "deep", rows=12)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await _send(bench, store, agent, PROMPT)
    await _flood(bench, agent, 4000)
    await _send(bench, store, agent, LATER)
    assert PROMPT not in bench.screen(agent.pane_id)
    last_3000 = "\n".join(bench.server.cmd("capture-pane", "-p", "-t", agent.pane_id, "-S", "-3000").stdout)
    assert PROMPT not in last_3000 and _history_size(bench, agent) <= HISTORY

    [check] = (await verify(Fleet(bench.host), [rec])).checks
    assert (check.result, check.state_now) == ("confirmed", "idle"), check.why
    assert "in the scrollback" in check.why


async def test_a_prompt_scrolled_out_of_the_agents_own_view_is_unknown(bench: Bench, store: Store) -> None:
    """The agent repaints its view: the old turn is nowhere tmux keeps it, and nothing says it never came."""
    agent = _agent(bench, "repaint", rows=12)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await _send(bench, store, agent, PROMPT)
    await _send(bench, store, agent, LATER)
    assert PROMPT not in bench.screen(agent.pane_id)
    assert _history_size(bench, agent) == 0  # nothing ever reached the scrollback
    assert [r["text"] for r in agent.records("submitted")] == [PROMPT, LATER]  # it was delivered

    [check] = (await verify(Fleet(bench.host), [rec])).checks
    assert check.result == "unknown", check.why
    assert "scrolled out" in check.why and "cannot see it" in check.why


async def test_a_prompt_dropped_from_a_full_scrollback_is_unknown(bench: Bench, store: Store) -> None:
    """A 50-line scrollback overflows: the prompt was in it and was dropped; that is not a refutation."""
    _history_limit(bench, 50)
    agent = _agent(bench, "tiny", rows=12)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await _send(bench, store, agent, PROMPT)
    await _flood(bench, agent, 200)
    await _send(bench, store, agent, LATER)
    assert PROMPT not in bench.screen(agent.pane_id)
    assert 40 <= _history_size(bench, agent) <= 50
    assert agent.records("submitted")[0]["text"] == PROMPT

    [check] = (await verify(Fleet(bench.host), [rec])).checks
    assert check.result == "unknown", check.why
    assert "lines of scrollback" in check.why and "cannot see it" in check.why


async def test_a_prompt_that_never_arrived_is_still_refuted(bench: Bench, store: Store) -> None:
    """The screen before the 'send' is still in view, so the prompt would be below it: its absence refutes."""
    agent = bench.agent("lost", turn=0.2)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await _send(bench, store, agent, PROMPT)
    # a later send that claims delivery but never reached the pane: its before-screen is the screen now
    lost = await store.get(first.id or 0)
    assert lost is not None
    lost.prompt, lost.snapshots = NEVER, {"before": await bench.host.capture(agent.pane_id, 200)}
    [check] = (await verify(Fleet(bench.host), [lost])).checks
    assert check.result == "refuted" and "not in the transcript" in check.why, check.why

    # without its before-screen nothing shows how far back to look: the same absence is only unknown
    lost.snapshots = {}
    [check] = (await verify(Fleet(bench.host), [lost])).checks
    assert check.result == "unknown" and "no before-screen" in check.why, check.why


async def test_a_full_scrollback_does_not_hide_a_prompt_that_never_arrived(bench: Bench, store: Store) -> None:
    """What the search must cover is the time since the send, not the whole scrollback."""
    _history_limit(bench, 50)
    agent = _agent(bench, "full", rows=12)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await _send(bench, store, agent, PROMPT)
    await _flood(bench, agent, 200)  # the scrollback is full and has dropped lines
    lost = await store.get(first.id or 0)
    assert lost is not None
    lost.prompt, lost.snapshots = NEVER, {"before": await bench.host.capture(agent.pane_id, 200)}
    [check] = (await verify(Fleet(bench.host), [lost])).checks
    assert check.result == "refuted" and "not in the transcript" in check.why, check.why
