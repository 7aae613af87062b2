"""Watching a host's panes: periodic surveys merged into per-pane status with "in this state since".

Polling one chained capture per refresh is the baseline the dashboard uses (see bench/ for its cost);
a pane that appears or dies shows up within one interval.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dashboard.core.model import PaneState
from dashboard.core.ports import HostError, NoServer, TmuxError, TmuxHost, WrongMachine
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

    async def refresh(self) -> list[PaneStatus]:
        views = await survey(self.host, self._known, self._memo)
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


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """One machine as the dashboard's fleet bar shows it."""

    name: str
    state: str  # ok | no-tmux | unreachable | mismatch | error
    detail: str = ""
    panes: int = 0
    agents: int = 0

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

    async def refresh(self) -> list[PaneStatus]:
        results = await asyncio.gather(*(self._one(n) for n in self.watchers))
        # the fleet's own order, not the order the machines happened to answer in
        self.machines = {n: self.machines[n] for n in self.watchers if n in self.machines}
        return [status for statuses in results for status in statuses]

    async def _one(self, name: str) -> list[PaneStatus]:
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
        views = await self.accounts.attach(self.fleet.host, [st.view for st in statuses])
        statuses = [
            st if st.view is v else dataclasses.replace(st, view=v) for st, v in zip(statuses, views, strict=True)
        ]
        link = self.fleet.link(name)
        detail = "identity verified" if link is not None else "this machine"
        agents = sum(1 for s in statuses if s.view.cls.agent)
        state = "ok" if statuses else "no-tmux"
        self.machines[name] = MachineStatus(name, state, detail, len(statuses), agents)
        self._last[name] = statuses
        return statuses
