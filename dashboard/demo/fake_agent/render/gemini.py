"""Gemini CLI's screen: gradient logo, transcript, queue, spinner, boxed composer and the status columns."""

from __future__ import annotations

import os
from collections.abc import Sequence

from dashboard.demo.fake_agent.model import RATE_LIMIT, Session
from dashboard.demo.fake_agent.render.palette import C_RED, CURSOR
from dashboard.demo.fake_agent.text import pad, visible_width, wrap

PLACEHOLDER = "Type your message or @path/to/file"
BRAILLE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

G_GREY = "\x1b[38;2;175;175;175m"
G_WHITE = "\x1b[38;2;255;255;255m"
G_PURPLE = "\x1b[38;2;215;175;255m"
G_BOX_FG = "\x1b[38;2;95;95;95m"
G_BOX_BG = "\x1b[48;2;95;95;95m"
G_PINK = "\x1b[38;2;255;135;175m"
G_LOGO = ((71, 150, 228), (102, 136, 217), (132, 122, 206), (164, 113, 167), (195, 103, 127))


def screen(s: Session, w: int) -> list[str]:
    lines = [
        "",
        _logo("▝▜▄  ") + f"   \x1b[1m{G_WHITE}Gemini CLI\x1b[22m{G_GREY} v0.61.0\x1b[39m",
        _logo("  ▝▜▄"),
        _logo(" ▗▟▀ ") + f"   {G_WHITE}Authenticated with gemini-api-key{G_GREY} /auth\x1b[39m",
        _logo("▝▀   "),
        "",
    ]
    for n, (kind, text) in enumerate(s.items):
        if kind == "user":
            if n:
                lines.append("")
            lines += box(wrap(text.rstrip("\n"), w - 4), w, typed=True)
        elif kind == "reply":
            for k, row in enumerate(wrap(text, w - 4)):
                lines.append((f"{G_PURPLE}✦ {G_WHITE}" if k == 0 else "  ") + row + "\x1b[39m")
        else:
            lines.append((C_RED if kind == "banner" else G_GREY) + text + "\x1b[39m")
    lines += ["", ""]
    if s.queue:  # Gemini CLI 0.61's queue, above the spinner
        lines.append(f"  {G_GREY}Queued (press ↑ to edit):\x1b[39m")
        for q in s.queue:
            lines += [f"    {G_GREY}{r}\x1b[39m" for r in wrap(q, w - 6)]
    if s.o.rate_limit:
        lines.append(C_RED + RATE_LIMIT["gemini"] + "\x1b[39m")
    status = ""
    if s.spinning:
        spin = BRAILLE[s.frame % len(BRAILLE)]
        status = (
            f" \x1b[38;2;211;175;255m{spin}\x1b[39m \x1b[3m{G_WHITE}Thinking...\x1b[23m\x1b[39m "
            f"{G_GREY}(esc to cancel, {s.elapsed()}s)\x1b[39m"
        )
    if not s.composer.parts:
        hint = f"{G_GREY}? for shortcuts\x1b[39m"
        status += " " * max(1, w - 1 - visible_width(status) - visible_width(hint)) + hint
    lines.append(status)
    lines.append("\x1b[2m\x1b[38;2;135;135;135m" + "─" * w + "\x1b[0m")
    lines.append(f" {G_GREY}Shift+Tab to accept edits\x1b[39m")
    if s.composer.parts:
        lines += box(wrap(s.composer.display, w - 4), w, typed=True, cursor=True)
    else:
        lines += box([], w, typed=False)
    mid = round(w * 65 / 120)
    lines.append(columns(w, mid, "workspace (/directory)", "sandbox", "/model", G_GREY, G_GREY, G_GREY))
    lines.append(columns(w, mid, s.o.cwd, "no sandbox", "Auto", G_WHITE, G_PINK, G_WHITE))
    return lines


def _logo(glyphs: str) -> str:
    """One row of the logo, each column in its step of the blue-to-pink gradient."""
    out = " "
    for n, ch in enumerate(glyphs):
        r, g, b = G_LOGO[min(n, len(G_LOGO) - 1)]
        out += f"\x1b[38;2;{r};{g};{b}m{ch}"
    return out + "\x1b[39m"


def box(rows: Sequence[str], w: int, typed: bool, cursor: bool = False) -> list[str]:
    """The half-block framed box Gemini draws around both the composer and submitted prompts."""
    body: list[str] = []
    if not typed:
        body.append(f"{G_BOX_BG} {G_PURPLE}> \x1b[39m{CURSOR}{G_GREY}{G_BOX_BG} {PLACEHOLDER}")
    for n, row in enumerate(rows):
        head = f"{G_BOX_BG} {G_PURPLE}> {G_WHITE}" if n == 0 else f"{G_BOX_BG}   {G_WHITE}"
        tail = f"\x1b[39m{CURSOR}{G_BOX_BG}" if cursor and n == len(rows) - 1 else ""
        body.append(head + row + tail)
    return [
        G_BOX_FG + "▄" * w + "\x1b[39m",
        *[pad(b, w) + "\x1b[0m" for b in body],
        G_BOX_FG + "▀" * w + "\x1b[39m",
    ]


def columns(w: int, mid: int, left: str, centre: str, right: str, *colours: str) -> str:
    """A status row: left-aligned, starting at mid, and right-aligned fields."""
    left = left if len(left) < mid - 2 else left[: mid - 4] + "…"
    line = f" {colours[0]}{left}\x1b[39m"
    line += " " * max(1, mid - visible_width(line)) + f"{colours[1]}{centre}\x1b[39m"
    line += " " * max(1, w - 1 - visible_width(line) - len(right)) + f"{colours[2]}{right}\x1b[39m"
    return line


def trust_dialog(s: Session, w: int) -> list[str]:
    inner = w - 4
    border = G_GREY

    def row(text: str = "") -> str:
        return f"{border}│\x1b[39m {pad(text, inner)} {border}│\x1b[39m"

    msg = (
        "Trusting a folder allows Gemini to execute commands it suggests. This is a security feature to "
        "prevent accidental execution in untrusted directories."
    )
    name = os.path.basename(s.o.cwd.rstrip("/")) or s.o.cwd
    return [
        "",
        f"{border}╭{'─' * (w - 2)}╮\x1b[39m",
        row(f"\x1b[1m{G_WHITE}Do you trust this folder?\x1b[22m\x1b[39m"),
        row(),
        *[row(r) for r in wrap(msg, inner)],
        row(),
        row(f"\x1b[38;2;166;227;161m● 1. Trust folder ({name})\x1b[39m"),
        row("  2. Don't trust (esc)"),
        f"{border}╰{'─' * (w - 2)}╯\x1b[39m",
    ]
