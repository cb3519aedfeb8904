"""Approvals and locks, who may see and change whose time, templates, and bulk operations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient
from trackkit import V2, Work, assert_error, ok, post_entry, set_billed

from timeledger.server.db import Database

Events = Callable[..., list[tuple[str, dict[str, Any]]]]
Counts = Callable[[], tuple[int, int]]
DAY = "2026-05-05"


def action(client: TestClient, name: str, **body: Any) -> Any:
    return client.post(f"{V2}/time_entries/{name}", json=body)


def statuses(client: TestClient, *ids: str) -> list[str]:
    return [ok(client.get(f"{V2}/time_entries/{i}"))["approval_status"] for i in ids]


# --- approvals ---


def test_approval_lifecycle(
    api: TestClient,
    work: Work,
    caller: Callable[..., TestClient],
    events: Events,
    counts: Counts,
) -> None:
    member = caller("member")
    manager = caller("manager")
    entry = post_entry(member, work, spent_date=DAY, hours=2)
    url = f"{V2}/time_entries/{entry['id']}"
    ids = [entry["id"]]

    submitted = ok(action(member, "submit", ids=ids))["time_entries"]
    assert [(e["id"], e["approval_status"]) for e in submitted] == [(entry["id"], "submitted")]
    assert_error(action(member, "submit", ids=ids), 409, entry["id"], "submitted")
    assert_error(action(member, "approve", ids=ids), 403, "approv", "manager")

    back = ok(action(manager, "request_changes", ids=ids, reason="split by task"))
    assert back["time_entries"][0]["approval_status"] == "rejected"
    assert back["time_entries"][0]["rejection_reason"] == "split by task"
    assert ok(member.patch(url, json={"hours": 1.5}))["hours"] == Decimal("1.5")
    ok(action(member, "submit", ids=ids))

    approved = ok(action(manager, "approve", ids=ids))["time_entries"][0]
    assert approved["approval_status"] == "approved"
    assert (approved["is_locked"], approved["is_closed"]) == (True, True)
    assert "approved" in approved["locked_reason"]
    assert approved["rejection_reason"] is None
    written = counts()
    assert_error(member.patch(url, json={"notes": "late edit"}), 409, "approved")
    assert_error(api.patch(url, json={"notes": "even the owner"}), 409, "approved")
    assert_error(api.delete(url), 409, "approved")
    assert_error(api.patch(f"{url}/restart", json={}), 409, "approved")
    assert counts() == written

    assert_error(action(manager, "unlock", ids=ids), 403, "admin")
    unlocked = ok(action(api, "unlock", ids=ids))["time_entries"][0]
    assert (unlocked["approval_status"], unlocked["is_locked"], unlocked["is_closed"]) == (
        "unsubmitted",
        False,
        False,
    )
    assert ok(member.patch(url, json={"notes": "fixed"}))["notes"] == "fixed"
    assert [kind for kind, _ in events()] == [
        "time_entry.created",
        "time_entry.submitted",
        "time_entry.changes_requested",
        "time_entry.updated",
        "time_entry.submitted",
        "time_entry.approved",
        "time_entry.unlocked",
        "time_entry.updated",
    ]
    approved_event = next(data for kind, data in events() if kind == "time_entry.approved")
    assert approved_event["approved_by_id"] == manager.user_id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "body", "from_status", "status"),
    [
        ("approve", {}, "unsubmitted", 409),
        ("request_changes", {"reason": "r"}, "unsubmitted", 409),
        ("unlock", {}, "submitted", 409),
        ("submit", {}, "approved", 409),
        ("approve", {}, "approved", 409),
        ("submit", {}, "rejected", 200),
        ("unlock", {}, "approved", 200),
    ],
)
def test_approval_state_rules(
    api: TestClient,
    work: Work,
    counts: Counts,
    name: str,
    body: dict[str, Any],
    from_status: str,
    status: int,
) -> None:
    entry = post_entry(api, work, spent_date=DAY, hours=1)
    ids = [entry["id"]]
    path = {
        "unsubmitted": [],
        "submitted": ["submit"],
        "approved": ["submit", "approve"],
        "rejected": ["submit", "request_changes"],
    }[from_status]
    for step in path:
        ok(action(api, step, ids=ids, reason="r"))
    assert statuses(api, entry["id"]) == [from_status]
    before = counts()
    response = action(api, name, ids=ids, **body)
    if status == 409:
        body_ = assert_error(response, 409, entry["id"], from_status)
        assert body_["error"] == "invalid_state"
        assert counts() == before
        assert statuses(api, entry["id"]) == [from_status]
    else:
        ok(response)
        assert counts()[1] == before[1] + 1


def test_a_selection_is_all_or_nothing(api: TestClient, work: Work, counts: Counts) -> None:
    fresh = post_entry(api, work, spent_date=DAY, hours=1)
    done = post_entry(api, work, spent_date=DAY, hours=1)
    ok(action(api, "submit", ids=[done["id"]]))
    before = counts()
    assert_error(action(api, "submit", ids=[fresh["id"], done["id"]]), 409, done["id"])
    assert counts() == before
    assert statuses(api, fresh["id"], done["id"]) == ["unsubmitted", "submitted"]


def test_submit_by_user_and_date_range(
    api: TestClient, work: Work, caller: Callable[..., TestClient], tenant: Any
) -> None:
    member = caller("member")
    inside = [post_entry(member, work, spent_date=d, hours=1)["id"] for d in ("2026-05-04", DAY)]
    outside = post_entry(member, work, spent_date="2026-05-10", hours=1)["id"]
    owners = post_entry(api, work, spent_date=DAY, hours=1)["id"]
    submitted = ok(action(member, "submit", **{"from": "2026-05-01", "to": "2026-05-07"}))
    assert sorted(e["id"] for e in submitted["time_entries"]) == sorted(inside)
    assert statuses(api, outside, owners) == ["unsubmitted", "unsubmitted"]
    # Members submit only their own time.
    assert_error(action(member, "submit", user_id=tenant.user_id, to=DAY), 403, "manager")
    week = {"user_id": member.user_id, "from": "2026-05-01", "to": "2026-05-07"}  # type: ignore[attr-defined]
    approved = ok(action(api, "approve", **week))["time_entries"]
    assert sorted(e["id"] for e in approved) == sorted(inside)


def test_running_entries_cannot_be_submitted(api: TestClient, work: Work) -> None:
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    timer = post_entry(api, work, spent_date=today, is_running=True)
    assert_error(action(api, "submit", ids=[timer["id"]]), 409, "running")
    assert statuses(api, timer["id"]) == ["unsubmitted"]


def test_billed_entries_are_locked_for_good(
    api: TestClient, work: Work, db: Database, counts: Counts
) -> None:
    entry = post_entry(api, work, spent_date=DAY, hours=1)
    ok(action(api, "submit", ids=[entry["id"]]))
    ok(action(api, "approve", ids=[entry["id"]]))
    set_billed(api, work, db, entry["id"])
    url = f"{V2}/time_entries/{entry['id']}"
    body = ok(api.get(url))
    assert (body["is_billed"], body["is_locked"]) == (True, True)
    assert "billed" in body["locked_reason"]
    before = counts()
    assert_error(api.patch(url, json={"notes": "x"}), 409, "billed")
    assert_error(api.delete(url), 409, "billed")
    assert_error(action(api, "unlock", ids=[entry["id"]]), 409, "billed")
    assert counts() == before
    assert ok(api.get(f"{V2}/time_entries", params={"is_billed": "true"}))["total_entries"] == 1


# --- who sees and changes what ---


def test_members_see_and_change_only_their_own_time(
    api: TestClient, work: Work, caller: Callable[..., TestClient], counts: Counts
) -> None:
    member = caller("member")
    colleague = caller("member")
    owners = post_entry(api, work, spent_date=DAY, hours=1)
    theirs = post_entry(colleague, work, spent_date=DAY, hours=1)
    mine = post_entry(member, work, spent_date=DAY, hours=1)
    assert mine["user_id"] == member.user_id  # type: ignore[attr-defined]
    listed = ok(member.get(f"{V2}/time_entries"))["time_entries"]
    assert [e["id"] for e in listed] == [mine["id"]]
    before = counts()
    for other in (owners, theirs):
        url = f"{V2}/time_entries/{other['id']}"
        assert_error(member.get(url), 404, "time entry")
        assert_error(member.patch(url, json={"notes": "mine now"}), 404, "time entry")
        assert_error(member.delete(url), 404, "time entry")
        assert_error(member.patch(f"{url}/restart", json={}), 404, "time entry")
        assert_error(action(member, "submit", ids=[other["id"]]), 404, other["id"])
    assert counts() == before
    # Logging time for someone else takes a manager.
    for_owner = work.entry(spent_date=DAY, hours=1, user_id=owners["user_id"])
    assert_error(member.post(f"{V2}/time_entries", json=for_owner), 403, "manager")
    # Moving one's own entry to someone else too.
    moved = member.patch(
        f"{V2}/time_entries/{mine['id']}",
        json={"user_id": colleague.user_id},  # type: ignore[attr-defined]
    )
    assert_error(moved, 403, "manager")
    assert counts() == before


def test_managers_log_and_see_everyone_s_time(
    api: TestClient, work: Work, caller: Callable[..., TestClient], events: Events
) -> None:
    member = caller("member", first_name="Mia", last_name="Member")
    manager = caller("manager")
    uid = member.user_id  # type: ignore[attr-defined]
    logged = post_entry(manager, work, spent_date=DAY, hours=1, user_id=uid)
    assert logged["user"] == {"id": uid, "name": "Mia Member"}
    assert ok(member.get(f"{V2}/time_entries/{logged['id']}"))["user_id"] == uid
    everyone = ok(manager.get(f"{V2}/time_entries"))["total_entries"]
    assert everyone == 1
    post_entry(api, work, spent_date=DAY, hours=1)
    assert ok(manager.get(f"{V2}/time_entries"))["total_entries"] == 2
    assert ok(manager.get(f"{V2}/time_entries", params={"user_id": uid}))["total_entries"] == 1
    ok(manager.patch(f"{V2}/time_entries/{logged['id']}", json={"notes": "checked"}))
    assert manager.delete(f"{V2}/time_entries/{logged['id']}").status_code == 204


def test_deactivated_users_get_no_new_time(
    api: TestClient, work: Work, caller: Callable[..., TestClient]
) -> None:
    member = caller("member")
    uid = member.user_id  # type: ignore[attr-defined]
    ok(api.delete(f"{V2}/users/{uid}"))
    refused = api.post(f"{V2}/time_entries", json=work.entry(spent_date=DAY, hours=1, user_id=uid))
    assert_error(refused, 400, "user_id", "deactivated")


def test_other_accounts_are_invisible(
    api: TestClient, work: Work, other_tenant: Any, counts: Counts
) -> None:
    entry = post_entry(api, work, spent_date=DAY, hours=1)
    them = other_tenant.client
    assert ok(them.get(f"{V2}/time_entries"))["time_entries"] == []
    url = f"{V2}/time_entries/{entry['id']}"
    before = counts()
    assert_error(them.get(url), 404, "time entry")
    assert_error(them.patch(url, json={"notes": "x"}), 404, "time entry")
    assert_error(them.delete(url), 404, "time entry")
    assert counts() == before


# --- templates ---


def test_templates_crud_and_logging_from_one(
    api: TestClient, work: Work, caller: Callable[..., TestClient], events: Events
) -> None:
    made = ok(
        api.post(
            f"{V2}/time_entry_templates",
            json={
                "name": "Standup",
                "project_id": work.project_id,
                "task_id": work.task_id,
                "notes": "daily standup",
                "hours": 0.25,
                "billable": False,
                "metadata": {"kind": "meeting"},
            },
        ),
        201,
    )
    assert made["project"] == {"id": work.project_id, "name": "Website"}
    assert (made["hours"], made["billable"], made["metadata"]) == (
        Decimal("0.25"),
        False,
        {"kind": "meeting"},
    )
    url = f"{V2}/time_entry_templates/{made['id']}"
    assert ok(api.get(url)) == made
    assert [t["id"] for t in ok(api.get(f"{V2}/time_entry_templates"))["time_entry_templates"]] == [
        made["id"]
    ]
    renamed = ok(api.patch(url, json={"name": "Daily standup"}))
    assert renamed["name"] == "Daily standup" and renamed["notes"] == "daily standup"

    entry = ok(
        api.post(f"{V2}/time_entries/from_template/{made['id']}", json={"spent_date": DAY}), 201
    )
    assert (entry["project_id"], entry["task_id"], entry["spent_date"]) == (
        work.project_id,
        work.task_id,
        DAY,
    )
    assert (entry["hours"], entry["notes"], entry["billable"], entry["metadata"]) == (
        Decimal("0.25"),
        "daily standup",
        False,
        {"kind": "meeting"},
    )
    override = ok(
        api.post(
            f"{V2}/time_entries/from_template/{made['id']}",
            json={"spent_date": DAY, "hours": 1, "notes": "long one", "source": "cli"},
        ),
        201,
    )
    assert (override["hours"], override["notes"], override["source"]) == (
        Decimal(1),
        "long one",
        "cli",
    )
    # Templates are their owner's: a member neither sees nor uses them.
    member = caller("member")
    assert ok(member.get(f"{V2}/time_entry_templates"))["time_entry_templates"] == []
    assert_error(
        member.post(f"{V2}/time_entries/from_template/{made['id']}", json={"spent_date": DAY}),
        404,
        "template",
    )
    deleted = ok(api.delete(url))
    assert deleted["id"] == made["id"]
    assert_error(api.get(url), 404, "template")
    assert_error(
        api.post(f"{V2}/time_entries/from_template/{made['id']}", json={"spent_date": DAY}),
        404,
        "template",
    )
    # The entries made from it stay.
    assert ok(api.get(f"{V2}/time_entries"))["total_entries"] == 2
    kinds = [k for k, _ in events("time_entry_template.")]
    assert kinds == [
        "time_entry_template.created",
        "time_entry_template.updated",
        "time_entry_template.deleted",
    ]


def test_a_running_timer_from_a_template(api: TestClient, work: Work) -> None:
    from datetime import UTC, datetime

    made = ok(
        api.post(
            f"{V2}/time_entry_templates",
            json={"name": "T", "project_id": work.project_id, "task_id": work.task_id, "hours": 2},
        ),
        201,
    )
    today = datetime.now(UTC).date().isoformat()
    body = {"spent_date": today, "is_running": True}
    timer = ok(api.post(f"{V2}/time_entries/from_template/{made['id']}", json=body), 201)
    assert timer["is_running"] is True and timer["hours"] < Decimal("0.01")
    again = api.post(f"{V2}/time_entries/from_template/{made['id']}", json=body)
    assert_error(again, 409, timer["id"])


# --- bulk ---


def test_bulk_create_is_all_or_nothing(
    api: TestClient, work: Work, counts: Counts, events: Events
) -> None:
    items = [work.entry(spent_date=DAY, hours=h, notes=f"n{h}") for h in (1, 2, 3)]
    made = ok(api.post(f"{V2}/time_entries/bulk", json={"time_entries": items}), 201)
    assert [(e["notes"], e["hours"]) for e in made["time_entries"]] == [
        ("n1", Decimal(1)),
        ("n2", Decimal(2)),
        ("n3", Decimal(3)),
    ]
    assert counts()[0] == 3
    assert [k for k, _ in events()] == ["time_entry.created"] * 3
    before = counts()
    bad = [
        work.entry(spent_date=DAY, hours=1),
        work.entry(spent_date=DAY, hours=1, task_id=work.unassigned_task_id),
        work.entry(spent_date="2026-13-01", hours=1),
        {"hours": 1},
        work.entry(spent_date=DAY, hours=1),
    ]
    response = api.post(f"{V2}/time_entries/bulk", json={"time_entries": bad})
    body = assert_error(response, 400, "3 of 5", "nothing was written")
    assert body["error"] == "bulk_failed"
    assert [(e["index"], e["status"]) for e in body["errors"]] == [(1, 400), (2, 400), (3, 400)]
    assert "task_id" in body["errors"][0]["error_description"]
    assert "spent_date" in body["errors"][1]["error_description"]
    assert "project_id" in body["errors"][2]["error_description"]
    assert all(e["error"] for e in body["errors"])
    assert counts() == before


def test_bulk_create_of_500(api: TestClient, work: Work, counts: Counts) -> None:
    items = [work.entry(spent_date=DAY, hours=0.5, notes=str(i)) for i in range(500)]
    before = counts()
    made = ok(api.post(f"{V2}/time_entries/bulk", json={"time_entries": items}), 201)
    assert [e["notes"] for e in made["time_entries"]] == [str(i) for i in range(500)]
    assert counts() == (500, before[1] + 500)
    assert ok(api.get(f"{V2}/time_entries", params={"per_page": 1}))["total_entries"] == 500


def test_bulk_update_and_delete_are_all_or_nothing(
    api: TestClient, work: Work, counts: Counts, events: Events
) -> None:
    ids = [post_entry(api, work, spent_date=DAY, hours=1)["id"] for _ in range(3)]
    patched = ok(
        api.patch(
            f"{V2}/time_entries/bulk",
            json={"time_entries": [{"id": i, "notes": f"bulk {n}"} for n, i in enumerate(ids)]},
        )
    )
    assert [e["notes"] for e in patched["time_entries"]] == ["bulk 0", "bulk 1", "bulk 2"]
    ok(action(api, "submit", ids=[ids[2]]))
    ok(action(api, "approve", ids=[ids[2]]))
    before = counts()
    missing = str(uuid.uuid4())
    response = api.patch(
        f"{V2}/time_entries/bulk",
        json={
            "time_entries": [
                {"id": ids[0], "hours": 5},
                {"id": missing, "hours": 1},
                {"id": ids[1], "hours": 30},
                {"id": ids[2], "notes": "locked"},
                {"hours": 1},
            ]
        },
    )
    body = assert_error(response, 400, "4 of 5")
    assert [(e["index"], e["status"]) for e in body["errors"]] == [
        (1, 404),
        (2, 400),
        (3, 409),
        (4, 400),
    ]
    assert counts() == before
    assert ok(api.get(f"{V2}/time_entries/{ids[0]}"))["hours"] == Decimal(1)

    response = api.request("DELETE", f"{V2}/time_entries/bulk", json={"ids": [ids[0], ids[2]]})
    body = assert_error(response, 400, "1 of 2")
    assert [(e["index"], e["status"], e["error"]) for e in body["errors"]] == [(1, 409, "locked")]
    assert counts() == before
    deleted = ok(api.request("DELETE", f"{V2}/time_entries/bulk", json={"ids": ids[:2]}))
    assert deleted == {"ids": ids[:2], "deleted": True}
    assert counts()[0] == 1
    assert [k for k, _ in events()][-2:] == ["time_entry.deleted", "time_entry.deleted"]
