"""The audit log over HTTP, on both engines: every change to entries, expenses, outcomes,
users, API keys and company settings is recorded with who (user and key), when, through which
surface, and the changed fields before and after; GET /api/v2/audit_log filters it for admins
only, per account; and the database itself refuses to rewrite or delete it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from timeledger.server.accounts.models import Account
from timeledger.server.audit.models import AuditRecord
from timeledger.server.db import Database
from timeledger.server.tracking.service import stop_overdue_timers

V2 = "/api/v2"
TODAY = datetime.now(UTC).date().isoformat()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def log(api: TestClient, **filters: Any) -> list[dict[str, Any]]:
    body = ok(api.get(f"{V2}/audit_log", params={"per_page": 2000, **filters}))
    records: list[dict[str, Any]] = body["audit_log"]
    assert body["total_entries"] == len(records)
    return records


def first_key_id(api: TestClient) -> str:
    key_id: str = ok(api.get(f"{V2}/api_keys"))["api_keys"][-1]["id"]
    return key_id


@pytest.fixture
def work(api: TestClient) -> dict[str, str]:
    project = ok(
        api.post(
            f"{V2}/projects",
            json={"name": "Site", "hourly_rate": 100, "is_billable": True, "bill_by": "Project"},
        ),
        201,
    )
    task = ok(api.post(f"{V2}/tasks", json={"name": "Design"}), 201)
    path = f"{V2}/projects/{project['id']}/task_assignments"
    ok(api.post(path, json={"task_id": task["id"]}), 201)
    return {"project_id": project["id"], "task_id": task["id"]}


@pytest.fixture
def member(app: FastAPI, api: TestClient) -> Callable[[str], TestClient]:
    """A client for a new user of the tenant with this role, using their own key."""

    def _member(role: str) -> TestClient:
        person = ok(
            api.post(f"{V2}/users", json={"email": f"{role}@acme.example", "role": role}), 201
        )
        key = ok(
            api.post(
                f"{V2}/api_keys", json={"name": role, "scope": "write", "user_id": person["id"]}
            ),
            201,
        )
        client = TestClient(
            app,
            base_url="http://testserver",
            raise_server_exceptions=False,
            headers={"Authorization": f"Bearer {key['token']}"},
        )
        client.user_id = person["id"]  # type: ignore[attr-defined]
        client.key_id = key["id"]  # type: ignore[attr-defined]
        return client

    return _member


def test_an_entry_s_life_is_recorded_with_who_what_and_changed_fields(
    api: TestClient, tenant: Any, work: dict[str, str]
) -> None:
    entry = ok(
        api.post(
            f"{V2}/time_entries",
            json={**work, "spent_date": TODAY, "hours": 1, "notes": "draft"},
        ),
        201,
    )
    ok(api.patch(f"{V2}/time_entries/{entry['id']}", json={"notes": "final", "hours": 2}))
    ok(api.patch(f"{V2}/time_entries/{entry['id']}", json={"notes": "final"}))  # no change
    assert api.delete(f"{V2}/time_entries/{entry['id']}").status_code == 204

    deleted, updated, created = log(api, object_id=entry["id"])  # newest first
    key_id = first_key_id(api)
    for record in (deleted, updated, created):
        assert record["object_type"] == "time_entry"
        assert record["object_id"] == entry["id"]
        assert record["user_id"] == tenant.user_id
        assert record["api_key_id"] == key_id
        assert record["surface"] == "api/v2"
    assert [r["action"] for r in (deleted, updated, created)] == ["deleted", "updated", "created"]
    assert created["occurred_at"] <= updated["occurred_at"] <= deleted["occurred_at"]

    assert created["before"] is None
    assert created["after"]["notes"] == "draft"
    assert created["after"]["duration_seconds"] == 3600
    assert created["after"]["project_id"] == work["project_id"]
    # Only what changed, both sides; bookkeeping timestamps are not changes.
    assert updated["before"]["notes"] == "draft"
    assert updated["after"]["notes"] == "final"
    assert updated["before"]["duration_seconds"] == 3600
    assert updated["after"]["duration_seconds"] == 7200
    assert updated["before"].keys() == updated["after"].keys()
    assert not {"project_id", "user_id", "updated_at", "created_at"} & updated["after"].keys()
    assert deleted["after"] is None
    assert deleted["before"]["notes"] == "final"
    assert deleted["before"]["duration_seconds"] == 7200


def test_timers_approvals_and_outcomes_are_recorded_for_the_user_who_acted(
    api: TestClient, member: Callable[[str], TestClient], work: dict[str, str], tenant: Any
) -> None:
    alice = member("member")
    timer = ok(alice.post(f"{V2}/time_entries", json={**work, "is_running": True}), 201)
    ok(alice.patch(f"{V2}/time_entries/{timer['id']}/stop", json={}))
    ok(alice.patch(f"{V2}/time_entries/{timer['id']}/restart", json={}))
    ok(alice.patch(f"{V2}/time_entries/{timer['id']}/stop", json={}))
    finished = ok(
        alice.post(f"{V2}/time_entries", json={**work, "spent_date": TODAY, "hours": 1}), 201
    )
    ok(alice.post(f"{V2}/time_entries/submit", json={"ids": [finished["id"]]}))
    ok(api.post(f"{V2}/time_entries/approve", json={"ids": [finished["id"]]}))

    records = log(api, object_id=timer["id"])
    assert [r["action"] for r in records] == ["stopped", "started", "stopped", "created"]
    assert {(r["user_id"], r["api_key_id"]) for r in records} == {(alice.user_id, alice.key_id)}  # type: ignore[attr-defined]
    stopped = records[0]
    assert stopped["before"]["is_running"] is True and stopped["after"]["is_running"] is False
    assert stopped["before"]["ended_at"] is None and stopped["after"]["ended_at"] is not None

    approved, submitted, _created = log(api, object_id=finished["id"])
    assert submitted["action"] == "submitted" and submitted["user_id"] == alice.user_id  # type: ignore[attr-defined]
    assert submitted["before"]["approval_status"] == "unsubmitted"
    assert submitted["after"]["approval_status"] == "submitted"
    assert approved["action"] == "approved" and approved["user_id"] == tenant.user_id
    assert approved["after"]["approval_status"] == "approved"
    assert approved["after"]["approved_by_id"] == tenant.user_id

    outcome = ok(
        api.post(
            f"{V2}/outcomes",
            json={**work, "spent_date": TODAY, "type": "ticket_resolved", "unit_price": 5},
        ),
        201,
    )
    by_type = {r["object_type"]: r for r in log(api, object_id=outcome["id"])}
    assert by_type.keys() == {"time_entry", "outcome"}
    assert by_type["outcome"]["action"] == "created"
    assert by_type["outcome"]["after"]["type"] == "ticket_resolved"
    assert by_type["outcome"]["after"]["unit_price"] == "5"


def test_bulk_changes_record_one_row_per_object(
    api: TestClient, work: dict[str, str], db: Database
) -> None:
    items = [{**work, "spent_date": TODAY, "hours": h} for h in (1, 2, 3)]
    created = ok(api.post(f"{V2}/time_entries/bulk", json={"time_entries": items}), 201)
    ids = [entry["id"] for entry in created["time_entries"]]
    ok(api.post(f"{V2}/time_entries/submit", json={"ids": ids}))
    ok(api.post(f"{V2}/time_entries/approve", json={"ids": ids}))
    ok(api.post(f"{V2}/time_entries/unlock", json={"ids": ids}))
    bad = [{"id": ids[0], "notes": "kept"}, {"id": "nope", "notes": "x"}]
    assert api.patch(f"{V2}/time_entries/bulk", json={"time_entries": bad}).status_code == 400
    response = api.request("DELETE", f"{V2}/time_entries/bulk", json={"ids": ids})
    assert response.status_code == 200, response.text

    for action in ("created", "submitted", "approved", "unlocked", "deleted"):
        records = log(api, object_type="time_entry", action=action)
        assert sorted(r["object_id"] for r in records) == sorted(ids), action
    (approved,) = log(api, object_id=ids[1], action="approved")
    assert approved["before"]["approval_status"] == "submitted"
    assert approved["after"]["approval_status"] == "approved"
    assert log(api, action="updated") == []  # the failed bulk update wrote nothing
    # Recorded as one batch: every record of the approval shares its instant.
    assert len({r["occurred_at"] for r in log(api, action="approved")}) == 1


def test_users_keys_company_settings_and_expenses_are_recorded(
    api: TestClient, work: dict[str, str], tenant: Any
) -> None:
    user = ok(api.post(f"{V2}/users", json={"email": "bo@acme.example", "role": "member"}), 201)
    ok(api.patch(f"{V2}/users/{user['id']}", json={"role": "manager"}))
    key = ok(api.post(f"{V2}/api_keys", json={"name": "ci", "scope": "read"}), 201)
    ok(api.delete(f"{V2}/api_keys/{key['id']}"))
    ok(api.patch(f"{V2}/company", json={"overlapping_entries": "warn", "name": "Acme Ltd"}))
    category = ok(api.post(f"{V2}/expense_categories", json={"name": "Travel"}), 201)
    expense = ok(
        api.post(
            f"{V2}/expenses",
            json={
                "project_id": work["project_id"],
                "expense_category_id": category["id"],
                "spent_date": TODAY,
                "total_cost": 12.5,
            },
        ),
        201,
    )
    ok(api.patch(f"{V2}/expenses/{expense['id']}", json={"total_cost": 20}))

    promoted, created_user = log(api, object_id=user["id"])
    assert created_user["action"] == "created" and created_user["after"]["role"] == "member"
    assert (promoted["before"], promoted["after"]) == ({"role": "member"}, {"role": "manager"})

    revoked, minted = log(api, object_id=key["id"])
    assert minted["object_type"] == "api_key" and minted["after"]["scope"] == "read"
    assert "secret_hash" not in minted["after"]
    assert revoked["action"] == "revoked"
    assert revoked["before"] == {"revoked_at": None} and revoked["after"]["revoked_at"]

    (company,) = log(api, object_type="company")
    assert company["object_id"] == tenant.account_id and company["action"] == "updated"
    assert company["before"] == {"name": "Acme", "overlapping_entries": "allow"}
    assert company["after"] == {"name": "Acme Ltd", "overlapping_entries": "warn"}

    changed, created_expense = log(api, object_id=expense["id"])
    assert created_expense["object_type"] == "expense"
    assert created_expense["after"]["total_cost"] == "12.5"
    assert (changed["before"], changed["after"]) == ({"total_cost": "12.5"}, {"total_cost": "20"})
    (category_record,) = log(api, object_id=category["id"])
    assert category_record["object_type"] == "expense_category"


def test_the_system_s_own_changes_name_no_user(
    api: TestClient, db: Database, work: dict[str, str], tenant: Any
) -> None:
    """Account bootstrap and the forgotten-timer sweeper act as no user, surface "system"."""
    bootstrap = log(api, surface="system")
    assert {(r["object_type"], r["action"]) for r in bootstrap} == {
        ("user", "created"),
        ("api_key", "created"),
    }
    assert all(r["user_id"] is None and r["api_key_id"] is None for r in bootstrap)

    ok(api.patch(f"{V2}/company", json={"auto_stop_after_hours": 1}))
    timer = ok(api.post(f"{V2}/time_entries", json={**work, "is_running": True}), 201)
    with db.transaction(write=True) as session:
        assert stop_overdue_timers(session, datetime.now(UTC) + timedelta(hours=2)) == 1
    stopped, _created = log(api, object_id=timer["id"])
    assert (stopped["action"], stopped["surface"], stopped["user_id"]) == (
        "stopped",
        "system",
        None,
    )


def test_filters_paging_and_bad_input(
    api: TestClient, member: Callable[[str], TestClient], work: dict[str, str], tenant: Any
) -> None:
    alice = member("member")
    started = datetime.now(UTC) - timedelta(seconds=1)
    mine = [
        ok(alice.post(f"{V2}/time_entries", json={**work, "spent_date": TODAY, "hours": h}), 201)
        for h in (1, 2, 3)
    ]
    ok(api.patch(f"{V2}/time_entries/{mine[0]['id']}", json={"notes": "checked"}))
    after_all = datetime.now(UTC) + timedelta(seconds=1)

    alice_records = log(api, user_id=alice.user_id)  # type: ignore[attr-defined]
    assert [r["object_id"] for r in alice_records] == [e["id"] for e in reversed(mine)]
    assert log(api, api_key_id=alice.key_id) == alice_records  # type: ignore[attr-defined]
    assert len(log(api, object_type="time_entry", action="created")) == 3
    (update,) = log(api, object_type="time_entry", action="updated")
    assert update["user_id"] == tenant.user_id
    assert log(api, surface="api/v2", object_type="time_entry", user_id=tenant.user_id) == [update]
    window = log(api, **{"from": started.isoformat(), "to": after_all.isoformat()})
    assert {r["object_id"] for r in window} >= {e["id"] for e in mine}
    assert log(api, **{"from": after_all.isoformat()}) == []
    assert log(api, object_id="not-a-uuid") == [] and log(api, object_type="invoice") == []

    page = ok(api.get(f"{V2}/audit_log", params={"per_page": 2, "page": 2, "action": "created"}))
    everything = log(api, action="created")
    assert page["total_entries"] == len(everything) and page["per_page"] == 2
    assert page["audit_log"] == everything[2:4]
    assert page["links"]["first"].startswith(f"{V2}/audit_log?")

    for params in (
        {"from": "yesterday"},
        {"per_page": 0},
        {"from": after_all.isoformat(), "to": started.isoformat()},
        {"action": "x" * 65},
    ):
        response = api.get(f"{V2}/audit_log", params=params)
        assert response.status_code in (400, 422), (params, response.text)
        assert response.json()["error"], response.text


@pytest.mark.parametrize("role", ["member", "manager"])
def test_only_admins_and_owners_read_it(
    api: TestClient, member: Callable[[str], TestClient], role: str
) -> None:
    someone = member(role)
    response = someone.get(f"{V2}/audit_log")
    assert response.status_code == 403, response.text
    assert "admin" in response.json()["error_description"]
    assert member("admin").get(f"{V2}/audit_log").status_code == 200


def test_an_account_sees_only_its_own_records(
    api: TestClient, other_tenant: Any, work: dict[str, str]
) -> None:
    entry = ok(api.post(f"{V2}/time_entries", json={**work, "spent_date": TODAY, "hours": 1}), 201)
    theirs = log(other_tenant.client)
    assert theirs and all(r["user_id"] in (None, other_tenant.user_id) for r in theirs)
    assert entry["id"] not in {r["object_id"] for r in theirs}
    assert log(other_tenant.client, object_id=entry["id"]) == []
    assert len(log(api, object_id=entry["id"])) == 1


def test_a_failed_change_records_nothing(
    api: TestClient, work: dict[str, str], db: Database
) -> None:
    entry = ok(api.post(f"{V2}/time_entries", json={**work, "spent_date": TODAY, "hours": 1}), 201)
    before = log(api)
    response = api.patch(f"{V2}/time_entries/{entry['id']}", json={"notes": "x", "hours": 99})
    assert response.status_code == 400, response.text
    assert log(api) == before


def _count(db: Database, account_id: uuid.UUID | None = None) -> int:
    with db.transaction(write=False) as session:
        stmt = select(func.count()).select_from(AuditRecord)
        if account_id is not None:
            stmt = stmt.where(AuditRecord.account_id == account_id)
        return session.scalar(stmt) or 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'forged'",
        "UPDATE audit_log SET after = NULL",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE action = 'created'",
    ],
)
def test_the_database_refuses_to_rewrite_or_delete_records(
    api: TestClient, db: Database, tenant: Any, statement: str
) -> None:
    ok(api.patch(f"{V2}/company", json={"name": "Renamed"}))
    records = log(api)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    assert log(api) == records


def test_deleting_an_account_deletes_its_history_and_only_its(
    api: TestClient, db: Database, tenant: Any, other_tenant: Any
) -> None:
    ok(api.patch(f"{V2}/company", json={"name": "Renamed"}))
    account_id = tenant.new.account.id
    assert _count(db, account_id) == 3  # bootstrap's user and key, the rename
    kept = _count(db, other_tenant.new.account.id)
    assert kept == 2
    with db.engine.begin() as conn:
        conn.execute(delete(Account).where(Account.id == account_id))
    assert _count(db, account_id) == 0
    assert _count(db) == kept
