"""The tty: raw mode, size, unbuffered writes and whole-window repaints.

Every paint redraws the full window (home, each row cleared to its end, clear below) instead of a diff, so
what ``capture-pane`` returns depends only on the current state, never on what was drawn before.
"""

from __future__ import annotations

import contextlib
import os
import termios
import tty
from typing import Any

from dashboard.demo.fake_agent.text import clip, visible_width

HIDE_CURSOR = "\x1b[?25l"  # the agents draw their own reverse-video cursor cell
PASTE_MODE_ON = "\x1b[?2004h"  # bracketed paste: pastes arrive wrapped in ESC[200~ … ESC[201~


class Terminal:
    """The output side of the pane: what size it is, and drawing rows onto it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.painted_rows = 0  # rows drawn last time, so restore() parks the cursor below them

    def size(self) -> tuple[int, int]:
        """(columns, lines), floored so a tiny pane cannot break the layouts; 80x24 when not a tty."""
        try:
            sz = os.get_terminal_size(self.fd)
            return max(20, sz.columns), max(5, sz.lines)
        except OSError:
            return 80, 24

    def write(self, data: str) -> None:
        raw = data.encode("utf-8", "replace")
        while raw:
            try:
                n = os.write(self.fd, raw)
            except InterruptedError:
                continue
            raw = raw[n:]

    def paint(self, lines: list[str], width: int, height: int) -> None:
        """Full repaint of the visible window: home, every row cleared to its end, clear below."""
        rows = [clip(r, width) for r in lines[-height:]]
        self.painted_rows = len(rows)
        rows += [""] * (height - len(rows))
        out = ["\x1b[H"]
        for idx, row in enumerate(rows):
            out.append("\x1b[0m" + row + "\x1b[0m")
            if visible_width(row) < width:  # \x1b[K at a full row's pending wrap would eat its last cell
                out.append("\x1b[K")
            if idx < height - 1:
                out.append("\r\n")
        if visible_width(rows[-1]) < width:
            out.append("\x1b[J")
        self.write("".join(out))

    def restore(self) -> None:
        """Leave the terminal usable: modes off, cursor shown and parked below what was drawn."""
        with contextlib.suppress(OSError):
            _, height = self.size()
            row = min(height, self.painted_rows + 1)
            self.write(f"\x1b[0m\x1b[?2004l\x1b[?25h\x1b[{row};1H")


class TtyMode:
    """Raw mode for the input tty, so keys arrive byte by byte; remembers the cooked settings to restore."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list[Any] | None = termios.tcgetattr(fd) if os.isatty(fd) else None

    def raw(self) -> None:
        if self.saved is not None:
            tty.setraw(self.fd)

    def restore(self) -> None:
        if self.saved is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
