"""The focused pane's screen, in colour, under the grid: what its agent is doing without leaving the console.

It shows what the last look saw — a survey, or the feed the moment the pane printed — so following
the focus costs no tmux call, however fast the arrows move. The bottom of the screen is kept when
the box is shorter than the pane (agents draw their composer and status at the bottom).
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from dashboard.services.watch import PaneStatus


class Preview(Widget):
    """The focused pane's screen; `show()` it a status (repaints only when that pane's screen changed)."""

    DEFAULT_CSS = "Preview { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status: PaneStatus | None = None
        self._lines: list[Text] = []
        self._shown: object = None

    def show(self, status: PaneStatus | None) -> None:
        if status is None:
            if self.status is not None or self._shown is None:
                self.status, self._shown, self._lines = None, False, []
                self.border_title = "preview"
                self.refresh()
            return
        if status.view is self._shown:
            return
        self.status, self._shown = status, status.view
        view = status.view
        screen = view.screen
        raw = list(screen.ansi if screen.ansi is not None else screen.lines)
        while raw and not Text.from_ansi(raw[-1]).plain.strip():
            raw.pop()  # the empty rows below the last drawn line
        self._lines = [Text.from_ansi(line, no_wrap=True, overflow="crop") for line in raw]
        what = view.cls.agent or view.pane.command or "?"
        self.border_title = f"{view.pane.address} · {what} · {view.shown_state}"
        self.refresh()

    def render(self) -> Text:
        if self.status is None:
            return Text("focus a card to see its pane here", style="dim")
        height = max(1, self.content_size.height)
        out = Text("\n", no_wrap=True, overflow="crop").join(self._lines[-height:])
        out.no_wrap, out.overflow = True, "crop"
        return out
