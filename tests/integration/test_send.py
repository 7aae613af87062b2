"""The verified send against fake agents on a real tmux server.

Every `submitted` or `queued` verdict is checked against the fake agent's own record of what it
received: no test can pass on a verdict the agent does not confirm.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from dashboard.adapters.store import Store
from dashboard.core.model import PaneState, SendRecord, Verdict
from dashboard.services.send import SendOptions, resend, send
from tests.integration.conftest import Agent, Bench

FAST = SendOptions(retry_ms=300, verify_ms=2500, paste_wait_ms=800)
MULTI = (
    "Refactor the parser module so that tokens carry their source span.\n"
    "Then run the whole test suite and fix whatever breaks.\n"
    "Finally reply with exactly CANARY-multi42"
)


def assert_delivered(rec: SendRecord, agent: Agent, prompt: str, verdict: Verdict = Verdict.SUBMITTED) -> None:
    assert rec.verdict is verdict, (rec.reason, rec.evidence)
    kinds = ("queued",) if verdict is Verdict.QUEUED else ("submitted",)
    got = [r["text"].rstrip("\n") for r in agent.records(*kinds)]
    assert got == [prompt], f"agent received {got!r}"


@pytest.mark.parametrize("style", ["claude", "codex", "gemini"])
async def test_submitted_in_each_style(bench: Bench, store: Store, style: str) -> None:
    agent = bench.agent("a", style=style)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a:0.0", MULTI, FAST)
    assert_delivered(rec, agent, MULTI)
    assert rec.attempts == 1 and rec.agent == style and rec.state_before == "idle"
    assert any(e.startswith("working-indicator") for e in rec.evidence)
    stored = await store.get(rec.id or 0)
    assert stored is not None and stored.verdict is Verdict.SUBMITTED
    assert set(stored.snapshots) == {"before", "after-paste", "after"}


async def test_claude_collapsed_paste_is_verified(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--paste-collapse", "1")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, agent.pane_id, MULTI, FAST)
    assert_delivered(rec, agent, MULTI)
    stored = await store.get(rec.id or 0)
    assert stored is not None and "[Pasted text #1" in stored.snapshots["after-paste"]


async def test_swallowed_enter_is_retried(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--swallow-enters", "1", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "fix the flaky test", FAST)
    assert_delivered(rec, agent, "fix the flaky test")
    assert rec.attempts == 2 and len(agent.records("swallowed")) == 1


async def test_paste_burst_enter_taken_as_newline_is_retried(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--burst-ms", "400", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "update the changelog", FAST)
    assert rec.attempts >= 2 and agent.records("newline")
    assert_delivered(rec, agent, "update the changelog")


async def test_burst_window_shorter_than_delay_submits_first_time(bench: Bench, store: Store) -> None:
    """The computed delay (>= 150 ms) is the cure for paste-burst detection (~120 ms in Codex)."""
    agent = bench.agent("a", "--burst-ms", "120", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "update the changelog", FAST)
    assert_delivered(rec, agent, "update the changelog")
    assert rec.attempts == 1 and not agent.records("newline")


async def test_enter_never_lands_is_stuck(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--swallow-enters", "9", style="gemini")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "write the release notes", SendOptions(retry_ms=200, verify_ms=1500))
    assert rec.verdict is Verdict.STUCK and rec.attempts == 3
    assert "write the release notes" in rec.reason
    assert agent.received() == []


async def test_frozen_agent_is_not_received_and_gets_no_enter(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--frozen")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "anything at all", FAST)
    assert rec.verdict is Verdict.NOT_RECEIVED and rec.attempts == 0
    assert agent.received() == []


async def test_no_spinner_agent_is_proven_by_the_transcript(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--no-spinner", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "summarise the diff", FAST)
    assert_delivered(rec, agent, "summarise the diff")
    assert rec.evidence == ["left-composer"]


async def test_busy_agent_refused_then_queued_then_when_idle(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", turn=1.5)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await send(bench.host, store, "a", "first task", FAST)
    assert_delivered(first, agent, "first task")
    busy = await send(bench.host, store, "a", "second task", FAST)
    assert busy.verdict is Verdict.REFUSED and "working" in busy.reason
    queued = await send(bench.host, store, "a", "second task", SendOptions(queue=True, verify_ms=2500))
    assert queued.verdict is Verdict.QUEUED and agent.records("queued")[0]["text"] == "second task"
    await bench.wait_state(agent.pane_id, PaneState.WORKING)
    waited = await send(bench.host, store, "a", "third task", SendOptions(when_idle=True, idle_timeout=15))
    assert waited.verdict is Verdict.SUBMITTED
    assert agent.records("submitted")[-1]["text"] == "third task"


async def test_slow_start_refused_then_when_idle_waits(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--slow-start", "1.5")
    await asyncio.sleep(0.3)
    early = await send(bench.host, store, "a", "hello", FAST)
    assert early.verdict is Verdict.REFUSED and agent.received() == []
    rec = await send(bench.host, store, "a", "hello", SendOptions(when_idle=True, idle_timeout=10))
    assert_delivered(rec, agent, "hello")


async def test_dialog_refused_nothing_typed(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--dialog")
    await bench.wait_state(agent.pane_id, PaneState.DIALOG)
    before = bench.screen(agent.pane_id)
    rec = await send(bench.host, store, "a", "proceed please", FAST)
    assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:dialog"]
    assert bench.screen(agent.pane_id) == before and agent.records() == []


async def test_rate_limited_refused_unless_allowed(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--rate-limit")
    await bench.wait_state(agent.pane_id, PaneState.RATE_LIMITED)
    rec = await send(bench.host, store, "a", "try anyway", FAST)
    assert rec.verdict is Verdict.REFUSED and "rate-limited" in rec.reason and "3pm" in rec.reason
    assert agent.records() == []


async def test_agent_dying_mid_turn_then_dead_pane_refused(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--die-mid-turn", turn=0.6)
    bench.server.cmd("set-option", "-p", "-t", agent.pane_id, "remain-on-exit", "on")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "start the migration", FAST)
    assert_delivered(rec, agent, "start the migration")
    await bench.wait_state(agent.pane_id, PaneState.DEAD)
    dead = await send(bench.host, store, "a", "are you there?", FAST)
    assert dead.verdict is Verdict.REFUSED and dead.evidence == ["guard:dead"] and "is dead" in dead.reason


async def test_operator_text_in_composer_is_refused_and_kept(bench: Bench, store: Store) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    bench.server.cmd("send-keys", "-t", agent.pane_id, "-l", "my half-written thought")
    await bench.wait_state(agent.pane_id, PaneState.STUCK)
    rec = await send(bench.host, store, "a", "the dispatched prompt", FAST)
    assert rec.verdict is Verdict.REFUSED and "my half-written thought" in rec.reason
    await asyncio.sleep(0.3)
    screen = bench.screen(agent.pane_id)
    assert "my half-written thought" in screen and "the dispatched prompt" not in screen


async def test_picker_prompt_needs_raw(bench: Bench, store: Store) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", "/compact the history", FAST)
    assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:picker"]
    raw = await send(bench.host, store, "a", "/compact the history", SendOptions(raw=True, verify_ms=2500))
    assert_delivered(raw, agent, "/compact the history")


async def test_copy_mode_refused(bench: Bench, store: Store) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    bench.server.cmd("copy-mode", "-t", agent.pane_id)
    rec = await send(bench.host, store, "a", "hello", FAST)
    assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:copy-mode"]
    bench.server.cmd("send-keys", "-t", agent.pane_id, "-X", "cancel")
    await asyncio.sleep(0.2)
    assert agent.records() == []


async def test_shell_pane_refused_nothing_typed(bench: Bench, store: Store) -> None:
    pane = bench.shell("sh")
    await bench.wait_state(pane, PaneState.SHELL)
    canary = bench.tmp / "canary"
    rec = await send(bench.host, store, pane, f"touch {canary}", FAST)
    assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:shell"]
    await asyncio.sleep(0.3)
    assert not canary.exists() and "touch" not in bench.screen(pane)


@pytest.mark.parametrize(
    ("prompt", "code"),
    [("", "empty-prompt"), ("a\x00b", "nul-byte"), ("x" * (1 << 20), "too-large"), ("\x1b[201~boom", "control-char")],
    ids=["empty", "nul", "1MB", "escape"],
)
async def test_bad_prompts_refused_and_recorded(bench: Bench, store: Store, prompt: str, code: str) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a", prompt, FAST)
    assert rec.verdict is Verdict.REFUSED and rec.evidence == [f"guard:{code}"]
    assert (await store.get(rec.id or 0)) is not None
    assert agent.records() == []


async def test_unknown_target_refused(bench: Bench, store: Store) -> None:
    bench.agent("work")
    for target in ("%999", "nosuch:0.0", "wor"):  # no prefix matching: "wor" is not "work"
        rec = await send(bench.host, store, target, "hello", FAST)
        assert rec.verdict is Verdict.REFUSED and rec.evidence == ["guard:unknown-target"]


async def test_codex_queue_uses_tab_not_enter(bench: Bench, store: Store) -> None:
    """Codex takes Enter while busy as "interrupt and send now": --queue must press Tab instead."""
    agent = bench.agent("a", style="codex", turn=3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await send(bench.host, store, "a", "first task", FAST)
    assert_delivered(first, agent, "first task")
    queued = await send(bench.host, store, "a", "follow-up task", SendOptions(queue=True, verify_ms=2500))
    assert queued.verdict is Verdict.QUEUED, (queued.reason, queued.evidence)
    assert any("Queued follow-up inputs" in e for e in queued.evidence)
    assert [r["text"] for r in agent.records("queued")] == ["follow-up task"]
    assert [r["text"] for r in agent.records("submitted")] == ["first task"]  # nothing interrupted


async def test_claude_queue_placeholder_is_not_operator_text(bench: Bench, store: Store) -> None:
    """Claude shows "Press up to edit queued messages" in its composer: that is no operator text."""
    agent = bench.agent("a", turn=3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    await send(bench.host, store, "a", "first task", FAST)
    queued = await send(bench.host, store, "a", "second task", SendOptions(queue=True, verify_ms=2500))
    assert queued.verdict is Verdict.QUEUED, (queued.reason, queued.evidence)
    assert await bench.state(agent.pane_id) is PaneState.WORKING
    third = await send(bench.host, store, "a", "third task", SendOptions(queue=True, verify_ms=2500))
    assert third.verdict is Verdict.QUEUED and agent.received() == ["first task", "second task", "third task"]


async def test_resend_of_stuck_text_only_presses_enter(bench: Bench, store: Store) -> None:
    """The failed send's text still sits in the composer: re-sending submits it, no second copy."""
    agent = bench.agent("a", "--swallow-enters", "3", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await send(bench.host, store, "a", "rebuild the index", SendOptions(retry_ms=150, verify_ms=900))
    assert first.verdict is Verdict.STUCK and agent.received() == []
    full = await store.get(first.id or 0)
    assert full is not None
    again = await resend(bench.host, store, full, FAST)
    assert_delivered(again, agent, "rebuild the index")
    assert again.resend_of == first.id and again.evidence[0] == "resubmitted-leftover"


async def test_resend_after_not_received_pastes_again(bench: Bench, store: Store) -> None:
    agent = bench.agent("a", "--slow-start", "1.2")
    await bench.wait_state(agent.pane_id, PaneState.IDLE, timeout=8)
    bench.server.cmd("send-keys", "-t", agent.pane_id, "-l", "typed by the operator")
    await bench.wait_state(agent.pane_id, PaneState.STUCK)
    refused = await send(bench.host, store, "a", "the real prompt", FAST)
    assert refused.verdict is Verdict.REFUSED
    full = await store.get(refused.id or 0)
    assert full is not None
    again = await resend(bench.host, store, full, FAST)  # operator text is never taken for our leftover
    assert again.verdict is Verdict.REFUSED and "typed by the operator" in again.reason


@pytest.mark.parametrize("held_s", [0.6, 5.0])
async def test_a_send_cut_off_while_the_log_is_locked_leaves_one_record_or_none(
    bench: Bench, tmp_path: Path, held_s: float
) -> None:
    """Ctrl-C (or a warm client gone) while the record's insert waits for a locked log: the insert settles first.

    Released in time, it is the one record, concluded `interrupted`; never released before the busy timeout, there is
    no record at all — and the pane is untouched either way (the insert comes before the lease).
    """
    agent = bench.agent("a", style="claude")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    path = tmp_path / "d.db"
    async with Store(path, busy_timeout_ms=2000) as log:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        task = asyncio.ensure_future(send(bench.host, log, "a:0.0", "cut off while logged", FAST))
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.sleep(held_s - 0.3)
        holder.rollback()
        holder.close()
        with pytest.raises(asyncio.CancelledError):
            await task
        rows = [r for r in await log.recent(10) if r.prompt == "cut off while logged"]
        assert agent.records("submitted") == [] and "cut off" not in bench.screen(agent.pane_id)
        if held_s > 2.0:
            assert rows == []
            return
        [row] = rows
        assert row.verdict is Verdict.INTERRUPTED and "nothing-sent" in row.evidence, row.evidence
        assert "nothing was pasted" in row.reason
        # its sender knew no key went in: `resend` sends it anew (an interrupted send that may have arrived is
        # only ever completed with the submit key)
        full = await log.get(row.id or 0)
        assert full is not None
        again = await resend(bench.host, log, full, FAST)
    assert_delivered(again, agent, "cut off while logged")
