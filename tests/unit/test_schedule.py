"""The scheduler's time logic: cron parsing and next times (DST days too), intervals, at-times, missed runs."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashboard.core.schedule import (
    Cron,
    Decision,
    ScheduleError,
    Spec,
    decide,
    describe,
    next_fire,
    parse_at,
    parse_cron,
    parse_every,
    parse_spec,
)

U = ZoneInfo("UTC")
B = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a 30-minute clock change
SANTIAGO = ZoneInfo("America/Santiago")  # clocks change at midnight
ZONES = [U, B, NY, LORD_HOWE, SANTIAGO]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=U)


def ber(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=B, fold=fold)


def fires_at(cron: Cron, local: datetime) -> bool:
    """Independent oracle: does the cron fire at this instant (given as a local time from astimezone)?"""
    weekday = local.isoweekday() % 7
    in_dom, in_dow = local.day in cron.days, weekday in cron.weekdays
    day_ok = (in_dom or in_dow) if cron.dom_restricted and cron.dow_restricted else (in_dom and in_dow)
    return (
        local.fold == 0  # a repeated wall-clock minute fires at its first occurrence only
        and local.minute in cron.minutes
        and local.hour in cron.hours
        and local.month in cron.months
        and day_ok
    )


# --- cron parsing -------------------------------------------------------------------------------------------


def test_fields_steps_ranges_and_lists() -> None:
    cron = parse_cron("*/15 0-3,22 1,15 jan-mar,DEC mon-fri")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == {0, 1, 2, 3, 22}
    assert cron.days == {1, 15}
    assert cron.months == {1, 2, 3, 12}
    assert cron.weekdays == {1, 2, 3, 4, 5}
    assert cron.dom_restricted and cron.dow_restricted
    assert cron.text == "*/15 0-3,22 1,15 jan-mar,DEC mon-fri"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", set(range(60))),
        ("7", {7}),
        ("5-10", {5, 6, 7, 8, 9, 10}),
        ("5-10/2", {5, 7, 9}),
        ("10/20", {10, 30, 50}),
        ("*/20", {0, 20, 40}),
        ("*/60", {0}),
        ("1,2,3-4,50-59/5", {1, 2, 3, 4, 50, 55}),
        ("05", {5}),
    ],
)
def test_minute_field_forms(field: str, expected: set[int]) -> None:
    assert parse_cron(f"{field} * * * *").minutes == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("7", {0}),
        ("0", {0}),
        ("5-7", {5, 6, 0}),
        ("0-7", set(range(7))),
        ("*", set(range(7))),
        ("*/2", {0, 2, 4, 6}),
        ("mon/2", {1, 3, 5}),
        ("7/1", {0}),
        ("SUN,Sat", {0, 6}),
        ("Mon-Wed", {1, 2, 3}),
    ],
)
def test_weekday_field_forms(field: str, expected: set[int]) -> None:
    assert parse_cron(f"0 0 * * {field}").weekdays == expected


def test_month_names_are_case_insensitive() -> None:
    assert parse_cron("0 0 1 JAN,jUl,dec *").months == {1, 7, 12}
    assert parse_cron("0 0 1 feb-apr/2 *").months == {2, 4}


def test_restriction_follows_vixie_first_character_rule() -> None:
    assert not parse_cron("0 0 * * *").dom_restricted
    assert not parse_cron("0 0 */2 * 1").dom_restricted  # starts with '*': still AND with day-of-week
    assert parse_cron("0 0 1-31 * 1").dom_restricted  # the full range written out is a restriction (OR)
    assert parse_cron("0 0 1 * 0-7").dow_restricted


@pytest.mark.parametrize(
    ("macro", "expansion"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_expand(macro: str, expansion: str) -> None:
    got, want = parse_cron(f" {macro} "), parse_cron(expansion)
    assert (got.minutes, got.hours, got.days, got.months, got.weekdays) == (
        want.minutes,
        want.hours,
        want.days,
        want.months,
        want.weekdays,
    )
    assert (got.dom_restricted, got.dow_restricted) == (want.dom_restricted, want.dow_restricted)
    assert got.text == macro


@pytest.mark.parametrize(
    ("expr", "fragments"),
    [
        ("61 * * * *", ["invalid cron '61 * * * *'", "minute 61 is out of range 0-59"]),
        ("* 24 * * *", ["hour 24 is out of range 0-23"]),
        ("* * 0 * *", ["day-of-month 0 is out of range 1-31"]),
        ("* * 32 * *", ["day-of-month 32 is out of range 1-31"]),
        ("* * * 13 *", ["month 13 is out of range 1-12"]),
        ("* * * * 8", ["day-of-week 8 is out of range 0-7"]),
        ("* * * *", ["expected 5 fields", "got 4"]),
        ("* * * * * *", ["expected 5 fields", "got 6"]),
        ("", ["expected 5 fields", "empty expression"]),
        ("   ", ["empty expression"]),
        ("*/0 * * * *", ["minute step", "at least 1"]),
        ("*/61 * * * *", ["minute step 61", "larger than the range 0-59"]),
        ("0 0 * * */8", ["day-of-week step 8", "0-6"]),
        ("*/x * * * *", ["minute step 'x'", "not a number"]),
        ("30-10 * * * *", ["minute range '30-10' is reversed"]),
        ("0 0 * * fri-mon", ["day-of-week range 'fri-mon' is reversed"]),
        ("x * * * *", ["minute 'x' is not a number"]),
        ("* * * foo *", ["month 'foo' is not a number or a name (jan-dec)"]),
        ("* * * * funday", ["day-of-week 'funday' is not a number or a name (sun-sat)"]),
        ("* * * jan-x *", ["month 'x'"]),
        ("1,,2 * * * *", ["minute field '1,,2' has an empty list item"]),
        ("1, * * * *", ["empty list item"]),
        ("-5 * * * *", ["minute '-5' is not a valid value or range"]),
        ("5- * * * *", ["minute '5-' is not a valid value or range"]),
        ("1-2-3 * * * *", ["minute '2-3' is not a number"]),
        ("? * * * *", ["minute '?' is not a number"]),
        ("٣ * * * *", ["not a number"]),  # a non-ASCII digit
        ("@reboot", ["unknown macro", "@reboot is not supported"]),
        ("@fortnightly", ["unknown macro", "@daily"]),
        ("0 0 31 2 *", ["invalid cron '0 0 31 2 *'", "never fires", "'31'", "'2'"]),
        ("0 0 30,31 feb *", ["never fires"]),
        ("0 0 31 4,6,9,11 *", ["never fires"]),
        ("0 0 31 2 */7", ["never fires"]),  # day-of-week starts with '*': AND, and Feb 31 never comes
    ],
)
def test_invalid_cron_is_refused_with_a_clear_message(expr: str, fragments: list[str]) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_cron(expr)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("expr", ["0 0 29 2 *", "0 0 31 2 mon", "0 0 30 1-2 *", "0 0 29 2 */7"])
def test_rare_but_possible_crons_are_accepted(expr: str) -> None:
    parse_cron(expr)


# --- cron next times ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("*/15 * * * *", utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 15)),
        ("*/15 * * * *", utc(2026, 1, 1, 0, 14, 59), utc(2026, 1, 1, 0, 15)),
        ("*/15 * * * *", utc(2026, 1, 1, 0, 15), utc(2026, 1, 1, 0, 30)),
        ("*/15 * * * *", utc(2026, 1, 1, 23, 50), utc(2026, 1, 2, 0, 0)),
        ("* * * * *", utc(2026, 12, 31, 23, 59, 30), utc(2027, 1, 1, 0, 0)),
        ("0 3 * * *", utc(2026, 1, 1, 3, 0), utc(2026, 1, 2, 3, 0)),
        ("0 3 * * *", utc(2026, 1, 1, 2, 59, 59), utc(2026, 1, 1, 3, 0)),
        ("30 */6 * * *", utc(2026, 1, 1, 6, 31), utc(2026, 1, 1, 12, 30)),
        ("0 0 1 1 *", utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)),
        ("@yearly", utc(2026, 6, 1), utc(2027, 1, 1)),
        ("@monthly", utc(2026, 1, 31, 12), utc(2026, 2, 1)),
        ("@weekly", utc(2026, 1, 1), utc(2026, 1, 4)),  # 2026-01-01 is a Thursday
        ("@hourly", utc(2026, 1, 1, 10, 0, 1), utc(2026, 1, 1, 11)),
        ("0 0 29 2 *", utc(2026, 1, 1), utc(2028, 2, 29)),
        ("0 0 31 * *", utc(2026, 4, 1), utc(2026, 5, 31)),
        ("0 9 * * mon-fri", utc(2026, 1, 2, 10), utc(2026, 1, 5, 9)),
        ("0 12 * * 7", utc(2026, 1, 1), utc(2026, 1, 4, 12)),
        ("0 0 * * 5-7", utc(2026, 1, 4, 1), utc(2026, 1, 9)),
        ("0 0 1 jan,jul *", utc(2026, 1, 1), utc(2026, 7, 1)),
        # day-of-month and day-of-week both restricted: the 13th OR any Friday
        ("0 0 13 * 5", utc(2026, 1, 1), utc(2026, 1, 2)),
        ("0 0 13 * 5", utc(2026, 1, 10), utc(2026, 1, 13)),
        ("0 0 13 * fri", utc(2026, 1, 13), utc(2026, 1, 16)),
        # day-of-month starts with '*': odd days AND Fridays (Jan 2 is an even Friday)
        ("0 0 */2 * 5", utc(2026, 1, 1), utc(2026, 1, 9)),
        # day-of-week '*': AND with every weekday is just the day-of-month
        ("0 0 13 * *", utc(2026, 1, 1), utc(2026, 1, 13)),
        ("0 0 29 2 */7", utc(2026, 1, 1), utc(2032, 2, 29)),  # Feb 29 that is a Sunday
    ],
)
def test_next_after_utc(expr: str, after: datetime, expected: datetime) -> None:
    got = parse_cron(expr).next_after(after)
    assert got == expected
    assert got.tzinfo is U


@pytest.mark.parametrize(
    ("expr", "after", "expected_utc"),
    [
        # spring forward 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:xx does not exist and is skipped
        ("30 2 * * *", ber(2026, 3, 28, 3), utc(2026, 3, 30, 0, 30)),
        ("30 2 * * *", ber(2026, 3, 27, 3), utc(2026, 3, 28, 1, 30)),
        ("*/30 * * * *", ber(2026, 3, 29, 1, 45), utc(2026, 3, 29, 1, 0)),  # 03:00 CEST
        ("0 3 * * *", ber(2026, 3, 28, 3), utc(2026, 3, 29, 1, 0)),  # 23 hours later
        ("0 2 * * *", ber(2026, 3, 29, 1, 59), utc(2026, 3, 30, 0, 0)),
        ("59 1 * * *", ber(2026, 3, 29, 1, 58), utc(2026, 3, 29, 0, 59)),
        # fall back 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:xx happens twice and fires once
        ("30 2 * * *", ber(2026, 10, 24, 3), utc(2026, 10, 25, 0, 30)),
        ("30 2 * * *", ber(2026, 10, 25, 2, 30), utc(2026, 10, 26, 1, 30)),
        ("0 * * * *", ber(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 0)),  # 02:00 CEST
        ("0 * * * *", ber(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 0)),  # 03:00 CET: 02:00 CET skipped
        ("45 2 * * *", ber(2026, 10, 25, 2, 30, fold=1), utc(2026, 10, 26, 1, 45)),  # 02:45 CEST is already past
        ("15 3 * * *", ber(2026, 10, 25, 2, 30, fold=1), utc(2026, 10, 25, 2, 15)),
        ("0 3 * * *", ber(2026, 10, 24, 3), utc(2026, 10, 25, 2, 0)),  # 25 hours later
        ("0 12 * * *", ber(2026, 6, 1, 12), utc(2026, 6, 2, 10)),
    ],
)
def test_next_after_berlin_dst(expr: str, after: datetime, expected_utc: datetime) -> None:
    got = parse_cron(expr).next_after(after)
    assert got.timestamp() == expected_utc.timestamp()
    assert got.tzinfo is B
    assert got.fold == 0


def test_hourly_cron_on_the_fall_back_night() -> None:
    cron, t = parse_cron("0 * * * *"), ber(2026, 10, 25, 0, 30)
    seen = []
    for _ in range(4):
        t = cron.next_after(t)
        seen.append(f"{t:%H:%M%z}")
    assert seen == ["01:00+0200", "02:00+0200", "03:00+0100", "04:00+0100"]


def test_last_at_or_before() -> None:
    cron = parse_cron("0 3 * * *")
    assert cron.last_at_or_before(utc(2026, 1, 2, 3)) == utc(2026, 1, 2, 3)
    assert cron.last_at_or_before(utc(2026, 1, 2, 2, 59)) == utc(2026, 1, 1, 3)
    # fall back: at 02:30 CET (second pass) the latest 02:45 is the first pass's, 45 minutes before 02:30 CEST
    got = parse_cron("45 2 * * *").last_at_or_before(ber(2026, 10, 25, 2, 30, fold=1))
    assert got.timestamp() == utc(2026, 10, 25, 0, 45).timestamp()
    # spring forward: 02:30 did not exist on the 29th
    got = parse_cron("30 2 * * *").last_at_or_before(ber(2026, 3, 29, 12))
    assert got.timestamp() == utc(2026, 3, 28, 1, 30).timestamp()


def test_a_cron_whose_every_match_falls_into_a_gap_is_reported() -> None:
    # 25-31 March AND Sunday is the EU's spring-forward day, at 02:30 which it skips
    cron = parse_cron("30 2 25-31 3 */7")
    assert cron.next_after(utc(2026, 1, 1)) == utc(2026, 3, 29, 2, 30)
    with pytest.raises(ScheduleError, match="daylight-saving gap") as info:
        cron.next_after(ber(2026, 1, 1))
    assert "Europe/Berlin" in str(info.value)


def test_naive_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_cron("* * * * *").next_after(datetime(2026, 1, 1))


def test_fixed_offset_zones() -> None:
    plus2 = timezone(timedelta(hours=2))
    got = parse_cron("0 3 * * *").next_after(datetime(2026, 1, 1, 4, tzinfo=plus2))
    assert got == datetime(2026, 1, 2, 3, tzinfo=plus2)
    assert got.tzinfo is plus2


# --- properties ---------------------------------------------------------------------------------------------

FIELD_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
TRANSITIONS = [
    int(d.timestamp())
    for d in [
        utc(2026, 3, 29, 1),
        utc(2026, 10, 25, 1),
        utc(2026, 3, 8, 7),
        utc(2026, 11, 1, 6),
        utc(2026, 4, 4, 15),
        utc(2026, 10, 3, 15),
        utc(2026, 4, 5, 3),
        utc(2026, 9, 6, 4),
    ]
]


@st.composite
def cron_field(draw: st.DrawFn, low: int, high: int) -> str:
    def item() -> str:
        a = draw(st.integers(low, high))
        b = draw(st.integers(a, high))
        kind = draw(st.sampled_from(["*", "a", "a-b", "*/n", "a-b/n", "a/n"]))
        n = draw(st.integers(1, min(high, 6) - low + 1))
        return {"*": "*", "a": f"{a}", "a-b": f"{a}-{b}", "*/n": f"*/{n}", "a-b/n": f"{a}-{b}/{n}", "a/n": f"{a}/{n}"}[
            kind
        ]

    return ",".join(item() for _ in range(draw(st.integers(1, 3))))


@st.composite
def cron_expr(draw: st.DrawFn) -> Cron:
    fields = [draw(cron_field(low, high)) for low, high in FIELD_BOUNDS]
    if draw(st.booleans()):  # keep some crons dense so the brute-force window sees several matches
        fields[1] = draw(st.sampled_from(["*", "*/2", "0-11"]))
    try:
        return parse_cron(" ".join(fields))
    except ScheduleError:
        assume(False)
        raise


epochs = st.one_of(
    st.integers(int(utc(2020, 1, 1).timestamp()), int(utc(2035, 1, 1).timestamp())),
    st.sampled_from(TRANSITIONS).flatmap(lambda x: st.integers(x - 2 * 86400, x + 2 * 86400)),
)
WINDOW = timedelta(days=2)


def minutes_between(lo: datetime, hi: datetime, tz: tzinfo) -> list[datetime]:
    """Every whole UTC minute strictly between lo and hi (capped at WINDOW), as local times."""
    start = datetime.fromtimestamp((int(lo.timestamp()) // 60 + 1) * 60, UTC)
    end = min(hi.astimezone(UTC), lo.astimezone(UTC) + WINDOW)
    out, m = [], start
    while m < end:
        out.append(m.astimezone(tz))
        m += timedelta(minutes=1)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(cron=cron_expr(), epoch=epochs, tz=st.sampled_from(ZONES))
def test_next_after_is_the_first_match(cron: Cron, epoch: int, tz: tzinfo) -> None:
    t = datetime.fromtimestamp(epoch, tz)
    try:
        got = cron.next_after(t)
    except ScheduleError:
        assert tz is not U  # only clock changes can hide every match
        return
    assert got.timestamp() > t.timestamp()
    assert got.tzinfo is tz
    assert fires_at(cron, got.astimezone(UTC).astimezone(tz))  # matches, exists and is the first pass
    assert not [m for m in minutes_between(t, got, tz) if fires_at(cron, m)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(cron=cron_expr(), epoch=epochs, tz=st.sampled_from(ZONES))
def test_last_at_or_before_is_the_latest_match(cron: Cron, epoch: int, tz: tzinfo) -> None:
    t = datetime.fromtimestamp(epoch, tz)
    try:
        got = cron.last_at_or_before(t)
    except ScheduleError:
        assert tz is not U
        return
    assert got.timestamp() <= t.timestamp()
    assert fires_at(cron, got.astimezone(UTC).astimezone(tz))
    assert not [m for m in minutes_between(got, t + timedelta(seconds=1), tz) if fires_at(cron, m)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(cron=cron_expr(), epoch=epochs, span=st.integers(0, 2 * 86400), tz=st.sampled_from(ZONES))
def test_count_between_matches_brute_force(cron: Cron, epoch: int, span: int, tz: tzinfo) -> None:
    lo = datetime.fromtimestamp(epoch, tz)
    hi = datetime.fromtimestamp(epoch + span, tz)
    expected = sum(1 for m in minutes_between(lo, hi + timedelta(seconds=1), tz) if fires_at(cron, m))
    assert cron.count_between(lo, hi) == expected


def test_count_between_over_a_dst_year() -> None:
    # a year of minutes in Berlin: the fall-back night's repeated hour fires once, the skipped hour never existed
    cron = parse_cron("* * * * *")
    assert cron.count_between(ber(2026, 1, 1), ber(2027, 1, 1)) == 365 * 1440 - 60
    assert cron.count_between(utc(2026, 1, 1), utc(2027, 1, 1)) == 365 * 1440


# --- intervals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("1s", 1),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("90m", 5400),
        ("1d12h", 129600),
        ("30m1h", 5400),
        (" 1h 30m ", 5400),
        ("2H", 7200),
        ("0h30m", 1800),
        ("366d", 366 * 86400),
        ("52w", 52 * 604800),
    ],
)
def test_parse_every(text: str, seconds: int) -> None:
    assert parse_every(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("45", ["invalid interval '45'", "missing unit", "45s"]),
        ("0s", ["at least 1s"]),
        ("0m0s", ["at least 1s"]),
        ("-5m", ["must be positive"]),
        ("abc", ["expected a duration like 30s"]),
        ("", ["expected a duration"]),
        ("1.5h", ["expected a duration"]),
        ("5x", ["unknown unit 'x'", "s, m, h, d or w"]),
        ("5min", ["unknown unit 'min'"]),
        ("1h1h", ["unit 'h' appears twice"]),
        ("367d", ["at most 366d"]),
        ("53w", ["at most 366d"]),
        ("99999999999999999999999w", ["at most 366d"]),
        ("５m", ["expected a duration"]),  # a full-width digit
    ],
)
def test_parse_every_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_every(text)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


# --- at -----------------------------------------------------------------------------------------------------

NOW = ber(2026, 6, 1, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T03:00", ber(2026, 12, 1, 3)),  # naive: the caller's zone, winter offset on that date
        ("2026-12-01 03:00", ber(2026, 12, 1, 3)),
        ("2026-12-01t03:00:30", ber(2026, 12, 1, 3, 0, 30)),
        ("2026-06-01T12:00:01", ber(2026, 6, 1, 12, 0, 1)),
        ("2026-12-01T03:00Z", utc(2026, 12, 1, 3)),
        ("2026-12-01T03:00:00+05:30", datetime(2026, 12, 1, 3, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        ("2026-12-01T03:00-0400", datetime(2026, 12, 1, 3, tzinfo=timezone(timedelta(hours=-4)))),
    ],
)
def test_parse_at(text: str, expected: datetime) -> None:
    got = parse_at(text, NOW)
    assert got.timestamp() == expected.timestamp()
    assert got.utcoffset() == expected.utcoffset()


def test_parse_at_naive_ambiguous_time_is_the_first_pass() -> None:
    got = parse_at("2026-10-25T02:30", NOW)
    assert got.timestamp() == utc(2026, 10, 25, 0, 30).timestamp()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("2026-06-01T11:59", ["'2026-06-01T11:59' is in the past", "now is 2026-06-01 12:00:00 CEST"]),
        ("2026-06-01T12:00", ["is in the past"]),  # not after now
        ("2026-06-01T09:59Z", ["is in the past"]),
        ("2026-06-01T13:59+04:00", ["is in the past"]),
        ("2025-01-01T00:00", ["is in the past"]),
        ("2026-03-29T02:30", ["does not exist in Europe/Berlin"]),
        ("2026-13-01T03:00", ["invalid time", "month must be in 1..12"]),
        ("2026-02-30T03:00", ["invalid time", "day is out of range"]),
        ("2026-12-01", ["expected an ISO 8601 date-time like 2026-12-01T03:00"]),
        ("tomorrow 3am", ["expected an ISO 8601"]),
        ("2026-12-01T3:00", ["expected an ISO 8601"]),
        ("", ["expected an ISO 8601"]),
    ],
)
def test_parse_at_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_at(text, NOW)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_parse_at_offset_wins_over_the_zone_of_now() -> None:
    assert parse_at("2026-06-01T10:30Z", NOW) == utc(2026, 6, 1, 10, 30)  # 12:30 in Berlin: future


def test_parse_at_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_at("2026-12-01T03:00", datetime(2026, 6, 1))


# --- specs and next_fire ------------------------------------------------------------------------------------


def test_parse_spec_kinds() -> None:
    every = parse_spec("every", " 30m ", NOW)
    assert every == Spec("every", "30m", NOW.timestamp(), None)
    cron = parse_spec("cron", "0 3 * * *", NOW, tz="America/New_York")
    assert cron == Spec("cron", "0 3 * * *", NOW.timestamp(), "America/New_York")
    at = parse_spec("at", "2026-12-01T03:00", NOW)
    assert at.anchor == ber(2026, 12, 1, 3).timestamp()
    at_ny = parse_spec("at", "2026-12-01T03:00", NOW, tz="America/New_York")
    assert at_ny.anchor == datetime(2026, 12, 1, 3, tzinfo=NY).timestamp()


@pytest.mark.parametrize(
    ("kind", "text", "tz", "fragment"),
    [
        ("every", "45", None, "missing unit"),
        ("cron", "61 * * * *", None, "out of range"),
        ("cron", "30 2 25-31 3 */7", None, "daylight-saving gap"),
        ("at", "2020-01-01T00:00", None, "in the past"),
        ("hourly", "x", None, "unknown schedule kind 'hourly' (use every, cron or at)"),
        ("cron", "0 3 * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("cron", "0 3 * * *", "../etc/passwd", "unknown time zone"),
    ],
)
def test_parse_spec_errors(kind: str, text: str, tz: str | None, fragment: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_spec(kind, text, NOW, tz=tz)
    assert fragment in str(info.value)


def test_parse_spec_checks_cron_gaps_in_its_own_zone() -> None:
    assert parse_spec("cron", "30 2 25-31 3 */7", NOW, tz="UTC").tz == "UTC"


def test_next_fire_every_counts_from_the_anchor() -> None:
    spec = Spec("every", "30m", 1000.0)
    assert next_fire(spec, 0.0, U) == 2800.0  # k >= 1: the creation time itself is not an occurrence
    assert next_fire(spec, 1000.0, U) == 2800.0
    assert next_fire(spec, 2799.9, U) == 2800.0
    assert next_fire(spec, 2800.0, U) == 4600.0
    assert next_fire(spec, 1000.0 + 1800 * 1000 + 0.5, U) == 1000.0 + 1800 * 1001


def test_every_never_drifts() -> None:
    anchor = 1767225600.123
    spec = Spec("every", "7s", anchor)
    t: float | None = anchor
    for _ in range(10_000):
        assert t is not None
        t = next_fire(spec, t, U)
    assert t == anchor + 7 * 10_000
    assert next_fire(spec, anchor + 7 * 10_000 - 1e-3, U) == anchor + 7 * 10_000


def test_next_fire_cron_uses_the_spec_zone_over_the_local_one() -> None:
    after = utc(2026, 6, 1, 12).timestamp()
    assert next_fire(Spec("cron", "0 3 * * *", 0.0), after, U) == utc(2026, 6, 2, 3).timestamp()
    assert next_fire(Spec("cron", "0 3 * * *", 0.0), after, B) == utc(2026, 6, 2, 1).timestamp()
    berlin = Spec("cron", "0 3 * * *", 0.0, "Europe/Berlin")
    assert next_fire(berlin, after, NY) == utc(2026, 6, 2, 1).timestamp()


def test_next_fire_at() -> None:
    spec = Spec("at", "2026-12-01T03:00", 5000.0)
    assert next_fire(spec, 4999.0, U) == 5000.0
    assert next_fire(spec, 5000.0, U) is None
    assert next_fire(spec, 6000.0, U) is None


def test_next_fire_unknown_kind() -> None:
    with pytest.raises(ScheduleError, match="unknown schedule kind"):
        next_fire(Spec("sometimes", "x", 0.0), 0.0, U)


# --- decide -------------------------------------------------------------------------------------------------

DAILY_3AM = Spec("cron", "0 3 * * *", ber(2026, 6, 1).timestamp())
DUE_3AM = ber(2026, 6, 10, 3).timestamp()
NEXT_3AM = ber(2026, 6, 11, 3).timestamp()


def test_on_time_fire() -> None:
    spec = Spec("every", "5m", 0.0)
    assert decide(spec, 300.0, 302.5, "skip", U) == Decision(fire=300.0, missed=(), more_missed=0, next=600.0)
    assert decide(spec, 300.0, 360.0, "once", U) == Decision(fire=300.0, missed=(), more_missed=0, next=600.0)


def test_on_time_fire_records_occurrences_it_passes_over() -> None:
    spec = Spec("every", "1s", 0.0)
    got = decide(spec, 10.0, 40.5, "skip", U)
    assert got.fire == 10.0
    assert got.missed == tuple(float(k) for k in range(11, 31))
    assert got.more_missed == 10  # 31..40
    assert got.next == 41.0


def test_reboot_before_a_daily_run_with_skip() -> None:
    # the machine went down at 02:58 and came back at 03:10: the 03:00 run is missed, not run late
    now = ber(2026, 6, 10, 3, 10).timestamp()
    got = decide(DAILY_3AM, DUE_3AM, now, "skip", B)
    assert got == Decision(fire=None, missed=(DUE_3AM,), more_missed=0, next=NEXT_3AM)


def test_reboot_before_a_daily_run_with_once() -> None:
    now = ber(2026, 6, 10, 3, 10).timestamp()
    got = decide(DAILY_3AM, DUE_3AM, now, "once", B)
    assert got == Decision(fire=DUE_3AM, missed=(), more_missed=0, next=NEXT_3AM)


def test_days_of_downtime_with_once_fire_the_latest() -> None:
    now = ber(2026, 6, 13, 9).timestamp()
    got = decide(DAILY_3AM, DUE_3AM, now, "once", B)
    assert got.fire == ber(2026, 6, 13, 3).timestamp()
    assert got.missed == (DUE_3AM, ber(2026, 6, 11, 3).timestamp(), ber(2026, 6, 12, 3).timestamp())
    assert got.more_missed == 0
    assert got.next == ber(2026, 6, 14, 3).timestamp()
    skipped = decide(DAILY_3AM, DUE_3AM, now, "skip", B)
    assert skipped.fire is None and len(skipped.missed) == 4 and skipped.next == got.next


def test_a_year_of_downtime_every_second_is_fast_and_capped() -> None:
    spec = Spec("every", "1s", 1_000_000.0)
    due, now = 1_000_001.0, 1_000_000.0 + 365 * 86400 + 0.5
    start = clock.perf_counter()
    skipped = decide(spec, due, now, "skip", U)
    once = decide(spec, due, now, "once", U)
    assert clock.perf_counter() - start < 0.1
    total = 365 * 86400
    assert skipped.fire is None
    assert skipped.missed == tuple(due + k for k in range(20))
    assert len(skipped.missed) + skipped.more_missed == total
    assert skipped.next == 1_000_000.0 + total + 1
    assert once.fire == 1_000_000.0 + total
    assert once.missed == skipped.missed
    assert len(once.missed) + once.more_missed == total - 1
    assert once.next == skipped.next


def test_a_year_of_downtime_every_minute_cron_is_fast_and_counted() -> None:
    spec = Spec("cron", "* * * * *", 0.0, "Europe/Berlin")
    due, now = ber(2026, 1, 1).timestamp(), ber(2027, 1, 1).timestamp()
    start = clock.perf_counter()
    got = decide(spec, due, now, "skip", U, cap=5)
    assert clock.perf_counter() - start < 0.5
    assert got.missed == tuple(due + 60 * k for k in range(5))
    assert len(got.missed) + got.more_missed == 365 * 1440 - 60 + 1  # [due, now] both ends included
    assert got.next == now + 60


def test_cap_zero_lists_nothing_but_counts_everything() -> None:
    got = decide(Spec("every", "1m", 0.0), 60.0, 3600.0, "skip", U, cap=0)
    assert got.missed == () and got.more_missed == 60


def test_at_fires_once_then_is_over() -> None:
    spec = Spec("at", "2026-12-01T03:00", 5000.0)
    assert decide(spec, 5000.0, 5001.0, "skip", U) == Decision(fire=5000.0, missed=(), more_missed=0, next=None)
    assert decide(spec, 5000.0, 9000.0, "skip", U) == Decision(fire=None, missed=(5000.0,), more_missed=0, next=None)
    assert decide(spec, 5000.0, 9000.0, "once", U) == Decision(fire=5000.0, missed=(), more_missed=0, next=None)


def test_custom_grace() -> None:
    spec = Spec("every", "1h", 0.0)
    assert decide(spec, 3600.0, 3700.0, "skip", U, grace=120.0).fire == 3600.0
    assert decide(spec, 3600.0, 3700.0, "skip", U, grace=60.0).fire is None


def test_an_early_tick_does_nothing() -> None:
    spec = Spec("every", "1h", 0.0)
    assert decide(spec, 3600.0, 3599.0, "skip", U) == Decision(fire=None, missed=(), more_missed=0, next=3600.0)


def test_decide_rejects_unknown_policy() -> None:
    with pytest.raises(ScheduleError, match="unknown missed-run policy 'catchup' \\(use skip or once\\)"):
        decide(Spec("every", "1h", 0.0), 3600.0, 3600.0, "catchup", U)


@settings(max_examples=100, deadline=None)
@given(
    interval=st.integers(1, 7200),
    anchor=st.floats(0, 2e9, allow_nan=False),
    late_k=st.integers(1, 50),
    extra_ms=st.integers(0, 999),  # well inside the interval: float rounding must not push now onto the next one
    policy=st.sampled_from(["skip", "once"]),
)
def test_decide_every_matches_enumeration(
    interval: int, anchor: float, late_k: int, extra_ms: int, policy: str
) -> None:
    spec = Spec("every", f"{interval}s", anchor)
    due = anchor + interval
    now = due + (late_k - 1 + extra_ms / 1000) * interval
    occurrences = [anchor + k * interval for k in range(1, late_k + 1)]
    got = decide(spec, due, now, policy, U, cap=10)
    assert got.next == anchor + (late_k + 1) * interval
    assert got.next is not None and got.next > now
    if now - due <= 60:
        assert got.fire == due
        expected_missed = occurrences[1:]
    elif policy == "skip":
        assert got.fire is None
        expected_missed = occurrences
    else:
        assert got.fire == occurrences[-1]
        expected_missed = occurrences[:-1]
    assert list(got.missed) == expected_missed[:10]
    assert got.more_missed == len(expected_missed) - len(got.missed)


# --- describe -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (Spec("every", "30m", 0.0), "every 30m"),
        (Spec("cron", "0 3 * * *", 0.0), "cron 0 3 * * *"),
        (Spec("cron", "@daily", 0.0, "Europe/Berlin"), "cron @daily (Europe/Berlin)"),
        (Spec("at", "2026-12-01T03:00", 0.0), "at 2026-12-01 03:00"),
        (Spec("at", "2026-12-01T03:00:00", 0.0), "at 2026-12-01 03:00"),
        (Spec("at", "2026-12-01T03:00:30", 0.0), "at 2026-12-01 03:00:30"),
        (Spec("at", "2026-12-01T03:00Z", 0.0), "at 2026-12-01 03:00 UTC"),
        (Spec("at", "2026-12-01T03:00+02:00", 0.0), "at 2026-12-01 03:00 +02:00"),
        (Spec("at", "2026-12-01T03:00", 0.0, "America/New_York"), "at 2026-12-01 03:00 (America/New_York)"),
    ],
)
def test_describe(spec: Spec, text: str) -> None:
    assert describe(spec) == text
