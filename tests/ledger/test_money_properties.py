"""Property tests of the money rules with edge cases: the SQL the reports sum (on the real
database, both engines) equals what the lists show per entry, for any rate, duration,
rounding and currency; outcome prices survive their trip through JSON metadata exactly;
export text is the exact decimal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, literal, select

from timeledger.server.accounts.models import Account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.core.money import MAX_AMOUNT, MAX_UNIT_PRICE, minor_units, round_money
from timeledger.server.outcomes import projection
from timeledger.server.reports.export import hours_text, money_text, scaled
from timeledger.server.reports.sql import Figures, constant
from timeledger.server.tracking.models import TimeEntry
from timeledger.server.tracking.timing import round_seconds, seconds_to_hours
from timeledger.server.tracking.views import Viewer

CURRENCIES = ("USD", "JPY", "BHD", "EUR", "KWD", "CLP")
ROUNDING = [("none", 1), ("up", 15), ("down", 6), ("nearest", 30), ("nearest", 1), ("up", 5)]
DB_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

rates = st.one_of(
    st.decimals(min_value=0, max_value=Decimal("99999999.9999"), places=4),
    # up to the largest rate accepted (MAX_AMOUNT): beyond SQLite's simple product
    st.decimals(min_value=Decimal("5000000000"), max_value=MAX_AMOUNT, places=4),
)
durations = st.one_of(
    st.integers(0, 86_400),
    st.sampled_from([0, 1, 449, 450, 451, 899, 900, 901, 1799, 1800, 1801, 86_399, 86_400]),
)


@DB_SETTINGS
@given(
    rate=rates,
    seconds=durations,
    currency=st.sampled_from(CURRENCIES),
    rounding=st.sampled_from(ROUNDING),
    single=st.booleans(),
)
def test_sql_figures_equal_the_listed_figures(db, rate, seconds, currency, rounding, single):
    mode, increment = rounding
    figures = Figures(
        dialect=db.engine.dialect.name,
        account=Account(currency="USD"),
        settings=AccountSettings(rounding_mode=mode, rounding_increment=increment),
        now=datetime(2026, 1, 1, tzinfo=UTC),
        # one currency: a constant divisor; several: the divisor is chosen per row
        currencies=(currency,) if single else CURRENCIES,
    )
    rounded = figures.rounded(literal(seconds, BigInteger))
    rate4 = literal(int(rate.scaleb(4)), BigInteger)
    stmt = select(
        rounded, figures.hours(rounded), figures.amount(rate4, rounded, constant(currency))
    )
    with db.transaction(write=False) as session:
        sql_rounded, hours4, minor = session.execute(stmt).one()
    assert sql_rounded == round_seconds(seconds, mode, increment)
    assert Decimal(hours4).scaleb(-4) == seconds_to_hours(sql_rounded)
    listed = Viewer._amount(rate, sql_rounded, currency)
    assert figures.from_minor(minor, currency) == listed


@settings(max_examples=300, deadline=None)
@given(
    price=st.decimals(min_value=0, max_value=MAX_UNIT_PRICE, places=10),
    quantity=st.integers(0, 1_000_000),
    success=st.booleans(),
    currency=st.sampled_from(CURRENCIES),
)
def test_outcome_metadata_round_trips_exactly(price, quantity, success, currency):
    facts = projection.Facts(
        type="custom", quantity=quantity, success=success, unit_price=price, evidence=None
    )
    stored = json.loads(json.dumps(projection.metadata_for(facts)))  # as the JSON column keeps it
    entry = TimeEntry(duration_seconds=0, is_running=False, meta=stored)
    read = projection.read(entry)
    assert read == facts
    amount = projection.amount_of(read, currency) if price * quantity <= 10**11 else None
    if amount is not None:
        assert amount == round_money(price * quantity, currency)


@settings(max_examples=500, deadline=None)
@given(value=st.integers(-(10**15), 10**15), scale=st.sampled_from([0, 2, 3, 4, 10]))
def test_export_text_is_the_exact_decimal(value, scale):
    text = scaled(value, scale)
    assert Decimal(text) == Decimal(value).scaleb(-scale)
    assert "E" not in text and (scale == 0 or not text.endswith("0") or "." not in text)


@settings(max_examples=500, deadline=None)
@given(seconds=st.integers(0, 10**7))
def test_export_hours_are_the_listed_hours(seconds):
    assert Decimal(hours_text(seconds)) == seconds_to_hours(seconds)


@settings(max_examples=300, deadline=None)
@given(
    rate=st.decimals(min_value=0, max_value=MAX_AMOUNT, places=4),
    seconds=st.integers(0, 90_000),
    currency=st.sampled_from(CURRENCIES),
)
def test_export_amounts_are_the_listed_amounts(rate, seconds, currency):
    minor = Figures.amount_of(int(rate.scaleb(4)), seconds, currency)
    places = minor_units(currency)
    assert Decimal(money_text(minor, places)) == Viewer._amount(rate, seconds, currency)
