"""The prompt box: a text area that clears with ctrl+u and recalls sent prompts with up / down."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import TextArea


class Composer(TextArea):
    """Up on the first line steps back through the prompts sent before (from the log), down steps forward.

    Like a shell's history: what was being written is kept and comes back after the newest one.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+u", "clear_prompt", "Clear prompt", show=False),
        Binding("up", "older", "Older prompt", show=False),
        Binding("down", "newer", "Newer prompt", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sent: list[str] = []
        """Prompts sent before, newest first (one copy each)."""
        self._at = -1
        self._draft = ""

    def remember(self, prompt: str) -> None:
        """A prompt just sent: it is the newest in the history, once."""
        if prompt.strip():
            self.sent = [prompt, *[p for p in self.sent if p != prompt]][:500]
        self._at = -1

    def action_clear_prompt(self) -> None:
        self.text = ""
        self._at = -1

    def action_older(self) -> None:
        if self.cursor_location[0] > 0 or self._at + 1 >= len(self.sent):
            self.action_cursor_up()
            return
        if self._at == -1:
            self._draft = self.text
        self._at += 1
        self._show(self.sent[self._at])

    def action_newer(self) -> None:
        if self.cursor_location[0] < self.document.line_count - 1 or self._at == -1:
            self.action_cursor_down()
            return
        self._at -= 1
        self._show(self._draft if self._at == -1 else self.sent[self._at])

    def _show(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)
