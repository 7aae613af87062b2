"""Waiting for a turn to end and handing back the agent's answer (`send --wait`).

The turn has ended when the agent's composer is back, empty and idle, for two looks in a row (some
agents look idle for a moment between a turn and a queued follow-up). The answer is read off the
screen and its scrollback (core/reply.py); a dialog (the agent needs a person) or the time limit ends
the wait without one, and says which.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from dashboard.core.agents import known
from dashboard.core.classify import classify_as
from dashboard.core.model import PaneState, SendRecord
from dashboard.core.ports import TmuxError, TmuxHost
from dashboard.core.reply import reply_after
from dashboard.core.screen import parse_capture

HISTORY = 3000
"""Scrollback lines read with the screen: a long answer scrolls its start off the visible screen."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The agent's answer to one send, or why there is none."""

    text: str | None
    source: str
    """`screen` (read after the turn ended), or why there is none: `timeout`, `dialog`, `gone`, `not-found`."""


async def wait_for_reply(
    host: TmuxHost, rec: SendRecord, timeout: float, *, poll: float = 0.15, settle: float = 0.3
) -> Reply:
    """Wait up to `timeout` seconds for the turn `rec` started to end, then read the answer after its prompt."""
    profile = known().get(rec.agent)
    if profile is None or rec.pane_id is None or not rec.verdict.delivered:
        return Reply(None, "not-delivered")
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while True:
        try:
            pane = await host.pane(rec.pane_id)
            if pane is None:
                return Reply(None, "gone")
            screen = parse_capture(await host.capture(rec.pane_id, HISTORY), height=pane.height)
        except TmuxError:
            return Reply(None, "gone")
        cls = classify_as(profile, screen, title=pane.title)
        now = time.monotonic()
        if cls.state is PaneState.DIALOG:
            return Reply(None, "dialog")
        if cls.state is PaneState.IDLE:
            idle_since = idle_since if idle_since is not None else now
            if now - idle_since >= settle:
                lines = [*screen.history, *screen.lines]
                start = None if cls.composer_span is None else len(screen.history) + cls.composer_span[0]
                text = reply_after(profile, lines, start, rec.prompt)
                return Reply(text, "screen") if text is not None else Reply(None, "not-found")
        else:
            idle_since = None
        if now >= deadline:
            return Reply(None, "timeout")
        await asyncio.sleep(poll)
