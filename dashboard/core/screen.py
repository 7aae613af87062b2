"""Turning `capture-pane` output into plain lines, and reading attributes where they matter."""

from __future__ import annotations

import re

from dashboard.core.model import Screen

_CSI = re.compile(r"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_OSC_IN_LINE = re.compile(r"\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)")
"""An OSC that ends on its own line: the only sequence here that could otherwise span a newline."""
_OTHER_ESC = re.compile(r"\x1b[@-Z\\-_]")
_CSI_CUT = re.compile(r"\x1b\[[0-9;:?<=>]*[ -/]*")
"""What is left of a CSI with no final byte (cut off at the end of a line, or malformed)."""
_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
_SGR_PARAM = re.compile("[;:]")
_SGR_2 = re.compile(r"\x1b\[(?:[0-9;:]*[;:])?2(?:[;:][0-9;:]*)?m")
"""An SGR with a parameter 2: faint, or an extended colour's argument (only reading it tells which)."""


def strip_ansi(text: str) -> str:
    """Remove escape sequences, leaving what a person sees."""
    if "\x1b" not in text:
        return text
    return _strip(text, _OSC)


def _strip(text: str, osc: re.Pattern[str]) -> str:
    return _CSI_CUT.sub("", _OTHER_ESC.sub("", _CSI.sub("", osc.sub("", text))))


def parse_capture(text: str, *, height: int | None = None, ansi: bool = True) -> Screen:
    """Build a Screen from capture output; the last `height` lines are the visible screen.

    tmux ends the capture with a newline, and pads nothing; trailing spaces are dropped so
    plain and ANSI captures compare equal.

    The whole capture is stripped at once, which reads the same as stripping each line: no sequence
    holds a newline once an OSC is bounded to its line (a look at every pane, every second, paid
    four regex passes per line before).
    """
    raw = text.split("\n")
    escaped = "\x1b" in text
    seen = _strip(text, _OSC_IN_LINE).split("\n") if escaped else raw
    if raw[-1] == "":
        raw.pop()
    plain = [line.rstrip() for line in seen[: len(raw)]]
    cut = max(0, len(raw) - height) if height else 0
    return Screen(
        lines=tuple(plain[cut:]),
        ansi=tuple(raw[cut:]) if ansi and escaped else None,
        history=tuple(plain[:cut]),
    )


def without_dim(line: str) -> str:
    """The visible text of an ANSI line minus faint (SGR 2) runs: agents draw placeholders faint."""
    if not _SGR_2.search(line):  # nothing can turn faint on: every run is visible
        return strip_ansi(_CSI.sub("", line))
    out: list[str] = []
    dim = False
    pos = 0
    for m in _CSI.finditer(line):
        if not dim:
            out.append(line[pos : m.start()])
        pos = m.end()
        seq = m.group(0)
        sgr = _SGR.fullmatch(seq)
        if sgr is None:
            continue
        codes = [c for c in _SGR_PARAM.split(sgr.group(1)) if c != ""] or ["0"]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in ("38", "48", "58") and i + 1 < len(codes):
                # extended colours carry their own arguments; skip them so "2" is not read as faint
                i += 5 if codes[i + 1] == "2" else 3
                continue
            if code == "2":
                dim = True
            elif code in ("0", "22"):
                dim = False
            i += 1
    if not dim:
        out.append(line[pos:])
    return strip_ansi("".join(out))


def normalise(text: str) -> str:
    """Text with all whitespace removed: survives wrapping, indentation and padding in any agent."""
    return "".join(text.split())
