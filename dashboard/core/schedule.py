"""Pure time logic of the scheduler: parse `--every`/`--cron`/`--at`, find the next fire time, decide what to run.

Nothing here reads the clock or does I/O; every function takes the time it needs, so the daemon stays a thin
loop and every rule below is tested without sleeping or patching time.

Decisions a reader would otherwise have to rediscover:

* Cron follows Vixie cron: a field "is restricted" when it does not start with `*`; when both day-of-month and
  day-of-week are restricted a day matches if EITHER does, otherwise both sets must match (so `*/2` in one of
  them still means AND, as in Vixie cron and cronie).
* Cron runs on the wall clock of a zone. A wall-clock minute that does not exist (spring-forward gap) is skipped:
  the schedule moves on to the next matching minute that exists, so a daily `30 2 * * *` in Europe/Berlin does
  not run on the spring-forward day. Every run thus happens at a wall-clock time the expression names (cronie
  would instead run it right after the jump); put jobs that must run daily outside 02:00-03:00.
  A wall-clock minute that happens twice (fall-back) fires once, at its first occurrence (fold=0); an hourly
  cron therefore has one two-hour gap on that night.
* `every` occurrences are `anchor + k × interval` (k ≥ 1), always computed from the anchor, so they never drift.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "KINDS",
    "POLICIES",
    "Cron",
    "Decision",
    "ScheduleError",
    "Spec",
    "decide",
    "describe",
    "next_fire",
    "parse_at",
    "parse_cron",
    "parse_every",
    "parse_spec",
]

KINDS = ("every", "cron", "at")
POLICIES = ("skip", "once")

_MIN_INTERVAL = 1
_MAX_INTERVAL = 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_SEARCH_YEARS = 400
"""The Gregorian calendar repeats its weekdays every 400 years: a satisfiable cron fires within that window."""
_DST_SLACK = timedelta(hours=3)
"""More than any clock change, so a backward search that starts this far ahead cannot miss a fold-0 minute."""

_MONTH_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_DOW_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")

_AT_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})(?P<sec>:\d{2}(?:\.\d{1,6})?)?"
    r"(?P<off>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_EVERY_RE = re.compile(r"(?:\s*\d+\s*[a-z]+)+\s*")
_EVERY_PART_RE = re.compile(r"(\d+)\s*([a-z]+)")


class ScheduleError(ValueError):
    """A schedule the user wrote that cannot be used; the message is one line, ready to show as is."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]
    hint: str


_FIELDS = (
    _Field("minute", 0, 59, {}, ""),
    _Field("hour", 0, 23, {}, ""),
    _Field("day-of-month", 1, 31, {}, ""),
    _Field("month", 1, 12, _MONTH_NAMES, " or a name (jan-dec)"),
    _Field("day-of-week", 0, 7, _DOW_NAMES, " or a name (sun-sat)"),  # 7 is Sunday too, folded to 0 after parsing
)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression: the sets of values each field allows (weekdays 0=Sunday..6)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool
    text: str

    def day_matches(self, day: date) -> bool:
        """Whether the cron runs on `day` at all (the Vixie OR rule when both day fields are restricted)."""
        if day.month not in self.months:
            return False
        in_dom = day.day in self.days
        if self.dom_restricted and self.dow_restricted:
            return in_dom or day.isoweekday() % 7 in self.weekdays
        return in_dom and day.isoweekday() % 7 in self.weekdays

    def matches(self, wall: datetime) -> bool:
        """Whether the wall-clock minute of `wall` matches (ignores seconds, zone and DST)."""
        return wall.minute in self.minutes and wall.hour in self.hours and self.day_matches(wall.date())

    def next_after(self, t: datetime) -> datetime:
        """The first matching minute strictly after `t`, aware in `t`'s zone (see the module notes on DST)."""
        tz = _zone_of(t)
        # compare epoch seconds: aware datetimes sharing a tzinfo compare by wall clock and ignore fold
        after = t.timestamp()
        start = t.replace(tzinfo=None, second=0, microsecond=0, fold=0) + timedelta(minutes=1)
        for wall in self._walk(start, forward=True):
            aware = _resolve(wall, tz)
            if aware is not None and aware.timestamp() > after:
                return aware
        raise ScheduleError(self._never_message(tz, t))

    def last_at_or_before(self, t: datetime) -> datetime:
        """The latest matching minute at or before `t`, aware in `t`'s zone (a late daemon's "run once")."""
        tz = _zone_of(t)
        until = t.timestamp()
        start = t.replace(tzinfo=None, second=0, microsecond=0, fold=0) + _DST_SLACK
        for wall in self._walk(start, forward=False):
            aware = _resolve(wall, tz)
            if aware is not None and aware.timestamp() <= until:
                return aware
        raise ScheduleError(self._never_message(tz, t))

    def count_between(self, lo: datetime, hi: datetime) -> int:
        """How many fire times lie in `(lo, hi]`, in `hi`'s zone, without visiting them one by one.

        Whole days without a clock change count as `len(hours) × len(minutes)`; the two edge days and days with a
        clock change are enumerated. Exact unless a day holds two clock changes that cancel out (no zone does).
        """
        tz = _zone_of(hi)
        lo = lo.astimezone(tz)
        lo_ts, hi_ts = lo.timestamp(), hi.timestamp()
        if hi_ts <= lo_ts:
            return 0
        per_day = len(self.hours) * len(self.minutes)
        edges = {lo.date() + timedelta(days=k) for k in (-1, 0)} | {hi.date() + timedelta(days=k) for k in (0, 1)}
        total = 0
        day = lo.date() - timedelta(days=1)
        last = hi.date() + timedelta(days=1)
        while day <= last:
            if self.day_matches(day):
                if day in edges or not _regular_day(day, tz):
                    total += sum(1 for aware in self._day_fires(day, tz) if lo_ts < aware.timestamp() <= hi_ts)
                else:
                    total += per_day
            day += timedelta(days=1)
        return total

    def _day_fires(self, day: date, tz: tzinfo) -> Iterator[datetime]:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                aware = _resolve(datetime.combine(day, time(hour, minute)), tz)
                if aware is not None:
                    yield aware

    def _walk(self, start: datetime, *, forward: bool) -> Iterator[datetime]:
        """Matching wall-clock minutes from `start` (inclusive) in time order, or reverse order; no zone logic."""
        step = 1 if forward else -1
        months = sorted(self.months, reverse=not forward)
        hours = sorted(self.hours, reverse=not forward)
        minutes = sorted(self.minutes, reverse=not forward)

        def before_start(value: tuple[int, ...], bound: tuple[int, ...]) -> bool:
            return value < bound if forward else value > bound

        stop = min(start.year + _SEARCH_YEARS, MAXYEAR) if forward else max(start.year - _SEARCH_YEARS, MINYEAR)
        for year in range(start.year, stop + step, step):
            for month in months:
                if before_start((year, month), (start.year, start.month)):
                    continue
                length = calendar.monthrange(year, month)[1]
                for dom in range(1, length + 1) if forward else range(length, 0, -1):
                    if before_start((year, month, dom), (start.year, start.month, start.day)):
                        continue
                    day = date(year, month, dom)
                    if not self.day_matches(day):
                        continue
                    first_day = day == start.date()
                    for hour in hours:
                        if first_day and before_start((hour,), (start.hour,)):
                            continue
                        first_hour = first_day and hour == start.hour
                        for minute in minutes:
                            if first_hour and before_start((minute,), (start.minute,)):
                                continue
                            yield datetime(year, month, dom, hour, minute)

    def _never_message(self, tz: tzinfo, t: datetime) -> str:
        # parse_cron proved a matching date exists, so only clock changes can hide every match
        return (
            f"invalid cron '{self.text}': no matching time exists in {_zone_name(tz)} within {_SEARCH_YEARS} years"
            f" of {t:%Y-%m-%d} (every match falls in a daylight-saving gap)"
        )


def parse_cron(expr: str) -> Cron:
    """Parse a 5-field cron expression or an @macro; raises ScheduleError with the offending part named."""
    text = expr.strip()
    fields_text = _MACROS.get(text.lower()) if text.startswith("@") else text
    if fields_text is None:
        raise ScheduleError(
            f"invalid cron '{text}': unknown macro (use one of {', '.join(_MACROS)}; @reboot is not supported)"
        )
    parts = fields_text.split()
    if len(parts) != len(_FIELDS):
        got = "an empty expression" if not parts else f"{len(parts)}"
        raise ScheduleError(f"invalid cron '{text}': expected 5 fields ({' '.join(_FIELD_NAMES)}), got {got}")
    minutes, hours, days, months, weekdays = (
        _parse_field(raw, field, text) for raw, field in zip(parts, _FIELDS, strict=True)
    )
    cron = Cron(
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(0 if d == 7 else d for d in weekdays),
        dom_restricted=not parts[2].startswith("*"),
        dow_restricted=not parts[4].startswith("*"),
        text=text,
    )
    if not (cron.dom_restricted and cron.dow_restricted) and not any(
        day <= _longest_month(month) for month in cron.months for day in cron.days
    ):
        # with AND semantics a valid (month, day) pair is enough: within 400 years it falls on every weekday
        raise ScheduleError(
            f"invalid cron '{text}': it never fires (day-of-month '{parts[2]}' never occurs in month '{parts[3]}')"
        )
    return cron


def _parse_field(raw: str, field: _Field, text: str) -> frozenset[int]:
    def fail(reason: str) -> ScheduleError:
        return ScheduleError(f"invalid cron '{text}': {reason}")

    def value(token: str) -> int:
        if token.isascii() and token.isdigit():
            number = int(token)
            if not field.low <= number <= field.high:
                raise fail(f"{field.name} {number} is out of range {field.low}-{field.high}")
            return number
        if token.lower() in field.names:
            return field.names[token.lower()]
        raise fail(f"{field.name} '{token}' is not a number{field.hint}")

    # '*' and 'a/n' stop at 6 for day-of-week: 7 is only an alias of Sunday, never a day of its own
    top = 6 if field.name == "day-of-week" else field.high
    values: set[int] = set()
    for item in raw.split(","):
        if not item:
            raise fail(f"{field.name} field '{raw}' has an empty list item")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()):
                raise fail(f"{field.name} step '{step_text}' in '{item}' is not a number")
            step = int(step_text)
            if step < 1:
                raise fail(f"{field.name} step in '{item}' must be at least 1")
            if step > top - field.low + 1:
                raise fail(f"{field.name} step {step} in '{item}' is larger than the range {field.low}-{top}")
        if base == "*":
            low, high = field.low, top
        elif "-" in base:
            low_text, _, high_text = base.partition("-")
            if not low_text or not high_text:
                raise fail(f"{field.name} '{item}' is not a valid value or range")
            low, high = value(low_text), value(high_text)
            if low > high:
                raise fail(f"{field.name} range '{base}' is reversed (write it low-high, or as a list to wrap around)")
        else:
            low = value(base)
            high = max(top, low) if slash else low  # day-of-week '7/n' is Sunday, not an empty set
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


@lru_cache(maxsize=256)
def _cron(text: str) -> Cron:
    return parse_cron(text)


def parse_every(text: str) -> timedelta:
    """Parse an interval like `30s`, `5m`, `2h`, `1h30m`, `1d`, `1w`; a unit is required so `45` is not a guess."""
    raw = text.strip()
    lowered = raw.lower()
    example = "a duration like 30s, 5m, 2h, 1h30m, 1d or 1w"
    if lowered.isascii() and lowered.isdigit():
        raise ScheduleError(f"invalid interval '{raw}': missing unit (write {raw}s, {raw}m, {raw}h, ...)")
    if lowered.startswith("-"):
        raise ScheduleError(f"invalid interval '{raw}': must be positive ({example})")
    if not lowered.isascii() or not _EVERY_RE.fullmatch(lowered):
        raise ScheduleError(f"invalid interval '{raw}': expected {example}")
    seconds = 0
    seen: set[str] = set()
    for number, unit in _EVERY_PART_RE.findall(lowered):
        if unit not in _UNITS:
            raise ScheduleError(f"invalid interval '{raw}': unknown unit '{unit}' (use s, m, h, d or w)")
        if unit in seen:
            raise ScheduleError(f"invalid interval '{raw}': unit '{unit}' appears twice")
        seen.add(unit)
        seconds += int(number) * _UNITS[unit]
    if seconds < _MIN_INTERVAL:
        raise ScheduleError(f"invalid interval '{raw}': must be at least 1s")
    if seconds > _MAX_INTERVAL:
        raise ScheduleError(f"invalid interval '{raw}': must be at most 366d")
    return timedelta(seconds=seconds)


@lru_cache(maxsize=256)
def _interval(text: str) -> float:
    return parse_every(text).total_seconds()


def parse_at(text: str, now: datetime) -> datetime:
    """Parse an ISO 8601 date-time that must lie after `now`; a value without offset is in `now`'s zone.

    A naive time that a clock change skips is refused (the user meant a time that never comes); one that
    happens twice means its first occurrence.
    """
    tz = _zone_of(now)
    raw = text.strip()
    expected = "expected an ISO 8601 date-time like 2026-12-01T03:00 (seconds and an offset like +02:00 or Z optional)"
    if not _AT_RE.fullmatch(raw):
        raise ScheduleError(f"invalid time '{raw}': {expected}")
    try:
        parsed = datetime.fromisoformat(raw.upper())
    except ValueError as exc:
        raise ScheduleError(f"invalid time '{raw}': {exc}") from None
    if parsed.tzinfo is None:
        wall = parsed
        resolved = _resolve(wall, tz)
        if resolved is None:
            raise ScheduleError(f"invalid time '{raw}': it does not exist in {_zone_name(tz)} (clocks skip it)")
        parsed = resolved
    if parsed.timestamp() <= now.timestamp():
        raise ScheduleError(f"time '{raw}' is in the past (now is {now:%Y-%m-%d %H:%M:%S %Z})")
    return parsed


@dataclass(frozen=True, slots=True)
class Spec:
    """A validated schedule as stored: `anchor` is the creation time (every, cron) or the fire time (at)."""

    kind: str
    text: str
    anchor: float
    tz: str | None = None
    """IANA zone for cron wall-clock times and naive `at` times; None means the caller's local zone."""


def parse_spec(kind: str, text: str, now: datetime, *, tz: str | None = None) -> Spec:
    """Validate a schedule the user wrote and pin it to `now` (aware); `tz` is an optional IANA zone name."""
    _zone_of(now)
    zone = _named_zone(tz) if tz is not None else None
    local_now = now.astimezone(zone) if zone is not None else now
    raw = text.strip()
    if kind == "every":
        parse_every(raw)
        return Spec("every", raw, now.timestamp(), tz)
    if kind == "cron":
        _cron(raw).next_after(local_now)  # refuses a cron whose every match falls into clock changes
        return Spec("cron", raw, now.timestamp(), tz)
    if kind == "at":
        return Spec("at", raw, parse_at(raw, local_now).timestamp(), tz)
    raise ScheduleError(f"unknown schedule kind '{kind}' (use every, cron or at)")


def next_fire(spec: Spec, after: float, tz: tzinfo) -> float | None:
    """The first occurrence strictly after `after` (epoch seconds), None when the schedule is over.

    `tz` is the local zone, used for cron when the spec names none.
    """
    if spec.kind == "every":
        interval = _interval(spec.text)
        k = max(1, _last_index(spec.anchor, interval, after) + 1)
        return spec.anchor + k * interval
    if spec.kind == "cron":
        zone = _spec_zone(spec, tz)
        return _cron(spec.text).next_after(datetime.fromtimestamp(after, zone)).timestamp()
    if spec.kind == "at":
        return spec.anchor if spec.anchor > after else None
    raise ScheduleError(f"unknown schedule kind '{spec.kind}' (use every, cron or at)")


def _last_index(anchor: float, interval: float, t: float) -> int:
    """The largest k with `anchor + k × interval <= t`, exact despite float division."""
    k = int((t - anchor) // interval)
    while anchor + (k + 1) * interval <= t:
        k += 1
    while anchor + k * interval > t:
        k -= 1
    return k


@dataclass(frozen=True, slots=True)
class Decision:
    """What the daemon does now: fire one run (or none), record missed runs, and when to wake up next."""

    fire: float | None
    missed: tuple[float, ...]
    more_missed: int
    next: float | None


def decide(
    spec: Spec, due_at: float, now: float, policy: str, tz: tzinfo, *, grace: float = 60.0, cap: int = 20
) -> Decision:
    """Decide what to do about the occurrence due at `due_at`, seen at `now`; never a burst of catch-up runs.

    Within `grace` the due run fires (a daemon tick is never exactly on time). Later than that the daemon was
    down: "skip" records every occurrence in `[due_at, now]` as missed, "once" fires the latest of them and records
    the rest. Occurrences after `due_at` that a fire within grace passes over are recorded as missed too. `missed`
    lists the earliest `cap`; `more_missed` counts the rest exactly, in closed form for every and per day for cron,
    so a year of downtime costs no more than a few hundred day checks. `next` is always strictly after `now`.
    Called before `due_at` (a tick that came early), nothing happens and `next` stays `due_at`.
    """
    if policy not in POLICIES:
        raise ScheduleError(f"unknown missed-run policy '{policy}' (use skip or once)")
    if cap < 0:
        raise ValueError("cap must not be negative")
    if now < due_at:
        return Decision(fire=None, missed=(), more_missed=0, next=due_at)
    later, count, latest = _occurrences_after(spec, due_at, now, tz, cap + 1)
    upcoming = next_fire(spec, now, tz)
    if now - due_at <= grace:
        missed, total = later, count
        fire: float | None = due_at
    elif policy == "skip":
        missed, total = [due_at, *later], 1 + count
        fire = None
    else:
        missed, total = [t for t in [due_at, *later] if t != latest], count
        fire = latest
    listed = tuple(missed[:cap])
    return Decision(fire=fire, missed=listed, more_missed=total - len(listed), next=upcoming)


def _occurrences_after(spec: Spec, due_at: float, now: float, tz: tzinfo, limit: int) -> tuple[list[float], int, float]:
    """The first `limit` occurrences in `(due_at, now]`, how many there are in all, and the latest (or due_at)."""
    if spec.kind == "every":
        interval = _interval(spec.text)
        first = max(1, _last_index(spec.anchor, interval, due_at) + 1)
        last = _last_index(spec.anchor, interval, now)
        if last < first:
            return [], 0, due_at
        times = [spec.anchor + k * interval for k in range(first, min(last, first + limit - 1) + 1)]
        return times, last - first + 1, spec.anchor + last * interval
    if spec.kind == "cron":
        cron = _cron(spec.text)
        zone = _spec_zone(spec, tz)
        lo, hi = datetime.fromtimestamp(due_at, zone), datetime.fromtimestamp(now, zone)
        shown: list[float] = []
        cursor = lo
        while len(shown) < limit:
            cursor = cron.next_after(cursor)
            if cursor.timestamp() > now:
                return shown, len(shown), shown[-1] if shown else due_at  # the usual tick ends here, nothing counted
            shown.append(cursor.timestamp())
        return shown, cron.count_between(lo, hi), cron.last_at_or_before(hi).timestamp()
    if spec.kind == "at":
        if due_at < spec.anchor <= now:
            return [spec.anchor], 1, spec.anchor
        return [], 0, due_at
    raise ScheduleError(f"unknown schedule kind '{spec.kind}' (use every, cron or at)")


def describe(spec: Spec) -> str:
    """Short text for lists and logs: "every 30m", "cron 0 3 * * *", "at 2026-12-01 03:00"."""
    zone = f" ({spec.tz})" if spec.tz else ""
    if spec.kind == "at":
        match = _AT_RE.fullmatch(spec.text)
        if match is None:
            return f"at {spec.text}{zone}"
        seconds = match["sec"] if match["sec"] and match["sec"].strip(":0.") else ""
        offset = match["off"] or ""
        shown = f" {'UTC' if offset.upper() == 'Z' else offset}" if offset else zone
        return f"at {match['date']} {match['hm']}{seconds}{shown}"
    if spec.kind == "cron":
        return f"cron {spec.text}{zone}"
    return f"{spec.kind} {spec.text}"


def _zone_of(t: datetime) -> tzinfo:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{t.isoformat()} must be timezone-aware")
    return t.tzinfo


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def _named_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone '{name}' (use an IANA name such as Europe/Berlin)") from None


def _spec_zone(spec: Spec, tz: tzinfo) -> tzinfo:
    return _named_zone(spec.tz) if spec.tz else tz


def _resolve(wall: datetime, tz: tzinfo) -> datetime | None:
    """`wall` (naive) in `tz` at its first occurrence, or None when a clock change skips it."""
    aware = wall.replace(tzinfo=tz, fold=0)
    if isinstance(tz, timezone):
        return aware
    back = aware.astimezone(UTC).astimezone(tz)
    return aware if back.replace(tzinfo=None) == wall else None


def _regular_day(day: date, tz: tzinfo) -> bool:
    """Whether `day` has no clock change, so every wall-clock minute of it exists exactly once."""
    if isinstance(tz, timezone):
        return True
    offsets = {
        datetime.combine(day, time(0), tz).utcoffset(),
        datetime.combine(day, time(12), tz).utcoffset(),
        datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset(),
    }
    return len(offsets) == 1
