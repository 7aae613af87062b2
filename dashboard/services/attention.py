"""The attention list: every pane that needs a person, kept across looks at the fleet, new items called out once.

The dashboard keeps one (a count in its title, `n` lists them, a bell and `--notify` for each new
item); the daemon keeps one with `--notify`, so an operator away from the desk hears of a dialog
waiting without a dashboard open. An item is new the first time it is seen, and again only after
it went away (a second dialog later is a second item).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

from dashboard.core.accounts import parse_reset
from dashboard.core.attention import Attention, attention
from dashboard.core.model import PaneState, SendRecord
from dashboard.core.ports import SendLog, StoreError, TmuxError
from dashboard.services.fleet import Fleet
from dashboard.services.watch import FleetWatcher, PaneStatus, latest_sends

STUCK_AFTER = 6.0
"""Seconds text must sit in a composer before it is called stuck: longer than a send's delay and first look."""


class AttentionTracker:
    """The current items; `update()` takes a look at the fleet and returns the items new since the last one."""

    def __init__(self, on_new: Callable[[Attention], None] | None = None, clock: Callable[[], float] = time.time):
        """`on_new`: called for each item that appears while watching.

        Items of the first look are only listed: a restarted daemon or a new dashboard does not call
        out what was already there.
        """
        self.on_new = on_new
        self.clock = clock
        self.items: list[Attention] = []
        self._ids: set[tuple[str, str, str]] | None = None

    def update(self, statuses: list[PaneStatus], last: dict[str, SendRecord]) -> list[Attention]:
        now = self.clock()
        items: list[Attention] = []
        for st in statuses:
            v = st.view
            found = attention(st.key, v.pane.address, v.cls, v.needs, last.get(st.key))
            # text in a composer for a few seconds is a send at work (its paste before its Enter): not stuck yet
            items += [i for i in found if i.kind != "stuck" or now - st.since >= STUCK_AFTER]
            if v.cls.state is PaneState.RATE_LIMITED and v.cls.reset:
                # the reset as read when the limit began ("3pm" then), not as read now (tomorrow's 3pm)
                at = parse_reset(v.cls.reset, datetime.fromtimestamp(st.since))
                if at is not None and now >= at.timestamp():
                    why = f"rate limit reset at {at:%H:%M}: it can take work again"
                    items.append(Attention(st.key, v.pane.address, "limit-lifted", why))
        ids = {_identity(i) for i in items}
        first = self._ids is None
        new = [i for i in items if _identity(i) not in (self._ids or set())]
        self.items, self._ids = items, ids
        if self.on_new is not None and not first:
            for item in new:
                self.on_new(item)
        return new


def _identity(item: Attention) -> tuple[str, str, str]:
    """An item is its pane and its kind.

    Its words may change (the screen's, then the hook's) without a new call; a failed send is the
    exception: another failed send is another item.
    """
    return (item.key, item.kind, item.why if item.kind == "failed-send" else "")


async def watch(
    fleet: Fleet, log: SendLog, on_new: Callable[[Attention], None], stop: asyncio.Event, interval: float = 2.0
) -> None:
    """Look at the fleet every `interval` s until `stop`, calling `on_new` once per new item (the daemon's)."""
    watcher = FleetWatcher(fleet)
    tracker = AttentionTracker(on_new)
    while not stop.is_set():
        try:
            statuses = await watcher.refresh()
            tracker.update(statuses, await latest_sends(log, statuses))
        except (TmuxError, StoreError):
            pass  # a machine or the log unavailable this round: the next look tries again
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            continue
