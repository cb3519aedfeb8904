"""HTTP plumbing every surface shares: the per-request transaction and the API-key check.
Surfaces differ in wire format only; who may call and how a request commits is the same.

The caller is found once, before the request reaches a surface (protection/authentication.py);
a request's transaction is opened only for handlers that declare one, and committed when the
handler returns, before the response is sent, so a 2xx always means committed; anything
raised rolls it back."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import APIRouter, Depends, Request
from fastapi.params import Depends as Dependency
from starlette.routing import Match
from starlette.types import Scope

from timeledger.server.accounts import keys
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.config import Settings
from timeledger.server.core.actor import Actor
from timeledger.server.core.errors import DomainError, PermissionDenied
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


# Where the authentication layer (protection/authentication.py) leaves the request's caller,
# or the error that says why there is none.
SCOPE_AUTH = "timeledger.auth"

Verify = Callable[[Request, Authenticated], None]


@dataclass(frozen=True)
class ContextViews:
    """What handlers declare, e.g. `Session = Annotated[DbSession, views.session]`: the caller
    (found before the request reached the surface), the actor, and the request's transaction,
    opened only for handlers that declare it."""

    session: Dependency
    caller: Dependency
    actor: Dependency
    # The caller dependency's function itself, for a handler so hot that it takes the
    # request and asks for its caller directly (FastAPI's resolution of one dependency
    # costs a fifth of a small request).
    caller_of: Callable[[Request], Awaitable[Authenticated]]


def context_views(surface: str, verify: Verify | None = None) -> ContextViews:
    """`verify` adds the surface's own checks of a request and its caller (e.g. /api/v2's
    Keito-Account-Id)."""

    async def caller(request: Request) -> Authenticated:
        found = request.scope.get(SCOPE_AUTH)
        if not isinstance(found, Authenticated):
            if isinstance(found, DomainError):
                raise found
            raise RuntimeError(f"the {surface} surface is mounted without authentication")
        write = request.method not in SAFE_METHODS
        if write and found.actor.scope != "write":
            raise PermissionDenied(
                "this API key is read-only; use a write-scoped key", code="insufficient_scope"
            )
        if verify is not None:
            verify(request, found)
        if not write and found.needs_last_used_stamp:
            # A read stays read-only: the stamp is a short write of its own. (A write stamps
            # inside its own transaction: see session.)
            keys.mark_stamped(found.key)  # first: concurrent requests need not stamp too
            await anyio.to_thread.run_sync(_stamp_last_used, request, found)
        return found

    # The caller is each view's default, not an Annotated hint: FastAPI resolves (string)
    # hints in the module's globals, where a closure's local is not.
    async def session(
        request: Request, found: Authenticated = Depends(caller)
    ) -> AsyncIterator[DbSession]:
        # Committed when the handler returns, before the response is sent: 2xx = committed.
        write = request.method not in SAFE_METHODS
        stamp = write and found.needs_last_used_stamp
        if stamp:
            keys.mark_stamped(found.key)
        db = database(request)
        transaction = db.transaction(write=write)

        def enter() -> DbSession:
            opened = transaction.__enter__()
            if stamp:
                try:
                    keys.stamp_last_used(opened, found.key.id)
                except BaseException:
                    if not transaction.__exit__(*sys.exc_info()):
                        raise
            return opened

        # Opening a session does no I/O, except waiting for SQLite's write lock (or stamping
        # the key); finishing one commits, which reads of SQLite do in microseconds.
        opening = anyio.to_thread.run_sync if write and (db.is_sqlite or stamp) else _on_loop
        closing = _on_loop if not write and db.is_sqlite else anyio.to_thread.run_sync
        opened = await opening(enter)
        try:
            yield opened
        except BaseException as exc:
            if not await closing(transaction.__exit__, type(exc), exc, exc.__traceback__):
                raise
        else:
            await closing(transaction.__exit__, None, None, None)

    async def actor(found: Authenticated = Depends(caller)) -> Actor:
        return found.actor

    return ContextViews(Depends(session, scope="function"), Depends(caller), Depends(actor), caller)


async def _on_loop(function: Callable[..., T], *args: Any) -> T:
    return function(*args)


def _stamp_last_used(request: Request, auth: Authenticated) -> None:
    with database(request).transaction(write=True) as session:
        keys.stamp_last_used(session, auth.key.id)


class SurfaceRouter(APIRouter):
    """An APIRouter that costs less per request, in two ways.

    Synchronous handlers cost one trip to a worker thread, not two: FastAPI would run the
    handler on a thread and then validate its return value on another; wrapped as a
    coroutine, the handler runs on a thread and the (cheap) validation of the model it
    returns happens on the event loop.

    Routing: FastAPI tries an app's routes one by one, several microseconds each, so a
    request for the app's last routes paid for all the others first. A router whose paths
    all start with fixed segments (/time_entries/...) turns away any other path at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._segments: frozenset[str] | None = None  # None: not known yet; empty: any

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_thread(endpoint)
        super().add_api_route(path, endpoint, **kwargs)
        self._segments = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._segments is None:
            self._segments = _fixed_first_segments(self.routes)
        if self._segments:
            path: str = scope.get("path", "")
            root: str = scope.get("root_path", "")
            if _first_segment(path[len(root) :] if path.startswith(root) else path) not in (
                self._segments
            ):
                return Match.NONE, {}
        return super().matches(scope)


def _fixed_first_segments(routes: list[Any]) -> frozenset[str]:
    """The first path segments of the routes; empty when one is a parameter or the root
    (then any path may match)."""
    segments = frozenset(_first_segment(getattr(route, "path", "")) for route in routes)
    return frozenset() if "" in segments or any("{" in s for s in segments) else segments


def _first_segment(path: str) -> str:
    return path.lstrip("/").partition("/")[0]


# Synchronous handlers running at once, per event loop (as anyio's own thread limiter).
# Requests are admitted many at a time (limits.py), but Python runs one thread at a time:
# 64 handler threads took turns on the GIL, so at 64 clients a list of projects cost twice
# the CPU it costs alone (bench, SQLite: 59 req/s and p99 2.9 s; 8 threads: 84-92 req/s,
# p99 0.9 s). Handlers wait for the database with the GIL released, so a few threads still
# keep the CPU busy. Opening and committing a request's transaction (waiting for SQLite's
# write lock among them) happen outside this limit, on anyio's default threads.
_handler_limiter: RunVar[anyio.CapacityLimiter] = RunVar("timeledger_handler_limiter")
WAITS_ON_NETWORK = "_timeledger_waits_on_network"


def handler_limiter() -> anyio.CapacityLimiter:
    """The running loop's limit on synchronous handlers (sized by the app's lifespan)."""
    try:
        return _handler_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(Settings.handler_threads)
        _handler_limiter.set(limiter)
        return limiter


def waits_on_network(handler: Callable[..., T]) -> Callable[..., T]:
    """Marks a synchronous handler that waits on another server (SMTP) for seconds: it runs
    outside the handler limit, so its waiting never holds other requests up."""
    setattr(handler, WAITS_ON_NETWORK, True)
    return handler


def _in_thread(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    limited = not getattr(function, WAITS_ON_NETWORK, False)

    @functools.wraps(function)  # keeps the signature FastAPI reads parameters from
    async def run(*args: Any, **kwargs: Any) -> T:
        call = functools.partial(function, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=handler_limiter() if limited else None)

    return run
