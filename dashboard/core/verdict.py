"""Deciding what happened to a send from before/after screens. Pure; the one rule lives here.

`submitted` needs positive evidence: the profile's working indicator appeared, or the prompt left
the composer and shows above it as submitted input. A changing spinner is never evidence by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dashboard.core.agents import AgentProfile
from dashboard.core.model import Classification, PaneState, Screen, Verdict
from dashboard.core.screen import normalise

_FINGERPRINT = 48
_DECOR = str.maketrans("", "", "┃│▌▐")


@dataclass(frozen=True, slots=True)
class Observation:
    """One look at the pane: its screen and how it classified."""

    screen: Screen
    cls: Classification


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict with its evidence; `verdict` None means "keep watching"."""

    verdict: Verdict | None
    evidence: tuple[str, ...] = ()
    reason: str = ""


def squash(text: str) -> str:
    """Whitespace and composer decorations removed, so wrapped or indented text still matches."""
    return normalise(text).translate(_DECOR)


def fingerprints(prompt: str) -> tuple[str, ...]:
    """Short, distinctive pieces of the prompt to look for on screen.

    The start of its first and the end of its last non-empty line: long prompts scroll, and agents
    indent continuation lines.
    """
    lines = [ln for ln in prompt.splitlines() if ln.strip()]
    if not lines:
        return ()
    head = squash(lines[0])[:_FINGERPRINT]
    tail = squash(lines[-1])[-_FINGERPRINT:]
    return tuple(dict.fromkeys(p for p in (head, tail) if p))


_COLLAPSED = re.compile(r"^\[Pasted\b[^\[\]]*\]$")
_COUNT = re.compile(r"(\d+) lines?\]$")
"""One collapsed paste, as agents show it: `[Pasted text #1 +3 lines]` (Claude Code), `[Pasted ~4 lines]`
(opencode). Two placeholders, or one beside other text, is a merge."""


def composer_holds(composer: str | None, prompt: str) -> bool:
    """Does the composer show exactly our prompt (and nothing else)?

    Whitespace and box decorations aside (agents wrap and indent). A composer too short to show
    all of a long prompt counts when it shows the prompt's end, where the cursor keeps it. One
    collapsed-paste placeholder (`[Pasted text #1 +3 lines]`) counts: the agent hides the text,
    but a merge shows a second placeholder or other text beside it.
    """
    if not composer:
        return False
    shown, ours = squash(composer), squash(prompt)
    if not shown or not ours:
        return False
    if shown == ours:
        return True
    if _COLLAPSED.match(composer.strip()):
        # a placeholder is ours only if it could be: our text is long enough to collapse, and the line
        # count it shows is ours (Claude counts line breaks, opencode lines)
        count = _COUNT.search(composer.strip())
        breaks = prompt.count("\n")
        big = breaks > 0 or len(prompt) >= 200
        return big and (count is None or int(count.group(1)) in (breaks, breaks + 1))
    return len(shown) >= _FINGERPRINT and ours.endswith(shown) and composer.count("\n") >= 2


def transcript_count(obs: Observation, prints: tuple[str, ...]) -> int:
    """How often the prompt shows outside the composer on the visible screen (best fingerprint)."""
    lines = list(obs.screen.lines)
    if obs.cls.composer_span is not None:
        start, end = obs.cls.composer_span
        lines = lines[:start] + lines[end:]
    text = squash("\n".join(lines))
    return max((text.count(p) for p in prints), default=0)


def judge(profile: AgentProfile, prompt: str, before: Observation, after: Observation) -> Judgement:
    """Read one after-Enter observation against the before one.

    Returns a final verdict when the evidence is positive, STUCK while the text still sits in the
    composer (the caller retries the submit key, then gives up with it), and None otherwise.
    Callers press the submit key only after `composer_holds` saw exactly our text, so a working
    indicator with our text gone from the composer is this send's doing.
    """
    prints = fingerprints(prompt)
    was_busy = before.cls.state is PaneState.WORKING
    moved = transcript_count(after, prints) > transcript_count(before, prints)
    composer_empty = after.cls.composer == ""
    evidence: list[str] = []
    if moved and composer_empty:
        evidence.append("left-composer")

    if was_busy:
        new_queue = [m for m in _queued_markers(profile, after) if m not in _queued_markers(profile, before)]
        if new_queue and composer_empty:
            return Judgement(Verdict.QUEUED, (*evidence, *new_queue), "agent busy: message queued")
        if evidence:
            return Judgement(Verdict.QUEUED, tuple(evidence), "agent busy: prompt left the composer")
    elif after.cls.state is PaneState.WORKING and not composer_holds(after.cls.composer, prompt):
        # our text was seen in the composer before our key (the caller's gate); now it has left it
        markers = tuple(m.replace("working:", "working-indicator:", 1) for m in after.cls.markers)
        return Judgement(Verdict.SUBMITTED, (*markers[:2], *evidence), "working indicator appeared")
    elif evidence:
        return Judgement(Verdict.SUBMITTED, tuple(evidence), "prompt left the composer, shown as submitted")

    if after.cls.composer:
        return Judgement(Verdict.STUCK, ("composer-text",), "text still in the composer")
    return Judgement(None)


def give_up(before: Observation, after: Observation, *, pasted_seen: bool) -> Judgement:
    """The verdict when the verify window ends with no positive evidence."""
    if after.cls.state is PaneState.DEAD:
        return Judgement(Verdict.UNRECOGNISED, ("pane-died",), "the pane died before showing the prompt submitted")
    if after.cls.composer:
        return Judgement(Verdict.STUCK, ("composer-text",), f"text still in the composer: {_clip(after.cls.composer)}")
    if after.screen.lines == before.screen.lines:
        why = "nothing changed on screen" + ("" if pasted_seen else " (the paste never showed in the composer)")
        return Judgement(Verdict.NOT_RECEIVED, ("no-change",), why)
    if after.cls.state is PaneState.DIALOG:
        return Judgement(Verdict.UNRECOGNISED, ("dialog",), "a dialog appeared; no sign the prompt was submitted")
    return Judgement(
        Verdict.UNRECOGNISED,
        ("screen-changed",),
        f"the screen changed but shows neither a working indicator nor the prompt (now {after.cls.state})",
    )


def _queued_markers(profile: AgentProfile, obs: Observation) -> list[str]:
    return [f"queued: {ln.strip()[:80]}" for ln in obs.screen.lines if any(p.search(ln) for p in profile.queued)]


def _clip(text: str, n: int = 80) -> str:
    one = " ⏎ ".join(text.splitlines())
    return repr(one if len(one) <= n else one[: n - 1] + "…")
