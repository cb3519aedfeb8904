"""Helpers shared by the /api/v2 tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Mount
from starlette.testclient import TestClient

from timeledger.server.db import Base, Database
from timeledger.server.surfaces.native import PREFIX

V2 = "/api/v2"
Op = tuple[str, str, dict[str, Any] | None]  # method, path template, body template


def client_with(app: Any, token: str | None = None, **headers: str) -> TestClient:
    """A client of the real ASGI app sending this key (or none)."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return TestClient(
        app, base_url="http://testserver", raise_server_exceptions=False, headers=headers
    )


def exact(response: Any) -> Any:
    """The body with JSON numbers as Decimal, so 120.1234 is compared exactly."""
    return json.loads(response.text, parse_float=Decimal)


def name_of(item: dict[str, Any]) -> str:
    return str(item.get("name") or item.get("email") or item.get("first_name"))


def names(api: TestClient, path: str, **query: Any) -> list[str]:
    response = api.get(f"{V2}/{path}", params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    key = path.rsplit("/", 1)[-1]
    assert len(body[key]) == body["total_entries"]
    return [name_of(item) for item in body[key]]


def assert_error(response: Any, status: int, *mentions: str) -> dict[str, Any]:
    """An error in the /api/v2 format whose description names every one of `mentions`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert isinstance(body["error"], str)
    assert isinstance(body["error_description"], str)
    assert body["error"]
    assert body["error_description"]
    for word in mentions:
        assert word in body["error_description"], (word, body)
    return body


def assert_wire(body: dict[str, Any], model: type[BaseModel]) -> None:
    """The Keito wire rules for one object: every declared field present, ids (top level and
    nested) are strings, nested objects are {id, name}, timestamps are ISO datetimes,
    booleans are never null."""
    assert set(model.model_fields) <= set(body), set(model.model_fields) - set(body)
    for name, value in body.items():
        if name == "id" or name.endswith("_id"):
            assert value is None or isinstance(value, str), (name, value)
            if value is not None and name == "id":
                uuid.UUID(value)
        if isinstance(value, dict) and "id" in value:
            assert set(value) == {"id", "name"}, (name, value)
            assert isinstance(value["id"], str)
        field = model.model_fields.get(name)
        if field is not None and field.annotation is bool:
            assert isinstance(value, bool), (name, value)
    for stamp in ("created_at", "updated_at"):
        assert datetime.fromisoformat(body[stamp]).tzinfo is not None


def db_row(db: Database, model: type[Base], id: str) -> Any:
    with db.transaction(write=False) as session:
        return session.get(model, uuid.UUID(id))


def assert_row_matches(db: Database, model: type[Base], body: dict[str, Any]) -> None:
    """The database row behind a response holds exactly the values the response shows."""
    row = db_row(db, model, body["id"])
    assert row is not None, body
    columns = set(row.__table__.columns.keys())
    for name, value in body.items():
        if isinstance(value, dict) and f"{name}_id" in columns:
            assert str(getattr(row, f"{name}_id")) == value["id"], name
        elif name in columns and name not in ("id", "created_at", "updated_at"):
            stored = getattr(row, name)
            if isinstance(stored, Decimal):
                assert stored == Decimal(str(value)), (name, stored, value)
            elif stored is None or isinstance(stored, bool | int | str):
                assert stored == value, (name, stored, value)
            else:  # dates
                assert stored.isoformat() == value, (name, stored, value)


def fill(value: Any, ids: Any) -> Any:
    if isinstance(value, str):
        return value.format_map(ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(fill(v, ids) for v in value)
    return value


def call(client: Any, op: Op, ids: Any) -> Any:
    method, path, body = fill(op, ids)
    kwargs = {} if body is None else {"json": body}
    return client.request(method, f"{V2}/{path}", **kwargs)


class Ids(dict[str, str]):
    """Ids of rows an operation acts on, each made (by the owner) when first named."""

    def __init__(self, make: Callable[[str, Ids], str]):
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> str:
        self[key] = value = self.make(key, self)
        return value


def native_app(app: FastAPI) -> FastAPI:
    """The FastAPI app mounted at /api/v2, through any ASGI wrappers around it."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == PREFIX)
    inner: Any = mount.app
    while not isinstance(inner, FastAPI):
        inner = inner.app
    return inner


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers as such
            yield from api_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )
