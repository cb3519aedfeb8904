"""How a resource is written once for both clients.

A resource method is a generator (a `Call`) that yields `Request`s and returns the result, or
returns a `Listing` for a list call. The `operation` and `listing` decorators turn it into a
method that runs it on the resource's transport: on a `Timeledger` it answers the result, on
an `AsyncTimeledger` an awaitable of it. The descriptors' overloads tell type checkers which.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timeledger.client._http import NO_BODY, AsyncTransport, Call, Request, SyncTransport
from timeledger.client._model import Model
from timeledger.client.models import Company, Deleted, User
from timeledger.client.pagination import AsyncPage, Listing, Page

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=Model)
IO = TypeVar("IO", bound=SyncTransport | AsyncTransport)
Self_ = TypeVar("Self_")


class Resource(Generic[IO]):
    def __init__(self, io: IO) -> None:
        self._io: IO = io

    def _remember(self, key: str, call: Call[T]) -> Call[T]:
        """`call`'s result, asked once per client."""
        memo = self._io.memo
        if key not in memo:
            memo[key] = yield from call
        value: T = memo[key]
        return value

    def _my_user_id(self) -> Call[str]:
        me = yield from self._remember("me", fetch(User, "GET", "/users/me"))
        return me.id

    def _today(self) -> Call[date]:
        """Today in the account's time zone: the day a spent_date of now names."""
        company = yield from self._remember("company", fetch(Company, "GET", "/company"))
        try:
            return datetime.now(ZoneInfo(company.timezone)).date()
        except (ZoneInfoNotFoundError, ValueError):  # no tz database on this machine
            return date.today()


class operation(Generic[P, T]):  # noqa: N801 (a decorator, named like one)
    def __init__(self, call: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self._call = call
        self.__doc__ = call.__doc__

    @overload
    def __get__(self: Self_, instance: None, owner: type) -> Self_: ...
    @overload
    def __get__(self, instance: Resource[SyncTransport], owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, instance: Resource[AsyncTransport], owner: type
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, instance: Resource[Any] | None, owner: type) -> Any:
        if instance is None:
            return self
        call, run = self._call, instance._io.run

        @functools.wraps(call)
        def method(*args: Any, **kwargs: Any) -> Any:
            return run(call(instance, *args, **kwargs))

        return method


class listing(Generic[P, M]):  # noqa: N801
    def __init__(self, make: Callable[Concatenate[Any, P], Listing[M]]) -> None:
        self._make = make
        self.__doc__ = make.__doc__

    @overload
    def __get__(self: Self_, instance: None, owner: type) -> Self_: ...
    @overload
    def __get__(self, instance: Resource[SyncTransport], owner: type) -> Callable[P, Page[M]]: ...
    @overload
    def __get__(
        self, instance: Resource[AsyncTransport], owner: type
    ) -> Callable[P, Awaitable[AsyncPage[M]]]: ...
    def __get__(self, instance: Resource[Any] | None, owner: type) -> Any:
        if instance is None:
            return self
        make, io = self._make, instance._io
        first = AsyncPage.first if isinstance(io, AsyncTransport) else Page.first

        @functools.wraps(make)
        def method(*args: Any, **kwargs: Any) -> Any:
            return first(io, make(instance, *args, **kwargs))

        return method


# --- the steps resources are made of --------------------------------------------------------


def fetch(
    model: type[M],
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = NO_BODY,
) -> Call[M]:
    """One request whose answer is one `model`."""
    return model.from_wire((yield Request(method, path, params=params, json=json)))


def send(
    method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = NO_BODY
) -> Call[Any]:
    """One request whose answer is returned as decoded JSON (None for 204)."""
    return (yield Request(method, path, params=params, json=json))


def fetch_many(model: type[M], key: str, method: str, path: str, *, json: Any) -> Call[list[M]]:
    """One request answering `{key: [model, ...]}` (bulk and approval actions)."""
    answer = yield Request(method, path, json=json)
    return [model.from_wire(row) for row in answer[key]]


def download(
    path: str,
    params: Mapping[str, Any],
    progress: Callable[[int, int | None], None] | None = None,
) -> Call[bytes]:
    """A file the server renders (an export, a PDF), as bytes; `progress(received, total)`
    is called while it downloads."""
    content: bytes = yield Request("GET", path, params=params, accept="bytes", progress=progress)
    return content


def renamed(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Filter arguments as query parameters: from_date/to_date are `from`/`to` on the wire."""
    names = {"from_date": "from", "to_date": "to"}
    return {names.get(key, key): value for key, value in filters.items()}


def selection(
    ids: Sequence[str] | None,
    user_id: str | None,
    from_date: date | str | None,
    to_date: date | str | None,
) -> dict[str, Any]:
    """Which rows an approval action applies to: ids, or a user's from..to."""
    body = {
        "ids": None if ids is None else list(ids),
        "user_id": user_id,
        "from": from_date,
        "to": to_date,
    }
    return {key: value for key, value in body.items() if value is not None}


class Collection(Resource[IO], Generic[IO, M]):
    """A collection at `path` whose list answers `{key: [...]}` of `model`: `get` here, and the
    steps its list/create/update/delete methods are made of (their parameters differ per
    resource, so each declares its own, typed)."""

    path: str
    key: str
    model: type[M]

    @operation
    def get(self, id: str) -> Call[M]:
        """One by id; NotFoundError when it is not in this account."""
        return (yield from fetch(self.model, "GET", f"{self.path}/{id}"))

    def _listing(self, **params: Any) -> Listing[M]:
        return Listing(self.path, self.key, self.model.from_wire, params)

    def _create(self, fields: Mapping[str, Any]) -> Call[M]:
        return (yield from fetch(self.model, "POST", self.path, json=dict(fields)))

    def _update(self, id: str, fields: Mapping[str, Any]) -> Call[M]:
        return (yield from fetch(self.model, "PATCH", f"{self.path}/{id}", json=dict(fields)))

    def _delete(self, id: str) -> Call[Deleted]:
        return (yield from fetch(Deleted, "DELETE", f"{self.path}/{id}"))


class Approvable(Collection[IO, M]):
    """Rows that go through approval (time entries, expenses): submit, approve, send back,
    unlock; each names rows by `ids`, or by `user_id` with `from_date`..`to_date`."""

    def _act(self, action: str, body: dict[str, Any]) -> Call[list[M]]:
        return (
            yield from fetch_many(self.model, self.key, "POST", f"{self.path}/{action}", json=body)
        )

    @operation
    def submit(
        self,
        ids: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        from_date: date | str | None = None,
        to_date: date | str | None = None,
    ) -> Call[list[M]]:
        """Submit for approval."""
        return (yield from self._act("submit", selection(ids, user_id, from_date, to_date)))

    @operation
    def approve(
        self,
        ids: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        from_date: date | str | None = None,
        to_date: date | str | None = None,
    ) -> Call[list[M]]:
        """Approve submitted rows (managers and above); approved rows lock."""
        return (yield from self._act("approve", selection(ids, user_id, from_date, to_date)))

    @operation
    def request_changes(
        self,
        ids: Sequence[str] | None = None,
        *,
        reason: str,
        user_id: str | None = None,
        from_date: date | str | None = None,
        to_date: date | str | None = None,
    ) -> Call[list[M]]:
        """Send submitted rows back with a reason (managers and above)."""
        body = {**selection(ids, user_id, from_date, to_date), "reason": reason}
        return (yield from self._act("request_changes", body))

    @operation
    def unlock(
        self,
        ids: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
        from_date: date | str | None = None,
        to_date: date | str | None = None,
    ) -> Call[list[M]]:
        """Unlock approved rows (admins)."""
        return (yield from self._act("unlock", selection(ids, user_id, from_date, to_date)))
