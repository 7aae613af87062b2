"""The screen reader's shortcuts read exactly as the plain rules they stand for (each rule is written
out here as the reference)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.core.screen import parse_capture, strip_ansi, without_dim

ESCAPES = st.sampled_from(["\x1b", "[", "]", "\x07", "\\", "\n", "0", "2", ";", ":", "m", "(", "B", "a", " ", "─"])
CAPTURE = st.lists(st.one_of(ESCAPES, st.text(max_size=3)), max_size=80).map("".join)


@settings(max_examples=400, deadline=None)
@given(CAPTURE, st.sampled_from([None, 1, 3, 40]))
@example("a\x1b]0;opened\nclosed\x07b\n", None)
@example("", None)
def test_capture_stripped_at_once_reads_as_line_by_line(text: str, height: int | None) -> None:
    """An OSC opened on one line and closed on the next is not one sequence: each line reads alone."""
    raw = text.split("\n")
    if raw[-1] == "":
        raw.pop()
    plain = [strip_ansi(line).rstrip() for line in raw]
    cut = max(0, len(raw) - height) if height else 0
    screen = parse_capture(text, height=height)
    assert screen.lines == tuple(plain[cut:])
    assert screen.history == tuple(plain[:cut])
    assert screen.ansi == (tuple(raw[cut:]) if any("\x1b" in r for r in raw) else None)


def test_faint_runs_and_colour_arguments() -> None:
    assert without_dim("a\x1b[2mhint\x1b[22mb\x1b[38;2;2;2;2mc\x1b[0m") == "abc"
    assert without_dim("\x1b[38;2;2;2;2mkept\x1b[0m \x1b[1;2mfaint\x1b[0m") == "kept "
    assert without_dim("\x1b[38;5;2mkept") == "kept"
