"""Expenses and expense categories over the real HTTP stack and the official Keito SDK: exact
costs (sub-cent unit prices), filters, metadata merge, approval locks and events."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from keito.types.common import Source

from callkit import V2, assert_error, get, ok, post
from timeledger.server.models import Expense


def test_categories_crud_with_exact_unit_price(api, events):
    cat = post(api, "expense_categories", name="GPU", unit_name="GPU-hour", unit_price="2.4567")
    assert (cat["unit_name"], cat["unit_price"], cat["is_active"]) == (
        "GPU-hour",
        Decimal("2.4567"),
        True,
    )
    tiny = post(api, "expense_categories", name="Tokens", unit_price="0.0000001234")
    assert tiny["unit_price"] == Decimal("1.234E-7")
    changed = ok(api.patch(f"{V2}/expense_categories/{cat['id']}", json={"is_active": False}))
    assert changed["is_active"] is False
    listed = get(api, "expense_categories", is_active=False)
    assert [c["name"] for c in listed["expense_categories"]] == ["GPU"]
    ok(api.delete(f"{V2}/expense_categories/{tiny['id']}"))
    assert [t for t, _ in events("expense_category.")] == [
        "expense_category.created",
        "expense_category.created",
        "expense_category.updated",
        "expense_category.deleted",
    ]


@pytest.mark.parametrize(
    ("body", "total", "units", "unit_price"),
    [
        ({"total_cost": "42.5"}, Decimal("42.5"), None, None),
        ({"total_cost": 0}, Decimal(0), None, None),
        # 1,000,000 tokens at $0.00000015 = $0.15 exactly
        ({"units": 1_000_000, "tokens": True}, Decimal("0.15"), 1_000_000, Decimal("1.5E-7")),
        # 33,333 tokens = $0.00499995 -> half-up to the cent
        ({"units": 33_333, "tokens": True}, Decimal("0.00"), 33_333, Decimal("1.5E-7")),
        ({"units": 33_334, "tokens": True}, Decimal("0.01"), 33_334, Decimal("1.5E-7")),
    ],
)
def test_expense_cost(api, book, db, body, total, units, unit_price):
    body = dict(body)  # the table is shared by both engines' runs
    category = book.tokens_id if body.pop("tokens", False) else book.category_id
    expense = post(
        api,
        "expenses",
        **book.expense(expense_category_id=category, spent_date="2026-03-02"),
        **body,
    )
    assert (expense["total_cost"], expense["units"], expense["unit_price"]) == (
        total,
        units,
        unit_price,
    )
    assert expense["currency"] == "USD"
    with db.transaction(write=False) as session:
        row = session.get(Expense, uuid.UUID(expense["id"]))
        assert row.total_cost == total


def test_expense_in_a_zero_decimal_currency_rounds_to_the_yen(api, book):
    project = post(api, "projects", name="Tokyo", currency="JPY")
    body = {"project_id": project["id"], "expense_category_id": book.tokens_id}
    expense = post(api, "expenses", **body, spent_date="2026-03-02", units=3_333_334)
    assert (expense["total_cost"], expense["currency"]) == (Decimal(1), "JPY")  # 0.5000001
    bad = api.post(
        f"{V2}/expenses",
        json={
            **body,
            "expense_category_id": book.category_id,
            "spent_date": "2026-03-02",
            "total_cost": "10.5",
        },
    )
    assert_error(bad, 400, "total_cost", "JPY")


def test_update_recosts_and_merges_metadata(api, book, events):
    expense = post(
        api,
        "expenses",
        **book.expense(expense_category_id=book.tokens_id),
        spent_date="2026-03-02",
        units=2_000_000,
        metadata={"model": {"name": "m1"}, "run": 1},
    )
    assert expense["total_cost"] == Decimal("0.30")
    # the category's price changes: existing expenses keep theirs
    ok(api.patch(f"{V2}/expense_categories/{book.tokens_id}", json={"unit_price": "0.000001"}))
    changed = ok(
        api.patch(
            f"{V2}/expenses/{expense['id']}",
            json={"units": 4_000_000, "metadata": {"model": {"tokens": 9}, "run": None}},
        )
    )
    assert (changed["units"], changed["total_cost"]) == (4_000_000, Decimal("0.60"))
    assert changed["metadata"] == {"model": {"name": "m1", "tokens": 9}}
    # a direct cost replaces the units
    direct = ok(api.patch(f"{V2}/expenses/{expense['id']}", json={"total_cost": "1.25"}))
    assert (direct["units"], direct["unit_price"], direct["total_cost"]) == (
        None,
        None,
        Decimal("1.25"),
    )
    updates = [d for t, d in events("expense.") if t == "expense.updated"]
    assert updates[0]["changed_fields"] == ["metadata", "total_cost", "units"]


def test_filters(api, book, caller):
    other = post(api, "clients", name="Other")
    project = post(api, "projects", name="Other", client_id=other["id"])
    member = caller("member")
    post(api, "expenses", **book.expense(spent_date="2026-01-05", total_cost=1))
    post(api, "expenses", **book.expense(spent_date="2026-02-05", total_cost=2, source="agent"))
    post(
        api,
        "expenses",
        project_id=project["id"],
        expense_category_id=book.category_id,
        spent_date="2026-03-05",
        total_cost=3,
    )
    post(member, "expenses", **book.expense(spent_date="2026-03-06", total_cost=4))
    cases = [
        ({}, [4, 3, 2, 1]),
        ({"from": "2026-02-01", "to": "2026-03-05"}, [3, 2]),
        ({"client_id": other["id"]}, [3]),
        ({"project_id": book.project_id}, [4, 2, 1]),
        ({"source": "agent"}, [2]),
        ({"user_id": member.user_id}, [4]),
        ({"is_billed": "false"}, [4, 3, 2, 1]),
        ({"is_billed": "true"}, []),
        ({"expense_category_id": book.tokens_id}, []),
        ({"updated_since": "2099-01-01T00:00:00Z"}, []),
    ]
    for params, expected in cases:
        listed = get(api, "expenses", **params)["expenses"]
        assert [int(e["total_cost"]) for e in listed] == expected, params
    # members see their own
    assert [int(e["total_cost"]) for e in get(member, "expenses")["expenses"]] == [4]


def test_approval_locks_and_unlocks(api, book, caller, events):
    member = caller("member")
    expense = post(member, "expenses", **book.expense(spent_date="2026-03-02", total_cost=9))
    submitted = ok(member.post(f"{V2}/expenses/submit", json={"ids": [expense["id"]]}))
    assert submitted["expenses"][0]["approval_status"] == "submitted"
    assert_error(
        member.post(f"{V2}/expenses/approve", json={"ids": [expense["id"]]}), 403, "manager"
    )
    approved = ok(api.post(f"{V2}/expenses/approve", json={"ids": [expense["id"]]}))
    assert approved["expenses"][0]["is_locked"] is True
    for response in (
        member.patch(f"{V2}/expenses/{expense['id']}", json={"notes": "x"}),
        member.delete(f"{V2}/expenses/{expense['id']}"),
    ):
        assert_error(response, 409, "approved")
    ok(api.post(f"{V2}/expenses/unlock", json={"ids": [expense["id"]]}))
    ok(member.patch(f"{V2}/expenses/{expense['id']}", json={"notes": "fixed"}))
    ok(member.delete(f"{V2}/expenses/{expense['id']}"), 204)
    assert [t for t, _ in events("expense.")] == [
        "expense.created",
        "expense.submitted",
        "expense.approved",
        "expense.unlocked",
        "expense.updated",
        "expense.deleted",
    ]


def test_sdk_expenses_list_and_create(sdk, book, api):
    created = sdk.expenses.create(
        project_id=book.project_id,
        expense_category_id=book.tokens_id,
        spent_date="2026-03-05",
        units=12_500_000,
        notes="batch inference",
        source=Source.AGENT,
        billable=True,
        metadata={"provider": "aws", "duration_minutes": 45},
    )
    assert (created.total_cost, created.units, created.source.value) == (1.88, 12_500_000, "agent")
    assert created.expense_category.name == "LLM tokens"
    sdk.expenses.create(
        project_id=book.project_id,
        expense_category_id=book.category_id,
        spent_date="2026-03-06",
        total_cost=4.2,
    )
    listed = list(sdk.expenses.list(source=Source.AGENT, per_page=1))
    assert [e.id for e in listed] == [created.id]
    everything = list(sdk.expenses.list(from_date="2026-03-01", to_date="2026-03-31", per_page=1))
    assert [e.total_cost for e in everything] == [4.2, 1.88]
    assert get(api, f"expenses/{created.id}")["metadata"] == {
        "provider": "aws",
        "duration_minutes": 45,
    }
