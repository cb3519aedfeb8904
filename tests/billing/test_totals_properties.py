"""Property tests of invoice arithmetic: every part is rounded half-up to the currency's
minor unit, and the total is exactly the sum of the parts an invoice shows, for any lines,
quantities, prices, discount and taxes, in currencies of 0, 2 and 3 decimals; and the API
(both engines) returns and stores exactly those numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callkit import V2, exact
from timeledger.server.billing import totals
from timeledger.server.core.money import MAX_UNIT_PRICE, minor_units

CURRENCIES = ("USD", "JPY", "BHD", "EUR", "KWD", "CLP")

quantities = st.one_of(
    st.decimals(min_value=0, max_value=1000, places=4),
    st.sampled_from([Decimal(0), Decimal("0.0001"), Decimal("0.5"), Decimal(1), Decimal(3)]),
)
prices = st.one_of(
    st.decimals(min_value=0, max_value=100_000, places=4),
    st.decimals(min_value=0, max_value=1, places=10),  # sub-cent, e.g. per token
    st.sampled_from([Decimal("0.005"), Decimal("0.015"), Decimal("33.335"), Decimal("0.5")]),
)
percents = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=100, places=4),
    st.sampled_from([Decimal(0), Decimal(100), Decimal("0.0001"), Decimal("19.6")]),
)
line_inputs = st.lists(st.tuples(quantities, prices, st.booleans(), st.booleans()), max_size=12)


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def _check(lines, currency, discount, tax, tax2, result) -> None:
    unit = _unit(currency)
    parts = (result.subtotal, result.discount_amount, result.tax_amount, result.tax2_amount)
    for part in (*parts, result.amount):
        assert part % unit == 0, (part, currency)
    assert result.subtotal == sum((line.amount for line in lines), Decimal(0))
    assert result.amount == (
        result.subtotal - result.discount_amount + result.tax_amount + result.tax2_amount
    )
    kept = 1 - Decimal(discount or 0) / 100
    exact_discount = result.subtotal * (discount or 0) / 100
    assert abs(result.discount_amount - exact_discount) <= unit / 2
    assert 0 <= result.discount_amount <= result.subtotal
    for flag, rate, got in (
        ("taxed", tax, result.tax_amount),
        ("taxed2", tax2, result.tax2_amount),
    ):
        base = sum((line.amount for line in lines if getattr(line, flag)), Decimal(0))
        assert abs(got - base * kept * Decimal(rate or 0) / 100) <= unit / 2
        assert got >= 0
    assert result.amount >= 0


@settings(max_examples=400, deadline=None)
@given(
    inputs=line_inputs,
    currency=st.sampled_from(CURRENCIES),
    discount=percents,
    tax=percents,
    tax2=percents,
)
def test_totals_are_the_sum_of_their_rounded_parts(inputs, currency, discount, tax, tax2):
    lines = []
    for quantity, price, taxed, taxed2 in inputs:
        amount = totals.line_amount(quantity, price, currency)
        assert amount == (quantity * price).quantize(_unit(currency), rounding=ROUND_HALF_UP)
        lines.append(totals.Line(amount, taxed, taxed2))
    result = totals.totals(lines, currency, discount=discount, tax=tax, tax2=tax2)
    _check(lines, currency, discount, tax, tax2, result)


API_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@API_SETTINGS
@given(
    inputs=st.lists(st.tuples(quantities, prices, st.booleans(), st.booleans()), max_size=6),
    currency=st.sampled_from(CURRENCIES),
    discount=percents,
    tax=percents,
    tax2=percents,
)
def test_the_api_shows_and_keeps_exactly_those_totals(
    api, shop, inputs, currency, discount, tax, tax2
):
    body = {
        "client_id": shop.client_id,
        "currency": currency,
        "line_items": [
            {"quantity": str(q), "unit_price": str(p), "taxed": t, "taxed2": t2}
            for q, p, t, t2 in inputs
            if p <= MAX_UNIT_PRICE
        ],
    }
    for name, value in (("discount", discount), ("tax", tax), ("tax2", tax2)):
        body[name] = None if value is None else str(value)
    created = api.post(f"{V2}/invoices", json=body)
    assert created.status_code == 201, created.text
    shown = exact(created)
    lines = [totals.Line(x["amount"], x["taxed"], x["taxed2"]) for x in shown["line_items"]]
    for line, (quantity, price, _, _) in zip(shown["line_items"], inputs, strict=True):
        assert (line["quantity"], line["unit_price"]) == (quantity, price)
        assert line["amount"] == totals.line_amount(quantity, price, currency)
    result = totals.Totals(
        shown["subtotal"],
        shown["discount_amount"],
        shown["tax_amount"],
        shown["tax2_amount"],
        shown["amount"],
    )
    _check(lines, currency, discount, tax, tax2, result)
    assert shown["due_amount"] == shown["amount"]
    assert exact(api.get(f"{V2}/invoices/{shown['id']}")) == shown  # as stored
