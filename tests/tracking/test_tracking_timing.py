"""Property tests of tracking/timing.py: wall-clock arithmetic in zones with 30-minute DST
(Lord Howe), odd offsets (Kathmandu, whose +05:30 -> +05:45 change on 1986-01-01 put a gap at
midnight), the usual one-hour DST (New York, London) and UTC.

Every expectation comes from an oracle that does not use timing.py: it finds the UTC instants
whose local wall time equals the one asked for by trying each offset the zone uses near that
day, and reads a gap as calendars do (the offset from before the change)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from timeledger.server.tracking.timing import (
    MAX_ENTRY_SECONDS,
    ROUNDING_INCREMENTS,
    ROUNDING_MODES,
    hours_to_seconds,
    interval_from_clock,
    local_date,
    local_hhmm,
    parse_hhmm,
    round_seconds,
    seconds_to_hours,
    to_instant,
)

ZONES = ("Australia/Lord_Howe", "Asia/Kathmandu", "America/New_York", "Europe/London", "UTC")
YEARS = range(2024, 2029)
FIRST_DAY, LAST_DAY = date(1985, 1, 1), date(2035, 12, 31)
HOUR = 3600
PROPERTY = settings(max_examples=200, deadline=None)

# --- the oracle ---


def _offsets_near(day: date, zone: ZoneInfo) -> list[timedelta]:
    """Every UTC offset the zone uses within two days of `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=2)
    found = {
        (start + timedelta(minutes=15 * i)).astimezone(zone).utcoffset() for i in range(4 * 24 * 5)
    }
    return sorted(o for o in found if o is not None)


def oracle_instant(day: date, clock: time, zone: ZoneInfo) -> tuple[datetime, timedelta]:
    """(UTC instant, how far the wall time was pushed forward): the first instant whose local
    time is day+clock; in a gap, the instant day+clock names under the offset before the
    change (the smaller one: a gap only opens when the offset grows)."""
    wall = datetime.combine(day, clock)
    offsets = _offsets_near(day, zone)
    real = []
    for offset in offsets:
        instant = (wall - offset).replace(tzinfo=UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            real.append(instant)
    if real:
        return min(real), timedelta(0)
    before = _offset_before_gap(wall, zone, offsets)
    instant = (wall - before).replace(tzinfo=UTC)
    return instant, instant.astimezone(zone).replace(tzinfo=None) - wall


def _offset_before_gap(wall: datetime, zone: ZoneInfo, offsets: list[timedelta]) -> timedelta:
    """The offset in force just before the gap that swallows `wall`: a change from `smaller`
    to `larger` at instant T leaves wall times T+smaller .. T+larger unused, so wall is in it
    when wall-larger is still before T and wall-smaller is already after it."""
    for smaller in offsets:
        for larger in offsets:
            if larger <= smaller:
                continue
            before = (wall - larger).replace(tzinfo=UTC).astimezone(zone).utcoffset()
            after = (wall - smaller).replace(tzinfo=UTC).astimezone(zone).utcoffset()
            if (before, after) == (smaller, larger):
                return smaller
    raise AssertionError(f"{wall} in {zone} is neither a real wall time nor in a gap")


@cache
def day_length(day: date, zone_name: str) -> timedelta:
    """Real length of a local day, midnight to midnight, by the oracle."""
    zone = ZoneInfo(zone_name)
    start, _ = oracle_instant(day, time(0), zone)
    end, _ = oracle_instant(day + timedelta(days=1), time(0), zone)
    return end - start


@cache
def transition_days(zone_name: str) -> tuple[date, ...]:
    """Days whose length is not 24 h in the tested years, plus Kathmandu's 1986 change."""
    days = [date(1985, 12, 31), date(1986, 1, 1)] if zone_name == "Asia/Kathmandu" else []
    zone = ZoneInfo(zone_name)
    for year in YEARS:
        day = date(year, 1, 1)
        while day.year == year:
            here = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
            there = datetime.combine(day + timedelta(days=1), time(12), tzinfo=zone).utcoffset()
            if here != there:  # the change is in the small hours of the next day
                days.append(day + timedelta(days=1))
            day += timedelta(days=1)
    return tuple(days)


# --- strategies ---

zones = st.sampled_from(ZONES)
clocks = st.one_of(
    # Transitions happen between 00:00 and 03:00: sample there often.
    st.builds(time, st.integers(0, 3), st.integers(0, 59)),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)


@st.composite
def zoned_days(draw: st.DrawFn) -> tuple[str, date]:
    zone = draw(zones)
    special = transition_days(zone)
    if special and draw(st.booleans()):
        return zone, draw(st.sampled_from(special))
    return zone, draw(st.dates(FIRST_DAY, LAST_DAY))


# --- the oracle itself is right on known days ---


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("America/New_York", date(2026, 3, 8), Decimal(23)),
        ("America/New_York", date(2026, 11, 1), Decimal(25)),
        ("America/New_York", date(2026, 6, 1), Decimal(24)),
        ("Europe/London", date(2026, 3, 29), Decimal(23)),
        ("Europe/London", date(2026, 10, 25), Decimal(25)),
        ("Australia/Lord_Howe", date(2026, 10, 4), Decimal("23.5")),
        ("Australia/Lord_Howe", date(2026, 4, 5), Decimal("24.5")),
        # Midnight of 1986-01-01 was skipped (+05:30 -> +05:45): that day starts at 00:15.
        ("Asia/Kathmandu", date(1985, 12, 31), Decimal(24)),
        ("Asia/Kathmandu", date(1986, 1, 1), Decimal("23.75")),
        ("Asia/Kathmandu", date(2026, 3, 8), Decimal(24)),
        ("UTC", date(2026, 3, 8), Decimal(24)),
    ],
)
def test_whole_local_day_is_the_real_day_length(zone: str, day: date, hours: Decimal) -> None:
    tz = ZoneInfo(zone)
    start = to_instant(day, time(0), tz)
    end = to_instant(day + timedelta(days=1), time(0), tz)
    assert Decimal((end - start).total_seconds()) / HOUR == hours
    assert day_length(day, zone) == end - start
    # 00:00 -> 23:59 is that day less one minute.
    span = interval_from_clock(day, time(0), time(23, 59), tz)
    assert Decimal(span.seconds + 60) / HOUR == hours


@pytest.mark.parametrize(
    ("zone", "day", "clock", "shown"),
    [
        ("America/New_York", date(2026, 3, 8), time(2, 30), "03:30"),
        ("America/New_York", date(2026, 3, 8), time(2, 0), "03:00"),
        ("Europe/London", date(2026, 3, 29), time(1, 15), "02:15"),
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 10), "02:40"),
        ("Asia/Kathmandu", date(1986, 1, 1), time(0, 5), "00:20"),
    ],
)
def test_a_time_in_a_gap_moves_forward_by_the_gap(
    zone: str, day: date, clock: time, shown: str
) -> None:
    tz = ZoneInfo(zone)
    assert local_hhmm(to_instant(day, clock, tz), tz) == shown
    assert oracle_instant(day, clock, tz)[0] == to_instant(day, clock, tz)


@pytest.mark.parametrize(
    ("zone", "day", "clock", "utc"),
    [
        # 01:30 happens twice; the first is still EDT (-4).
        ("America/New_York", date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30)),
        ("Europe/London", date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30)),
        # Lord Howe falls back 02:00 -> 01:30: 01:45 first happens at +11.
        ("Australia/Lord_Howe", date(2026, 4, 5), time(1, 45), datetime(2026, 4, 4, 14, 45)),
    ],
)
def test_a_time_in_a_fold_is_its_first_occurrence(
    zone: str, day: date, clock: time, utc: datetime
) -> None:
    assert to_instant(day, clock, ZoneInfo(zone)) == utc.replace(tzinfo=UTC)


# --- properties ---


@PROPERTY
@given(zoned_days(), clocks)
def test_instants_round_trip_except_inside_gaps(zoned: tuple[str, date], clock: time) -> None:
    zone_name, day = zoned
    zone = ZoneInfo(zone_name)
    instant = to_instant(day, clock, zone)
    expected, pushed = oracle_instant(day, clock, zone)
    assert instant == expected
    assert instant.tzinfo is not None
    assert instant.utcoffset() == timedelta(0)
    shown = datetime.combine(day, clock) + pushed
    assert local_hhmm(instant, zone) == shown.strftime("%H:%M")
    assert local_date(instant, zone) == shown.date()
    if pushed:  # only a gap moves a time, and never by more than the gap (<= 1 h here)
        assert timedelta(0) < pushed <= timedelta(hours=1)
    else:
        assert parse_hhmm(local_hhmm(instant, zone) or "") == clock


@PROPERTY
@given(zoned_days(), clocks, clocks)
@example(("America/New_York", date(2026, 3, 8)), time(0, 0), time(4, 0))  # 3 h
@example(("America/New_York", date(2026, 11, 1)), time(0, 0), time(4, 0))  # 5 h
@example(("America/New_York", date(2026, 3, 8)), time(2, 30), time(3, 10))  # gap then before
@example(("Australia/Lord_Howe", date(2026, 10, 4)), time(23, 59), time(23, 58))
def test_duration_is_the_utc_difference(
    zoned: tuple[str, date], started: time, ended: time
) -> None:
    zone_name, day = zoned
    zone = ZoneInfo(zone_name)
    span = interval_from_clock(day, started, ended, zone)
    start, _ = oracle_instant(day, started, zone)
    end_day = day + timedelta(days=1) if ended < started else day
    end, _ = oracle_instant(end_day, ended, zone)
    assert span.start == start
    assert span.seconds == max(0, int((end - start).total_seconds()))
    assert span.seconds == int((span.end - span.start).total_seconds())
    assert 0 <= span.seconds <= 25 * HOUR
    if started == ended:
        assert span.seconds == 0
    if ended > started and day_length(day, zone_name) == timedelta(hours=24):
        # On an ordinary day the wall-clock difference is the duration.
        wall = datetime.combine(day, ended) - datetime.combine(day, started)
        assert span.seconds == wall.total_seconds()


@PROPERTY
@given(zoned_days())
def test_whole_days_sum_to_real_time(zoned: tuple[str, date]) -> None:
    """00:00 -> 00:00 of the next day is the real day length: 23, 23.5, 23.75, 24, 24.5 or
    25 hours, and a week of such days is the real week."""
    zone_name, day = zoned
    zone = ZoneInfo(zone_name)
    length = to_instant(day + timedelta(days=1), time(0), zone) - to_instant(day, time(0), zone)
    assert length == day_length(day, zone_name)
    assert length in {timedelta(hours=h) for h in (23, 23.5, 23.75, 24, 24.5, 25)}
    if day + timedelta(days=7) <= LAST_DAY:
        week = to_instant(day + timedelta(days=7), time(0), zone) - to_instant(day, time(0), zone)
        assert week == sum(
            (day_length(day + timedelta(days=i), zone_name) for i in range(7)), timedelta()
        )


@pytest.mark.parametrize("zone", ZONES)
def test_transition_days_are_found(zone: str) -> None:
    """The strategy really feeds transition days: two a year where there is DST."""
    found = transition_days(zone)
    per_year = {"UTC": 0, "Asia/Kathmandu": 0}.get(zone, 2)
    extra = 2 if zone == "Asia/Kathmandu" else 0
    assert len(found) == per_year * len(YEARS) + extra
    for day in found[extra:]:
        assert day_length(day, zone) != timedelta(hours=24)


# --- hours and seconds ---


@PROPERTY
@given(st.integers(0, MAX_ENTRY_SECONDS))
def test_hours_have_four_decimals_and_round_trip(seconds: int) -> None:
    hours = seconds_to_hours(seconds)
    assert hours.as_tuple().exponent == -4
    assert abs(hours * HOUR - seconds) <= Decimal("0.18")
    assert hours_to_seconds(hours) == seconds


@pytest.mark.parametrize(
    ("seconds", "hours"),
    [(0, "0.0000"), (1, "0.0003"), (60, "0.0167"), (1200, "0.3333"), (5400, "1.5000"),
     (86400, "24.0000"), (3599, "0.9997"), (18, "0.0050")],
)  # fmt: skip
def test_seconds_to_hours_known_values(seconds: int, hours: str) -> None:
    assert seconds_to_hours(seconds) == Decimal(hours)
    assert str(seconds_to_hours(seconds)) == hours


# --- parsing HH:mm ---


@given(st.integers(0, 23), st.integers(0, 59), st.booleans())
def test_every_clock_time_parses(hour: int, minute: int, padded: bool) -> None:
    text = f"{hour:02d}:{minute:02d}" if padded else f"{hour}:{minute:02d}"
    assert parse_hhmm(text) == time(hour, minute)


@pytest.mark.parametrize(
    "text",
    ["25:00", "24:00", "12:60", "9.5", "", "9", "09:5", "0900", "-1:00", "12:00:00", "ab:cd"],
)
def test_bad_clock_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:mm"):
        parse_hhmm(text)


# --- rounding ---

durations = st.integers(0, 2 * MAX_ENTRY_SECONDS)
increments = st.sampled_from(ROUNDING_INCREMENTS)
modes = st.sampled_from(ROUNDING_MODES)


@PROPERTY
@given(durations, modes, increments)
def test_rounding_never_moves_aligned_durations(seconds: int, mode: str, minutes: int) -> None:
    aligned = seconds - seconds % (minutes * 60)
    assert round_seconds(aligned, mode, minutes) == aligned


@PROPERTY
@given(durations, increments)
def test_rounding_brackets_and_aligns(seconds: int, minutes: int) -> None:
    step = minutes * 60
    up = round_seconds(seconds, "up", minutes)
    down = round_seconds(seconds, "down", minutes)
    nearest = round_seconds(seconds, "nearest", minutes)
    assert round_seconds(seconds, "none", minutes) == seconds
    assert down <= seconds <= up
    assert up - down in (0, step)
    assert up % step == down % step == nearest % step == 0
    assert nearest in (down, up)
    assert abs(nearest - seconds) * 2 <= step
    if (seconds - down) * 2 == step:  # a half rounds up
        assert nearest == up


@PROPERTY
@given(st.integers(0, 100), increments)
def test_nearest_rounds_every_half_up(steps: int, minutes: int) -> None:
    """Half-up, not half-even: 2.5 steps -> 3 steps as well as 1.5 -> 2."""
    step = minutes * 60
    assert round_seconds(steps * step + step // 2, "nearest", minutes) == (steps + 1) * step
    assert round_seconds(steps * step + step // 2 - 1, "nearest", minutes) == steps * step


@PROPERTY
@given(durations, durations, modes, increments)
def test_rounding_is_monotone(a: int, b: int, mode: str, minutes: int) -> None:
    low, high = sorted((a, b))
    assert round_seconds(low, mode, minutes) <= round_seconds(high, mode, minutes)


@pytest.mark.parametrize(
    ("seconds", "mode", "minutes", "expected"),
    [
        (7 * 60, "up", 15, 15 * 60),
        (7 * 60, "down", 15, 0),
        (7 * 60, "nearest", 15, 0),
        (7 * 60 + 30, "nearest", 15, 15 * 60),  # exactly half: up
        (8 * 60, "nearest", 15, 15 * 60),
        (61, "up", 1, 120),
        (3 * 60, "nearest", 6, 6 * 60),
        (30 * 60, "up", 30, 30 * 60),
        (1, "none", 30, 1),
    ],
)
def test_rounding_known_values(seconds: int, mode: str, minutes: int, expected: int) -> None:
    assert round_seconds(seconds, mode, minutes) == expected
