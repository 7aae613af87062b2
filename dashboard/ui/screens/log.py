"""The send log: every send with its verdict; enter opens its diff, r re-sends it."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from dashboard.core.model import SendRecord
from dashboard.core.ports import SendLog
from dashboard.ui.messages import DiffRequested, ResendRequested
from dashboard.ui.widgets.pane_card import VERDICT_STYLE


class LogScreen(Screen[None]):
    """Recent sends from the SQLite log, newest first, filterable."""

    AUTO_FOCUS = "#log-table"

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("enter", "open", "Diff", show=True),
        Binding("r", "resend", "Re-send"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self, log: SendLog) -> None:
        super().__init__()
        self.send_log = log
        self.records: list[SendRecord] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: verdict, target, agent, prompt words…", id="log-filter")
        table: DataTable[Text] = DataTable(id="log-table", cursor_type="row", zebra_stripes=True)
        for label in ("#", "when", "batch", "verdict", "target", "agent", "tries", "ms", "prompt"):
            table.add_column(label, key=label)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    @work(exclusive=True, group="log")
    async def action_reload(self) -> None:
        self.records = await self.send_log.recent(500)
        self._fill()

    def _fill(self) -> None:
        query = self.query_one("#log-filter", Input).value.lower().split()
        table = self.query_one(DataTable)
        table.clear()
        for r in self.records:
            prompt = " ⏎ ".join(r.prompt.splitlines())
            hay = f"{r.verdict} {r.target} {r.pane_id} {r.agent} {r.kind} {prompt}".lower()
            if not all(w in hay for w in query):
                continue
            v = r.verdict.value
            table.add_row(
                Text(str(r.id)),
                Text(time.strftime("%H:%M:%S", time.localtime(r.created))),
                Text(str(r.batch or "")),
                Text(v + (f" {r.exit_status}" if r.exit_status is not None else ""), style=VERDICT_STYLE.get(v, "")),
                Text(r.target),
                Text(r.agent or "-"),
                Text(str(r.attempts)),
                Text(str(r.elapsed_ms)),
                Text(f"$ {prompt[:58]}", style="bold") if r.kind == "exec" else Text(prompt[:60]),
                key=str(r.id),
            )

    @on(Input.Changed, "#log-filter")
    def _filter(self) -> None:
        self._fill()

    @on(Input.Submitted, "#log-filter")
    def _done_filtering(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def _current(self) -> SendRecord | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.records if str(r.id) == key), None)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        rec = self._current()
        if rec is not None and rec.id is not None:
            self.post_message(DiffRequested(rec.id))

    def action_resend(self) -> None:
        rec = self._current()
        if rec is not None:
            self.post_message(ResendRequested(rec))
