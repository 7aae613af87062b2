"""`t`: the same panes as one dense table — a row each — for fleets of a hundred panes and more.

It shows the cards' data (their survey, their last send) in the cards' order and obeys the same filter;
moving the cursor moves the dashboard's focus (the prompt's target, the preview), space selects.
Only rows whose text changed are rewritten.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from dashboard.core.wording import verdict_mark
from dashboard.ui.widgets.pane_card import STATE_STYLE, VERDICT_STYLE, PaneCard, ago

COLUMNS = ("", "pane", "agent", "state", "for", "last send", "composer / last line")
"""The long free text last: the columns an operator scans fit even a narrow terminal."""


def row(card: PaneCard, now: float) -> tuple[Text, ...]:
    """One card's data as table cells."""
    st = card.status
    assert st is not None
    pane, cls = st.view.pane, st.view.cls
    shown = st.view.shown_state
    detail = cls.composer or (f"{st.view.needs.why} · " if st.view.needs else "") + cls.last_line
    detail = " ".join(" ⏎ ".join(detail.splitlines()).split())
    last = card.last
    sent = Text("-", style="dim")
    if last is not None:
        sent = Text(
            f"{verdict_mark(last.verdict)} {last.verdict.value}", style=VERDICT_STYLE.get(last.verdict.value, "")
        )
        sent.append(f" #{last.id} · {ago(now - last.created)} ago", style="dim")
    return (
        Text("◉" if card.selected else ""),
        Text(pane.address, style="bold"),
        Text(cls.agent or pane.command or "-", style="italic"),
        Text(f" {shown} ", style=STATE_STYLE.get(shown, "")),
        Text(ago(now - st.since), style="dim"),
        sent,
        Text(("✎ " if cls.composer else "") + detail, style="#ff8700" if cls.composer else "dim"),
    )


class PaneTable(DataTable[Text]):
    """Every visible card as a row; `show()` brings the rows in line with the cards."""

    BINDINGS = [Binding("space", "app.toggle_select", "Select", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, tuple[Text, ...]] = {}

    def on_mount(self) -> None:
        for i, label in enumerate(COLUMNS):
            self.add_column(label, key=str(i))

    def show(self, cards: list[PaneCard], now: float) -> None:
        wanted = [c for c in cards if c.display and c.status is not None]
        keys = [c.pane_id for c in wanted]
        if keys != list(self._rows):  # panes came, went or were filtered: the rows again, the cursor on its pane
            on = self.current_key
            self.clear()
            self._rows = {}
            for card in wanted:
                self._rows[card.pane_id] = cells = row(card, now)
                self.add_row(*cells, key=card.pane_id)
            if wanted:
                self.move_cursor(row=keys.index(on) if on in keys else 0)
            return
        for card in wanted:
            cells = row(card, now)
            old = self._rows[card.pane_id]
            for i, (a, b) in enumerate(zip(old, cells, strict=True)):
                if a != b:
                    self.update_cell(card.pane_id, str(i), b)
            self._rows[card.pane_id] = cells

    @property
    def current_key(self) -> str | None:
        if not self._rows or not (0 <= self.cursor_row < len(self._rows)):
            return None
        return list(self._rows)[self.cursor_row]
