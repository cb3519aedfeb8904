"""Invoice arithmetic, exact and free of I/O so it can be property-tested.

The order, each step rounded half-up to the currency's minor unit (core/money.py):

1. line amount      = quantity x unit_price
2. subtotal         = sum of the line amounts
3. discount_amount  = subtotal x discount%
4. tax_amount       = (sum of the taxed lines' amounts) x (1 - discount%) x tax%
   tax2_amount      = (sum of the taxed2 lines' amounts) x (1 - discount%) x tax2%
   (the discount applies before tax; tax only falls on lines marked taxed / taxed2)
5. amount (total)   = subtotal - discount_amount + tax_amount + tax2_amount
6. due_amount       = amount - payments

Because every part is rounded before it is added, the total is always exactly the sum of the
parts an invoice shows, to the last minor unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from timeledger.server.core.money import round_money

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    amount: Decimal
    taxed: bool
    taxed2: bool


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    tax2_amount: Decimal
    amount: Decimal


def line_amount(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    return round_money(quantity * unit_price, currency)


def totals(
    lines: Iterable[Line],
    currency: str,
    *,
    discount: Decimal | None,
    tax: Decimal | None,
    tax2: Decimal | None,
) -> Totals:
    subtotal = taxed = taxed2 = Decimal(0)
    for line in lines:
        subtotal += line.amount
        if line.taxed:
            taxed += line.amount
        if line.taxed2:
            taxed2 += line.amount
    kept = (HUNDRED - (discount or 0)) / HUNDRED  # the share left after the discount
    discount_amount = round_money(subtotal * (discount or 0) / HUNDRED, currency)
    tax_amount = round_money(taxed * kept * (tax or 0) / HUNDRED, currency)
    tax2_amount = round_money(taxed2 * kept * (tax2 or 0) / HUNDRED, currency)
    return Totals(
        subtotal=subtotal,
        discount_amount=discount_amount,
        tax_amount=tax_amount,
        tax2_amount=tax2_amount,
        amount=subtotal - discount_amount + tax_amount + tax2_amount,
    )
