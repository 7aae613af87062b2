"""Schedules at a glance: state (a failing one is impossible to miss), next run, the last runs and why."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from dashboard.core.model import Run
from dashboard.core.ports import ScheduleBook
from dashboard.core.wording import RUN_MARKS

RUN_STYLES = {"ok": "bold green", "failed": "bold red", "missed": "dim", "interrupted": "bold #ff8700",
              "running": "bold cyan"}  # fmt: skip


class SchedulesScreen(Screen[None]):
    """Every schedule with its health and last runs, re-read from the log every two seconds."""

    AUTO_FOCUS = "#schedules-table"
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back"), Binding("f5", "reload", "Reload")]

    def __init__(self, schedules: ScheduleBook, daemon_pid: Callable[[], int | None]) -> None:
        super().__init__()
        self.schedules = schedules
        self.daemon_pid = daemon_pid

    def compose(self) -> ComposeResult:
        yield Static("", id="schedules-summary")
        table: DataTable[Text] = DataTable(id="schedules-table", cursor_type="row", zebra_stripes=True)
        for label in ("schedule", "state", "when", "target", "next", "last runs", "last outcome"):
            table.add_column(label, key=label)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()
        self.set_interval(2.0, self.action_reload)

    @work(exclusive=True, group="schedules")
    async def action_reload(self) -> None:
        schedules = self.schedules
        items = await schedules.all()
        runs = {s.name: await schedules.runs(s.id or 0, 10) for s in items}
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        failing = 0
        for s in items:
            state = "paused" if s.paused else s.state
            failing += state == "failing"
            style = {"failing": "bold white on #af0000", "paused": "dim", "ok": "bold green"}.get(state, "")
            nxt = time.strftime("%m-%d %H:%M:%S", time.localtime(s.next_fire)) if s.next_fire and not s.paused else "-"
            last = runs[s.name][0] if runs[s.name] else None
            table.add_row(
                Text(s.name, style="bold"),
                Text(f" {state.upper() if state == 'failing' else state} ", style=style),
                Text(
                    f"{s.kind} {s.spec}" + (" · canary" if s.canary else f" · expects {s.expect!r}" if s.expect else "")
                ),
                Text(s.target),
                Text(nxt),
                _marks(runs[s.name]),
                Text(_describe(last), style="dim" if last is None or last.outcome == "ok" else "bold"),
                key=s.name,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        summary = f"{len(items)} schedules" + (f" · {failing} FAILING" if failing else "")
        pid = self.daemon_pid()
        daemon = f"daemon running (pid {pid})" if pid else "NO DAEMON RUNNING (dispatch daemon start)"
        if not items:
            daemon = "no schedules yet: dispatch schedule add NAME --target T --every 30m PROMPT"
        self.query_one("#schedules-summary", Static).update(f"{summary} · {daemon}")
        self.query_one("#schedules-summary", Static).set_class(failing > 0, "-failing")


def _marks(runs: list[Run]) -> Text:
    out = Text()
    for r in reversed(runs):
        mark, style = RUN_MARKS.get(r.outcome, "?"), RUN_STYLES.get(r.outcome, "")
        out.append(mark, style=style)
    return out


def _describe(run: Run | None) -> str:
    if run is None:
        return "no runs yet"
    when = time.strftime("%H:%M:%S", time.localtime(run.scheduled))
    return f"{when} {run.outcome}: {run.detail}"[:90]
