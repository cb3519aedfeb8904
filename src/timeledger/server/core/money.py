"""Exact amounts. Money is Decimal in code and a scaled integer in the database (SQLite has
no exact NUMERIC), so both engines store the same value to the last digit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Amounts, rates and percentages: 4 decimal places (a rate of 123.4567/h stays exact).
AMOUNT_SCALE = 4
# Unit prices may be sub-cent (LLM tokens at $0.00000015 each).
UNIT_PRICE_SCALE = 10
# Largest magnitude a scaled BIGINT column can hold at AMOUNT_SCALE, kept well inside range.
MAX_AMOUNT = Decimal("100000000000")  # 1e11
MAX_UNIT_PRICE = Decimal("100000000")  # 1e8

# ISO 4217 minor units that are not 2; the rounding unit for line totals.
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3,
    "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def in_minor_units(amount: Decimal | None, currency: str) -> int:
    """A rounded amount as an integer of the currency's minor unit (None: 0)."""
    return 0 if amount is None else int(amount.scaleb(minor_units(currency)))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit (2.345 USD -> 2.35, 2.5 JPY -> 3)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def two_places(value: Decimal) -> str:
    """Money as a decimal string with at least two places (120 -> "120.00"); finer precision
    is kept ("123.4567"). How the compatibility APIs write amounts."""
    cents = value.quantize(Decimal("0.01"))
    return format(cents if cents == value else value.normalize(), "f")


def to_decimal(value: object) -> Decimal:
    """Decimal from a wire value. Floats go through their shortest repr (0.1 -> Decimal('0.1')),
    never through binary expansion."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("must be a number")
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError("must be a number") from None
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError("must be a number")
    if not result.is_finite():
        raise ValueError("must be a finite number")
    return result


def fits_scale(value: Decimal, scale: int) -> bool:
    return value == value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
