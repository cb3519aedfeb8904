"""Time entries over HTTP and through the official Keito SDK: the wire shape, wall-clock
times in the account's zone, hours, rounding, amounts and rates, overlaps, metadata, events,
list filters and paging."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import keito
import pytest
from keito.helpers.outcomes import OutcomesHelper
from keito.types.common import Source
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient
from trackkit import (
    V2,
    FakeClock,
    Work,
    assert_error,
    exact,
    make_work,
    ok,
    post_entry,
    set_billed,
    set_company,
)

from timeledger.server.db import Database
from timeledger.server.models import TimeEntry
from timeledger.server.reports.models import UserDayTime

Events = Callable[..., list[tuple[str, dict[str, Any]]]]
Counts = Callable[[], tuple[int, int]]


def row(db: Database, entry_id: str) -> TimeEntry:
    with db.transaction(write=False) as session:
        found = session.get(TimeEntry, uuid.UUID(entry_id))
        assert found is not None
        return found


# --- the wire shape ---


def test_create_answers_201_with_every_field_of_the_sdk_contract(
    api: TestClient, work: Work, tenant: Any, db: Database, events: Events
) -> None:
    body = post_entry(
        api, work, spent_date="2026-05-05", hours=1.5, notes="Refactored auth", source="cli"
    )
    uuid.UUID(body["id"])
    assert body["user_id"] == tenant.user_id
    assert body["user"] == {"id": tenant.user_id, "name": "owner@acme.example"}
    assert body["project"] == {"id": work.project_id, "name": "Website"}
    assert body["task"] == {"id": work.task_id, "name": "Website design"}
    assert body["client"] == {"id": work.client_id, "name": "Website client"}
    assert (body["project_id"], body["task_id"], body["client_id"]) == (
        work.project_id,
        work.task_id,
        work.client_id,
    )
    assert body["spent_date"] == "2026-05-05"
    assert body["hours"] == body["rounded_hours"] == Decimal("1.5")
    assert body["notes"] == "Refactored auth"
    assert body["source"] == "cli"
    assert body["is_running"] is False
    assert body["timer_started_at"] is None
    assert body["started_time"] is None and body["ended_time"] is None
    for flag in ("is_locked", "is_closed", "is_billed", "budgeted"):
        assert body[flag] is False, flag
    assert body["billable"] is True
    assert body["billable_rate"] == Decimal(100)
    assert body["billable_amount"] == Decimal("150.00")
    assert body["cost_rate"] is None and body["cost_amount"] is None
    assert body["currency"] == "USD"
    assert body["approval_status"] == "unsubmitted"
    assert body["metadata"] is None and body["external_reference"] is None
    assert body["warnings"] == []
    for stamp in ("created_at", "updated_at"):
        assert datetime.fromisoformat(body[stamp]).tzinfo is not None
    assert ok(api.get(f"{V2}/time_entries/{body['id']}")) == body
    stored = row(db, body["id"])
    assert stored.duration_seconds == 5400
    assert stored.account_id == uuid.UUID(tenant.account_id)
    assert [(kind, data["id"]) for kind, data in events()] == [("time_entry.created", body["id"])]


def test_a_create_reads_what_it_is_checked_against_in_one_statement(
    api: TestClient, work: Work, tenant: Any, sql_run: Any
) -> None:
    """The account, the user, the project, the task and its assignment: one SELECT before
    the entry is written, however the request's objects come and go. Each check still
    refuses on its own when something is wrong (test_tracking_bad_input)."""
    with sql_run() as statements:
        body = post_entry(api, work, spent_date="2026-05-05", hours=1, user_id=tenant.user_id)
    written = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO time_entries"))
    reads = [s for s in statements[:written] if s.lstrip().startswith("SELECT")]
    assert len(reads) == 1, reads
    assert body["billable_rate"] == Decimal(100) and body["client"]["id"] == work.client_id


def test_a_create_writes_its_entry_past_the_unit_of_work(
    api: TestClient, work: Work, db: Database
) -> None:
    """A finished entry and a timer start are written by derived.insert_entry, not by a
    flush (which cost a create a third of its time), with their totals all the same."""
    flushed: list[str] = []

    def seen(session: Session, *_: Any) -> None:
        flushed.extend(type(row).__name__ for row in session.new)

    event.listen(Session, "before_flush", seen)
    try:
        done = post_entry(api, work, spent_date="2026-05-05", hours=1.25)
        running = post_entry(api, work, spent_date=date.today().isoformat(), is_running=True)
    finally:
        event.remove(Session, "before_flush", seen)
    assert "TimeEntry" not in flushed
    stored = row(db, done["id"])
    assert (stored.rounded_seconds, stored.billable_minor) == (4500, 12500)
    assert row(db, running["id"]).is_running is True
    with db.transaction(write=False) as session:
        kept = session.execute(
            select(UserDayTime.entries, UserDayTime.billable_minor).where(
                UserDayTime.user_id == stored.user_id, UserDayTime.spent_date == date(2026, 5, 5)
            )
        ).all()
    assert kept == [(1, 12500)]  # the timer, still running, adds nothing yet


def test_sdk_create_list_update_delete(sdk: keito.Keito, api: TestClient, work: Work) -> None:
    created = sdk.time_entries.create(
        project_id=work.project_id,
        task_id=work.task_id,
        spent_date="2026-05-05",
        hours=2.25,
        notes="via the SDK",
        source=Source.CLI,
        metadata={"session_id": "s1", "tags": ["a"]},
    )
    assert created.hours == 2.25
    assert created.source is Source.CLI
    assert created.project.name == "Website" and created.project.id == work.project_id
    assert created.task.id == work.task_id and created.user.id == created.user_id
    assert created.spent_date == date(2026, 5, 5)
    assert created.billable is True and created.billable_rate == 100.0
    assert (created.is_locked, created.is_closed, created.is_billed) == (False, False, False)

    updated = sdk.time_entries.update(
        created.id, hours=0.5, notes="shorter", metadata={"tags": None, "extra": 1}
    )
    assert updated.hours == 0.5 and updated.notes == "shorter"
    # Key-by-key merge: tags removed, session_id kept, extra added.
    assert updated.metadata == {"session_id": "s1", "extra": 1}
    assert updated.source is Source.CLI

    listed = list(sdk.time_entries.list(project_id=work.project_id, source=Source.CLI))
    assert [entry.id for entry in listed] == [created.id]
    assert listed[0].hours == 0.5
    sdk.time_entries.delete(created.id)
    assert list(sdk.time_entries.list()) == []
    with pytest.raises(keito.KeitoNotFoundError):
        sdk.time_entries.delete(created.id)
    assert_error(api.get(f"{V2}/time_entries/{created.id}"), 404, "time entry")


def test_sdk_errors_map_to_its_exception_classes(sdk: keito.Keito, work: Work) -> None:
    with pytest.raises(keito.KeitoValidationError) as invalid:
        sdk.time_entries.create(
            project_id=work.project_id, task_id=work.task_id, spent_date="2026-05-05", hours=25
        )
    assert "hours" in str(invalid.value)
    with pytest.raises(keito.KeitoValidationError, match=r"task_id.*not assigned"):
        sdk.time_entries.create(
            project_id=work.project_id, task_id=work.unassigned_task_id, spent_date="2026-05-05"
        )


def test_sdk_outcome_log_is_a_zero_hour_agent_entry(
    sdk: keito.Keito, api: TestClient, work: Work
) -> None:
    outcome = OutcomesHelper(sdk.time_entries).log(
        project_id=work.project_id,
        task_id=work.task_id,
        spent_date="2026-05-05",
        outcome_type="ticket_resolved",
        description="Closed TK-9",
        unit_price=12.5,
        quantity=3,
        evidence={"ticket": "TK-9"},
    )
    assert outcome.hours == 0
    assert outcome.source is Source.AGENT
    assert outcome.notes == "Closed TK-9"
    assert outcome.metadata == {
        "outcome_type": "ticket_resolved",
        "outcome_quantity": 3,
        "outcome_success": True,
        "outcome_unit_price": 12.5,
        "outcome_evidence": {"ticket": "TK-9"},
    }
    body = ok(api.get(f"{V2}/time_entries/{outcome.id}"))
    assert body["billable_amount"] == Decimal(0)
    assert [e.id for e in sdk.time_entries.list(source=Source.AGENT)] == [outcome.id]


def test_delete_answers_204_with_no_body_and_emits(
    api: TestClient, work: Work, events: Events, counts: Counts
) -> None:
    entry = post_entry(api, work, spent_date="2026-05-05", hours=1)
    response = api.delete(f"{V2}/time_entries/{entry['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert counts()[0] == 0
    assert [kind for kind, _ in events()] == ["time_entry.created", "time_entry.deleted"]
    assert events()[-1][1]["id"] == entry["id"]
    assert_error(api.delete(f"{V2}/time_entries/{entry['id']}"), 404, "time entry")


# --- wall clock, DST, hours ---

WALL_CLOCK = [
    # zone, spent_date, started, ended, hours, shown started, shown ended, UTC start
    ("America/New_York", "2026-03-08", "00:00", "04:00", "3", "00:00", "04:00", "03-08 05:00"),
    ("America/New_York", "2026-11-01", "00:00", "04:00", "5", "00:00", "04:00", "11-01 04:00"),
    ("America/New_York", "2026-03-08", "02:30", "04:00", "0.5", "03:30", "04:00", "03-08 07:30"),
    ("America/New_York", "2026-11-01", "01:30", "01:45", "0.25", "01:30", "01:45", "11-01 05:30"),
    ("America/New_York", "2026-11-01", "00:30", "01:30", "1", "00:30", "01:30", "11-01 04:30"),
    ("America/New_York", "2026-03-07", "23:00", "03:00", "3", "23:00", "03:00", "03-08 04:00"),
    ("Australia/Lord_Howe", "2026-10-04", "00:00", "04:00", "3.5", "00:00", "04:00", "10-03 13:30"),
    ("Australia/Lord_Howe", "2026-04-05", "00:00", "04:00", "4.5", "00:00", "04:00", "04-04 13:00"),
    ("Australia/Lord_Howe", "2026-10-04", "02:10", "03:00", "0.3333", "02:40", "03:00",
     "10-03 15:40"),
    ("Asia/Kathmandu", "2026-05-05", "09:00", "17:15", "8.25", "09:00", "17:15", "05-05 03:15"),
    ("Europe/London", "2026-03-29", "00:30", "02:30", "1", "00:30", "02:30", "03-29 00:30"),
    ("Europe/London", "2026-10-25", "00:00", "23:00", "24", "00:00", "23:00", "10-24 23:00"),
    ("UTC", "2026-05-05", "22:00", "02:00", "4", "22:00", "02:00", "05-05 22:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "day", "started", "ended", "hours", "shown_start", "shown_end", "utc_start"),
    WALL_CLOCK,
)
def test_clock_times_are_wall_times_in_the_account_zone(
    api: TestClient,
    work: Work,
    db: Database,
    zone: str,
    day: str,
    started: str,
    ended: str,
    hours: str,
    shown_start: str,
    shown_end: str,
    utc_start: str,
) -> None:
    set_company(api, timezone=zone)
    body = post_entry(api, work, spent_date=day, started_time=started, ended_time=ended)
    assert body["hours"] == Decimal(hours)
    assert (body["started_time"], body["ended_time"]) == (shown_start, shown_end)
    assert body["spent_date"] == day  # a span past midnight counts on its start's date
    stored = row(db, body["id"])
    expected = datetime.strptime(f"2026-{utc_start}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert stored.started_at == expected
    assert stored.ended_at is not None and stored.started_at is not None
    assert stored.duration_seconds == (stored.ended_at - stored.started_at).total_seconds()


def test_entry_across_midnight_is_listed_on_its_start_date(api: TestClient, work: Work) -> None:
    set_company(api, timezone="America/New_York")
    entry = post_entry(api, work, spent_date="2026-05-05", started_time="22:00", ended_time="02:00")
    on_start = ok(api.get(f"{V2}/time_entries", params={"from": "2026-05-05", "to": "2026-05-05"}))
    on_end = ok(api.get(f"{V2}/time_entries", params={"from": "2026-05-06", "to": "2026-05-06"}))
    assert [e["id"] for e in on_start["time_entries"]] == [entry["id"]]
    assert on_end["time_entries"] == []


@pytest.mark.parametrize(
    ("fields", "hours"),
    [
        ({"started_time": "09:00", "ended_time": "09:01"}, "0.0167"),
        ({"started_time": "09:00", "ended_time": "09:20"}, "0.3333"),
        ({"hours": 0.3333}, "0.3333"),
        ({"hours": "1.5"}, "1.5"),
        ({"hours": 0.1}, "0.1"),
        ({"hours": 24}, "24"),
        ({"hours": 0}, "0"),
        ({"started_time": "9:00", "hours": 2}, "2"),
        ({"started_time": "09:00", "ended_time": "17:00", "hours": 8}, "8"),
    ],
)
def test_hours_are_real_numbers_with_at_most_four_decimals(
    api: TestClient, work: Work, fields: dict[str, Any], hours: str
) -> None:
    body = post_entry(api, work, spent_date="2026-05-05", **fields)
    assert body["hours"] == Decimal(hours)
    assert isinstance(api.get(f"{V2}/time_entries/{body['id']}").json()["hours"], int | float)
    exponent = body["hours"].as_tuple().exponent
    assert isinstance(exponent, int) and exponent >= -4


def test_started_time_and_hours_put_the_end_after_the_start(api: TestClient, work: Work) -> None:
    body = post_entry(api, work, spent_date="2026-05-05", started_time="09:15", hours=1.75)
    assert (body["started_time"], body["ended_time"]) == ("09:15", "11:00")
    moved = ok(api.patch(f"{V2}/time_entries/{body['id']}", json={"hours": 0.25}))
    assert (moved["started_time"], moved["ended_time"], moved["hours"]) == (
        "09:15",
        "09:30",
        Decimal("0.25"),
    )
    later = ok(api.patch(f"{V2}/time_entries/{body['id']}", json={"ended_time": "12:15"}))
    assert (later["started_time"], later["ended_time"], later["hours"]) == (
        "09:15",
        "12:15",
        Decimal(3),
    )


# --- rounding and amounts ---


@pytest.mark.parametrize(
    ("mode", "increment", "rounded", "amount"),
    [
        ("none", 1, "0.1167", "11.67"),
        ("up", 15, "0.25", "25.00"),
        ("down", 15, "0", "0.00"),
        ("nearest", 15, "0", "0.00"),
        ("nearest", 6, "0.1", "10.00"),
        ("up", 6, "0.2", "20.00"),
        ("up", 5, "0.1667", "16.67"),
        ("down", 5, "0.0833", "8.33"),
        ("up", 30, "0.5", "50.00"),
        ("nearest", 10, "0.1667", "16.67"),
    ],
)
def test_rounding_sets_rounded_hours_and_the_amount(
    api: TestClient, work: Work, mode: str, increment: int, rounded: str, amount: str
) -> None:
    """7 minutes at 100/h under each rounding; hours stay the real 7 minutes."""
    set_company(api, rounding_mode=mode, rounding_increment=increment)
    body = post_entry(api, work, spent_date="2026-05-05", started_time="09:00", ended_time="09:07")
    assert body["hours"] == Decimal("0.1167")
    assert body["rounded_hours"] == Decimal(rounded)
    assert body["billable_amount"] == Decimal(amount)


def test_rounding_never_moves_an_aligned_duration(api: TestClient, work: Work) -> None:
    entry = post_entry(api, work, spent_date="2026-05-05", hours=1.5)
    for mode in ("none", "up", "down", "nearest"):
        for increment in (1, 5, 6, 10, 15, 30):
            set_company(api, rounding_mode=mode, rounding_increment=increment)
            body = ok(api.get(f"{V2}/time_entries/{entry['id']}"))
            assert (body["hours"], body["rounded_hours"]) == (Decimal("1.5"), Decimal("1.5"))
            assert body["billable_amount"] == Decimal(150), (mode, increment)


def test_rounding_applies_to_existing_entries_when_read(api: TestClient, work: Work) -> None:
    entry = post_entry(api, work, spent_date="2026-05-05", started_time="09:00", ended_time="09:07")
    set_company(api, rounding_mode="up", rounding_increment=30)
    listed = ok(api.get(f"{V2}/time_entries"))["time_entries"]
    assert [(e["id"], e["rounded_hours"]) for e in listed] == [(entry["id"], Decimal("0.5"))]


@pytest.mark.parametrize(
    ("currency", "rate", "hours", "amount"),
    [
        ("USD", "10.05", "0.5", "5.03"),  # 5.025: half-up, not half-even
        ("USD", "10.01", "0.5", "5.01"),  # 5.005
        ("USD", "123.4567", "1", "123.46"),
        ("JPY", "1001", "0.5", "501"),  # 500.5 -> 501 yen
        ("JPY", "999", "0.25", "250"),  # 249.75
        ("KWD", "1.0005", "1", "1.001"),  # three minor digits
        ("EUR", "0.01", "0.25", "0.00"),
    ],
)
def test_billable_amount_is_rate_times_hours_half_up_to_the_minor_unit(
    api: TestClient, currency: str, rate: str, hours: str, amount: str
) -> None:
    project = ok(
        api.post(
            f"{V2}/projects",
            json={
                "name": "Priced",
                "bill_by": "Project",
                "hourly_rate": rate,
                "currency": currency,
            },
        ),
        201,
    )
    task = ok(api.post(f"{V2}/tasks", json={"name": "Work"}), 201)
    ok(
        api.post(f"{V2}/projects/{project['id']}/task_assignments", json={"task_id": task["id"]}),
        201,
    )
    work = Work("", project["id"], task["id"], "")
    entries = [post_entry(api, work, spent_date="2026-05-05", hours=hours) for _ in range(2)]
    for body in entries:  # per entry: two entries do not share one rounding
        assert body["currency"] == currency
        assert body["billable_rate"] == Decimal(rate)
        assert body["billable_amount"] == Decimal(amount)
        assert exact(api.get(f"{V2}/time_entries/{body['id']}")) == body


# --- rates by bill_by ---

RATES = [
    # bill_by, where rates are set, expected rate (None: not billable)
    ("Project", {"project": "120"}, "120"),
    ("Tasks", {"assignment": "90", "task": "80", "account": "50"}, "90"),
    ("Tasks", {"task": "80", "account": "50"}, "80"),
    ("Tasks", {"account": "50"}, "50"),
    ("People", {"membership": "150", "user": "70", "account": "50"}, "150"),
    ("People", {"user": "70", "account": "50"}, "70"),
    ("People", {"account": "50"}, "50"),
    ("none", {"project": "120", "account": "50"}, None),
]


@pytest.mark.parametrize(("bill_by", "rates", "expected"), RATES)
def test_rates_are_snapshot_by_bill_by(
    api: TestClient,
    tenant: Any,
    db: Database,
    bill_by: str,
    rates: dict[str, str],
    expected: str | None,
) -> None:
    owner = tenant.user_id
    if "account" in rates:
        set_company(api, default_hourly_rate=rates["account"])
    ok(
        api.patch(
            f"{V2}/users/{owner}",
            json={"default_hourly_rate": rates.get("user"), "cost_rate": "40"},
        )
    )
    project = ok(
        api.post(
            f"{V2}/projects",
            json={"name": "Rated", "bill_by": bill_by, "hourly_rate": rates.get("project")},
        ),
        201,
    )
    task = ok(
        api.post(f"{V2}/tasks", json={"name": "Build", "default_hourly_rate": rates.get("task")}),
        201,
    )
    assignment = {"task_id": task["id"], "hourly_rate": rates.get("assignment")}
    assignment_url = f"{V2}/projects/{project['id']}/task_assignments"
    assignment_id = ok(api.post(assignment_url, json=assignment), 201)["id"]
    membership_url = f"{V2}/projects/{project['id']}/user_assignments"
    membership_id = None
    if "membership" in rates:
        membership = {
            "user_id": owner,
            "use_default_rates": False,
            "hourly_rate": rates["membership"],
        }
        membership_id = ok(api.post(membership_url, json=membership), 201)["id"]
    work = Work("", project["id"], task["id"], "")
    body = post_entry(api, work, spent_date="2026-05-05", hours=2)
    assert body["cost_rate"] == Decimal(40) and body["cost_amount"] == Decimal("80.00")
    if expected is None:
        assert body["billable"] is False
        assert body["billable_amount"] is None
        return
    assert body["billable"] is True
    assert body["billable_rate"] == Decimal(expected)
    assert body["billable_amount"] == Decimal(expected) * 2
    # A snapshot: later rate changes leave the entry alone; a new entry takes the new rate of
    # the same source.
    changes = {
        "account": lambda: set_company(api, default_hourly_rate="1"),
        "user": lambda: api.patch(f"{V2}/users/{owner}", json={"default_hourly_rate": "2"}),
        "project": lambda: api.patch(f"{V2}/projects/{project['id']}", json={"hourly_rate": "3"}),
        "task": lambda: api.patch(f"{V2}/tasks/{task['id']}", json={"default_hourly_rate": "4"}),
        "assignment": lambda: api.patch(
            f"{assignment_url}/{assignment_id}", json={"hourly_rate": "5"}
        ),
        "membership": lambda: api.patch(
            f"{membership_url}/{membership_id}", json={"hourly_rate": "6"}
        ),
    }
    new_rates = {"account": "1", "user": "2", "project": "3", "task": "4", "assignment": "5"}
    new_rates["membership"] = "6"
    for source in rates:  # change only the sources that were set, so the winner stays
        result = changes[source]()
        assert getattr(result, "status_code", 200) == 200
    assert ok(api.get(f"{V2}/time_entries/{body['id']}"))["billable_rate"] == Decimal(expected)
    assert row(db, body["id"]).billable_rate == Decimal(expected)
    winner = next(source for source in rates if rates[source] == expected)
    fresh = post_entry(api, work, spent_date="2026-05-05", hours=2)
    assert fresh["billable_rate"] == Decimal(new_rates[winner])


def test_billable_false_drops_the_amount_but_keeps_the_rate(api: TestClient, work: Work) -> None:
    body = post_entry(api, work, spent_date="2026-05-05", hours=1, billable=False)
    assert (body["billable"], body["billable_rate"], body["billable_amount"]) == (
        False,
        Decimal(100),
        None,
    )
    again = ok(api.patch(f"{V2}/time_entries/{body['id']}", json={"billable": True}))
    assert again["billable_amount"] == Decimal("100.00")


# --- overlaps ---


@pytest.mark.parametrize("policy", ["allow", "warn", "forbid"])
def test_overlap_policy(api: TestClient, work: Work, counts: Counts, policy: str) -> None:
    set_company(api, overlapping_entries=policy)
    first = post_entry(api, work, spent_date="2026-05-05", started_time="09:00", ended_time="10:00")
    # Half-open intervals: back to back is never an overlap.
    after = post_entry(api, work, spent_date="2026-05-05", started_time="10:00", ended_time="11:00")
    before = post_entry(
        api, work, spent_date="2026-05-05", started_time="08:00", ended_time="09:00"
    )
    assert after["warnings"] == before["warnings"] == []
    # Entries without clock times never overlap anything.
    assert post_entry(api, work, spent_date="2026-05-05", hours=3)["warnings"] == []
    written = counts()
    overlapping = work.entry(spent_date="2026-05-05", started_time="09:30", ended_time="09:45")
    response = api.post(f"{V2}/time_entries", json=overlapping)
    if policy == "forbid":
        body = assert_error(response, 409, first["id"])
        assert body["error"] == "overlapping_entry"
        assert counts() == written
        moved = api.patch(f"{V2}/time_entries/{after['id']}", json={"started_time": "09:59"})
        assert_error(moved, 409, first["id"])
        assert ok(api.get(f"{V2}/time_entries/{after['id']}"))["started_time"] == "10:00"
        return
    created = ok(response, 201)
    if policy == "allow":
        assert created["warnings"] == []
    else:
        assert len(created["warnings"]) == 1
        assert first["id"] in created["warnings"][0]
        assert "09:00-10:00" in created["warnings"][0]
    assert created["user_id"] == first["user_id"]
    assert ok(api.get(f"{V2}/time_entries"))["total_entries"] == 5


def test_overlap_across_midnight_and_with_another_user(
    api: TestClient, work: Work, caller: Callable[..., TestClient]
) -> None:
    set_company(api, overlapping_entries="forbid")
    late = post_entry(api, work, spent_date="2026-05-05", started_time="23:00", ended_time="01:00")
    clash = work.entry(spent_date="2026-05-06", started_time="00:30", ended_time="02:00")
    assert_error(api.post(f"{V2}/time_entries", json=clash), 409, late["id"])
    member = caller("member")
    theirs = post_entry(
        member, work, spent_date="2026-05-06", started_time="00:30", ended_time="02:00"
    )
    assert theirs["warnings"] == []


# --- metadata, source, external references ---


def test_metadata_patch_is_a_json_merge_patch(api: TestClient, work: Work, events: Events) -> None:
    entry = post_entry(
        api, work, spent_date="2026-05-05", hours=1, metadata={"a": 1, "b": {"c": 2, "d": 3}}
    )
    url = f"{V2}/time_entries/{entry['id']}"
    steps: list[tuple[Any, Any]] = [
        ({"b": {"c": None}, "e": 5}, {"a": 1, "b": {"d": 3}, "e": 5}),
        ({"a": None}, {"b": {"d": 3}, "e": 5}),
        ({"b": [1, 2]}, {"b": [1, 2], "e": 5}),
        ({}, {"b": [1, 2], "e": 5}),
        (None, None),
        ({"fresh": True}, {"fresh": True}),
    ]
    for patch, expected in steps:
        assert ok(api.patch(url, json={"metadata": patch}))["metadata"] == expected, patch
    # Leaving metadata out leaves it alone.
    assert ok(api.patch(url, json={"notes": "n"}))["metadata"] == {"fresh": True}
    updates = [data for kind, data in events() if kind == "time_entry.updated"]
    assert [u["changed_fields"] for u in updates][:2] == [["metadata"], ["metadata"]]
    assert updates[-1]["changed_fields"] == ["notes"]
    assert updates[-1]["metadata"] == {"fresh": True}


def test_metadata_limit_applies_after_the_merge(
    api: TestClient, work: Work, counts: Counts
) -> None:
    entry = post_entry(api, work, spent_date="2026-05-05", hours=1, metadata={"a": "x" * 3000})
    before = counts()
    response = api.patch(f"{V2}/time_entries/{entry['id']}", json={"metadata": {"b": "y" * 2000}})
    assert_error(response, 400, "metadata", "4096")
    assert counts() == before
    assert ok(api.get(f"{V2}/time_entries/{entry['id']}"))["metadata"] == {"a": "x" * 3000}
    # Replacing the big key instead fits.
    small = ok(
        api.patch(
            f"{V2}/time_entries/{entry['id']}", json={"metadata": {"a": None, "b": "y" * 2000}}
        )
    )
    assert small["metadata"] == {"b": "y" * 2000}


@pytest.mark.parametrize("source", ["web", "cli", "api", "agent"])
def test_source_is_fixed_at_creation(api: TestClient, work: Work, source: str) -> None:
    entry = post_entry(api, work, spent_date="2026-05-05", hours=1, source=source)
    url = f"{V2}/time_entries/{entry['id']}"
    for other in {"web", "cli", "api", "agent"} - {source}:
        assert_error(api.patch(url, json={"source": other}), 400, "source")
    assert (
        ok(api.patch(url, json={"source": source, "notes": "same source is fine"}))["source"]
        == source
    )
    assert ok(api.get(url))["source"] == source


def test_external_reference_round_trips_and_filters(api: TestClient, work: Work) -> None:
    ref = {"type": "ticket", "id": "tk_9"}
    tagged = post_entry(api, work, spent_date="2026-05-05", hours=1, external_reference=ref)
    post_entry(
        api,
        work,
        spent_date="2026-05-05",
        hours=1,
        external_reference={"type": "ticket", "id": "tk_10"},
    )
    assert tagged["external_reference"] == ref
    found = ok(api.get(f"{V2}/time_entries", params={"external_reference": "ticket:tk_9"}))
    assert [e["id"] for e in found["time_entries"]] == [tagged["id"]]
    cleared = ok(api.patch(f"{V2}/time_entries/{tagged['id']}", json={"external_reference": None}))
    assert cleared["external_reference"] is None


# --- events ---


def test_update_emits_the_changed_fields_and_a_no_op_emits_nothing(
    api: TestClient, work: Work, events: Events
) -> None:
    entry = post_entry(api, work, spent_date="2026-05-05", started_time="09:00", ended_time="10:00")
    url = f"{V2}/time_entries/{entry['id']}"
    ok(api.patch(url, json={"ended_time": "11:00", "notes": "longer"}))
    ok(api.patch(url, json={"notes": "longer"}))  # nothing changes
    kinds = [kind for kind, _ in events()]
    assert kinds == ["time_entry.created", "time_entry.updated"]
    changed = events()[-1][1]["changed_fields"]
    assert {"duration_seconds", "ended_at", "notes"} <= set(changed)
    assert "updated_at" not in changed


# --- listing ---


@pytest.fixture
def listed(
    api: TestClient,
    work: Work,
    caller: Callable[..., TestClient],
    clock: FakeClock,
    db: Database,
) -> dict[str, Any]:
    """Six entries that differ in one property each, created a minute apart; returns their
    ids by name, plus the member, the second project and the moment before the last two."""

    other = make_work(api, "Mobile")
    member = caller("member")
    ids: dict[str, Any] = {}

    def add(name: str, client: TestClient = api, w: Work = work, **fields: Any) -> None:
        clock.advance(minutes=1)
        ids[name] = post_entry(client, w, notes=name, **fields)["id"]

    add("billed", spent_date="2026-05-01", hours=1)
    add("plain", spent_date="2026-05-01", hours=1)
    add("cli", w=other, spent_date="2026-05-03", hours=1, source="cli")
    add("member", client=member, spent_date="2026-05-04", hours=1, source="agent")
    ids["since"] = (clock.now + timedelta(seconds=30)).isoformat()
    add(
        "ticket",
        spent_date="2026-05-05",
        hours=1,
        external_reference={"type": "ticket", "id": "T-1"},
    )
    add("running", spent_date="2026-05-06", is_running=True)
    set_billed(api, work, db, ids["billed"])
    ok(api.post(f"{V2}/time_entries/submit", json={"ids": [ids["cli"]]}))
    ids["member_id"] = member.user_id  # type: ignore[attr-defined]
    ids["other"] = other
    ids["member_client"] = member
    return ids


ALL = ["running", "ticket", "member", "cli", "plain", "billed"]  # newest first
FILTERS: list[tuple[dict[str, str], list[str]]] = [
    ({}, ALL),
    ({"user_id": "{member_id}"}, ["member"]),
    ({"project_id": "{other_project}"}, ["cli"]),
    ({"task_id": "{other_task}"}, ["cli"]),
    ({"client_id": "{other_client}"}, ["cli"]),
    ({"client_id": "{client}"}, ["running", "ticket", "member", "plain", "billed"]),
    ({"source": "cli"}, ["cli"]),
    ({"source": "agent"}, ["member"]),
    ({"source": "web"}, []),
    ({"from": "2026-05-04"}, ["running", "ticket", "member"]),
    ({"to": "2026-05-03"}, ["cli", "plain", "billed"]),
    ({"from": "2026-05-03", "to": "2026-05-03"}, ["cli"]),
    ({"from": "2026-05-02", "to": "2026-05-02"}, []),
    ({"is_billed": "true"}, ["billed"]),
    ({"is_billed": "false"}, ["running", "ticket", "member", "cli", "plain"]),
    ({"is_running": "true"}, ["running"]),
    ({"is_running": "false"}, ["ticket", "member", "cli", "plain", "billed"]),
    ({"approval_status": "submitted"}, ["cli"]),
    ({"approval_status": "unsubmitted"}, ["running", "ticket", "member", "plain", "billed"]),
    ({"external_reference": "ticket:T-1"}, ["ticket"]),
    ({"external_reference": "ticket:T-2"}, []),
    ({"updated_since": "{since}"}, ["running", "ticket", "cli", "billed"]),
    ({"source": "api", "from": "2026-05-05", "is_running": "false"}, ["ticket"]),
    ({"project_id": str(uuid.UUID(int=1))}, []),
    ({"user_id": "not-a-uuid"}, []),
]


def test_list_filters_and_newest_first_order(
    api: TestClient, work: Work, listed: dict[str, Any], subtests: pytest.Subtests
) -> None:
    """Every row of FILTERS against one data set (read-only, so one setup serves them all;
    each row is reported as a subtest of its own)."""
    other: Work = listed["other"]
    values = {
        "member_id": listed["member_id"],
        "since": listed["since"],
        "other_project": other.project_id,
        "other_task": other.task_id,
        "other_client": other.client_id,
        "client": work.client_id,
    }
    for query, expected in FILTERS:
        with subtests.test(msg=repr(query)):
            params = {key: value.format(**values) for key, value in query.items()}
            body = ok(api.get(f"{V2}/time_entries", params=params))
            assert [e["notes"] for e in body["time_entries"]] == expected, params
            assert body["total_entries"] == len(expected)


def test_members_list_only_their_own(listed: dict[str, Any]) -> None:
    member: TestClient = listed["member_client"]
    body = ok(member.get(f"{V2}/time_entries"))
    assert [e["notes"] for e in body["time_entries"]] == ["member"]
    assert (
        ok(member.get(f"{V2}/time_entries", params={"user_id": listed["member_id"]}))[
            "total_entries"
        ]
        == 1
    )
    # Asking for someone else's entries finds nothing rather than leaking them.
    owner_entries = ok(member.get(f"{V2}/time_entries", params={"source": "cli"}))
    assert owner_entries["time_entries"] == []


def test_same_day_entries_are_newest_first(api: TestClient, work: Work) -> None:
    ids = [post_entry(api, work, spent_date="2026-05-05", hours=1)["id"] for _ in range(4)]
    ids.append(post_entry(api, work, spent_date="2026-04-30", hours=1)["id"])
    body = ok(api.get(f"{V2}/time_entries"))
    assert [e["id"] for e in body["time_entries"]] == [*reversed(ids[:4]), ids[4]]


def test_later_pages_are_the_rows_the_one_page_list_has_there(api: TestClient, work: Work) -> None:
    """Later pages pick their ids first and then read those rows (PostgreSQL; paginate):
    walked page by page, with ties on a day and with filters (one joining the projects),
    they are the full list cut in pieces, every row once, in order."""
    days = ["2026-05-05"] * 4 + ["2026-05-04"] * 3 + ["2026-05-03"] * 4
    for n, day in enumerate(days):
        post_entry(api, work, spent_date=day, hours=1, source="cli" if n % 3 else "api")
    for filters, count in [
        ({}, 11),
        ({"source": "cli"}, 7),
        ({"client_id": work.client_id, "from": "2026-05-04"}, 7),
    ]:
        whole = ok(api.get(f"{V2}/time_entries", params={**filters, "per_page": 100}))
        expected = [e["id"] for e in whole["time_entries"]]
        assert len(expected) == count
        walked: list[str] = []
        for page in range(1, len(expected) // 3 + 2):
            body = ok(
                api.get(f"{V2}/time_entries", params={**filters, "per_page": 3, "page": page})
            )
            assert body["total_entries"] == len(expected)
            walked += [e["id"] for e in body["time_entries"]]
        assert walked == expected, filters


def test_pagination_envelope(api: TestClient, work: Work, sdk: keito.Keito) -> None:
    ids = [post_entry(api, work, spent_date=f"2026-05-0{d}", hours=1)["id"] for d in range(1, 6)]
    newest_first = list(reversed(ids))
    first = ok(api.get(f"{V2}/time_entries", params={"per_page": 2}))
    assert [e["id"] for e in first["time_entries"]] == newest_first[:2]
    assert (first["page"], first["per_page"], first["total_pages"], first["total_entries"]) == (
        1,
        2,
        3,
        5,
    )
    assert first["links"] == {
        "first": f"{V2}/time_entries?per_page=2&page=1",
        "next": f"{V2}/time_entries?per_page=2&page=2",
        "previous": None,
        "last": f"{V2}/time_entries?per_page=2&page=3",
    }
    last = ok(api.get(f"{V2}/time_entries", params={"per_page": 2, "page": 3}))
    assert [e["id"] for e in last["time_entries"]] == newest_first[4:]
    assert last["links"]["next"] is None
    assert last["links"]["previous"] == f"{V2}/time_entries?per_page=2&page=2"
    beyond = ok(api.get(f"{V2}/time_entries", params={"per_page": 2, "page": 9}))
    assert beyond["time_entries"] == [] and beyond["total_pages"] == 3
    default = ok(api.get(f"{V2}/time_entries"))
    assert (default["per_page"], default["total_pages"]) == (100, 1)
    # The SDK walks every page itself.
    pages = sdk.time_entries.list(per_page=2)
    assert [e.id for e in pages] == newest_first
    empty = ok(api.get(f"{V2}/time_entries", params={"from": "2030-01-01"}))
    assert (empty["total_pages"], empty["total_entries"], empty["time_entries"]) == (0, 0, [])


def test_a_small_first_page_joins_its_people_projects_and_tasks_into_one_query(
    api: TestClient, work: Work, sql_run: Any
) -> None:
    """Up to 50 entries, the page's query joins what each entry names (three fewer queries);
    a bigger page reads each person, project and task once (SELECT ... IN). Same answer."""
    for day in range(1, 4):
        post_entry(api, work, spent_date=f"2026-05-0{day}", hours=1)
    answers = []
    for per_page in (50, 51):
        with sql_run() as statements:
            answers.append(ok(api.get(f"{V2}/time_entries", params={"per_page": per_page})))
        reads = [s for s in statements if s.lstrip().startswith("SELECT")]
        # the account, the count, the page; then one each for people, projects, tasks
        assert len(reads) == (3 if per_page == 50 else 6), reads
    assert answers[0]["time_entries"] == answers[1]["time_entries"]
    assert [e["project"]["name"] for e in answers[0]["time_entries"]] == ["Website"] * 3
