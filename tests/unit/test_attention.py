"""The attention list: what calls for a person, and that each new thing is called out exactly once."""

from __future__ import annotations

from datetime import datetime

from dashboard.core.attention import Attention, NeedsInput, attention
from dashboard.core.model import Classification, PaneInfo, PaneState, Screen, SendRecord, Verdict
from dashboard.services.attention import AttentionTracker
from dashboard.services.panes import PaneView
from dashboard.services.watch import PaneStatus


def _status(pane: str, state: PaneState, *, needs: str | None = None, reset: str | None = None,
            since: float = 0.0) -> PaneStatus:  # fmt: skip
    info = PaneInfo(pane_id=pane, session="s", window_index=int(pane[1:]), pane_index=0)
    cls = Classification("claude", state, reset=reset)
    return PaneStatus(PaneView(info, Screen(()), cls, needs=NeedsInput(needs, "screen") if needs else None), since)


def test_each_kind_of_thing_that_needs_a_person() -> None:
    cls = Classification("claude", PaneState.STUCK)
    failed = SendRecord(target="s:1.0", prompt="x", verdict=Verdict.NOT_RECEIVED, reason="the paste never showed")
    failed.id = 7
    items = attention("%1", "s:1.0", cls, NeedsInput("dialog: trust this folder?", "screen"), failed)
    assert [i.kind for i in items] == ["needs-input", "stuck", "failed-send"]
    stuck = SendRecord(target="s:1.0", prompt="x", verdict=Verdict.STUCK, reason="text still in the composer")
    assert [i.kind for i in attention("%1", "s:1.0", cls, None, stuck)] == ["failed-send"]  # said once
    assert items[2].why == "send #7 not-received: the paste never showed"
    fine = SendRecord(target="s:1.0", prompt="x", verdict=Verdict.SUBMITTED)
    assert attention("%1", "s:1.0", Classification("claude", PaneState.IDLE), None, fine) == []
    assert attention("%2", "s:2.0", Classification(None, PaneState.STUCK), None, None) == []  # not an agent


def test_new_items_are_called_out_once_and_again_only_after_they_went_away() -> None:
    called: list[Attention] = []
    tracker = AttentionTracker(called.append)
    already = [_status("%1", PaneState.DIALOG, needs="dialog: trust?")]
    tracker.update(already, {})
    assert called == [] and len(tracker.items) == 1  # the first look lists what is there, calls nothing out
    two = [*already, _status("%2", PaneState.IDLE, needs="turn ended")]
    tracker.update(two, {})
    tracker.update(two, {})
    assert [i.key for i in called] == ["%2"]  # once, however many looks see it
    tracker.update(already, {})  # %2 was answered
    tracker.update(two, {})  # and later needs someone again: a second item
    assert [i.key for i in called] == ["%2", "%2"]
    assert len(tracker.items) == 2


def test_a_rate_limit_is_called_out_when_its_reset_has_passed() -> None:
    began = datetime(2026, 12, 1, 14, 0).timestamp()
    now = [began + 60]
    called: list[Attention] = []
    tracker = AttentionTracker(called.append, clock=lambda: now[0])
    limited = [_status("%3", PaneState.RATE_LIMITED, reset="3pm", since=began)]
    tracker.update(limited, {})
    now[0] = began + 30 * 60
    tracker.update(limited, {})
    assert called == []  # 14:30: still limited
    now[0] = began + 61 * 60
    tracker.update(limited, {})
    assert [i.kind for i in called] == ["limit-lifted"] and "15:00" in called[0].why


def test_text_in_a_composer_is_stuck_only_once_it_stayed_there() -> None:
    """A send's own paste sits in the composer for its delay: that is no call for a person."""
    now = [100.0]
    called: list[Attention] = []
    tracker = AttentionTracker(called.append, clock=lambda: now[0])
    tracker.update([], {})
    pasted = [_status("%4", PaneState.STUCK, since=99.0)]
    tracker.update(pasted, {})
    assert called == [] and tracker.items == []
    now[0] = 106.5
    tracker.update(pasted, {})
    assert [i.kind for i in called] == ["stuck"]
