"""Properties: the pure core never crashes on arbitrary screens or prompts, and never claims a
delivery when the screen did not change."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.agents import known
from dashboard.core.classify import classify, classify_as
from dashboard.core.guard import check_prompt, normalise_prompt
from dashboard.core.model import PaneInfo, Verdict
from dashboard.core.screen import parse_capture, strip_ansi, without_dim
from dashboard.core.timing import DelayPolicy
from dashboard.core.verdict import Observation, give_up, judge

# screens built from the characters agents draw, plus escapes and arbitrary text
GLYPHS = st.sampled_from([*list("❯›>┃│─▀▄✢✻⠙•●·…\xa0 \x1b[2m0;;38;5;237m48;2;1;2;3m"), "\n", "Working (", "esc to "])
SCREEN = st.lists(st.one_of(GLYPHS, st.text(max_size=5)), max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(SCREEN, st.sampled_from(["claude", "node", "python3", "bash", "vim"]))
def test_classify_never_crashes(text: str, command: str) -> None:
    screen = parse_capture(text, height=10)
    cls = classify(PaneInfo("%1", "s", 0, 0, command=command, height=10), screen)
    assert cls.state is not None
    for line in text.split("\n"):
        assert "\x1b[" not in strip_ansi(line) or "\x1b[" not in line
        without_dim(line)


@settings(max_examples=200, deadline=None)
@given(SCREEN, st.text(min_size=1, max_size=200))
def test_unchanged_screen_is_never_a_delivery(text: str, prompt: str) -> None:
    screen = parse_capture(text, height=10)
    for profile in known().profiles:
        obs = Observation(screen, classify_as(profile, screen))
        j = judge(profile, prompt, obs, obs)
        assert j.verdict not in (Verdict.SUBMITTED, Verdict.QUEUED)
        assert not (give_up(obs, obs, pasted_seen=True).verdict or Verdict.ERROR).delivered


@given(st.text(max_size=500))
def test_prompt_checks_and_delay_total(prompt: str) -> None:
    check_prompt(prompt)
    delay = DelayPolicy().delay_ms(normalise_prompt(prompt))
    assert 150 <= delay <= 4000
