"""Property tests of the money rules with edge cases: the SQL the reports sum (on the real
database, both engines) equals what the lists show per entry, for any rate, duration,
rounding and currency; outcome prices survive their trip through JSON metadata exactly;
the export's text of each figure, made by the database, is its exact decimal."""

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
from timeledger.server.reports.sql import Figures, constant
from timeledger.server.reports.sql_text import fixed_text, money_text, scaled_text
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
    amount = figures.amount(rate4, rounded, constant(currency))
    stmt = select(
        rounded,
        figures.hours(rounded),
        amount,
        # as exports write them
        fixed_text(figures.hours(rounded), 4),
        money_text(amount, constant(currency), figures.currencies),
    )
    with db.transaction(write=False) as session:
        sql_rounded, hours4, minor, hours_text, amount_text = session.execute(stmt).one()
    assert sql_rounded == round_seconds(seconds, mode, increment)
    assert Decimal(hours4).scaleb(-4) == seconds_to_hours(sql_rounded)
    listed = Viewer._amount(rate, sql_rounded, currency)
    assert figures.from_minor(minor, currency) == listed
    assert Decimal(hours_text) == seconds_to_hours(sql_rounded)
    assert hours_text == f"{seconds_to_hours(sql_rounded):.4f}"
    assert amount_text == f"{listed:.{minor_units(currency)}f}"


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


@DB_SETTINGS
@given(
    value=st.integers(-(10**15), 10**15),
    scale=st.sampled_from([0, 2, 3, 4, 10]),
    places=st.sampled_from([0, 2, 3]),
)
def test_export_text_is_the_exact_decimal(db, value, scale, places):
    """Rates and prices with as few decimals as they need; money with its currency's
    decimals, further digits dropped (an expense's total, kept to 4 places)."""
    places = min(places, scale)
    stmt = select(
        scaled_text(literal(value, BigInteger), scale),
        fixed_text(literal(abs(value), BigInteger), places, scale),
    )
    with db.transaction(write=False) as session:
        text, fixed = session.execute(stmt).one()
    exact = Decimal(value).scaleb(-scale)
    assert Decimal(text) == exact
    assert "E" not in text and not ("." in text and text.endswith("0"))
    assert fixed == f"{abs(exact).quantize(Decimal(1).scaleb(-places), rounding='ROUND_DOWN'):f}"
