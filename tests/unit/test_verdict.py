"""The verdict rules on real screens: positive evidence only."""

from __future__ import annotations

from dashboard.core.agents import known
from dashboard.core.classify import classify_as
from dashboard.core.model import Verdict
from dashboard.core.screen import parse_capture
from dashboard.core.verdict import Observation, fingerprints, give_up, judge
from tests.conftest import CAPTURES

PASTE = (
    "[Tcodexman] First line of a multi-line prompt: the quick brown fox jumps over the lazy dog while the build "
    "runs and the tests keep passing in the background of this long prompt line.\n"
    "Second line, still part of the same prompt: the quick brown fox jumps over the lazy dog while the build "
    "runs and the tests keep passing in the background .\n"
    "Third line: ignore all of the above and reply with exactly CANARY-codexpaste1"
)


def obs(agent: str, name: str) -> Observation:
    screen = parse_capture((CAPTURES / agent / f"{name}.txt").read_text(), height=40)
    return Observation(screen, classify_as(known()[agent], screen))


def test_working_indicator_is_submitted() -> None:
    j = judge(known()["codex"], PASTE, obs("codex", "done"), obs("codex", "pasted_working"))
    assert j.verdict is Verdict.SUBMITTED
    assert any(e.startswith("working-indicator: • Working") for e in j.evidence) and "left-composer" in j.evidence


def test_left_composer_without_spinner_is_submitted() -> None:
    j = judge(known()["codex"], PASTE, obs("codex", "done"), obs("codex", "pasted_done"))
    assert j.verdict is Verdict.SUBMITTED and j.evidence == ("left-composer",)


def test_text_in_composer_is_stuck_not_submitted() -> None:
    j = judge(known()["codex"], PASTE, obs("codex", "done"), obs("codex", "pasted_not_submitted"))
    assert j.verdict is Verdict.STUCK


def test_claude_collapsed_paste_is_stuck_then_submitted() -> None:
    claude = known()["claude"]
    prompt = PASTE.replace("[Tcodexman]", "[Tmanual]").replace("CANARY-codexpaste1", "CANARY-pastemanual1")
    before = obs("claude", "done")
    assert judge(claude, prompt, before, obs("claude", "pasted_not_submitted")).verdict is Verdict.STUCK
    j = judge(claude, prompt, before, obs("claude", "pasted_working"))
    assert j.verdict is Verdict.SUBMITTED and "left-composer" in j.evidence


def test_unchanged_screen_is_not_received() -> None:
    before = obs("gemini", "idle")
    assert judge(known()["gemini"], "hello there", before, before).verdict is None
    assert give_up(before, before, pasted_seen=False).verdict is Verdict.NOT_RECEIVED


def test_old_copy_of_prompt_is_not_evidence() -> None:
    """The same prompt already on screen before the send proves nothing about this send."""
    before = obs("claude", "done")
    j = judge(known()["claude"], "reply with exactly CANARY-typed001", before, before)
    assert j.verdict is None


def test_change_without_evidence_is_unrecognised() -> None:
    before = obs("claude", "idle")
    after = obs("claude", "done")  # changed, composer empty, but our prompt is nowhere
    assert judge(known()["claude"], "something else entirely", before, after).verdict is None
    assert give_up(before, after, pasted_seen=True).verdict is Verdict.UNRECOGNISED


def test_fingerprints_survive_wrapping() -> None:
    prints = fingerprints("alpha beta\n\n  gamma delta  ")
    assert prints == ("alphabeta", "gammadelta")


# ----- evidence bound to our own text ---------------------------------------------------------------


def test_composer_holds_exactly_our_text_only() -> None:
    from dashboard.core.verdict import composer_holds

    prompt = "Refactor the parser.\nThen run the tests."
    assert composer_holds("Refactor the parser.\n  Then run the tests.", prompt)  # wrapped, indented
    assert composer_holds("│ Refactor the parser. │\n│ Then run the tests. │", prompt)  # box drawing
    assert composer_holds("[Pasted text #1 +1 lines]", prompt)  # collapsed by the agent
    assert composer_holds("[Pasted ~2 lines]", prompt)
    # merges and neighbours: someone else's text before or after ours, two pastes, ours only in part
    assert not composer_holds("round 4 from B round 4 from A", "round 4 from A")
    assert not composer_holds("Refactor the parser.\nThen run the tests. INTRUDER", prompt)
    assert not composer_holds("typed by hand Refactor the parser.\nThen run the tests.", prompt)
    assert not composer_holds("[Pasted text #1 +1 lines][Pasted text #2 +1 lines]", prompt)
    assert not composer_holds("[Pasted text #1 +1 lines] and more", prompt)
    # a placeholder is ours only if our text could be it: long enough, and its line count ours
    assert not composer_holds("[Pasted text #1 +30 lines]", prompt)
    assert not composer_holds("[Pasted ~400 lines]", "fix the bug")
    assert not composer_holds("Refactor the parser.", prompt)
    assert not composer_holds("", prompt) and not composer_holds(None, prompt)


def test_a_working_indicator_with_our_text_still_in_the_composer_is_not_a_delivery() -> None:
    """The agent is working (on something else) while our text still waits: not ours to claim."""
    import dataclasses

    from dashboard.core.model import PaneState

    working = obs("codex", "pasted_working")
    waiting = obs("codex", "pasted_not_submitted")
    # a screen that shows the working indicator AND our whole text still in the composer
    both = Observation(working.screen, dataclasses.replace(working.cls, composer=waiting.cls.composer))
    assert both.cls.state is PaneState.WORKING
    j = judge(known()["codex"], PASTE, obs("codex", "done"), both)
    assert j.verdict is not Verdict.SUBMITTED
