"""Schemathesis against the OpenAPI document of every surface (surfacekit.SURFACES), through
the real app and database of the test, as an authenticated account owner.

For each operation: EXAMPLES cases on SQLite (15 on /api/v2, 10 on each compatibility surface)
and PG_EXAMPLES on PostgreSQL (10 and 5: a check of the second engine, not a second fuzz),
schema-valid and schema-invalid data mixed, derandomized so every run sends the same
requests. Path ids are the account's own seeded rows in about half the cases, so updates and
deletes reach real rows; deletes run last.

Every check Schemathesis has is on (server errors, status codes, content types, response
schemas and headers, negative data rejection, positive data acceptance, missing headers,
methods, auth with the owner's key and without it...), one relaxed: see CHECKS. The failures
of all operations are reported together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import ASGIClient
from surfacekit import SURFACES, Surface, answer_locally, openapi, path_params, seed, surface_app

from timeledger.server.db import Database

# Cases per operation, by surface and engine: the compatibility surfaces are thin wires over
# the services /api/v2's cases already reach, so fewer cases cover them.
EXAMPLES = {"native": 15, "temporalist": 10, "algapsa": 10, "clockeye": 10}
PG_EXAMPLES = {"native": 10, "temporalist": 5, "algapsa": 5, "clockeye": 5}
# A schema-valid request may still break a rule JSON Schema cannot state (dates in order, an
# approved entry is locked, an id of another kind of row, a file that is no image): the
# surface's 400 (or 415 for an upload) is then right.
CHECKS = {
    "positive_data_acceptance": {
        "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "415", "429"]
    }
}


def config(document: dict[str, Any], token: str) -> SchemathesisConfig:
    """CHECKS, and the account owner's key for every security scheme of the document: so
    Schemathesis knows the key is the caller's, never negates it in a case, and probes
    each operation without it and with a wrong one (its auth checks)."""
    schemes = document["components"]["securitySchemes"]
    keys = {
        name: {"api_key": token} if scheme["type"] == "apiKey" else {"bearer": token}
        for name, scheme in schemes.items()
    }
    return SchemathesisConfig.from_dict({"checks": CHECKS, "auth": {"openapi": keys}})


@pytest.fixture
def app(db: Database, tmp_path: Path) -> FastAPI:
    return surface_app(db, tmp_path / "receipts")


@pytest.fixture(autouse=True)
def _local_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    answer_locally(monkeypatch)


def operations_in_order(schema: Any) -> list[Any]:
    """Every operation of the document, deletes last (so the seeded rows live long)."""
    found = [result.ok() for result in schema.get_all_operations()]
    return sorted(found, key=lambda op: op.method.upper() == "DELETE")


def fuzz(
    operation: Any, surface: Surface, own: dict[str, str], send: Any, examples: int
) -> str | None:
    """Run one operation's cases; a description of its first failure, or None. The failure
    is kept, not raised: a write changes the data, so Hypothesis could not replay it."""
    params = path_params(operation.path)
    ids = {p: own[surface.table_of(operation.path, p)] for p in params}
    cases = [
        operation.as_strategy(mode, **({"path_parameters": ids} if own_ids else {}))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for own_ids in ([True, False] if params else [False])
    ]
    failures: list[str] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(cases))
    def run(case: Any) -> None:
        if failures:
            return
        try:
            send(case)
        except (Exception, BaseExceptionGroup) as exc:  # Schemathesis raises a group
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")

    run()
    return failures[0] if failures else None


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_schemathesis_finds_nothing(
    surface: Surface, app: FastAPI, db: Database, tenant: Any
) -> None:
    async def requests_only(scope: Any, receive: Any, send: Any) -> None:
        # The tenant's client runs the app's lifespan; Schemathesis must not start another.
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    document = openapi(tenant.client, surface)
    schema = schemathesis.openapi.from_dict(document, config=config(document, tenant.token))
    schema.app = requests_only  # for the requests checks send on their own (auth probes)
    session = ASGIClient(requests_only)
    own = seed(tenant.client, "acme")

    def send(case: Any) -> None:
        case.call_and_validate(base_url=f"http://testserver{surface.prefix}", session=session)

    examples = (EXAMPLES if db.is_sqlite else PG_EXAMPLES)[surface.name]
    failures = [fuzz(op, surface, own, send, examples) for op in operations_in_order(schema)]
    failures = [f for f in failures if f]
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
