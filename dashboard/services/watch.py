"""Watching a host's panes: periodic surveys merged into per-pane status with "in this state since".

Polling one chained capture per refresh is the baseline the dashboard uses (see bench/ for its cost);
a pane that appears or dies shows up within one interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.adapters.tmux import TmuxHost
from dashboard.core.model import PaneState
from dashboard.services.panes import PaneView, ProfileCache, survey


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
