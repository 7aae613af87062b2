"""The sends panel: each target of the current batch, its phase as it lands, then its verdict."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from dashboard.core.model import SendRecord
from dashboard.ui.widgets.pane_card import PHASE_LABEL, VERDICT_STYLE


class BatchPanel(Vertical):
    """A table of the last batch (or single send); failures stand out and can be re-sent."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.records: dict[str, SendRecord] = {}
        self.batch_id: int | None = None
        self.checks: dict[str, tuple[str, str]] = {}
        """The last verification of this batch: key → (result, why)."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("no batch yet — select panes with space, write a prompt, ctrl+s", id="batch-summary")
        table: DataTable[Text] = DataTable(id="batch-table", cursor_type="row", zebra_stripes=True)
        table.add_column("target", key="target")
        table.add_column("status", key="status", width=17)
        table.add_column("#", key="#", width=4)
        table.add_column("now", key="now", width=9)
        yield table

    def start(self, targets: list[tuple[str, str]], title: str) -> None:
        """A new batch: one row per (key, label) target, all queued."""
        table = self.query_one(DataTable)
        table.clear()
        self.records.clear()
        self.checks = {}
        self.batch_id = None
        for key, label in targets:
            table.add_row(Text(label), Text("queued", style="dim"), Text(""), Text(""), key=key)
        self._title = title
        self._summarise()

    def progress(self, key: str, phase: str) -> None:
        table = self.query_one(DataTable)
        if key in table.rows:
            table.update_cell(key, "status", Text(PHASE_LABEL.get(phase, phase), style="cyan"), update_width=False)

    def finish(self, key: str, rec: SendRecord) -> None:
        table = self.query_one(DataTable)
        self.records[key] = rec
        self.batch_id = rec.batch or self.batch_id
        if key in table.rows:
            v = rec.verdict.value
            table.update_cell(key, "status", Text(v, style=VERDICT_STYLE.get(v, "")), update_width=False)
            table.update_cell(key, "#", Text(str(rec.id)), update_width=False)
        self._summarise()

    def show_checks(self, checks: dict[str, tuple[str, str]]) -> None:
        """The verifier's answer per target (confirmed / refuted / unknown) beside the original verdict."""
        table = self.query_one(DataTable)
        style = {"confirmed": "bold green", "refuted": "bold red", "unknown": "bold #ffd75f"}
        for key, (result, _why) in checks.items():
            rec = self.records.get(key)
            claimed = rec is not None and rec.verdict.delivered
            cell = Text(result, style=style.get(result, "")) if claimed else Text("–", style="dim")
            if key in table.rows:
                table.update_cell(key, "now", cell, update_width=False)
        self.checks = checks
        self._summarise()

    def failures(self) -> list[SendRecord]:
        return [r for r in self.records.values() if r.verdict.undelivered or r.verdict.value == "error"]

    def _summarise(self) -> None:
        table = self.query_one(DataTable)
        counts = Counter(r.verdict.value for r in self.records.values())
        done = sum(counts.values())
        text = Text()
        text.append(f"{getattr(self, '_title', 'batch')} · {done}/{table.row_count} done", style="bold")
        for verdict, n in counts.most_common():
            text.append(" · ")
            text.append(f"{n} {verdict}", style=VERDICT_STYLE.get(verdict, ""))
        if self.checks:
            claimed = {k for k, r in self.records.items() if r.verdict.delivered}
            results = Counter(r for k, (r, _) in self.checks.items() if k in claimed)
            text.append("\nverified now: ", style="bold")
            text.append(" · ".join(f"{n} {r}" for r, n in results.most_common()))
        if self.failures():
            text.append("\nR re-sends the failures", style="bold #ff8700")
        elif self.records and not self.checks:
            text.append("\nV re-checks the batch (read-only verifier)", style="dim")
        self.query_one("#batch-summary", Static).update(text)
