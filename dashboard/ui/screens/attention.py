"""`n`: the panes that need a person, what each needs; enter goes to the pane's card."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from dashboard.core.attention import Attention

KIND_STYLE = {"needs-input": "bold #ffaf00", "stuck": "bold #ff8700", "failed-send": "bold #ff5f5f",
              "limit-lifted": "bold #5fd787"}  # fmt: skip


class AttentionScreen(ModalScreen[str | None]):
    """The attention list over the grid; dismissed with the chosen pane's key (None: nothing chosen)."""

    BINDINGS = [
        Binding("escape,q,n", "dismiss_none", "Close"),
        Binding("enter", "go", "Go to the pane", show=True),
    ]

    def __init__(self, items: list[Attention]) -> None:
        super().__init__()
        self.items = items

    def compose(self) -> ComposeResult:
        with Vertical(id="attention-box"):
            n = len(self.items)
            head = f"{n} thing{'s' * (n != 1)} need{'s' * (n == 1)} you" if n else "nothing needs you now"
            yield Static(head, id="attention-title")
            table: DataTable[Text] = DataTable(id="attention-table", cursor_type="row", zebra_stripes=True)
            table.add_column("pane", key="pane")
            table.add_column("what", key="kind")
            table.add_column("why", key="why")
            for i, item in enumerate(self.items):
                table.add_row(Text(item.address), Text(item.kind, style=KIND_STYLE.get(item.kind, "")),
                              Text(item.why), key=str(i))  # fmt: skip
            yield table

    def action_go(self) -> None:
        table = self.query_one(DataTable)
        if self.items and 0 <= table.cursor_row < len(self.items):
            self.dismiss(self.items[table.cursor_row].key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key before the screen's binding does)."""
        event.stop()
        self.action_go()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
