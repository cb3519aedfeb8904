"""Timers: one running per user, stop and restart, live hours, starts in the past or the
future, replace_running, and the auto-stop of forgotten timers (read-time and persisted)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from trackkit import NOW, V2, FakeClock, Work, assert_error, make_work, ok, post_entry, set_company

from timeledger.server.db import Database
from timeledger.server.models import TimeEntry
from timeledger.server.tracking.service import stop_overdue_timers

Events = Callable[..., list[tuple[str, dict[str, Any]]]]
Counts = Callable[[], tuple[int, int]]
TODAY = NOW.date().isoformat()  # the account is on UTC


def running_ids(db: Database) -> list[str]:
    with db.transaction(write=False) as session:
        stmt = select(TimeEntry.id).where(TimeEntry.is_running.is_(True))
        return [str(i) for i in session.scalars(stmt)]


def stop(api: TestClient, entry_id: str, **body: Any) -> Any:
    return api.patch(f"{V2}/time_entries/{entry_id}/stop", json=body or None)


def test_a_timer_runs_live_and_stops_with_the_elapsed_time(
    api: TestClient, work: Work, clock: FakeClock, events: Events, db: Database
) -> None:
    timer = post_entry(api, work, spent_date=TODAY, is_running=True, notes="start")
    assert timer["is_running"] is True
    assert timer["hours"] == Decimal(0)
    assert timer["timer_started_at"] is not None
    assert timer["timer_started_at"].replace("Z", "+00:00") == NOW.isoformat()
    assert (timer["started_time"], timer["ended_time"]) == ("15:00", None)
    url = f"{V2}/time_entries/{timer['id']}"
    clock.advance(minutes=30)
    assert ok(api.get(url))["hours"] == Decimal("0.5")
    clock.advance(minutes=15)
    listed = ok(api.get(f"{V2}/time_entries"))["time_entries"]
    assert [(e["id"], e["hours"], e["is_running"]) for e in listed] == [
        (timer["id"], Decimal("0.75"), True)
    ]
    clock.advance(minutes=15)
    stopped = ok(stop(api, timer["id"], notes="finished"))
    assert stopped["is_running"] is False
    assert stopped["hours"] == Decimal(1)
    assert stopped["notes"] == "finished"
    assert stopped["timer_started_at"] is None
    assert (stopped["started_time"], stopped["ended_time"]) == ("15:00", "16:00")
    assert stopped["billable_amount"] == Decimal("100.00")
    clock.advance(hours=2)  # a stopped entry no longer grows
    assert ok(api.get(url))["hours"] == Decimal(1)
    assert running_ids(db) == []
    kinds = [kind for kind, _ in events()]
    assert kinds == ["time_entry.created", "time_entry.started", "time_entry.stopped"]
    assert events()[-1][1]["auto_stopped"] is False
    assert events()[-1][1]["duration_seconds"] == 3600
    # Stopping again: 409, nothing written.
    assert_error(stop(api, timer["id"]), 409, "not running")
    assert len(events()) == 3


def test_a_timer_stopped_within_its_second_with_outcome_metadata_becomes_an_outcome(
    api: TestClient, work: Work, clock: FakeClock, events: Events, sql_run: Any
) -> None:
    """A running timer is never an outcome, so stopping one looks for no outcome row to
    forget (its one read is the entry with its account); one stopped at 0 seconds whose
    metadata names an outcome becomes one."""
    meta = {"outcome_type": "ticket_resolved", "outcome_unit_price": "2.50"}
    timer = post_entry(api, work, spent_date=TODAY, is_running=True, metadata=meta)
    with sql_run() as statements:
        ok(stop(api, timer["id"]))
    assert [kind for kind, _ in events()] == [
        "time_entry.created",
        "time_entry.started",
        "time_entry.stopped",
    ]
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and "JOIN accounts" in reads[0]  # the entry and its viewer's account
    [(kind, data)] = events("outcome.")  # the only one: the running timer was none
    assert (kind, data["time_entry_id"], data["revenue"]) == (
        "outcome.created",
        timer["id"],
        "2.50",
    )


def test_stop_accepts_a_body_less_request_with_a_json_content_type(
    api: TestClient, work: Work, clock: FakeClock
) -> None:
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    clock.advance(minutes=6)
    response = api.patch(
        f"{V2}/time_entries/{timer['id']}/stop", headers={"Content-Type": "application/json"}
    )
    assert ok(response)["hours"] == Decimal("0.1")


def test_one_running_timer_per_user(
    api: TestClient, work: Work, clock: FakeClock, counts: Counts, db: Database, events: Events
) -> None:
    first = post_entry(api, work, spent_date=TODAY, is_running=True)
    written = counts()
    clock.advance(minutes=20)
    body = assert_error(
        api.post(f"{V2}/time_entries", json=work.entry(spent_date=TODAY, is_running=True)),
        409,
        first["id"],
        "replace_running",
    )
    assert body["error"] == "timer_running"
    assert counts() == written
    # A finished entry while a timer runs is fine.
    post_entry(api, work, spent_date=TODAY, hours=1)
    second = post_entry(api, work, spent_date=TODAY, is_running=True, replace_running=True)
    assert running_ids(db) == [second["id"]]
    old = ok(api.get(f"{V2}/time_entries/{first['id']}"))
    assert (old["is_running"], old["hours"], old["ended_time"]) == (
        False,
        Decimal("0.3333"),
        "15:20",
    )
    stopped = [data for kind, data in events() if kind == "time_entry.stopped"]
    assert [(s["id"], s["auto_stopped"]) for s in stopped] == [(first["id"], False)]


def test_replace_running_is_undone_when_the_new_timer_fails(
    api: TestClient, work: Work, clock: FakeClock, db: Database, counts: Counts
) -> None:
    """The old timer is stopped in the same transaction as the new one starts: a new timer
    refused afterwards (here: it would overlap under `forbid`) leaves the old one running."""
    set_company(api, overlapping_entries="forbid", allow_past_timer_starts=True)
    first = post_entry(api, work, spent_date=TODAY, is_running=True)
    clock.advance(minutes=30)
    written = counts()
    overlapping = work.entry(
        spent_date=TODAY, is_running=True, started_time="14:00", replace_running=True
    )
    assert_error(api.post(f"{V2}/time_entries", json=overlapping), 409, first["id"])
    assert counts() == written
    assert running_ids(db) == [first["id"]]
    assert ok(api.get(f"{V2}/time_entries/{first['id']}"))["hours"] == Decimal("0.5")


def test_each_user_has_a_timer_of_their_own(
    api: TestClient, work: Work, clock: FakeClock, caller: Callable[..., TestClient], db: Database
) -> None:
    member = caller("member")
    mine = post_entry(api, work, spent_date=TODAY, is_running=True)
    theirs = post_entry(member, work, spent_date=TODAY, is_running=True)
    manager = caller("manager")
    for_member = work.entry(spent_date=TODAY, is_running=True, user_id=member.user_id)  # type: ignore[attr-defined]
    assert_error(manager.post(f"{V2}/time_entries", json=for_member), 409, theirs["id"])
    assert sorted(running_ids(db)) == sorted([mine["id"], theirs["id"]])


def test_restart_resumes_and_accumulates(
    api: TestClient, work: Work, clock: FakeClock, events: Events, db: Database
) -> None:
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    url = f"{V2}/time_entries/{timer['id']}"
    clock.advance(minutes=30)
    ok(stop(api, timer["id"]))
    clock.advance(hours=1)  # paused: does not count
    restarted = ok(api.patch(f"{url}/restart", json={}))
    assert restarted["is_running"] is True
    assert restarted["hours"] == Decimal("0.5")
    assert restarted["timer_started_at"] is not None
    assert_error(api.patch(f"{url}/restart"), 409, "already running")
    clock.advance(minutes=15)
    assert ok(api.get(url))["hours"] == Decimal("0.75")
    assert ok(stop(api, timer["id"]))["hours"] == Decimal("0.75")
    assert [kind for kind, _ in events()] == [
        "time_entry.created",
        "time_entry.started",
        "time_entry.stopped",
        "time_entry.started",
        "time_entry.stopped",
    ]
    # Restarting while another timer runs needs replace_running.
    other = post_entry(api, work, spent_date=TODAY, is_running=True)
    assert_error(api.patch(f"{url}/restart", json={}), 409, other["id"])
    ok(api.patch(f"{url}/restart", json={"replace_running": True}))
    assert running_ids(db) == [timer["id"]]
    # A finished entry logged with hours can be restarted too.
    logged = post_entry(api, work, spent_date=TODAY, hours=2)
    resumed = ok(
        api.patch(f"{V2}/time_entries/{logged['id']}/restart", json={"replace_running": True})
    )
    clock.advance(minutes=30)
    assert ok(api.get(f"{V2}/time_entries/{resumed['id']}"))["hours"] == Decimal("2.5")


@pytest.mark.parametrize(
    ("zone", "start", "elapsed", "shown_start", "shown_end", "spent_date"),
    [
        # 01:00 EST, two real hours later it is 04:00 EDT.
        ("America/New_York", "2026-03-08T06:00", 2, "01:00", "04:00", "2026-03-08"),
        # 01:00 EDT, two real hours later it is 02:00 EST.
        ("America/New_York", "2026-11-01T05:00", 2, "01:00", "02:00", "2026-11-01"),
        # 01:30 on Lord Howe (+10:30); an hour later it is 03:00 (+11:00).
        ("Australia/Lord_Howe", "2026-10-03T15:00", 1, "01:30", "03:00", "2026-10-04"),
        ("Europe/London", "2026-03-29T00:30", 1, "00:30", "02:30", "2026-03-29"),
        ("Asia/Kathmandu", "2026-05-05T18:00", 1, "23:45", "00:45", "2026-05-05"),
    ],
)
def test_a_timer_across_a_clock_change_counts_real_time(
    api: TestClient,
    work: Work,
    clock: FakeClock,
    zone: str,
    start: str,
    elapsed: int,
    shown_start: str,
    shown_end: str,
    spent_date: str,
) -> None:
    set_company(api, timezone=zone)
    clock.now = datetime.fromisoformat(start).replace(tzinfo=UTC)
    timer = post_entry(api, work, spent_date=spent_date, is_running=True)
    assert (timer["spent_date"], timer["started_time"]) == (spent_date, shown_start)
    clock.advance(hours=elapsed)
    stopped = ok(stop(api, timer["id"]))
    assert (stopped["hours"], stopped["started_time"], stopped["ended_time"]) == (
        Decimal(elapsed),
        shown_start,
        shown_end,
    )
    assert stopped["spent_date"] == spent_date


@pytest.mark.parametrize(
    ("zone", "spent_date", "started_time", "hours", "shown_date"),
    [
        ("UTC", TODAY, "09:00", "6", TODAY),
        ("UTC", "2026-05-05", "15:00", "24", "2026-05-05"),
        ("UTC", "2026-05-05", None, "24", "2026-05-05"),  # now's wall time, on that day
        # 15:00Z is 11:00 EDT: yesterday 23:30 local was 11.5 h ago.
        ("America/New_York", "2026-05-05", "23:30", "11.5", "2026-05-05"),
        # 15:00Z is 02:00 next day in Lord Howe (+11:00 until April... +10:30 in May).
        ("Australia/Lord_Howe", "2026-05-07", "01:00", "0.5", "2026-05-07"),
        ("Asia/Kathmandu", "2026-05-06", "20:00", "0.75", "2026-05-06"),
    ],
)
def test_timers_started_in_the_past_need_the_setting(
    api: TestClient,
    work: Work,
    clock: FakeClock,
    counts: Counts,
    zone: str,
    spent_date: str,
    started_time: str | None,
    hours: str,
    shown_date: str,
) -> None:
    set_company(api, timezone=zone)
    fields: dict[str, Any] = {"spent_date": spent_date, "is_running": True}
    if started_time:
        fields["started_time"] = started_time
    before = counts()
    refused = api.post(f"{V2}/time_entries", json=work.entry(**fields))
    assert_error(refused, 400, (started_time and "started_time") or "spent_date", "past")
    assert counts() == before
    set_company(api, allow_past_timer_starts=True)
    timer = post_entry(api, work, **fields)
    assert timer["is_running"] is True
    assert timer["hours"] == Decimal(hours)
    assert timer["spent_date"] == shown_date
    if started_time:
        assert timer["started_time"] == started_time


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"spent_date": TODAY, "started_time": "15:05"}, "started_time"),
        ({"spent_date": TODAY, "started_time": "23:59"}, "started_time"),
        ({"spent_date": "2026-05-07"}, "spent_date"),
        ({"spent_date": "2027-01-01", "started_time": "00:00"}, "started_time"),
    ],
)
def test_timers_cannot_start_in_the_future(
    api: TestClient,
    work: Work,
    clock: FakeClock,
    counts: Counts,
    fields: dict[str, str],
    field: str,
) -> None:
    set_company(api, allow_past_timer_starts=True)
    before = counts()
    response = api.post(f"{V2}/time_entries", json=work.entry(is_running=True, **fields))
    assert_error(response, 400, field, "future")
    assert counts() == before


def test_a_start_within_the_minute_counts_as_now(
    api: TestClient, work: Work, clock: FakeClock
) -> None:
    """Wall-clock input has minute precision: 15:00 sent at 15:00:40 is not "the past"."""
    clock.advance(seconds=40)
    timer = post_entry(api, work, spent_date=TODAY, is_running=True, started_time="15:00")
    assert timer["started_time"] == "15:00"
    assert timer["hours"] == Decimal("0.0111")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hours": 1}, "hours"),
        ({"ended_time": "16:00"}, "ended_time"),
    ],
)
def test_a_running_timer_measures_its_own_time(
    api: TestClient,
    work: Work,
    clock: FakeClock,
    counts: Counts,
    fields: dict[str, Any],
    field: str,
) -> None:
    before = counts()
    response = api.post(
        f"{V2}/time_entries", json=work.entry(spent_date=TODAY, is_running=True, **fields)
    )
    assert_error(response, 400, field)
    assert counts() == before
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    patched = api.patch(f"{V2}/time_entries/{timer['id']}", json=fields)
    assert_error(patched, 400, field)
    notes = ok(api.patch(f"{V2}/time_entries/{timer['id']}", json={"notes": "still running"}))
    assert notes["is_running"] is True


def test_moving_a_running_timer_start(api: TestClient, work: Work, clock: FakeClock) -> None:
    set_company(api, allow_past_timer_starts=True)
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    clock.advance(minutes=10)
    moved = ok(api.patch(f"{V2}/time_entries/{timer['id']}", json={"started_time": "14:00"}))
    assert (moved["is_running"], moved["started_time"], moved["hours"]) == (
        True,
        "14:00",
        Decimal("1.1667"),
    )
    future = api.patch(f"{V2}/time_entries/{timer['id']}", json={"started_time": "16:00"})
    assert_error(future, 400, "started_time", "future")


# --- auto-stop ---


def test_a_forgotten_timer_reads_as_stopped_at_the_limit(
    api: TestClient, work: Work, clock: FakeClock, db: Database, events: Events
) -> None:
    set_company(api, auto_stop_after_hours="2")
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    url = f"{V2}/time_entries/{timer['id']}"
    clock.advance(hours=1, minutes=59)
    assert ok(api.get(url))["is_running"] is True
    clock.advance(hours=1, minutes=1)
    read = ok(api.get(url))
    assert (read["is_running"], read["hours"], read["ended_time"]) == (False, Decimal(2), "17:00")
    assert read["timer_started_at"] is None
    assert ok(api.get(f"{V2}/time_entries", params={"is_running": "true"}))["time_entries"] == []
    not_running = ok(api.get(f"{V2}/time_entries", params={"is_running": "false"}))
    assert [e["id"] for e in not_running["time_entries"]] == [timer["id"]]
    assert running_ids(db) == [timer["id"]]  # only read as stopped so far

    with db.transaction(write=True) as session:
        assert stop_overdue_timers(session) == 1
    with db.transaction(write=True) as session:
        assert stop_overdue_timers(session) == 0
    assert running_ids(db) == []
    with db.transaction(write=False) as session:
        stored = session.get(TimeEntry, uuid.UUID(timer["id"]))
        assert stored is not None
        assert stored.duration_seconds == 7200
        assert stored.ended_at == NOW + timedelta(hours=2)
    stopped = [data for kind, data in events() if kind == "time_entry.stopped"]
    assert [(s["id"], s["auto_stopped"], s["duration_seconds"]) for s in stopped] == [
        (timer["id"], True, 7200)
    ]
    assert ok(api.get(url)) == read | {"updated_at": ok(api.get(url))["updated_at"]}


def test_the_sweeper_stops_only_overdue_timers_in_every_account(
    api: TestClient,
    work: Work,
    clock: FakeClock,
    db: Database,
    other_tenant: Any,
    events: Events,
) -> None:

    set_company(api, auto_stop_after_hours="1.5")
    overdue = post_entry(api, work, spent_date=TODAY, is_running=True)
    elsewhere = other_tenant.client
    set_company(elsewhere, auto_stop_after_hours="8")
    theirs = post_entry(elsewhere, make_work(elsewhere), spent_date=TODAY, is_running=True)
    clock.advance(hours=3)
    with db.transaction(write=True) as session:
        assert stop_overdue_timers(session) == 1
    assert running_ids(db) == [theirs["id"]]
    assert ok(api.get(f"{V2}/time_entries/{overdue['id']}"))["hours"] == Decimal("1.5")
    clock.advance(hours=6)
    with db.transaction(write=True) as session:
        assert stop_overdue_timers(session) == 1
    assert running_ids(db) == []
    assert ok(elsewhere.get(f"{V2}/time_entries/{theirs['id']}"))["hours"] == Decimal(8)
    auto = [(d["id"], d["auto_stopped"]) for k, d in events() if k == "time_entry.stopped"]
    assert auto == [(overdue["id"], True), (theirs["id"], True)]


def test_an_overdue_timer_does_not_block_a_new_one(
    api: TestClient, work: Work, clock: FakeClock, db: Database, events: Events
) -> None:
    set_company(api, auto_stop_after_hours="1")
    old = post_entry(api, work, spent_date=TODAY, is_running=True)
    clock.advance(hours=2)
    new = post_entry(api, work, spent_date=TODAY, is_running=True)
    assert running_ids(db) == [new["id"]]
    stored = ok(api.get(f"{V2}/time_entries/{old['id']}"))
    assert (stored["is_running"], stored["hours"]) == (False, Decimal(1))
    assert_error(stop(api, old["id"]), 409, "not running")
    auto = [(d["id"], d["auto_stopped"]) for k, d in events() if k == "time_entry.stopped"]
    assert auto == [(old["id"], True)]


def test_without_a_limit_timers_run_on(api: TestClient, work: Work, clock: FakeClock) -> None:
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    clock.advance(hours=30)
    body = ok(api.get(f"{V2}/time_entries/{timer['id']}"))
    assert (body["is_running"], body["hours"]) == (True, Decimal(30))


def test_an_overdue_timer_is_stopped_for_overlaps_and_approvals(
    api: TestClient, work: Work, clock: FakeClock, events: Events
) -> None:
    """A timer past the limit reads as stopped at start + limit everywhere: it blocks no
    later entry under `forbid`, and it can be submitted like any stopped entry."""
    set_company(api, auto_stop_after_hours="1", overlapping_entries="forbid")
    timer = post_entry(api, work, spent_date=TODAY, is_running=True)
    clock.advance(hours=3)
    later = post_entry(api, work, spent_date=TODAY, started_time="16:30", ended_time="17:00")
    assert later["warnings"] == []
    clash = work.entry(spent_date=TODAY, started_time="15:30", ended_time="15:45")
    assert_error(api.post(f"{V2}/time_entries", json=clash), 409, timer["id"])
    submitted = ok(api.post(f"{V2}/time_entries/submit", json={"ids": [timer["id"]]}))
    assert [(e["id"], e["approval_status"], e["hours"]) for e in submitted["time_entries"]] == [
        (timer["id"], "submitted", Decimal(1))
    ]
