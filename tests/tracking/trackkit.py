"""Helpers shared by the time-tracking tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from timeledger.server.db import Database
from timeledger.server.models import BillingMark, Invoice

V2 = "/api/v2"
# A fixed "now" for tests that move the clock: a Wednesday, 15:00 UTC.
NOW = datetime(2026, 5, 6, 15, 0, tzinfo=UTC)


NUMERIC_SETTINGS = ("default_hourly_rate", "auto_stop_after_hours")


class FakeClock:
    """A settable "now" to install with core.clock.set_clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class Work:
    """A client, a billable project for it (billed by Project at 100/h), a task assigned to
    it, and a second task that is not assigned."""

    client_id: str
    project_id: str
    task_id: str
    unassigned_task_id: str

    def entry(self, **fields: Any) -> dict[str, Any]:
        """A create body for this project and task; fields override."""
        return {"project_id": self.project_id, "task_id": self.task_id, **fields}


def exact(response: Any) -> Any:
    """The body with JSON numbers as Decimal, so 0.3333 compares exactly."""
    return json.loads(response.text, parse_float=Decimal)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return exact(response) if response.content else None


def post_entry(api: TestClient, work: Work, status: int = 201, **fields: Any) -> Any:
    return ok(api.post(f"{V2}/time_entries", json=work.entry(**fields)), status)


def assert_error(response: Any, status: int, *mentions: str) -> dict[str, Any]:
    """An error in the /api/v2 format whose description names each of `mentions`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    for word in mentions:
        assert word in body["error_description"], (word, body)
    return body


def set_company(api: TestClient, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(api.patch(f"{V2}/company", json=settings))
    for key, value in settings.items():
        expected = Decimal(value) if key in NUMERIC_SETTINGS and value is not None else value
        assert body[key] == expected, (key, body)
    return body


def make_work(api: TestClient, name: str = "Website") -> Work:
    client = ok(api.post(f"{V2}/clients", json={"name": f"{name} client"}), 201)
    project = ok(
        api.post(
            f"{V2}/projects",
            json={
                "name": name,
                "client_id": client["id"],
                "bill_by": "Project",
                "hourly_rate": 100,
                "is_billable": True,
            },
        ),
        201,
    )
    task = ok(api.post(f"{V2}/tasks", json={"name": f"{name} design"}), 201)
    other = ok(api.post(f"{V2}/tasks", json={"name": f"{name} review"}), 201)
    ok(
        api.post(f"{V2}/projects/{project['id']}/task_assignments", json={"task_id": task["id"]}),
        201,
    )
    return Work(client["id"], project["id"], task["id"], other["id"])


def set_billed(api: TestClient, work: Work, db: Database, entry_id: str) -> None:
    """Mark the entry billed on a real invoice of its client, as billing from tracked work
    does (that path itself is tested in tests/billing)."""
    line = {"kind": "Service", "description": "Work", "unit_price": 100, "quantity": 1}
    body = {"client_id": work.client_id, "line_items": [line]}
    invoice_id = uuid.UUID(ok(api.post(f"{V2}/invoices", json=body), 201)["id"])
    with db.transaction(write=True) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        mark = BillingMark(
            item_id=uuid.UUID(entry_id),
            account_id=invoice.account_id,
            invoice_id=invoice.id,
            billed_at=invoice.created_at,
        )
        session.add(mark)
