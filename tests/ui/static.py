"""A read-only stand-in host whose panes show fixed screens: for snapshot tests and screenshots.

It answers like a tmux server (list, capture) but has no panes of its own and refuses to type, so
pictures of the dashboard are deterministic. Screens come from the captures of real agents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from dashboard.adapters.lease import PaneLease
from dashboard.core.model import PaneInfo, ServerRef
from dashboard.core.ports import LeaseUnavailable, TmuxError
from dashboard.core.receipts import NO_SPOOL, SPOOL_TAIL, Spool

STATIC_SERVER = ServerRef("static", 0, 0)
"""The stand-in server every static pane is on (records meant for its panes name it)."""


@dataclass
class StaticHost:
    """Panes with fixed screens; `paste`/`send_keys` raise, so nothing can be sent."""

    panes: list[tuple[PaneInfo, str]] = field(default_factory=list)
    name: str = "local"
    failure: TmuxError | None = None
    """Raised by every call: how a machine that is down, or not who it should be, looks."""

    def describe(self) -> str:
        return "static screens (no tmux)"

    async def list_panes(self) -> list[PaneInfo]:
        if self.failure is not None:
            raise self.failure
        return [self._on_server(p) for p, _ in self.panes]

    async def pane(self, pane_id: str) -> PaneInfo | None:
        return next((self._on_server(p) for p, _ in self.panes if p.pane_id == pane_id), None)

    @staticmethod
    def _on_server(pane: PaneInfo) -> PaneInfo:
        return pane if pane.server is not None else replace(pane, server=STATIC_SERVER)

    async def capture(self, pane_id: str, history: int = 0) -> str:
        for pane, text in self.panes:
            if pane.pane_id == pane_id:
                return text
        raise TmuxError(f"can't find pane: {pane_id}")

    async def capture_many(self, pane_ids: Sequence[str], history: int = 0) -> dict[str, str | None]:
        screens = {p.pane_id: t for p, t in self.panes}
        return {pid: screens.get(pid) for pid in pane_ids}

    def followed(self, pane: PaneInfo) -> bool:
        return False

    async def changed(self, pane: PaneInfo, since: float, within: float) -> None:
        await asyncio.sleep(within)  # static screens never change

    async def cursor(self, pane_id: str) -> tuple[int, int] | None:
        for pane, text in self.panes:
            if pane.pane_id == pane_id:
                lines = text.rstrip("\n").split("\n")
                return len(lines[-1]), len(lines) - 1
        return None

    async def paste(self, pane_id: str, text: str) -> None:
        raise TmuxError("static host: nothing can be sent")

    async def send_keys(self, pane_id: str, *keys: str) -> None:
        raise TmuxError("static host: nothing can be sent")

    def lease(self, pane: PaneInfo, holder: str, timeout: float) -> PaneLease:
        raise LeaseUnavailable("static host: nothing can be sent")

    async def foreground(self, pane: PaneInfo) -> str | None:
        return None

    def for_server(self, server: ServerRef) -> StaticHost:
        return self

    async def environ(self, pid: int) -> dict[str, str]:
        return {}

    async def receipts(self, tail: int = SPOOL_TAIL) -> Spool:
        return NO_SPOOL

    async def children(self, pid: int) -> list[int]:
        return []

    async def exists(self, path: str) -> bool:
        return False
