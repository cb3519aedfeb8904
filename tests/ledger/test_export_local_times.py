"""Local times as exports write them, made by the database (reports/sql_text.local_time), are
Python's own for any instant, on both engines: in zones with half-hour DST (Lord Howe), odd
offsets (Kathmandu, St John's, Monrovia before 1972), the usual DST (New York, London) and
none (UTC), around every change of offset, with and without a fraction of a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from timeledger.server.core.types import UTCDateTime
from timeledger.server.reports.sql_text import local_time, shifted, zone_offsets

ZONES = (
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Africa/Monrovia",
    "America/New_York",
    "Europe/London",
    "UTC",
)
LAST_YEAR = datetime.now(UTC).year + 20


@st.composite
def instants(draw: st.DrawFn) -> tuple[str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    _, changes = zone_offsets(zone, LAST_YEAR + 10)
    if changes and draw(st.booleans()):  # at a change of offset, give or take a little
        at, _ = draw(st.sampled_from(changes))
        near = at + timedelta(seconds=draw(st.integers(-7200, 7200)))
    else:
        near = draw(
            st.datetimes(datetime(1901, 1, 1), datetime(LAST_YEAR, 12, 31), timezones=st.just(UTC))
        )
    micros = draw(st.sampled_from([0, 1, 500_000, 999_999]) | st.integers(0, 999_999))
    return zone, near.replace(microsecond=micros)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(instants())
def test_local_times_are_pythons(db, instant):
    zone, at = instant
    value = literal(at, UTCDateTime)
    stmt = select(
        local_time(value, zone, "iso"),
        local_time(value, zone, "hhmm"),
        local_time(shifted(value, 90_061), zone, "hhmm"),  # a day, an hour, a minute later
    )
    with db.transaction(write=False) as session:
        iso, hhmm, later = session.execute(stmt).one()
    local = at.astimezone(ZoneInfo(zone))
    assert iso == local.isoformat()
    assert hhmm == local.strftime("%H:%M")
    assert later == (at + timedelta(seconds=90_061)).astimezone(ZoneInfo(zone)).strftime("%H:%M")


def test_zone_offsets_are_every_change():
    first, changes = zone_offsets("Europe/London", 2030)
    assert first == timedelta(0)
    # British Standard Time: a year round +01:00 from 1968 to 1971
    bst = [at for at, _ in changes if 1968 <= at.year <= 1971]
    assert [at.date().isoformat() for at in bst] == ["1968-02-18", "1971-10-31"]
    assert changes[-1][0] == datetime(2029, 10, 28, 1, tzinfo=UTC)
    for at, offset in changes:
        tz = ZoneInfo("Europe/London")
        assert at.astimezone(tz).utcoffset() == offset
        assert (at - timedelta(seconds=1)).astimezone(tz).utcoffset() != offset
