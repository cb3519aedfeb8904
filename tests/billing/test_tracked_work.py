"""Invoices from tracked work over /api/v2: what is billed, grouping, the overlap strategies,
expenses and outcomes, locking and releasing the billed rows."""

from __future__ import annotations

import uuid
from decimal import Decimal

from alembic import command
from billkit import move
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text, update

from callkit import V2, assert_error, get, ok, post
from timeledger.server import migrate
from timeledger.server.models import TimeEntry

PERIOD = {"period_start": "2026-03-01", "period_end": "2026-03-31"}


def test_bills_unbilled_work_of_the_period_and_locks_it(api, shop, events):
    a = shop.entry(api, spent_date="2026-03-02", hours=2)
    b = shop.entry(api, spent_date="2026-03-03", hours="1.5", project_id=shop.app_id)
    c = shop.entry(api, spent_date="2026-03-04", hours=1, user_id=shop.person_id)
    outside = shop.entry(api, spent_date="2026-04-01", hours=1)
    unbillable = shop.entry(api, spent_date="2026-03-05", hours=1, billable=False)
    body = post(api, "invoices", client_id=shop.client_id, tax_rate=10, **PERIOD)
    assert body["state"] == "draft"
    assert (body["period_start"], body["period_end"]) == ("2026-03-01", "2026-03-31")
    lines = {line["description"]: line for line in body["line_items"]}
    assert set(lines) == {"Website", "App"}
    assert (lines["Website"]["quantity"], lines["Website"]["unit_price"]) == (3, 100)
    assert lines["Website"]["amount"] == 300
    assert (lines["App"]["quantity"], lines["App"]["amount"]) == (Decimal("1.5"), 225)
    assert body["subtotal"] == 525
    assert body["tax"] == 10 and body["tax_amount"] == Decimal("52.5")
    assert body["amount"] == Decimal("577.5")
    for entry in (a, b, c):
        row = get(api, f"time_entries/{entry['id']}")
        assert row["is_billed"] is True and row["is_locked"] is True
    for entry in (outside, unbillable):
        assert get(api, f"time_entries/{entry['id']}")["is_billed"] is False
    assert_error(api.patch(f"{V2}/time_entries/{a['id']}", json={"hours": 3}), 409, "billed")
    assert_error(api.delete(f"{V2}/time_entries/{a['id']}"), 409, "billed")
    # Nothing left to bill in the period: a clear 400, not an empty invoice.
    again = api.post(f"{V2}/invoices", json={"client_id": shop.client_id, **PERIOD})
    assert_error(again, 400, "nothing to bill", "period_start")
    # Deleting the draft releases the work, which can be billed again.
    assert ok(api.delete(f"{V2}/invoices/{body['id']}")) == {"id": body["id"], "deleted": True}
    assert get(api, f"time_entries/{a['id']}")["is_billed"] is False
    again = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    assert again["subtotal"] == 525
    assert again["number"] == "2"  # numbers are not reused
    kinds = [t for t, _ in events("invoice.")]
    assert kinds == ["invoice.created", "invoice.deleted", "invoice.created"]


def _overlapping_day(api, shop):
    """The owner double-tracks 10:00-11:00 (Website 09-11, App 10-12) and logs a 15-minute
    entry inside 09-11; Pat works 09-10 beside them; one entry has no clock times."""
    day = {"spent_date": "2026-03-10"}
    shop.entry(api, **day, started_time="09:00", ended_time="11:00")
    shop.entry(api, **day, started_time="10:00", ended_time="12:00", project_id=shop.app_id)
    shop.entry(api, **day, started_time="10:30", ended_time="10:45")
    shop.entry(api, **day, started_time="09:00", ended_time="10:00", user_id=shop.person_id)
    shop.entry(api, **day, hours=1)


def _by_description(body):
    return {line["description"]: (line["quantity"], line["amount"]) for line in body["line_items"]}


def test_add_bills_every_entry_as_logged(api, shop):
    _overlapping_day(api, shop)
    body = post(api, "invoices", client_id=shop.client_id, overlap_strategy="add", **PERIOD)
    assert _by_description(body) == {"Website": (Decimal("4.25"), 425), "App": (2, 300)}
    assert body["amount"] == 725


def test_merge_bills_double_tracked_time_once_per_person(api, shop):
    _overlapping_day(api, shop)
    body = post(api, "invoices", client_id=shop.client_id, overlap_strategy="merge", **PERIOD)
    # Website: 09-11 (2 h) + the 15 min inside it (0) + Pat's hour + the untimed hour;
    # App: only 11-12 is not already billed to Website.
    assert _by_description(body) == {"Website": (4, 400), "App": (1, 150)}
    assert body["amount"] == 550
    # Every entry of the period is billed, the fully covered one too.
    entries = get(api, "time_entries", **{"from": "2026-03-10", "to": "2026-03-10"})
    assert [e["is_billed"] for e in entries["time_entries"]] == [True] * 5


def test_group_by_task_person_and_detailed(api, shop):
    shop.entry(api, spent_date="2026-03-02", hours=2, notes="homepage")
    shop.entry(api, spent_date="2026-03-03", hours=1, user_id=shop.person_id)
    by_person = post(api, "invoices", client_id=shop.client_id, group_by="person", **PERIOD)
    assert _by_description(by_person) == {
        "Website: owner@acme.example": (2, 200),
        "Website: Pat Doe": (1, 100),
    }
    ok(api.delete(f"{V2}/invoices/{by_person['id']}"))
    by_task = post(api, "invoices", client_id=shop.client_id, group_by="task", **PERIOD)
    assert _by_description(by_task) == {"Website: Build": (3, 300)}
    ok(api.delete(f"{V2}/invoices/{by_task['id']}"))
    detailed = post(api, "invoices", client_id=shop.client_id, group_by="detailed", **PERIOD)
    assert _by_description(detailed) == {
        "2026-03-02 Website: Build (owner@acme.example) - homepage": (2, 200),
        "2026-03-03 Website: Build (Pat Doe)": (1, 100),
    }


def test_account_rounding_applies_per_entry(api, shop):
    ok(api.patch(f"{V2}/company", json={"rounding_mode": "up", "rounding_increment": 15}))
    shop.entry(api, spent_date="2026-03-02", started_time="09:00", ended_time="09:10")
    shop.entry(api, spent_date="2026-03-02", started_time="10:00", ended_time="10:20")
    body = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    assert _by_description(body) == {"Website": (Decimal("0.75"), 75)}  # 15 + 30 minutes


def test_expenses_and_successful_outcomes(api, shop):
    shop.entry(api, spent_date="2026-03-02", hours=1)
    expense = post(
        api,
        "expenses",
        project_id=shop.web_id,
        expense_category_id=shop.category_id,
        spent_date="2026-03-05",
        total_cost="42.50",
    )
    outcome = {"project_id": shop.web_id, "task_id": shop.task_id, "spent_date": "2026-03-06"}
    won = post(api, "outcomes", **outcome, type="ticket_resolved", unit_price="2.5", quantity=4)
    lost = post(api, "outcomes", **outcome, type="ticket_resolved", unit_price="2.5", success=False)
    without = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    assert _by_description(without) == {"Website": (1, 100)}
    ok(api.delete(f"{V2}/invoices/{without['id']}"))

    body = post(
        api,
        "invoices",
        client_id=shop.client_id,
        include_expenses=True,
        include_outcomes=True,
        **PERIOD,
    )
    assert [(line["kind"], line["description"]) for line in body["line_items"]] == [
        ("Service", "Website"),
        ("Expense", "Website: Travel"),
        ("Outcome", "Website: ticket_resolved"),
    ]
    assert _by_description(body)["Website: Travel"] == (1, Decimal("42.5"))
    assert _by_description(body)["Website: ticket_resolved"] == (4, 10)
    assert body["subtotal"] == Decimal("152.5")
    assert get(api, f"expenses/{expense['id']}")["is_billed"] is True
    assert get(api, f"time_entries/{won['id']}")["is_billed"] is True
    assert get(api, f"time_entries/{lost['id']}")["is_billed"] is False


def test_closing_unpaid_voids_and_releases_closing_part_paid_keeps(api, shop):
    entry = shop.entry(api, spent_date="2026-03-02", hours=1)
    body = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    move(api, body["id"], "send")
    move(api, body["id"], "close")
    closed = get(api, f"invoices/{body['id']}")
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert get(api, f"time_entries/{entry['id']}")["is_billed"] is False
    # Its work was released (and may be billed again): it cannot come back.
    assert_error(
        api.post(f"{V2}/invoices/{body['id']}/messages", json={"event_type": "re-open"}),
        409,
        "voided",
    )
    second = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    move(api, second["id"], "send")
    post(api, f"invoices/{second['id']}/payments", amount=40)
    move(api, second["id"], "close")  # written off, 40 paid: the work stays billed
    assert get(api, f"time_entries/{entry['id']}")["is_billed"] is True
    move(api, second["id"], "re-open")
    assert get(api, f"invoices/{second['id']}")["state"] == "open"


def test_only_the_clients_projects_in_its_currency(api, shop, other_tenant):
    shop.entry(api, spent_date="2026-03-02", hours=1)
    shop.entry(api, spent_date="2026-03-02", hours=1, project_id=shop.eur_id)
    usd = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    assert _by_description(usd) == {"Website": (1, 100)}
    eur = post(api, "invoices", client_id=shop.client_id, currency="EUR", **PERIOD)
    assert (eur["currency"], _by_description(eur)) == ("EUR", {"Berlin": (1, 80)})
    named = api.post(
        f"{V2}/invoices",
        json={"client_id": shop.client_id, "project_ids": [shop.eur_id], **PERIOD},
    )
    assert_error(named, 400, "project_ids.0", "EUR")
    foreign = other_tenant.client.post(
        f"{V2}/invoices", json={"client_id": shop.client_id, **PERIOD}
    )
    assert_error(foreign, 400, "client_id")


def test_explicit_billable_seconds_are_billed_instead_of_the_duration(api, db, shop):
    entry = shop.entry(api, spent_date="2026-03-02", started_time="09:00", ended_time="11:00")
    shop.entry(api, spent_date="2026-03-02", started_time="10:00", ended_time="11:00")
    with db.transaction(write=True) as session:  # as a compatibility surface records it
        session.execute(
            update(TimeEntry)
            .where(TimeEntry.id == uuid.UUID(entry["id"]))
            .values(billable_seconds=1800)
        )
    added = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    assert _by_description(added) == {"Website": (Decimal("1.5"), 150)}
    ok(api.delete(f"{V2}/invoices/{added['id']}"))
    # Under merge it is billed as given, not merged with the other entry.
    merged = post(api, "invoices", client_id=shop.client_id, overlap_strategy="merge", **PERIOD)
    assert _by_description(merged) == {"Website": (Decimal("1.5"), 150)}


def _union_minutes(intervals):
    total, end = 0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total, end = total + stop - start, stop
        elif stop > end:
            total, end = total + stop - end, stop
    return total


blocks = st.lists(
    st.tuples(st.sampled_from([0, 1]), st.integers(8 * 60, 17 * 60), st.integers(1, 240)),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(work=blocks)
def test_merge_bills_the_union_of_each_persons_intervals(api, shop, work):
    people = (shop.owner_id, shop.person_id)
    made, spans = [], {0: [], 1: []}
    for who, start, length in work:
        stop = min(start + length, 23 * 60 + 59)
        spans[who].append((start, stop))
        made.append(
            shop.entry(
                api,
                spent_date="2026-03-09",
                user_id=people[who],
                started_time=f"{start // 60:02d}:{start % 60:02d}",
                ended_time=f"{stop // 60:02d}:{stop % 60:02d}",
            )
        )
    body = post(api, "invoices", client_id=shop.client_id, overlap_strategy="merge", **PERIOD)
    minutes = sum(_union_minutes(spans[who]) for who in spans)
    billed = sum(line["quantity"] for line in body["line_items"])
    assert billed == (Decimal(minutes) / 60).quantize(Decimal("0.0001"))
    ok(api.delete(f"{V2}/invoices/{body['id']}"))
    for entry in made:
        ok(api.delete(f"{V2}/time_entries/{entry['id']}"), 204)


def test_billing_and_releasing_show_to_clients_syncing_by_updated_since(api, shop):
    """Billing writes a mark, not the entry, yet the entry reads as changed: its updated_at
    is the billing time and updated_since finds it; releasing stamps the entry again."""
    billed = shop.entry(api, spent_date="2026-03-02", hours=1)
    untouched = shop.entry(api, spent_date="2026-04-02", hours=1)
    sync = get(api, f"time_entries/{untouched['id']}")["updated_at"]

    def changed_since(moment: str) -> list[str]:
        return [row["id"] for row in get(api, "time_entries", updated_since=moment)["time_entries"]]

    assert changed_since(sync) == [untouched["id"]]
    invoice = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    row = get(api, f"time_entries/{billed['id']}")
    assert row["is_billed"] is True
    assert row["updated_at"] == invoice["created_at"] > sync
    assert changed_since(invoice["created_at"]) == [billed["id"]]
    assert get(api, f"time_entries/{untouched['id']}")["updated_at"] == sync

    ok(api.delete(f"{V2}/invoices/{invoice['id']}"))
    released = get(api, f"time_entries/{billed['id']}")
    assert released["is_billed"] is False and released["updated_at"] > invoice["created_at"]
    assert changed_since(released["updated_at"]) == [billed["id"]]


def test_migration_0014_moves_billing_to_marks_and_back(api, db, shop):
    """Work billed before the upgrade stays billed on its invoice, and a downgrade puts the
    columns back as they were: released work (its mark stamped) unbilled."""
    entry = shop.entry(api, spent_date="2026-03-02", hours=1)
    released = shop.entry(api, spent_date="2026-04-02", hours=1)
    april = {"period_start": "2026-04-01", "period_end": "2026-04-30"}
    draft = post(api, "invoices", client_id=shop.client_id, **april)
    ok(api.delete(f"{V2}/invoices/{draft['id']}"))  # its work released
    invoice = post(api, "invoices", client_id=shop.client_id, **PERIOD)
    billed_count = "SELECT count(*) FROM time_entries WHERE is_billed AND invoice_id IS NOT NULL"
    try:
        command.downgrade(migrate.alembic_config(db.engine), "0013_credentials_version")
        with db.engine.connect() as conn:
            assert conn.execute(text(billed_count)).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM time_entries")).scalar() == 2
            assert "billing_marks" not in inspect(conn).get_table_names()
    finally:
        migrate.upgrade(db.engine)
        db.engine.dispose()  # no pooled connection keeps a plan of the old columns
    row = get(api, f"time_entries/{entry['id']}")
    assert row["is_billed"] is True and row["updated_at"] == invoice["created_at"]
    assert_error(api.delete(f"{V2}/time_entries/{entry['id']}"), 409, "billed")
    assert get(api, f"time_entries/{released['id']}")["is_billed"] is False
    ok(api.delete(f"{V2}/invoices/{invoice['id']}"))
    assert get(api, f"time_entries/{entry['id']}")["is_billed"] is False
