"""Cell-width arithmetic, clipping and word wrap for rendered rows.

Kept apart from the renderers because the terminal painter needs the same widths: a row that is one cell
too wide wraps in the pane and shifts everything the screen classifier reads.
"""

from __future__ import annotations

import re
import unicodedata

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def char_width(ch: str) -> int:
    """Terminal cells for one character; wide CJK needs 2 or the layout drifts."""
    if unicodedata.combining(ch):
        return 0
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Display width of text that holds no escape sequences."""
    return sum(char_width(c) for c in text)


def visible_width(line: str) -> int:
    """Display width of a rendered line, ignoring its SGR sequences."""
    return text_width(ANSI_RE.sub("", line))


def clip(line: str, width: int) -> str:
    """Cut a rendered line to width cells, keeping escapes, so a narrow pane never wraps a row."""
    if visible_width(line) <= width:
        return line
    out: list[str] = []
    used = 0
    pos = 0
    while pos < len(line):
        m = ANSI_RE.match(line, pos)
        if m:
            out.append(m.group())
            pos = m.end()
            continue
        w = char_width(line[pos])
        if used + w > width:
            break
        out.append(line[pos])
        used += w
        pos += 1
    return "".join(out)


def words(sgr: str, text: str) -> str:
    """Colour each word but not the spaces between, the way Ink emits Claude Code's grey hints."""
    return re.sub(r"[^ ]+", lambda m: f"{sgr}{m.group()}\x1b[0m", text)


def pad(line: str, width: int) -> str:
    """Right-pad to width so a background colour spans the row like the real agents' blocks."""
    return line + " " * max(0, width - visible_width(line))


def sanitize(text: str) -> str:
    """Make user text safe to draw: tabs become spaces, other control characters vanish."""
    text = text.replace("\t", "    ")
    return "".join(c for c in text if c == "\n" or (ord(c) >= 0x20 and c != "\x7f"))


def wrap_line(line: str, avail: int) -> list[str]:
    """Greedy word wrap of one logical line, as the agents wrap prompts and replies."""
    avail = max(1, avail)
    rows: list[str] = []
    cur, cur_w = "", 0
    for tok in re.split(r"( +)", line):
        if not tok:
            continue
        w = text_width(tok)
        if cur_w + w <= avail:
            cur, cur_w = cur + tok, cur_w + w
            continue
        if tok.startswith(" "):  # the break swallows the spaces
            rows.append(cur)
            cur, cur_w = "", 0
            continue
        if cur:
            rows.append(cur.rstrip(" "))
        while text_width(tok) > avail:
            head, used = "", 0
            for ch in tok:
                if used + char_width(ch) > avail:
                    break
                head += ch
                used += char_width(ch)
            rows.append(head)
            tok = tok[len(head) :]
        cur, cur_w = tok, text_width(tok)
    rows.append(cur)
    return rows


def wrap(text: str, avail: int) -> list[str]:
    """Wrap multi-line text; every logical line yields at least one row."""
    rows: list[str] = []
    for line in sanitize(text).split("\n"):
        rows.extend(wrap_line(line, avail))
    return rows
