"""Every pane of a host with its agent and state: one list call plus one chained capture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass, replace

from dashboard.core.agents import known as known_agents
from dashboard.core.attention import NEEDS_INPUT, NeedsInput, needs_input
from dashboard.core.classify import classify
from dashboard.core.model import Classification, PaneInfo, PaneState, Screen
from dashboard.core.ports import TmuxHost
from dashboard.core.receipts import SPOOL_TAIL, PaneHooks, Receipt, by_pane
from dashboard.core.screen import parse_capture


@dataclass(frozen=True, slots=True)
class PaneView:
    """A pane, what it shows, and how it classified."""

    pane: PaneInfo
    screen: Screen
    cls: Classification
    account: str | None = None
    """The account (subscription) the agent runs under (see core/accounts.py), when known."""
    account_source: str | None = None
    hooks: PaneHooks | None = None
    """What the pane's agent last said through its hooks (None: it writes no receipts)."""
    needs: NeedsInput | None = None
    """Why the pane waits on a person (a dialog, a question, idle after its turn), or None."""

    @property
    def shown_state(self) -> str:
        """The state as a person reads it: `needs-input` when the pane waits on one, else the screen's."""
        return NEEDS_INPUT if self.needs is not None else str(self.cls.state)

    def to_json(self) -> dict[str, object]:
        p = self.pane
        return {
            "machine": p.machine,
            "account": self.account,
            "account_source": self.account_source,
            "pane_id": p.pane_id,
            "target": p.target,
            "command": p.command,
            "dead": p.dead,
            "in_mode": p.in_mode,
            "size": [p.width, p.height],
            **self.cls.to_dict(),
            "needs_input": self.needs.to_json() if self.needs else None,
            "receipts": self.hooks.to_json() if self.hooks else None,
        }


ProfileCache = dict[tuple[str, int | None, str], str]


async def survey(
    host: TmuxHost,
    known: ProfileCache | None = None,
    memo: dict[str, tuple[str, PaneView]] | None = None,
    *,
    changed: Collection[str] | None = None,
) -> list[PaneView]:
    """List and classify every pane of the host (captures go out as one chained tmux call).

    `known` remembers which agent each pane (id, pid, command) was identified as, so a watcher
    that surveys every second does not score every profile against every screen each time; a pane
    that no longer reads as its remembered agent is identified afresh. `memo` keeps the last
    capture and view per pane: an unchanged pane (the common case in an idle fleet) is not parsed
    or classified again.

    `changed` (with a `memo`): a look at just these panes, as a feed reported them — no list call
    and no spool read; every other pane keeps its last view. Panes come and go only in full surveys.
    """
    if changed is not None and memo:
        panes = [view.pane for _, view in memo.values()]
        receipts = _SPOOLS.get(host.describe(), (0, []))[1]
        quiet = {p.pane_id for p in panes} - set(changed)
    else:
        panes, head = await asyncio.gather(host.list_panes(), host.receipts(tail=0))
        receipts = await _receipts(host, head.size)
        quiet = _quiet(panes, memo)
    seen: ProfileCache = {}

    def look(pane: PaneInfo, text: str) -> PaneView:
        """The pane's view from its capture: the last one when neither changed, else classified."""
        key = (pane.pane_id, pane.pid, pane.command)
        old = memo.get(pane.pane_id) if memo is not None else None
        if old is not None and old[0] == text and old[1].pane == pane:
            view = old[1]
        else:
            screen = parse_capture(text, height=pane.height)
            cls = None
            if known is not None and key in known:
                cls = classify(pane, screen, known_agents().get(known[key]))
                if cls.state is PaneState.UNKNOWN:
                    cls = None
            view = PaneView(pane, screen, cls or classify(pane, screen))
            if memo is not None:
                memo[pane.pane_id] = (text, view)
        if view.cls.agent is not None:
            seen[key] = view.cls.agent
        return view

    looked: dict[str, PaneView] = {}
    wanted = {p.pane_id: p for p in panes if p.pane_id not in quiet}
    slices = _capture_slices(host, list(wanted))
    try:
        for landed in asyncio.as_completed(slices):
            for pane_id, text in (await landed).items():
                if text is not None:  # else vanished between list and capture
                    looked[pane_id] = look(wanted[pane_id], text)
    finally:
        for task in slices:
            task.cancel()
    views = []
    for pane in panes:
        if pane.pane_id in quiet and memo is not None:
            old = memo[pane.pane_id][1]
            views.append(old if old.pane == pane else PaneView(pane, old.screen, old.cls))
            if views[-1].cls.agent is not None:
                seen[(pane.pane_id, pane.pid, pane.command)] = views[-1].cls.agent
        elif pane.pane_id in looked:
            views.append(looked[pane.pane_id])
    if memo is not None:
        for gone in set(memo) - {v.pane.pane_id for v in views}:
            del memo[gone]
    if known is not None:
        known.clear()
        known.update(seen)
    return _with_hooks(views, receipts)


_SLICE = 100
"""Panes per capture request: each slice is classified as soon as its screens arrive, while the server
still captures the others (it runs one chained call after another)."""


def _capture_slices(host: TmuxHost, pane_ids: list[str]) -> list[asyncio.Future[dict[str, str | None]]]:
    """The panes' captures, a request per slice, all asked in the same tick (so they share chained calls)."""
    return [asyncio.ensure_future(host.capture_many(pane_ids[i : i + _SLICE])) for i in range(0, len(pane_ids), _SLICE)]


_SPOOLS: dict[str, tuple[int, list[Receipt]]] = {}
"""Per machine: the spool's length when last read and its receipts, so a watcher surveying every second
reads and parses only what was appended since (nothing at all in a quiet fleet)."""
_KEEP = 5000


async def _receipts(host: TmuxHost, size: int) -> list[Receipt]:
    key = host.describe()
    known = _SPOOLS.get(key)
    if known is not None and known[0] == size:
        return known[1]
    if known is not None and known[0] < size <= known[0] + SPOOL_TAIL:
        spool = await host.receipts(tail=min(SPOOL_TAIL, size - known[0] + 65536))  # room for lines since
        fresh = [*known[1], *spool.after(known[0])][-_KEEP:] if spool.size >= known[0] else spool.after(None)
    else:
        spool = await host.receipts()
        fresh = spool.after(None)
    _SPOOLS[key] = (spool.size, fresh)
    return fresh


def _with_hooks(views: list[PaneView], receipts: list[Receipt]) -> list[PaneView]:
    """Each view with what its agent's hooks last said and whether it waits on a person."""
    hooks: dict[tuple[str, int], dict[str, PaneHooks]] = {}
    out = []
    for v in views:
        server = v.pane.server
        mine = None
        if server is not None and receipts:
            key = (server.socket, server.started)
            if key not in hooks:
                hooks[key] = by_pane(receipts, socket=server.socket, since=server.started)
            mine = hooks[key].get(v.pane.pane_id)
            if mine is not None and mine.agent and v.cls.agent and mine.agent != v.cls.agent:
                mine = None  # another agent wrote those: the one running now has said nothing
        needs = needs_input(v.cls, mine)
        out.append(v if (mine, needs) == (v.hooks, v.needs) else replace(v, hooks=mine, needs=needs))
    return out


def _quiet(panes: list[PaneInfo], memo: dict[str, tuple[str, PaneView]] | None) -> set[str]:
    """Panes that need no capture: same facts as last time and no output for two seconds.

    tmux stamps a window's last output to the second, so output within the current or previous
    second is always looked at; a clock that disagrees with the server's turns this off.
    """
    if not memo:
        return set()
    now = int(time.time())
    if any(p.activity > now + 1 for p in panes):
        return set()
    return {p.pane_id for p in panes if p.pane_id in memo and _same_screen(memo[p.pane_id][1].pane, p, now)}


def _same_screen(old: PaneInfo, new: PaneInfo, now: int) -> bool:
    """Nothing that shapes the screen or its reading changed (a window rename does not count)."""
    if new.activity >= now - 1:
        return False
    if old is new:  # the listing's line was byte for byte the last one (TmuxClient reuses its PaneInfo)
        return True
    fields = ("activity", "dead", "in_mode", "width", "height", "command", "title", "pid")
    return all(getattr(old, f) == getattr(new, f) for f in fields)
