"""Subscription accounts: which account a pane's agent runs under, and when a rate limit lifts.

A fleet spread over several subscriptions must not let one account's rate limit stall everything,
so each pane can carry a account name, from (first wins):

1. the tmux user option `@dispatch_profile` (pane, window or session: `tmux set -p @dispatch_profile work`),
2. the config's `[accounts]` rules (`"gpu1:*" = "work"`, `"local:api" = "personal"`), first match wins,
3. the agent's config directory, when its environment is visible (`CLAUDE_CONFIG_DIR=~/.claude-work`
   → `claude-work`).

Pure: the environment is read by the caller (services/accounts.py).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

CONFIG_DIR_VARS = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "OPENCODE_CONFIG_DIR", "XDG_CONFIG_HOME")


@dataclass(frozen=True, slots=True)
class AccountRule:
    """`pattern` is `machine`, `machine:session` or `machine:session:window.pane`, with * and ? wildcards."""

    pattern: str
    account: str

    def matches(self, machine: str, session: str, window: int, pane: int) -> bool:
        parts = self.pattern.split(":", 2)
        if not fnmatch.fnmatchcase(machine, parts[0]):
            return False
        if len(parts) >= 2 and not fnmatch.fnmatchcase(session, parts[1]):
            return False
        return len(parts) < 3 or fnmatch.fnmatchcase(f"{window}.{pane}", parts[2])


def match_rules(rules: tuple[AccountRule, ...], machine: str, session: str, window: int, pane: int) -> str | None:
    return next((r.account for r in rules if r.matches(machine, session, window, pane)), None)


def from_environment(env: dict[str, str]) -> str | None:
    """The account an agent's config directory names (`~/.claude-work` → `claude-work`), if one is set."""
    for var in CONFIG_DIR_VARS:
        value = env.get(var, "").rstrip("/")
        if value:
            name = value.rsplit("/", 1)[-1].lstrip(".")
            if var == "XDG_CONFIG_HOME":
                name = f"xdg-{name}"
            return name or None
    return None


# ----- when a limit lifts ------------------------------------------------------------------------

_DURATION = re.compile(r"(?i)(\d+)\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)\b")
_CLOCK = re.compile(r"(?i)^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}  # fmt: skip
_DATED = re.compile(r"(?i)^([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s*(?:at\s+)?(.+)$")


def parse_reset(text: str, now: datetime) -> datetime | None:
    """When a limit resets, from what an agent prints after "resets" / "try again in".

    `3pm`, `3:30 PM`, `15:00` mean the next such time (today, else tomorrow); `2h 13m`, `45 minutes`
    are from `now`; `Nov 25, 9am` is that date. None when the text is none of these.
    """
    raw = text.strip().rstrip(".").strip()
    raw = re.sub(r"(?i)^(at|in)\s+", "", raw)
    if not raw:
        return None
    durations = _DURATION.findall(raw)
    if durations and _DURATION.sub("", raw).strip(" ,and") == "":
        seconds = 0
        for amount, unit in durations:
            scale = {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit[0].lower()]
            seconds += int(amount) * scale
        return now + timedelta(seconds=seconds)
    dated = _DATED.match(raw)
    if dated and dated.group(1).lower() in _MONTHS:
        clock = _clock(dated.group(3))
        if clock is None:
            return None
        month, day = _MONTHS[dated.group(1).lower()], int(dated.group(2))
        try:
            when = now.replace(month=month, day=day, hour=clock[0], minute=clock[1], second=0, microsecond=0)
        except ValueError:
            return None
        return when if when > now - timedelta(days=1) else when.replace(year=now.year + 1)
    clock = _clock(raw)
    if clock is None:
        return None
    when = now.replace(hour=clock[0], minute=clock[1], second=0, microsecond=0)
    return when if when > now else when + timedelta(days=1)


def _clock(text: str) -> tuple[int, int] | None:
    m = _CLOCK.match(text.strip())
    if m is None:
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute


def until(when: datetime, now: datetime) -> str:
    """`in 2h13m` / `in 4m` / `now`."""
    seconds = int((when - now).total_seconds())
    if seconds <= 0:
        return "now"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours >= 24:
        return f"in {hours // 24}d{hours % 24:02d}h"
    return f"in {hours}h{minutes:02d}m" if hours else f"in {max(1, minutes)}m"
