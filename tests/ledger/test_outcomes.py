"""Outcomes: the native POST /outcomes and the Keito SDK's outcomes.log() record the same
thing, kept in step with its time entry on every write, and billed only when successful."""

from __future__ import annotations

from decimal import Decimal

import pytest
from keito.helpers.outcomes import OutcomeTypes

from callkit import V2, assert_error, get, ok, post

MONTH = {"from": "2026-03-01", "to": "2026-03-31"}
OUTCOME_FIELDS = (
    "type",
    "unit_price",
    "quantity",
    "success",
    "evidence",
    "amount",
    "revenue",
    "description",
    "currency",
    "spent_date",
    "project_id",
    "task_id",
    "user_id",
)


def _team(api):
    return get(api, "reports/time/team", **MONTH)["results"]


def test_sdk_and_native_paths_record_the_same_outcome(api, sdk, book):
    evidence = {"ticket_id": "TKT-4821", "customer_confirmed": True}
    via_sdk = sdk.outcomes.log(
        project_id=book.project_id,
        task_id=book.task_id,
        spent_date="2026-03-05",
        outcome_type=OutcomeTypes.TICKET_RESOLVED,
        description="Resolved billing inquiry #4821",
        unit_price=0.99,
        quantity=3,
        evidence=evidence,
        metadata={"agent_id": "support-agent-v3"},
    )
    assert (via_sdk.hours, via_sdk.source.value) == (0, "agent")
    native = post(
        api,
        "outcomes",
        **book.outcome(spent_date="2026-03-05"),
        type="ticket_resolved",
        description="Resolved billing inquiry #4821",
        unit_price="0.99",
        quantity=3,
        evidence=evidence,
        metadata={"agent_id": "support-agent-v3"},
        source="agent",
    )
    sdk_outcome = get(api, f"outcomes/{via_sdk.id}")
    assert sdk_outcome["time_entry_id"] == via_sdk.id
    for name in OUTCOME_FIELDS:
        assert sdk_outcome[name] == native[name], name
    assert native["amount"] == native["revenue"] == Decimal("2.97")
    # the native entry carries exactly the SDK's flat metadata keys
    sdk_meta = get(api, f"time_entries/{via_sdk.id}")["metadata"]
    native_meta = get(api, f"time_entries/{native['id']}")["metadata"]
    assert native_meta == sdk_meta
    assert sdk_meta["outcome_type"] == "ticket_resolved"
    # both show in the time list (0 hours) and count the same in reports
    entries = get(api, "time_entries", **MONTH)["time_entries"]
    assert sorted(e["id"] for e in entries) == sorted([via_sdk.id, native["id"]])
    assert {e["hours"] for e in entries} == {Decimal(0)}
    [row] = _team(api)
    assert (row["outcomes"], row["successful_outcomes"], row["outcome_revenue"]) == (
        2,
        2,
        Decimal("5.94"),
    )


@pytest.mark.parametrize(
    ("fields", "amount", "revenue"),
    [
        ({"unit_price": "0.99", "quantity": 1}, "0.99", "0.99"),
        ({"unit_price": "0.99", "quantity": 1, "success": False}, "0.99", "0"),
        ({"quantity": 5}, "0", "0"),  # no price: counted, never billed
        ({"unit_price": "0.0000015", "quantity": 1_000_000}, "1.50", "1.50"),
        ({"unit_price": "0.005", "quantity": 1}, "0.01", "0.01"),  # half-up to the cent
        ({"unit_price": "12.5", "quantity": 0}, "0", "0"),
    ],
)
def test_revenue_only_when_successful(api, book, fields, amount, revenue):
    made = post(
        api, "outcomes", **book.outcome(spent_date="2026-03-02"), type="pr_merged", **fields
    )
    assert (made["amount"], made["revenue"]) == (Decimal(amount), Decimal(revenue))
    summary = get(api, "reports/agent_summary", **MONTH)
    assert summary["outcomes"] == {
        "total": 1,
        "successful": 0 if fields.get("success") is False else 1,
        "revenue": Decimal(revenue),
    }


def test_custom_types_and_filters(api, book, sdk):
    post(
        api,
        "outcomes",
        **book.outcome(spent_date="2026-03-02"),
        type="invoice_chased",
        unit_price=1,
        success=False,
    )
    post(
        api,
        "outcomes",
        **book.outcome(spent_date="2026-03-09"),
        type="lead_qualified",
        unit_price=7,
    )
    sdk.outcomes.log(
        project_id=book.project_id,
        task_id=book.task_id,
        spent_date="2026-04-01",
        outcome_type="lead_qualified",
        unit_price=7.0,
    )
    cases = [
        ({}, ["lead_qualified", "lead_qualified", "invoice_chased"]),
        ({"type": "lead_qualified"}, ["lead_qualified", "lead_qualified"]),
        ({"success": "false"}, ["invoice_chased"]),
        (MONTH, ["lead_qualified", "invoice_chased"]),
        ({"source": "agent"}, ["lead_qualified"]),
        ({"project_id": book.eur_project_id}, []),
    ]
    for params, expected in cases:
        assert [o["type"] for o in get(api, "outcomes", **params)["outcomes"]] == expected, params


def test_outcome_follows_its_entry(api, book, events):
    made = post(
        api,
        "outcomes",
        **book.outcome(spent_date="2026-03-02"),
        type="pr_merged",
        unit_price=10,
        quantity=2,
    )
    entry_url = f"{V2}/time_entries/{made['id']}"
    # metadata merge rewrites the outcome
    ok(api.patch(entry_url, json={"metadata": {"outcome_quantity": 5, "outcome_success": False}}))
    changed = get(api, f"outcomes/{made['id']}")
    assert (changed["quantity"], changed["success"], changed["revenue"]) == (5, False, 0)
    # moving the entry moves the outcome
    ok(api.patch(entry_url, json={"spent_date": "2026-03-20", "project_id": book.eur_project_id}))
    moved = get(api, f"outcomes/{made['id']}")
    assert (moved["spent_date"], moved["project_id"], moved["currency"]) == (
        "2026-03-20",
        book.eur_project_id,
        "EUR",
    )
    # with hours it is no longer an outcome
    ok(api.patch(entry_url, json={"hours": 1}))
    assert_error(api.get(f"{V2}/outcomes/{made['id']}"), 404, "outcome")
    ok(api.patch(entry_url, json={"hours": 0}))
    assert get(api, f"outcomes/{made['id']}")["quantity"] == 5
    ok(api.delete(entry_url), 204)
    assert_error(api.get(f"{V2}/outcomes/{made['id']}"), 404)
    assert [t for t, _ in events("outcome.")] == [
        "outcome.created",
        "outcome.updated",
        "outcome.updated",
        "outcome.deleted",
        "outcome.created",
        "outcome.deleted",
    ]


def test_members_see_their_own_outcomes(api, book, caller):
    member = caller("member")
    post(member, "outcomes", **book.outcome(spent_date="2026-03-02"), type="mine")
    post(api, "outcomes", **book.outcome(spent_date="2026-03-02"), type="owners")
    assert [o["type"] for o in get(member, "outcomes")["outcomes"]] == ["mine"]
    assert len(get(api, "outcomes")["outcomes"]) == 2


MALFORMED = [
    ({"outcome_type": "x", "outcome_quantity": 1.5}, "metadata.outcome_quantity"),
    ({"outcome_type": "x", "outcome_quantity": -1}, "metadata.outcome_quantity"),
    ({"outcome_type": "x", "outcome_quantity": True}, "metadata.outcome_quantity"),
    ({"outcome_type": "x", "outcome_unit_price": -1}, "metadata.outcome_unit_price"),
    ({"outcome_type": "x", "outcome_unit_price": "abc"}, "metadata.outcome_unit_price"),
    ({"outcome_type": "x", "outcome_unit_price": 1e-11}, "metadata.outcome_unit_price"),
    ({"outcome_type": "x", "outcome_success": "yes"}, "metadata.outcome_success"),
    ({"outcome_type": "x", "outcome_evidence": [1]}, "metadata.outcome_evidence"),
    ({"outcome_type": ""}, "metadata.outcome_type"),
    ({"outcome_type": 7}, "metadata.outcome_type"),
]


def test_malformed_sdk_form_is_refused(api, book, rows):
    entry = post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=0))
    before = rows()
    for metadata, field in MALFORMED:
        body = book.entry(spent_date="2026-03-02", hours=0, metadata=metadata)
        assert_error(api.post(f"{V2}/time_entries", json=body), 400, field)
        # the same on an update that turns an entry into a malformed outcome
        patch = api.patch(f"{V2}/time_entries/{entry['id']}", json={"metadata": metadata})
        assert_error(patch, 400, field)
        assert rows() == before, metadata
