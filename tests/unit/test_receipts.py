"""Receipts as evidence: only what was appended after a send's mark, only the agent that runs now, pure."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.attention import needs_input
from dashboard.core.model import Classification, PaneState
from dashboard.core.receipts import Spool, _lines_with, by_pane, matching, prompt_hash


def _line(event: str, t: float, *, pane: str = "%1", agent: str = "claude", prompt: str | None = None,
          message: str = "") -> bytes:  # fmt: skip
    row = {"event": event, "time": t, "pane": pane, "tmux": "/tmp/tmux-0/s", "session": "s", "agent": agent,
           "prompt_sha256": prompt_hash(prompt) if prompt else None, "message": message}  # fmt: skip
    return (json.dumps(row) + "\n").encode()


def test_only_receipts_appended_after_the_mark_belong_to_the_send() -> None:
    earlier = _line("UserPromptSubmit", 100.0, prompt="yes, go on")
    spool = Spool(len(earlier), earlier)
    assert matching(spool.after(len(earlier)), pane="%1", socket="/tmp/tmux-0/s", prompt="yes, go on") is None
    later = earlier + _line("UserPromptSubmit", 50.0, prompt="yes, go on")  # a clock behind: still after the mark
    spool = Spool(len(later), later)
    assert matching(spool.after(len(earlier)), pane="%1", socket="/tmp/tmux-0/s", prompt="yes, go on") is not None
    assert Spool(3, later).after(len(later)) != []  # the file was replaced since the mark: all of it is newer


def test_what_another_agent_said_in_the_pane_is_dropped_and_a_stale_notice_needs_no_one() -> None:
    raw = _line("UserPromptSubmit", 1, prompt="x") + _line("Stop", 2) + _line("UserPromptSubmit", 3, agent="codex")
    hooks = by_pane(Spool(len(raw), raw).after(None), socket="/tmp/tmux-0/s", since=0)["%1"]
    assert (hooks.agent, hooks.waiting) == ("codex", None)  # claude's "turn ended" does not follow codex
    raw = _line("UserPromptSubmit", 1, prompt="x") + _line("Notification", 2, message="needs your permission")
    hooks = by_pane(Spool(len(raw), raw).after(None), socket="/tmp/tmux-0/s", since=0)["%1"]
    idle = Classification("claude", PaneState.IDLE, "", (5, 6), ("composer-empty",))
    dialog = Classification("claude", PaneState.DIALOG, None, None, ("dialog: Do you want to proceed?",))
    assert needs_input(idle, hooks) is None  # the dialog was answered: its notice is stale
    found = needs_input(dialog, hooks)
    assert found is not None and (found.why, found.source) == ("needs your permission", "receipt")


def test_a_panes_receipts_read_alone_are_the_ones_the_whole_spool_holds_for_it() -> None:
    """A send reads only its own pane's lines (a busy spool parsed whole for each of 100 sends cost seconds)."""
    raw = b"".join(_line("UserPromptSubmit", float(i), pane=f"%{i % 7}", prompt=f"p{i}") for i in range(60))
    raw += b'{"torn": \n' + _line("Stop", 99.0, pane="%1")
    spool = Spool(len(raw), raw)
    for pane in ("%1", "%12", "%0"):
        assert spool.after(None, pane) == [r for r in spool.after(None) if r.pane == pane]
        mark = len(raw) // 2
        assert spool.after(mark, pane) == [r for r in spool.after(mark) if r.pane == pane]
    assert spool.after(None, "%12") == []  # "%1" is not "%12": whole ids only


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b'"%1"', b'"%12"', b"%1", b"\n", b"x", b'{"pane": ', b"\r", b""]), max_size=30))
def test_lines_naming_a_pane_are_the_lines_split_out_that_hold_it(parts: list[bytes]) -> None:
    raw = b"".join(parts)
    needle = b'"%1"'
    assert _lines_with(raw, needle) == [line for line in raw.split(b"\n") if needle in line]
