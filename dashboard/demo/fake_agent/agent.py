"""A session wired to a tty, and the select() loop that feeds it bytes and clock ticks.

``FakeAgent`` extends the model rather than wrapping it so callers that only render (the benchmarks)
can build one with dummy descriptors and poke at its transcript directly.
"""

from __future__ import annotations

import os
import select
import time

from dashboard.demo.fake_agent.keys import ESC_TIMEOUT, InputParser
from dashboard.demo.fake_agent.model import Session
from dashboard.demo.fake_agent.options import Options
from dashboard.demo.fake_agent.render import render as render_screen
from dashboard.demo.fake_agent.terminal import PASTE_MODE_ON, Terminal

TICK = 0.08  # spinner frame period; also the idle select() timeout


class FakeAgent(Session):
    """State machine plus renderer; the event loop in run() feeds it bytes and clock ticks."""

    def __init__(self, opts: Options, in_fd: int, out_fd: int) -> None:
        super().__init__(opts)
        self.in_fd = in_fd
        self.term = Terminal(out_fd)
        self.parser = InputParser()
        self.last_input = float("-inf")
        self.resized = False  # set by the SIGWINCH handler

    def render(self, width: int, height: int) -> list[str]:
        return render_screen(self, width, height)

    def paint(self, lines: list[str] | None = None) -> None:
        """Repaint the window with lines, or with the current state's screen."""
        width, height = self.term.size()
        if lines is None:
            lines = self.render(width, height)
        self.term.paint(lines, width, height)
        self.dirty = False

    def run(self) -> int:
        """Slow start, then the select() loop; returns the exit status."""
        start = time.monotonic()
        if self.o.slow_start > 0:
            self.paint(["starting…"])
            while (left := start + self.o.slow_start - time.monotonic()) > 0:
                ready, _, _ = select.select([self.in_fd], [], [], min(left, TICK))
                if ready and not os.read(self.in_fd, 65536):
                    return 0
        self.term.write(PASTE_MODE_ON)
        self.paint()
        if self.o.frozen:  # a hung agent: the screen stays, keystrokes pile up unread
            while True:
                time.sleep(3600)
        last_frame = time.monotonic()
        while True:
            timeout = TICK
            if self.parser.waiting:
                timeout = ESC_TIMEOUT / 2
            if self.turn is not None:
                nxt = self.turn.die_at if self.turn.die_at is not None else self.turn.ends
                timeout = max(0.0, min(timeout, nxt - time.monotonic()))
            ready, _, _ = select.select([self.in_fd], [], [], timeout)
            now = time.monotonic()
            if ready:
                data = os.read(self.in_fd, 65536)
                if not data:
                    return 0
                for n, ev in enumerate(self.parser.feed(data, now)):
                    self.handle(ev, now, 0.0 if n else now - self.last_input)
                self.last_input = now
            for ev in self.parser.flush(now):
                self.handle(ev, now, now - self.last_input)
            self.advance(now)
            if self.spinning and now - last_frame >= TICK:
                self.frame += 1
                last_frame = now
                self.dirty = True
            if self.resized:
                self.resized = False
                self.dirty = True
            if self.dirty:
                self.paint()
