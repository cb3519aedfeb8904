"""timeledger's own SDK (timeledger.client) against the invoicing API: an invoice of tracked
work, payments (create, list, delete) and the state they move the invoice to."""

from __future__ import annotations

from decimal import Decimal

from billkit import move
from starlette.testclient import TestClient

from timeledger.client import Timeledger


def test_tracked_work_and_payments_through_our_sdk(app, api, tenant, shop):
    client = Timeledger(
        api_key=tenant.token,
        base_url="http://testserver",
        http_client=TestClient(app, base_url="http://testserver"),
        max_retries=0,
    )
    shop.entry(api, spent_date="2026-03-02", started_time="09:00", ended_time="11:00")
    shop.entry(api, spent_date="2026-03-02", started_time="10:00", ended_time="12:00")
    invoice = client.invoices.create(
        client_id=shop.client_id,
        period_start="2026-03-01",
        period_end="2026-03-31",
        overlap_strategy="merge",
        group_by="task",
        tax_rate="10",
    )
    assert [(x.description, x.quantity) for x in invoice.line_items] == [
        ("Website: Build", Decimal(3))
    ]
    assert (invoice.amount, invoice.tax_amount) == (Decimal(330), Decimal(30))
    move(api, invoice.id, "send")
    first = client.invoices.payments.create(invoice.id, amount="300", paid_date="2026-04-01")
    second = client.invoices.payments.create(invoice.id, amount=30, notes="rest")
    assert client.invoices.get(invoice.id).state == "paid"
    listed = client.invoices.payments.list(invoice.id)
    assert [p.id for p in listed] == [second.id, first.id]
    assert client.invoices.payments.delete(invoice.id, second.id).deleted is True
    after = client.invoices.get(invoice.id)
    assert (after.state, after.due_amount) == ("open", Decimal(30))
