"""The screen classifier: (pane facts, screen) -> agent, state, composer text. Pure functions.

It reads only the bottom region of the visible screen (around the composer): stale lines in the
scrollback must not resurrect old states. When no profile explains the screen it says `unknown`
rather than guessing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.core.agents import AgentProfile, ComposerSpec, Marker, known
from dashboard.core.model import Classification, PaneInfo, PaneState, Screen
from dashboard.core.screen import without_dim

# How far above the composer a working/dialog/limit marker may sit and still count as current.
_ABOVE = 8
_FALLBACK_REGION = 12


@dataclass(frozen=True, slots=True)
class Composer:
    """The composer's line span on screen [start, end) and its text (placeholder removed)."""

    start: int
    end: int
    text: str


def _composer_span(spec: ComposerSpec, lines: Sequence[str]) -> tuple[int, int] | None:
    """Where the composer is drawn, [start, end) in `lines`, or None; its text is `find_composer`'s.

    Apart, because telling agents apart (`identify`) asks every profile whether its composer is drawn,
    and reading one's text (faint runs, placeholders) is most of the cost of finding it.
    """
    bottom = next((i for i in range(len(lines) - 1, -1, -1) if spec.bottom.search(lines[i])), None)
    if bottom is None:
        return None
    if spec.top is not None:
        start = next((i for i in range(bottom - 1, -1, -1) if spec.top.search(lines[i])), None)
        if start is None:
            return None
        # a top marker far above the bottom belongs to the transcript, not to a composer
        if bottom - start > max(12, len(lines) // 2):
            return None
    else:
        assert spec.body is not None
        start = bottom
        while start > 0 and spec.body.search(lines[start - 1]):
            start -= 1
    return start, bottom


def find_composer(profile: AgentProfile, screen: Screen) -> Composer | None:
    """Locate the profile's composer in the visible screen, or None when it is not drawn."""
    spec = profile.composer
    lines = screen.lines
    span = _composer_span(spec, lines)
    if span is None:
        return None
    start, end = span
    if start == end:
        return Composer(start, end, "")
    body: list[str] = []
    for i in range(start, end):
        line = lines[i]
        if screen.ansi is not None and i < len(screen.ansi):
            line = without_dim(screen.ansi[i]).rstrip()
        pattern = spec.first_prefix if i == start else spec.prefix
        body.append(pattern.sub("", line, count=1).replace("\u00a0", " ").replace("\u200b", "").rstrip())
    text = "\n".join(ln.rstrip() for ln in "\n".join(body).split("\n")).strip()
    if profile.placeholders:
        # placeholders are matched on the plain text too: a cursor cell drawn in reverse video over
        # the first letter survives the faint-stripping ("Press up to edit…" reads as "P")
        plain = "\n".join(
            (spec.first_prefix if i == start else spec.prefix)
            .sub("", lines[i], count=1)
            .replace("\u00a0", " ")
            .rstrip()
            for i in range(start, end)
        ).strip()
        if any(p.search(text) or p.search(plain) for p in profile.placeholders):
            text = ""
    return Composer(start, end, text)


def _matches(patterns: tuple[Marker, ...], lines: list[str], tag: str) -> list[str]:
    """`tag: <the matching line>` for each line that any pattern matches (evidence a person can read).

    Each pattern is first searched once in the lines joined: one that finds nothing there matches no
    line either (see `_line_local`), and most markers are absent from most screens — line by line,
    every look paid a search per line and pattern.
    """
    if not lines or not patterns:
        return []
    joined = "\n".join(lines)
    live = tuple(p for p in patterns if not _line_local(p) or p.search(joined))
    if not live:
        return []
    found: list[str] = []
    for line in lines:
        if any(p.search(line) for p in live):
            found.append(f"{tag}: {' '.join(line.split())[:80]}")
    return found


_NOT_LINE_LOCAL = ("\\A", "\\Z", "(?=", "(?!", "(?<", "(?-")


@functools.cache
def _line_local(pattern: Marker) -> bool:
    r"""Does a match within one line stay a match in that line joined with others by newlines?

    It does when nothing in the pattern looks past its own characters but `^`, `$` (in MULTILINE
    mode, where a newline reads as a line's end) and word boundaries (a newline is no word character).
    String anchors (\A, \Z), lookarounds and turning MULTILINE off can tell the difference; a
    pattern that mentions any of them is searched line by line only (a false alarm costs speed, never
    a result).
    """
    return bool(pattern.flags & re.MULTILINE) and not any(s in pattern.pattern for s in _NOT_LINE_LOCAL)


def _drawn_score(profile: AgentProfile, screen: Screen, text: str) -> int:
    """A point per signature on screen, and two more for the profile's composer drawn beside one."""
    score = sum(1 for p in profile.signatures if p.search(text))
    if score and _composer_span(profile.composer, screen.lines) is not None:
        score += 2
    return score


def _dialog_score(profile: AgentProfile, text: str) -> int:
    """A start-up dialog hides the composer and most signatures; its own wording identifies the agent."""
    return sum(1 for p in profile.dialog if p.search(text))


_PICK = 3
"""The screen score a profile needs to be picked by screen."""


def identify(pane: PaneInfo, screen: Screen) -> AgentProfile | None:
    """Pick the profile: by process name when it is unambiguous, else by screen signatures.

    By screen, the first profile with the highest score wins, if it reaches `_PICK`. A profile whose
    dialog wording could not lift it past the best so far is not searched for it: the dialog
    patterns are most of the cost of scoring, and on most screens one profile has already won.
    """
    by_process = known().for_process(pane.command)
    if by_process is not None:
        return by_process
    text = "\n".join(screen.lines)
    if not text.strip():
        return None
    best, best_score = None, _PICK - 1
    for profile in known().profiles:
        score = _drawn_score(profile, screen, text)
        if score + len(profile.dialog) <= best_score:
            continue
        score += _dialog_score(profile, text)
        if score > best_score:
            best, best_score = profile, score
    return best


_WORDY = re.compile(r"[^\W_](?:[\W_]*[^\W_]){2}")
r"""Three letters or digits somewhere in a line (`[^\W_]` is exactly `str.isalnum`: `\w` minus `_`)."""


def last_meaningful_line(lines: Sequence[str], chrome: tuple[Marker, ...] = ()) -> str:
    """The lowest line with words in it (skipping the agent's hint/footer lines), for a pane summary."""
    for line in reversed(lines):
        if _WORDY.search(line) and not any(p.search(line) for p in chrome):
            return " ".join(line.split())[:200]
    return ""


def classify(pane: PaneInfo, screen: Screen, profile: AgentProfile | None = None) -> Classification:
    """Classify a pane. Process facts first (dead, shell), then the agent's screen markers."""
    last = last_meaningful_line(screen.lines)
    if pane.dead:
        return Classification(None, PaneState.DEAD, markers=("pane_dead",), last_line=last)
    if pane.is_shell:
        return Classification(None, PaneState.SHELL, markers=(f"process:{pane.command}",), last_line=last)
    profile = profile or identify(pane, screen)
    if profile is None:
        return Classification(None, PaneState.UNKNOWN, markers=(f"process:{pane.command}",), last_line=last)
    return classify_as(profile, screen, last, title=pane.title)


def classify_as(profile: AgentProfile, screen: Screen, last: str = "", *, title: str = "") -> Classification:
    """Classify a screen already known to belong to `profile`.

    `title` is the pane title: some agents show a turn only there while the reply streams
    (Codex removes its Working line then), so a title spinner also counts as working.
    """
    lines = list(screen.lines)
    composer = find_composer(profile, screen)
    last = last_meaningful_line(lines[: composer.start] if composer else lines, profile.chrome) or last
    if composer is not None:
        region = lines[max(0, composer.start - _ABOVE) : composer.start] + lines[composer.end :]
    else:
        region = lines[-_FALLBACK_REGION:]
    span = (composer.start, composer.end) if composer else None
    text = composer.text if composer else None

    def result(state: PaneState, markers: list[str], reset: str | None = None) -> Classification:
        return Classification(profile.name, state, text, span, tuple(markers), reset, last)

    # a dialog replaces the composer: with no composer drawn it may sit anywhere on screen
    dialog = _matches(profile.dialog, lines if composer is None else lines[len(lines) // 3 :], "dialog")
    if dialog:
        return result(PaneState.DIALOG, dialog)
    working = _matches(profile.working, region, "working")
    if title and any(p.search(title) for p in profile.title_working):
        working.append(f"working: title {' '.join(title.split())[:60]}")
    if working:
        return result(PaneState.WORKING, working)
    limited = _matches(profile.rate_limit, region, "rate-limit")
    if limited:
        reset = None
        if profile.reset is not None:
            for line in region:
                m = profile.reset.search(line)
                if m:
                    reset = m.group(1).strip()
                    break
        return result(PaneState.RATE_LIMITED, limited, reset)
    if composer is None:
        return result(PaneState.UNKNOWN, ["no-composer"])
    if composer.text:
        return result(PaneState.STUCK, ["composer-text"])
    answered = _matches(profile.answered, lines[: composer.start], "answered")
    return result(PaneState.IDLE, ["composer-empty", *answered[-1:]])  # the latest answer: idle after a turn


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a pane classified as it did: what `dispatch agents explain` prints when a verdict surprises."""

    command: str
    cmdline: str | None
    chosen: str | None
    chosen_by: str
    """"process" (the pane's program names the agent), "screen" (signatures), or "" (no agent)."""
    scores: dict[str, int]
    """Each profile's screen-signature score (3 or more is needed to pick by screen)."""
    runs_agent: bool | None
    """Is the pane's process the chosen agent (its program, or a launcher running it)? None: no agent."""
    cls: Classification

    def to_json(self) -> dict[str, object]:
        return {
            "command": self.command, "cmdline": self.cmdline, "agent": self.chosen, "chosen_by": self.chosen_by,
            "scores": self.scores, "runs_agent": self.runs_agent, "state": str(self.cls.state),
            "markers": list(self.cls.markers), "composer": self.cls.composer,
            "composer_lines": list(self.cls.composer_span) if self.cls.composer_span else None,
            "reset": self.cls.reset, "last_line": self.cls.last_line,
        }  # fmt: skip


def explain(pane: PaneInfo, screen: Screen, cmdline: str | None) -> Explanation:
    """Classify `pane` and say why: the process, every profile's screen score, the markers that decided."""
    text = "\n".join(screen.lines)
    scores = (
        {p.name: _drawn_score(p, screen, text) + _dialog_score(p, text) for p in known().profiles}
        if text.strip()
        else {}
    )
    by_process = known().for_process(pane.command)
    cls = classify(pane, screen)
    chosen = cls.agent
    chosen_by = "" if chosen is None else ("process" if by_process is not None else "screen")
    profile = known().get(chosen)
    runs = None if profile is None else profile.runs_in(pane.command, cmdline)
    return Explanation(pane.command, cmdline, chosen, chosen_by, scores, runs, cls)
