"""Row ids: UUIDv7 (RFC 9562) whose first 48 bits are the Unix milliseconds they were made at."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from timeledger.server.core.ids import id_at, new_id


def millis(value: object) -> int:
    return value.int >> 80  # type: ignore[attr-defined]


def test_new_ids_are_version_7_and_ordered_as_made() -> None:
    before = datetime.now(UTC)
    ids = [new_id() for _ in range(5_000)]  # many share a millisecond: the counter orders them
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(7, "specified in RFC 4122")}
    start = (before - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert start <= millis(ids[0]) <= millis(ids[-1]) <= start + 60_000


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=10**9),
)
def test_an_id_made_at_an_instant_holds_its_millisecond_and_sorts_by_it(
    instant: datetime, later_us: int
) -> None:
    first, second = id_at(instant), id_at(instant + timedelta(microseconds=later_us))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert millis(first) == (instant - epoch) // timedelta(milliseconds=1)
    assert first.version == 7
    if millis(second) > millis(first):
        assert second > first
