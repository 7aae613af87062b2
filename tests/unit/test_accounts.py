"""Accounts (subscriptions): rules, environment inference, reset-time parsing, spreading a batch."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.core.accounts import AccountRule, from_environment, match_rules, parse_reset, until
from dashboard.core.model import Classification, PaneInfo, PaneState, Screen
from dashboard.core.ports import TmuxHost
from dashboard.core.registry import RegistryError, parse_registry
from dashboard.services.accounts import AccountResolver, spread
from dashboard.services.panes import PaneView

NOW = datetime(2026, 11, 24, 13, 20, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3pm", NOW.replace(hour=15, minute=0)),
        ("3:30 PM", NOW.replace(hour=15, minute=30)),
        ("11am", NOW.replace(hour=11, minute=0) + timedelta(days=1)),  # already past today: tomorrow
        ("15:00", NOW.replace(hour=15, minute=0)),
        ("at 9:05am", NOW.replace(hour=9, minute=5) + timedelta(days=1)),
        ("in 2h 13m", NOW + timedelta(hours=2, minutes=13)),
        ("45 minutes", NOW + timedelta(minutes=45)),
        ("1 hour and 5 minutes", NOW + timedelta(hours=1, minutes=5)),
        ("2d", NOW + timedelta(days=2)),
        ("Nov 25, 9am", NOW.replace(day=25, hour=9, minute=0)),
        ("Dec 1 at 12:30am", NOW.replace(month=12, day=1, hour=0, minute=30)),
        ("Jan 3, 10am", NOW.replace(year=2027, month=1, day=3, hour=10, minute=0)),
    ],
)
def test_reset_times_parse(text: str, expected: datetime) -> None:
    assert parse_reset(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "13pm", "25:00", "Foo 3, 9am", "3pm tomorrow maybe", "Feb 30, 9am"])
def test_unparseable_resets_are_none(text: str) -> None:
    assert parse_reset(text, NOW) is None


def test_until_reads_like_a_person_would_say_it() -> None:
    assert until(NOW + timedelta(hours=2, minutes=13), NOW) == "in 2h13m"
    assert until(NOW + timedelta(seconds=30), NOW) == "in 1m"
    assert until(NOW - timedelta(minutes=1), NOW) == "now"
    assert until(NOW + timedelta(days=1, hours=3), NOW) == "in 1d03h"


def test_rules_first_match_wins() -> None:
    rules = (AccountRule("gpu1:api:0.*", "team"), AccountRule("gpu1", "work"), AccountRule("local:ops*", "personal"))
    assert match_rules(rules, "gpu1", "api", 0, 1) == "team"
    assert match_rules(rules, "gpu1", "web", 2, 0) == "work"
    assert match_rules(rules, "local", "ops-2", 0, 0) == "personal"
    assert match_rules(rules, "local", "web", 0, 0) is None


def test_registry_accounts_section() -> None:
    reg = parse_registry({"accounts": {"gpu1:*": "work", "local:api": "personal"}})
    assert [(r.pattern, r.account) for r in reg.accounts] == [("gpu1:*", "work"), ("local:api", "personal")]
    with pytest.raises(RegistryError, match="account name"):
        parse_registry({"accounts": {"gpu1": "two words"}})
    # the section's old name is still read, but not both at once
    old = parse_registry({"profiles": {"gpu1:*": "work"}})
    assert [(r.pattern, r.account) for r in old.accounts] == [("gpu1:*", "work")]
    with pytest.raises(RegistryError, match="old name"):
        parse_registry({"profiles": {"a": "x"}, "accounts": {"b": "y"}})
    with pytest.raises(RegistryError, match="bad pattern"):
        parse_registry({"profiles": {"a:b:c:d": "x"}})


def test_environment_names_the_config_directory() -> None:
    assert from_environment({"CLAUDE_CONFIG_DIR": "/home/me/.claude-work/"}) == "claude-work"
    assert from_environment({"CODEX_HOME": "/srv/codex-team"}) == "codex-team"
    assert from_environment({"HOME": "/home/me"}) is None


def _view(pid: str, session: str, state: PaneState, *, account: str = "", agent: str | None = "claude",
          reset: str | None = None) -> PaneView:  # fmt: skip
    pane = PaneInfo(pid, session, 0, 0, command="claude", account=account)
    return PaneView(pane, Screen(()), Classification(agent, state, reset=reset), account=account or None)


def _no_host(machine: str) -> TmuxHost:
    raise AssertionError(f"no process environment should be read here ({machine})")


def test_tmux_option_beats_config_beats_environment() -> None:
    resolver = AccountResolver((AccountRule("local:work*", "from-config"),))
    tagged = _view("%1", "work", PaneState.IDLE, account="from-tmux")
    ruled = _view("%2", "work2", PaneState.IDLE)
    none = _view("%3", "other", PaneState.IDLE)
    tagged = PaneView(tagged.pane, tagged.screen, tagged.cls)  # only the tmux option: nothing resolved yet
    got = asyncio.run(resolver.attach(_no_host, [tagged, ruled, none]))
    assert [(v.account, v.account_source) for v in got] == [
        ("from-tmux", "tmux option"), ("from-config", "config"), (None, None)
    ]  # fmt: skip


def test_spread_takes_turns_across_accounts_and_passes_over_limits() -> None:
    views = [
        _view("%1", "a", PaneState.IDLE, account="work"),
        _view("%2", "b", PaneState.IDLE, account="work"),
        _view("%3", "c", PaneState.IDLE, account="work"),
        _view("%4", "d", PaneState.RATE_LIMITED, account="personal", reset="3pm"),
        _view("%5", "e", PaneState.IDLE, account="personal"),
        _view("%6", "f", PaneState.WORKING, account="team"),
        _view("%7", "g", PaneState.IDLE, account="team"),
    ]
    result = spread(views, 3)
    assert [v.pane.pane_id for v in result.picked] == ["%1", "%5", "%7"]  # one per account first
    skipped = {v.pane.pane_id: why for v, why in result.skipped}
    assert skipped["%4"] == "rate-limited, resets 3pm"
    assert skipped["%6"].startswith("not ready")
    assert len(spread(views, 10).picked) == 5  # every ready pane, never a limited or busy one
