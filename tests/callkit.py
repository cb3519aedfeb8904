"""Calls to /api/v2 shared by the domain test kits (ledgerkit, billkit): plain functions."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

V2 = "/api/v2"


def exact(response: Any) -> Any:
    """The body with JSON numbers as Decimal, so 0.15 compares exactly."""
    return json.loads(response.text, parse_float=Decimal)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return exact(response) if response.content else None


def assert_error(response: Any, status: int, *mentions: str) -> dict[str, Any]:
    """An error in the /api/v2 format whose description names each of `mentions`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"error", "error_description"}, body
    assert isinstance(body["error"], str) and body["error"], body
    for word in mentions:
        assert word in body["error_description"], (word, body)
    return body


def post(api: TestClient, path: str, status: int = 201, **body: Any) -> Any:
    return ok(api.post(f"{V2}/{path}", json=body), status)


def get(api: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    return ok(api.get(f"{V2}/{path}", params=params), status)
