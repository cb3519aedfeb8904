"""The official Keito SDK (keito 0.2.0, unmodified) against the invoicing API: create from
line items (its float amounts read exactly), get, list with filters and auto-pagination,
update, send through a message, delete; an invoice of tracked work; its errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import keito
import pytest
from keito.types.common import InvoiceState, PaymentTerm

from callkit import get


def test_the_sdk_round_trip(sdk, api, shop):
    created = sdk.invoices.create(
        client_id=shop.client_id,
        subject="March 2026 - Agent Services",
        payment_term=PaymentTerm.NET_15,
        issue_date="2026-03-31",
        tax=19.5,
        line_items=[
            {"description": "AI code review - 42 PRs", "quantity": 42, "unit_price": 15.0},
            {"kind": "Product", "quantity": 0.1, "unit_price": 33.335, "taxed": True},
        ],
    )
    assert created.state == InvoiceState.DRAFT
    assert created.payment_term == PaymentTerm.NET_15
    assert (created.issue_date, created.due_date) == (date(2026, 3, 31), date(2026, 4, 15))
    assert [line.amount for line in created.line_items] == [630.0, 3.33]  # 3.3335 -> 3.33
    assert created.tax_amount == 0.65  # 19.5% of the one taxed line: 0.64935
    assert created.amount == 633.98
    assert created.creator is not None and created.creator.id == shop.owner_id
    shown = get(api, f"invoices/{created.id}")  # the exact decimals behind the floats
    assert shown["line_items"][1]["unit_price"] == Decimal("33.335")
    assert shown["amount"] == Decimal("633.98")

    assert sdk.invoices.get(created.id) == created
    updated = sdk.invoices.update(created.id, subject="Renamed", due_date="2026-05-01", tax=0.0)
    assert (updated.subject, updated.payment_term) == ("Renamed", PaymentTerm.CUSTOM)
    assert (updated.due_date, updated.amount) == (date(2026, 5, 1), 633.33)

    message = sdk.invoices.messages.create(
        created.id, recipients=[{"name": "Jane Smith", "email": "jane@acme.example"}]
    )
    assert message.event_type == "send"
    sent = sdk.invoices.get(created.id)
    assert sent.state == InvoiceState.OPEN and sent.sent_at is not None
    with pytest.raises(keito.KeitoConflictError):
        sdk.invoices.delete(created.id)

    draft = sdk.invoices.create(client_id=shop.client_id, issue_date="2026-01-01")
    assert draft.line_items == [] and draft.amount == 0
    listed = list(sdk.invoices.list(per_page=1))
    assert [i.id for i in listed] == [draft.id, created.id]  # across two pages
    open_ = list(sdk.invoices.list(state=InvoiceState.OPEN, client_id=shop.client_id))
    assert [i.id for i in open_] == [created.id]
    in_march = list(sdk.invoices.list(from_date="2026-03-01", to_date="2026-03-31"))
    assert [i.id for i in in_march] == [created.id]
    assert sdk.invoices.delete(draft.id) == {"id": draft.id, "deleted": True}


def test_an_invoice_of_tracked_work_through_the_sdk(sdk, api, shop):
    shop.entry(api, spent_date="2026-03-02", hours=2)
    invoice = sdk.invoices.create(
        client_id=shop.client_id, period_start="2026-03-01", period_end="2026-03-31"
    )
    assert [(x.description, x.quantity, x.amount) for x in invoice.line_items] == [
        ("Website", 2.0, 200.0)
    ]
    assert invoice.period_start == date(2026, 3, 1)
    with pytest.raises(keito.KeitoValidationError) as raised:
        sdk.invoices.create(
            client_id=shop.client_id, period_start="2026-03-01", period_end="2026-03-31"
        )
    assert "nothing to bill" in str(raised.value)


def test_sdk_errors(sdk, shop):
    with pytest.raises(keito.KeitoNotFoundError):
        sdk.invoices.get("00000000-0000-0000-0000-000000000000")
    with pytest.raises(keito.KeitoValidationError) as raised:
        sdk.invoices.create(client_id=shop.client_id, line_items=[{"quantity": -1}])
    assert "line_items.0.quantity" in str(raised.value)
