"""Wall-clock arithmetic for time entries, free of I/O so it can be property-tested.

Rules (documented in the API docs):
- `spent_date` and `HH:mm` are wall-clock values in the account's IANA time zone.
- Durations are integer seconds of real elapsed time between UTC instants, so a 00:00-04:00
  entry on a 23-hour spring-forward day lasts 3 hours and on a 25-hour day 5 hours.
- A wall-clock time inside a DST gap (02:30 on a spring-forward night) does not exist; it is
  read as the instant it would be with the offset before the change, i.e. shifted forward by
  the gap (02:30 -> 03:30 EDT), as calendars do. An ambiguous time in a fold (01:30 on a
  fall-back night) is its first occurrence.
- An `ended_time` earlier than `started_time` means the next day; an entry that crosses
  midnight counts toward the `spent_date` it started on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SECONDS_PER_HOUR = 3600
MAX_ENTRY_SECONDS = 24 * SECONDS_PER_HOUR
ROUNDING_MODES = ("none", "up", "down", "nearest")
ROUNDING_INCREMENTS = (1, 5, 6, 10, 15, 30)


def parse_hhmm(value: str) -> time:
    """'9:05' or '09:05' -> time(9, 5); anything else (25:00, 9.5, 12:60) -> ValueError."""
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a time of day as HH:mm (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def to_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a day in a zone (gap: shifted forward)."""
    # fold=0 picks the first occurrence in a fold, and in a gap applies the offset from
    # before the change, which lands the instant after the gap.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def local_hhmm(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(zone).strftime("%H:%M")


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def interval_from_clock(day: date, started: time, ended: time, zone: ZoneInfo) -> Interval:
    """started..ended on `day`; an end before the start is on the next day."""
    start = to_instant(day, started, zone)
    end_day = day + timedelta(days=1) if ended < started else day
    end = to_instant(end_day, ended, zone)
    if end < start:  # both inside one fold/gap stretch: never a negative duration
        end = start
    return Interval(start, end)


def hours_to_seconds(hours: Decimal) -> int:
    return int((hours * SECONDS_PER_HOUR).to_integral_value(rounding=ROUND_HALF_UP))


def seconds_to_hours(seconds: int) -> Decimal:
    """Hours to 4 decimal places (1 second is 0.0003 h), half-up."""
    return (Decimal(seconds) / SECONDS_PER_HOUR).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def round_seconds(seconds: int, mode: str, increment_minutes: int) -> int:
    """Round a duration to the account's increment. Already-aligned durations never move;
    `nearest` rounds halves up."""
    step = increment_minutes * 60
    if mode == "none" or step <= 0 or seconds % step == 0:
        return seconds
    down = seconds - seconds % step
    if mode == "down":
        return down
    if mode == "up":
        return down + step
    return down + step if seconds % step * 2 >= step else down
