"""Helpers shared by the ledger tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from callkit import V2, ok


@dataclass(frozen=True)
class Book:
    """A client, a project billed by Project at 100/h with a task assigned, a second project
    in EUR at 80/h, an expense category with a total cost and one priced per LLM token."""

    client_id: str
    project_id: str
    task_id: str
    eur_project_id: str
    category_id: str
    tokens_id: str

    def entry(self, **fields: Any) -> dict[str, Any]:
        return {"project_id": self.project_id, "task_id": self.task_id, **fields}

    def expense(self, **fields: Any) -> dict[str, Any]:
        return {"project_id": self.project_id, "expense_category_id": self.category_id, **fields}

    def outcome(self, **fields: Any) -> dict[str, Any]:
        return {"project_id": self.project_id, "task_id": self.task_id, **fields}


def make_book(api: TestClient) -> Book:
    client = ok(api.post(f"{V2}/clients", json={"name": "Initech", "currency": "USD"}), 201)
    project = ok(
        api.post(
            f"{V2}/projects",
            json={
                "name": "Website",
                "client_id": client["id"],
                "bill_by": "Project",
                "hourly_rate": 100,
            },
        ),
        201,
    )
    eur = ok(
        api.post(
            f"{V2}/projects",
            json={"name": "Berlin", "bill_by": "Project", "hourly_rate": 80, "currency": "EUR"},
        ),
        201,
    )
    task = ok(api.post(f"{V2}/tasks", json={"name": "Build"}), 201)
    for p in (project, eur):
        ok(api.post(f"{V2}/projects/{p['id']}/task_assignments", json={"task_id": task["id"]}), 201)
    travel = ok(api.post(f"{V2}/expense_categories", json={"name": "Travel"}), 201)
    tokens = ok(
        api.post(
            f"{V2}/expense_categories",
            json={"name": "LLM tokens", "unit_name": "token", "unit_price": "0.00000015"},
        ),
        201,
    )
    return Book(client["id"], project["id"], task["id"], eur["id"], travel["id"], tokens["id"])
