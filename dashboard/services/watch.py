"""Watching a host's panes: surveys merged into per-pane status with "in this state since".

Two ways in. A host's feed (tmux control mode, adapters/feed.py) says which panes printed the moment
they do, and only those are looked at again (`refresh(changed=…)`); full surveys each interval stay
the truth — they find panes that came, went or died (tmux says nothing when a silent process dies), and
everything a feed missed or could not follow.
Without a feed (a host that has none, or one whose feed stopped) the surveys alone carry the grid.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dashboard.core.model import PaneState, SendRecord
from dashboard.core.ports import (
    Changes,
    HostError,
    NoServer,
    PaneFeed,
    SendLog,
    TmuxError,
    TmuxHost,
    WrongMachine,
)
from dashboard.core.registry import LOCAL
from dashboard.services.accounts import AccountResolver
from dashboard.services.panes import PaneView, ProfileCache, survey

if TYPE_CHECKING:
    from dashboard.services.fleet import Fleet


@dataclass(frozen=True, slots=True)
class PaneStatus:
    """A pane as the dashboard shows it: its view plus when it entered its current state."""

    view: PaneView
    since: float
    seen: float = 0.0
    """When the survey behind this status was taken (same clock as `since`)."""

    @property
    def pane_id(self) -> str:
        return self.view.pane.pane_id

    @property
    def key(self) -> str:
        """The pane's fleet-wide key (`%3` here, `gpu1:%3` elsewhere)."""
        return self.view.pane.key

    @property
    def state(self) -> PaneState:
        return self.view.cls.state


class PaneWatcher:
    """Keeps the latest status of every pane of one host; `refresh()` does one survey."""

    def __init__(self, host: TmuxHost, clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.clock = clock
        self._since: dict[str, tuple[PaneState, float]] = {}
        self._known: ProfileCache = {}
        self._memo: dict[str, tuple[str, PaneView]] = {}

    async def refresh(self, changed: Collection[str] | None = None) -> list[PaneStatus]:
        """A full survey, or (`changed`) a look at just these panes, every other pane as last seen."""
        views = await survey(self.host, self._known, self._memo, changed=changed)
        now = self.clock()
        out: list[PaneStatus] = []
        seen: dict[str, tuple[PaneState, float]] = {}
        for view in views:
            pid = view.pane.pane_id
            prev = self._since.get(pid)
            since = prev[1] if prev is not None and prev[0] is view.cls.state else now
            seen[pid] = (view.cls.state, since)
            out.append(PaneStatus(view, since, now))
        self._since = seen
        return out


FeedMode = Literal["auto", "on", "off"]
"""When a dashboard follows a machine's feed: where its tmux is safe for it (3.7+), everywhere, or never."""


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """One machine as the dashboard's fleet bar shows it."""

    name: str
    state: str  # ok | no-tmux | unreachable | mismatch | error
    detail: str = ""
    panes: int = 0
    agents: int = 0
    feed: bool = False
    """Its changes are pushed as they happen (a live feed); False: seen by the next survey only."""
    feed_note: str = ""
    """Why it has no feed by choice (its tmux could crash), or ""."""

    @property
    def ok(self) -> bool:
        return self.state in ("ok", "no-tmux")


class FleetWatcher:
    """One PaneWatcher per machine, refreshed together; a machine's trouble never stalls the others.

    Each machine's survey runs under its own time limit, so a stale connection costs one machine
    its cards' freshness for a tick, not the whole dashboard.
    """

    def __init__(self, fleet: Fleet, clock: Callable[[], float] = time.time, *, limit: float = 3.0) -> None:
        self.fleet = fleet
        self.clock = clock
        self.limit = limit
        self.watchers = {name: PaneWatcher(fleet.host(name), clock) for name in fleet.names}

        self.accounts = AccountResolver(fleet.registry.accounts)
        self.machines: dict[str, MachineStatus] = {}
        self._last: dict[str, list[PaneStatus]] = {}
        self.feeds: dict[str, PaneFeed] = {}
        """Per machine, its feed once `listen()` runs (machines without one are surveyed only)."""

    async def listen(self, on_change: Callable[[str, Changes], None], *, always: bool = False) -> None:
        """Follow every machine's feed until cancelled, handing each batch of changes to `on_change`.

        Feeds follow the sessions the last survey found (see `_one`); one that stops is started
        again by the next survey, and meanwhile its machine reads as surveyed, not live. `always`:
        also on a tmux the feed could crash (older than 3.7); otherwise such a machine is surveyed.
        """
        for name in self.watchers:
            feed = self.fleet.feed(name, always=always)
            if feed is not None:
                self.feeds[name] = feed
                if self._last.get(name):  # surveyed before the feeds existed: follow what it found
                    await feed.follow({st.view.pane.session for st in self._last[name]})

        async def one(name: str, feed: PaneFeed) -> None:
            while True:
                changes = await feed.next(3600.0)
                if changes:
                    on_change(name, changes)

        try:
            await asyncio.gather(*(one(n, f) for n, f in self.feeds.items()))
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop every feed (their control clients detach); surveys still work afterwards."""
        feeds, self.feeds = list(self.feeds.values()), {}
        await asyncio.gather(*(f.close() for f in feeds), return_exceptions=True)

    async def refresh_changed(self, changed: dict[str, set[str]]) -> list[PaneStatus]:
        """Look again at just the panes a feed reported; every other pane (and machine) as last surveyed."""
        for name, panes in changed.items():
            if name not in self.watchers or name not in self._last:
                continue
            try:
                statuses = await asyncio.wait_for(self.watchers[name].refresh(changed=panes), self.limit)
            except (HostError, TmuxError, TimeoutError):
                continue  # the next full survey says what is wrong with the machine
            self._last[name] = await self._with_accounts(statuses)
        return [status for name in self.watchers for status in self._last.get(name, [])]

    async def refresh(self) -> list[PaneStatus]:
        results = await asyncio.gather(*(self._one(n) for n in self.watchers))
        # the fleet's own order, not the order the machines happened to answer in
        self.machines = {n: self.machines[n] for n in self.watchers if n in self.machines}
        return [status for statuses in results for status in statuses]

    async def _one(self, name: str) -> list[PaneStatus]:
        feed = self.feeds.get(name)
        try:
            statuses = await asyncio.wait_for(self.watchers[name].refresh(), self.limit)
        except NoServer:
            statuses = []
        except HostError as exc:
            state = "mismatch" if isinstance(exc, WrongMachine) else "unreachable"
            self.machines[name] = MachineStatus(name, state, str(exc))
            self._last[name] = []
            return []
        except TimeoutError:
            why = f"{name}: no answer within {self.limit:g}s (showing its last known panes)"
            self.machines[name] = MachineStatus(name, "unreachable", why)
            return self._last.get(name, [])
        except TmuxError as exc:
            self.machines[name] = MachineStatus(name, "error", str(exc))
            return self._last.get(name, [])
        statuses = await self._with_accounts(statuses)
        if feed is not None:
            await feed.follow({st.view.pane.session for st in statuses})
        link = self.fleet.link(name)
        detail = "identity verified" if link is not None else "this machine"
        agents = sum(1 for s in statuses if s.view.cls.agent)
        state = "ok" if statuses else "no-tmux"
        live = feed is not None and feed.live
        note = feed.note if feed is not None else ""
        self.machines[name] = MachineStatus(name, state, detail, len(statuses), agents, live, note)
        self._last[name] = statuses
        return statuses

    async def _with_accounts(self, statuses: list[PaneStatus]) -> list[PaneStatus]:
        views = await self.accounts.attach(self.fleet.host, [st.view for st in statuses])
        return [st if st.view is v else dataclasses.replace(st, view=v) for st, v in zip(statuses, views, strict=True)]


async def latest_sends(log: SendLog, statuses: list[PaneStatus]) -> dict[str, SendRecord]:
    """Each pane's latest send, by pane key — asked per (machine, tmux server): `%N` repeats on every server."""
    last: dict[str, SendRecord] = {}
    servers = {(st.view.pane.machine, st.view.pane.server.key) for st in statuses if st.view.pane.server}
    for machine, server in sorted(servers):
        for pid, rec in (await log.latest_by_pane(machine, server)).items():
            last[pid if machine == LOCAL else f"{machine}:{pid}"] = rec
    return last


async def keep_feeds(fleet: Fleet, stop: asyncio.Event, *, always: bool = False, every: float = 1.0) -> None:
    """Keep a feed of every session on every machine until `stop`, for this process's sends (the daemon's).

    A send whose pane's server is followed here looks as its agent redraws (TmuxHost.changed). Each
    round is cheap: a feed looks at its server's sessions only when they changed or every RECHECK.
    `always`: also on a tmux the feed could crash (older than 3.7); otherwise such servers are left alone.
    """
    feeds = [f for f in (fleet.feed(name, always=always) for name in fleet.names) if f is not None]
    try:
        while not stop.is_set():
            await asyncio.gather(*(f.follow(None) for f in feeds), return_exceptions=True)
            for f in feeds:
                await f.next(0)  # nobody reads these changes here: sends wait on the feed themselves
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                continue
    finally:
        await asyncio.gather(*(f.close() for f in feeds), return_exceptions=True)
