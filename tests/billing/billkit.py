"""Helpers shared by the invoicing tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from callkit import V2, ok, post


@dataclass(frozen=True)
class Shop:
    """A client (USD) with two projects billed by Project at 100/h and 150/h, a task, a
    second person, an expense category, and a client of its own with an EUR project."""

    client_id: str
    web_id: str  # "Website", 100/h
    app_id: str  # "App", 150/h
    eur_id: str  # "Berlin", 80/h in EUR, same client
    task_id: str
    owner_id: str
    person_id: str  # "Pat Doe", a member
    category_id: str

    def entry(self, api: TestClient, **fields: Any) -> dict[str, Any]:
        body = {"project_id": self.web_id, "task_id": self.task_id, **fields}
        created: dict[str, Any] = post(api, "time_entries", **body)
        return created


def make_shop(api: TestClient, owner_id: str) -> Shop:
    client = post(api, "clients", name="Initech", currency="USD", address="1 Main St")

    def project(name: str, rate: int, **extra: Any) -> str:
        body = {"name": name, "client_id": client["id"], "bill_by": "Project", **extra}
        created = post(api, "projects", hourly_rate=rate, **body)
        return str(created["id"])

    web, app, eur = (
        project("Website", 100),
        project("App", 150),
        project("Berlin", 80, currency="EUR"),
    )
    task = post(api, "tasks", name="Build")
    person = post(api, "users", email="pat@acme.example", first_name="Pat", last_name="Doe")
    for pid in (web, app, eur):
        post(api, f"projects/{pid}/task_assignments", task_id=task["id"])
        post(api, f"projects/{pid}/user_assignments", user_id=person["id"])
    category = post(api, "expense_categories", name="Travel")
    return Shop(client["id"], web, app, eur, task["id"], owner_id, person["id"], category["id"])


def move(api: TestClient, invoice_id: str, event_type: str, status: int = 201) -> Any:
    """Move an invoice's state the official way: an invoice message with this event_type."""
    body: dict[str, Any] = {"event_type": event_type}
    if event_type == "send":
        body["recipients"] = [{"name": "Ann Payable", "email": "ap@initech.example"}]
    return ok(api.post(f"{V2}/invoices/{invoice_id}/messages", json=body), status)
