"""HTTP plumbing every surface shares: the per-request transaction and the API-key check.
Surfaces differ in wire format only; who may call and how a request commits is the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from timeledger.server.accounts import keys
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.errors import PermissionDenied
from timeledger.server.db import Database, DbSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _transaction(request: Request) -> Iterator[DbSession]:
    """One transaction per request, committed when the handler returns (before the response
    is sent, so a 2xx always means committed) and rolled back if anything raised."""
    with database(request).transaction(write=request.method not in SAFE_METHODS) as session:
        yield session


Session = Annotated[DbSession, Depends(_transaction, scope="function")]


def presented_token(request: Request) -> str | None:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key") or None


def authenticate(request: Request, session: DbSession, surface: str) -> Authenticated:
    """The caller, with the scope rule every surface shares: a read key may only read."""
    auth = keys.authenticate(session, presented_token(request), surface=surface)
    write = request.method not in SAFE_METHODS
    if write and auth.actor.scope != "write":
        raise PermissionDenied(
            "this API key is read-only; use a write-scoped key", code="insufficient_scope"
        )
    if auth.needs_last_used_stamp:
        if write:
            keys.stamp_last_used(session, auth.key.id)
        else:  # keep reads read-only: stamp in a short write transaction of its own
            with database(request).transaction(write=True) as stamp_session:
                keys.stamp_last_used(stamp_session, auth.key.id)
    return auth
