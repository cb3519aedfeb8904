"""Invoices over /api/v2: explicit line items, numbering, drafts, deletes, lists, payments,
state moves, and bad input that writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from billkit import move

from callkit import V2, assert_error, get, ok, post


def _draft(api, shop, **fields):
    body = {
        "client_id": shop.client_id,
        "issue_date": "2026-03-31",
        "line_items": [{"description": "Build", "quantity": 2, "unit_price": 50}],
        **fields,
    }
    return post(api, "invoices", **body)


def test_create_from_line_items(api, shop, events):
    body = post(
        api,
        "invoices",
        client_id=shop.client_id,
        subject="March",
        payment_term="net_30",
        issue_date="2026-03-31",
        tax=10,
        discount=5,
        line_items=[
            {"description": "Build", "quantity": 3, "unit_price": "33.335", "taxed": True},
            {"kind": "Product", "description": "Box", "quantity": "1.5", "unit_price": 10},
        ],
    )
    assert (body["state"], body["number"], body["currency"]) == ("draft", "1", "USD")
    assert (body["payment_term"], body["due_date"]) == ("net_30", "2026-04-30")
    assert body["client"] == {"id": shop.client_id, "name": "Initech"}
    assert body["creator"]["id"] == shop.owner_id
    lines = body["line_items"]
    assert [line["kind"] for line in lines] == ["Service", "Product"]
    # 3 x 33.335 = 100.005 -> 100.01 (half-up); 1.5 x 10 = 15.00
    assert [line["amount"] for line in lines] == [Decimal("100.01"), Decimal("15")]
    assert body["subtotal"] == Decimal("115.01")
    assert body["discount_amount"] == Decimal("5.75")  # 5.7505
    # tax on the taxed line only, after the discount: 100.01 x 0.95 x 0.10 = 9.50095
    assert body["tax_amount"] == Decimal("9.5")
    assert body["amount"] == Decimal("118.76")  # 115.01 - 5.75 + 9.50
    assert body["due_amount"] == body["amount"]
    assert [t for t, _ in events("invoice.")] == ["invoice.created"]
    assert get(api, f"invoices/{body['id']}") == body


def test_numbers_follow_the_account_format(api, shop):
    ok(api.patch(f"{V2}/company", json={"invoice_number_format": "INV-{yyyy}{mm}-{seq:04}"}))
    assert _draft(api, shop)["number"] == "INV-202603-0001"
    assert _draft(api, shop, issue_date="2026-04-02")["number"] == "INV-202604-0002"
    for bad, says in (("INV-{yyyy}", "{seq}"), ("{seq}-{seq}", "once"), ("{nope}{seq}", "{nope}")):
        response = api.patch(f"{V2}/company", json={"invoice_number_format": bad})
        assert_error(response, 400, "invoice_number_format", says)
    assert get(api, "company")["invoice_number_format"] == "INV-{yyyy}{mm}-{seq:04}"


def test_update_a_draft_and_its_lines(api, shop, events):
    body = _draft(api, shop)
    line = body["line_items"][0]
    updated = ok(
        api.patch(
            f"{V2}/invoices/{body['id']}",
            json={
                "subject": "Renamed",
                "tax": "7.5",
                "payment_term": "net_15",
                "line_items": [
                    {"id": line["id"], "quantity": 3, "taxed": True},
                    {"description": "Extra", "unit_price": "9.99"},
                ],
            },
        )
    )
    assert (updated["subject"], updated["due_date"]) == ("Renamed", "2026-04-15")
    assert [(x["description"], x["quantity"], x["amount"]) for x in updated["line_items"]] == [
        ("Build", 3, 150),
        ("Extra", 1, Decimal("9.99")),
    ]
    assert updated["tax_amount"] == Decimal("11.25")  # 7.5% of the taxed 150
    assert updated["amount"] == Decimal("171.24")
    removed = ok(
        api.patch(
            f"{V2}/invoices/{body['id']}",
            json={"line_items": [{"id": line["id"], "_destroy": True}]},
        )
    )
    assert [x["description"] for x in removed["line_items"]] == ["Extra"]
    assert removed["amount"] == Decimal("9.99")
    assert [t for t, _ in events("invoice.")] == ["invoice.created"] + ["invoice.updated"] * 2


def test_sent_invoices_are_not_edited_or_deleted(api, shop, events):
    body = _draft(api, shop)
    move(api, body["id"], "send")
    sent = get(api, f"invoices/{body['id']}")
    assert sent["state"] == "open" and sent["sent_at"] is not None
    assert_error(api.patch(f"{V2}/invoices/{body['id']}", json={"subject": "x"}), 409, "draft")
    assert_error(api.delete(f"{V2}/invoices/{body['id']}"), 409, "draft")
    move(api, body["id"], "draft")
    assert get(api, f"invoices/{body['id']}")["state"] == "draft"
    assert ok(api.delete(f"{V2}/invoices/{body['id']}"))["deleted"] is True
    assert_error(api.get(f"{V2}/invoices/{body['id']}"), 404)
    assert [t for t, _ in events("invoice.")] == [
        "invoice.created",
        "invoice.sent",
        "invoice.updated",
        "invoice.deleted",
    ]


def test_payments(api, shop, events):
    body = _draft(api, shop)  # 100.00 due
    assert_error(
        api.post(f"{V2}/invoices/{body['id']}/payments", json={"amount": 10}), 409, "draft"
    )
    move(api, body["id"], "send")
    first = post(
        api, f"invoices/{body['id']}/payments", amount="60.5", paid_date="2026-04-01", notes="x"
    )
    assert (first["amount"], first["paid_date"]) == (Decimal("60.5"), "2026-04-01")
    assert first["recorded_by_email"] == "owner@acme.example"
    partly = get(api, f"invoices/{body['id']}")
    assert (partly["state"], partly["due_amount"]) == ("open", Decimal("39.5"))
    over = api.post(f"{V2}/invoices/{body['id']}/payments", json={"amount": "39.51"})
    assert_error(over, 400, "amount", "39.5")
    cents = api.post(f"{V2}/invoices/{body['id']}/payments", json={"amount": "1.001"})
    assert_error(cents, 400, "amount")
    post(api, f"invoices/{body['id']}/payments", amount="39.5", paid_date="2026-04-02")
    paid = get(api, f"invoices/{body['id']}")
    assert (paid["state"], paid["due_amount"], paid["paid_date"]) == ("paid", 0, "2026-04-02")
    assert paid["paid_at"] is not None
    listed = get(api, f"invoices/{body['id']}/payments")
    assert [p["amount"] for p in listed["invoice_payments"]] == [Decimal("39.5"), Decimal("60.5")]
    # Deleting a payment re-opens the invoice.
    assert ok(api.delete(f"{V2}/invoices/{body['id']}/payments/{first['id']}"))["deleted"]
    reopened = get(api, f"invoices/{body['id']}")
    assert (reopened["state"], reopened["due_amount"], reopened["paid_at"]) == (
        "open",
        Decimal("60.5"),
        None,
    )
    assert [t for t, _ in events("invoice")] == [
        "invoice.created",
        "invoice.sent",
        "invoice_payment.created",
        "invoice_payment.created",
        "invoice.paid",
        "invoice_payment.deleted",
    ]


def test_closed_invoices_refuse_moves_and_payments(api, shop):
    body = _draft(api, shop)
    move(api, body["id"], "close")
    for event in ("send", "close", "draft"):
        response = api.post(
            f"{V2}/invoices/{body['id']}/messages",
            json={"event_type": event, "recipients": [{"name": "A", "email": "a@b.example"}]},
        )
        assert_error(response, 409, "closed")
    assert_error(api.post(f"{V2}/invoices/{body['id']}/payments", json={"amount": 1}), 409)
    # Explicit lines released no work: a closed draft may come back.
    move(api, body["id"], "re-open")
    assert get(api, f"invoices/{body['id']}")["state"] == "draft"


def test_list_filters_and_paging(api, shop):
    a = _draft(api, shop, issue_date="2026-01-15")
    b = _draft(api, shop, issue_date="2026-02-15")
    c = _draft(api, shop, issue_date="2026-03-15")
    move(api, b["id"], "send")

    def ids(**params):
        return [x["id"] for x in get(api, "invoices", **params)["invoices"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(state="open") == [b["id"]]
    assert ids(client_id=shop.client_id, **{"from": "2026-02-01", "to": "2026-03-01"}) == [b["id"]]
    assert ids(updated_since="2999-01-01T00:00:00Z") == []
    page = get(api, "invoices", per_page=2, page=2)
    assert (page["total_pages"], page["total_entries"], len(page["invoices"])) == (2, 3, 1)
    assert_error(api.get(f"{V2}/invoices", params={"state": "void"}), 400, "state")


def test_another_accounts_invoice_is_not_found(api, shop, other_tenant):
    body = _draft(api, shop)
    outsider = other_tenant.client
    assert_error(outsider.get(f"{V2}/invoices/{body['id']}"), 404)
    assert_error(outsider.delete(f"{V2}/invoices/{body['id']}"), 404)
    assert_error(outsider.post(f"{V2}/invoices/{body['id']}/payments", json={"amount": 1}), 404)
    assert get(outsider, "invoices")["invoices"] == []


BAD = [
    ({"line_items": [{"quantity": -1, "unit_price": 1}]}, "line_items.0.quantity"),
    ({"line_items": [{"quantity": 1, "unit_price": -1}]}, "line_items.0.unit_price"),
    ({"currency": "XYZ"}, "currency"),
    ({"tax": 100.01}, "tax"),
    ({"discount": -1}, "discount"),
    ({"payment_term": "net 30"}, "payment_term"),
    ({"payment_term": "custom"}, "due_date"),
    ({"issue_date": "2026-03-31", "due_date": "2026-03-01"}, "due_date"),
    ({"period_start": "2026-03-31", "period_end": "2026-03-01", "line_items": []}, "period_end"),
    ({"line_items": [{"project_id": "nope"}]}, "line_items.0.project_id"),
    ({"line_items": [{"quantity": 100000000, "unit_price": 100000000}]}, "line_items.0"),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, "client_id"),
    # From tracked work
    ({"period_start": "2026-03-31", "period_end": "2026-03-01"}, "period_end"),
    ({"period_start": "2026-03-01", "period_end": "2026-03-31"}, "nothing to bill"),
    ({"group_by": "client", "period_start": "2026-03-01", "period_end": "2026-03-31"}, "group_by"),
    ({"overlap_strategy": "max", "period_start": "2026-03-01"}, "overlap_strategy"),
    ({"tax_rate": 101, "period_start": "2026-03-01", "period_end": "2026-03-31"}, "tax_rate"),
    (
        {"project_ids": ["nope"], "period_start": "2026-03-01", "period_end": "2026-03-31"},
        "project_ids.0",
    ),
]


@pytest.mark.parametrize(("fields", "named"), BAD, ids=[named for _, named in BAD])
def test_bad_input_is_a_clear_400_and_writes_nothing(api, shop, rows, fields, named):
    shop.entry(api, spent_date="2026-04-02", hours=1)  # outside March: nothing to bill there
    before = rows()
    response = api.post(f"{V2}/invoices", json={"client_id": shop.client_id, **fields})
    assert_error(response, 400, named)
    assert rows() == before
