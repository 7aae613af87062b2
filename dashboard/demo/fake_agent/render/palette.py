"""SGR sequences more than one style draws with, lifted from the ``.ansi.txt`` captures."""

from __future__ import annotations

C_RED = "\x1b[38;5;210m"  # error and rate-limit banners
CURSOR = "\x1b[7m \x1b[27m"  # the agents hide the real cursor and draw a reverse-video cell
