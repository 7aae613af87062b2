"""Small messages from workers to widgets, carrying core models only."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from dashboard.core.model import SendRecord
from dashboard.services.delivery import SendEvent
from dashboard.services.watch import MachineStatus, PaneStatus


class PanesRefreshed(Message):
    """A fresh survey of the host's panes, with the latest send to each pane."""

    def __init__(
        self,
        statuses: list[PaneStatus],
        last: dict[str, SendRecord],
        machines: dict[str, MachineStatus] | None = None,
    ) -> None:
        super().__init__()
        self.statuses = statuses
        self.last = last
        self.machines = machines or {}

    def can_replace(self, message: Message) -> bool:
        # a backlog of refreshes collapses to the newest one
        return isinstance(message, PanesRefreshed)


@dataclass
class SendProgress(Message):
    """One step of an in-flight send (pasting, waiting, verifying, …)."""

    event: SendEvent
    pane_id: str | None


@dataclass
class SendFinished(Message):
    """A send reached its verdict and is in the log."""

    record: SendRecord


@dataclass
class DiffRequested(Message):
    """Open the diff view of one send from the log."""

    send_id: int


@dataclass
class ResendRequested(Message):
    """Send a logged prompt again to the same pane (verified like any send)."""

    record: SendRecord
