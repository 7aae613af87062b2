"""What a front end works with, built in one place for the CLI, the demo, the screenshots and the tests.

The dashboard never builds a store, a schedule book or a tmux client itself: the command that starts
it hands it its `Services`, whose parts are the ports (core/ports.py). Swapping a static host for
pictures or a private tmux server for tests is then a matter of what is passed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dashboard.adapters.pidlock import PidLock
from dashboard.adapters.schedules import Schedules
from dashboard.adapters.store import Store
from dashboard.core.attention import Attention
from dashboard.core.ports import ScheduleBook, SendLog, TmuxHost
from dashboard.services.fleet import Fleet


@dataclass
class Services:
    """The fleet, the log and the schedule book, opened and closed together."""

    fleet: Fleet
    log: SendLog
    schedules: ScheduleBook
    state_dir: Path
    _store: Store
    notify: Callable[[Attention], None] | None = None
    """Called once for each new attention item (the operator's `--notify` command), besides the bell."""

    async def open(self) -> None:
        """Open the log (StoreError when it cannot be used)."""
        await self._store.open()

    async def close(self) -> None:
        await self._store.close()
        await self.fleet.close()

    def daemon_pid(self) -> int | None:
        """The scheduler daemon serving this state directory, if one runs."""
        return PidLock(self.state_dir / "daemon.pid").holder()


def services_for(hosts: TmuxHost | Fleet, db: Path) -> Services:
    """The services over `hosts` (one tmux server, or a fleet) with its log at `db` (opened by `open`)."""
    store = Store(db)
    return Services(Fleet.of(hosts), store, Schedules(store), db.parent, store)
