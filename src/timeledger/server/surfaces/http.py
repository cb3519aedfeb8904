"""HTTP plumbing every surface shares: the per-request transaction and the API-key check.
Surfaces differ in wire format only; who may call and how a request commits is the same.

A request's transaction is opened and its caller authenticated in one step (one trip to a
worker thread), and committed when the handler returns, before the response is sent, so a
2xx always means committed; anything raised rolls it back."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.params import Depends as Dependency

from timeledger.server.accounts import keys
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.actor import Actor
from timeledger.server.core.errors import PermissionDenied
from timeledger.server.db import Database, DbSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def presented_token(request: Request) -> str | None:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key") or None


@dataclass(frozen=True)
class RequestContext:
    session: DbSession
    auth: Authenticated

    @property
    def actor(self) -> Actor:
        return self.auth.actor


Verify = Callable[[Request, Authenticated], None]


def request_context(
    surface: str, verify: Verify | None = None
) -> Callable[[Request], AsyncIterator[RequestContext]]:
    """The dependency a surface's handlers share: transaction + caller. `verify` adds the
    surface's own checks (e.g. /api/v2's Keito-Account-Id header)."""

    def enter(
        request: Request, write: bool
    ) -> tuple[AbstractContextManager[DbSession], RequestContext]:
        transaction = database(request).transaction(write=write)
        session = transaction.__enter__()
        try:
            auth = keys.authenticate(session, presented_token(request), surface=surface)
            if write and auth.actor.scope != "write":
                raise PermissionDenied(
                    "this API key is read-only; use a write-scoped key", code="insufficient_scope"
                )
            if verify is not None:
                verify(request, auth)
            if write and auth.needs_last_used_stamp:
                keys.stamp_last_used(session, auth.key.id)
        except BaseException:
            if not transaction.__exit__(*sys.exc_info()):
                raise
        return transaction, RequestContext(session, auth)

    async def dependency(request: Request) -> AsyncIterator[RequestContext]:
        write = request.method not in SAFE_METHODS
        # Reads of the embedded SQLite database take microseconds and never wait for a lock,
        # so they run on the event loop; a trip to a worker thread would cost more. Writes
        # (which may queue for the write lock) and PostgreSQL (network round trips) go to a
        # worker thread.
        run = _on_loop if not write and database(request).is_sqlite else anyio.to_thread.run_sync
        transaction, context = await run(enter, request, write)
        if not write and context.auth.needs_last_used_stamp:
            # Keep reads read-only: stamp in a short write transaction of its own.
            await anyio.to_thread.run_sync(_stamp_last_used, request, context.auth)
        try:
            yield context
        except BaseException as exc:
            if not await run(transaction.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            await run(transaction.__exit__, None, None, None)

    return dependency


@dataclass(frozen=True)
class ContextViews:
    """What handlers declare of the one per-request context, e.g.
    `Session = Annotated[DbSession, views.session]`. Every view shares one context (FastAPI
    caches it per request); the views are async so they cost no trip to a worker thread."""

    session: Dependency
    caller: Dependency
    actor: Dependency


def context_views(surface: str, verify: Verify | None = None) -> ContextViews:
    # The context is each view's default, not an Annotated hint: FastAPI resolves (string)
    # hints in the module's globals, where a closure's local is not.
    context = Depends(request_context(surface, verify), scope="function")

    async def session(context: RequestContext = context) -> DbSession:
        return context.session

    async def caller(context: RequestContext = context) -> Authenticated:
        return context.auth

    async def actor(context: RequestContext = context) -> Actor:
        return context.actor

    return ContextViews(Depends(session), Depends(caller), Depends(actor))


async def _on_loop(function: Callable[..., T], *args: Any) -> T:
    return function(*args)


def _stamp_last_used(request: Request, auth: Authenticated) -> None:
    with database(request).transaction(write=True) as session:
        keys.stamp_last_used(session, auth.key.id)


class SurfaceRouter(APIRouter):
    """An APIRouter whose synchronous handlers cost one trip to a worker thread, not two:
    FastAPI would run the handler on a thread and then validate its return value on another;
    wrapped as a coroutine, the handler runs on a thread and the (cheap) validation of the
    model it returns happens on the event loop."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_thread(endpoint)
        super().add_api_route(path, endpoint, **kwargs)


def _in_thread(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(function)  # keeps the signature FastAPI reads parameters from
    async def run(*args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))

    return run
