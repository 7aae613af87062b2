"""The screen reader's shortcuts read exactly as the plain rules they stand for (each rule is written
out here as the reference): stripping a capture at once, three letters by regex, markers searched in
the joined lines first, and profiles whose dialog wording could not win left unsearched."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.core.agents import known
from dashboard.core.classify import _WORDY, _line_local, _matches, explain, identify, last_meaningful_line
from dashboard.core.model import PaneInfo
from dashboard.core.screen import parse_capture, strip_ansi, without_dim
from tests.conftest import CAPTURES

ESCAPES = st.sampled_from(["\x1b", "[", "]", "\x07", "\\", "\n", "0", "2", ";", ":", "m", "(", "B", "a", " ", "─"])
CAPTURE = st.lists(st.one_of(ESCAPES, st.text(max_size=3)), max_size=80).map("".join)


def test_wordy_counts_what_isalnum_counts() -> None:
    """`[^\\W_]` is `str.isalnum` for every code point, and no whitespace is alphanumeric."""
    one = re.compile(r"[^\W_]")
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        assert bool(one.fullmatch(ch)) == ch.isalnum(), hex(code)
        assert not (ch.isalnum() and ch.isspace()), hex(code)


def _last_line_reference(lines: list[str], chrome: tuple[re.Pattern[str], ...]) -> str:
    for line in reversed(lines):
        text = " ".join(line.split())
        if sum(ch.isalnum() for ch in text) >= 3 and not any(p.search(line) for p in chrome):
            return text[:200]
    return ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab_1 \t·…Ⅻ１\u00a0?─"), max_size=12), max_size=8))
def test_last_meaningful_line_is_three_alphanumerics(lines: list[str]) -> None:
    chrome = known()["claude"].chrome
    assert _WORDY.search("a_b_c") and not _WORDY.search("a_b")
    assert last_meaningful_line(lines) == _last_line_reference(lines, ())
    assert last_meaningful_line(lines, chrome) == _last_line_reference(lines, chrome)


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


def _matches_reference(patterns: tuple[re.Pattern[str], ...], lines: list[str], tag: str) -> list[str]:
    return [f"{tag}: {' '.join(line.split())[:80]}" for line in lines if any(p.search(line) for p in patterns)]


ODD = tuple(
    re.compile(p, re.MULTILINE)
    for p in (r"\Aab", r"ab\Z", r"b(?!\n)", r"(?<=\n)a", r"(?-m:^a)", r"b\s+a", r"^a", r"b$", r"\bab\b")
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("ab ❯─"), max_size=6), max_size=6),
    st.lists(st.sampled_from(ODD), min_size=1, max_size=3).map(tuple),
)
def test_markers_searched_joined_first_match_the_same_lines(
    lines: list[str], patterns: tuple[re.Pattern[str], ...]
) -> None:
    assert _matches(patterns, lines, "t") == _matches_reference(patterns, lines, "t")


def test_line_locality() -> None:
    local = [p for p in ODD if _line_local(p)]
    assert [p.pattern for p in local] == [r"b\s+a", r"^a", r"b$", r"\bab\b"]
    assert not _line_local(re.compile("^a"))  # without MULTILINE, ^ is the string's start


def _first_best(pane: PaneInfo, text: str) -> str | None:
    scores = explain(pane, parse_capture(text, height=40), None).scores
    best = max(scores.values(), default=0)
    return next((name for name, score in scores.items() if score == best), None) if best >= 3 else None


def _screens() -> list[Path]:
    return sorted(CAPTURES.glob("*/*.txt"))


@pytest.mark.parametrize("path", _screens(), ids=[str(p.relative_to(CAPTURES)) for p in _screens()])
def test_identify_is_the_first_best_score(path: Path) -> None:
    """Picking by screen skips profiles that cannot win; the pick is still the first of the best scores."""
    pane = PaneInfo("%1", "s", 0, 0, command="python3", height=40)
    picked = identify(pane, parse_capture(path.read_text(), height=40))
    assert (picked.name if picked else None) == _first_best(pane, path.read_text())


DIALOGS = [
    "Do you trust the files in this folder?", " ❯ 1. Yes", "Enter to confirm · Esc to exit", "Do you want to proceed?",
    "Allow Codex to work in this folder", "Press enter to continue", " › 1. Yes", "Do you trust this folder?",
    "Allow execution of: 'ls'", " ● 1. Yes, allow once", "Waiting for user confirmation", "Permission required",
    "┃ Allow once", "Would you like to continue?", "Apply this change?", "Would you like to run the following command",
]  # fmt: skip
LINES = sorted({line for path in _screens() for line in path.read_text().splitlines()} | set(DIALOGS))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LINES), st.sampled_from(DIALOGS)), max_size=40))
def test_identify_among_mixed_agents(lines: list[str]) -> None:
    """Screens that mix agents' lines (signatures, composers, dialogs) are where scores compete."""
    pane = PaneInfo("%1", "s", 0, 0, command="python3", height=40)
    picked = identify(pane, parse_capture("\n".join(lines), height=40))
    assert (picked.name if picked else None) == _first_best(pane, "\n".join(lines))
