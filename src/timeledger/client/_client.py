"""`Timeledger` and `AsyncTimeledger`: configuration, and the resources as attributes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Generic, Unpack

import httpx

from timeledger.client._errors import AuthenticationError
from timeledger.client._http import AsyncTransport, Options, SyncTransport
from timeledger.client.resources._base import IO
from timeledger.client.resources.accounts import ApiKeys, CompanyResource, Users
from timeledger.client.resources.catalog import Clients, Contacts, Projects, Tasks
from timeledger.client.resources.expenses import ExpenseCategories, Expenses
from timeledger.client.resources.invoices import Invoices
from timeledger.client.resources.outcomes import Outcomes
from timeledger.client.resources.reports import Reports
from timeledger.client.resources.time_entries import TimeEntries, TimeEntryTemplates, Timers
from timeledger.client.resources.webhooks import Webhooks
from timeledger.client.tracking import AsyncTrack, Track, TrackOptions

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
API_KEY_ENV = "TIMELEDGER_API_KEY"
BASE_URL_ENV = "TIMELEDGER_BASE_URL"
ACCOUNT_ID_ENV = "TIMELEDGER_ACCOUNT_ID"


def options(
    api_key: str | None,
    account_id: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
    backoff: float,
    environ: Mapping[str, str] | None = None,
) -> Options:
    """Arguments first, then TIMELEDGER_API_KEY / TIMELEDGER_BASE_URL /
    TIMELEDGER_ACCOUNT_ID, then the defaults."""
    env = os.environ if environ is None else environ
    key = api_key or env.get(API_KEY_ENV)
    if not key:
        raise AuthenticationError(
            f"no API key: pass api_key= or set {API_KEY_ENV}", code="missing_api_key"
        )
    url = (base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    # The server root is wanted; accept the API's own URL too.
    url = url.removesuffix("/api/v2")
    if max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    return Options(
        base_url=url,
        api_key=key,
        account_id=account_id or env.get(ACCOUNT_ID_ENV) or None,
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff,
    )


class _Resources(Generic[IO]):
    """Every resource, over one transport."""

    def __init__(self, io: IO) -> None:
        self._io = io
        self.time_entries: TimeEntries[IO] = TimeEntries(io)
        self.timers: Timers[IO] = Timers(io)
        self.time_entry_templates: TimeEntryTemplates[IO] = TimeEntryTemplates(io)
        self.expenses: Expenses[IO] = Expenses(io)
        self.expense_categories: ExpenseCategories[IO] = ExpenseCategories(io)
        self.outcomes: Outcomes[IO] = Outcomes(io)
        self.projects: Projects[IO] = Projects(io)
        self.tasks: Tasks[IO] = Tasks(io)
        self.clients: Clients[IO] = Clients(io)
        self.contacts: Contacts[IO] = Contacts(io)
        self.users: Users[IO] = Users(io)
        self.company: CompanyResource[IO] = CompanyResource(io)
        self.api_keys: ApiKeys[IO] = ApiKeys(io)
        self.invoices: Invoices[IO] = Invoices(io)
        self.reports: Reports[IO] = Reports(io)
        self.webhooks: Webhooks[IO] = Webhooks(io)

    @property
    def base_url(self) -> str:
        return self._io.options.base_url


class Timeledger(_Resources[SyncTransport]):
    """The timeledger API, synchronously.

    Timeledger(api_key=..., base_url="http://127.0.0.1:8000") reads TIMELEDGER_API_KEY and
    TIMELEDGER_BASE_URL when not given. POSTs and other writes carry an Idempotency-Key that
    stays the same across their retries; 408/429/5xx answers and connection failures are
    retried `max_retries` times with exponential backoff (from `backoff` seconds, with
    jitter) or after the server's Retry-After. Use it as a context manager, or call close().
    """

    def __init__(
        self,
        api_key: str | None = None,
        account_id: str | None = None,
        base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 30.0,
        *,
        backoff: float = 0.5,
        http_client: httpx.Client | None = None,
    ) -> None:
        config = options(api_key, account_id, base_url, timeout, max_retries, backoff)
        super().__init__(SyncTransport(config, http_client))

    def track(self, *, project_id: str, task_id: str, **options: Unpack[TrackOptions]) -> Track:
        """A timer for the `with` block; see timeledger.client.tracking."""
        return Track(self.timers, self.outcomes, project_id, task_id, **options)

    def close(self) -> None:
        self._io.close()

    def __enter__(self) -> Timeledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTimeledger(_Resources[AsyncTransport]):
    """The timeledger API, for asyncio (and trio): the same resources as `Timeledger`, whose
    methods are awaited; list calls answer an `AsyncPage` (`async for` walks every page)."""

    def __init__(
        self,
        api_key: str | None = None,
        account_id: str | None = None,
        base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 30.0,
        *,
        backoff: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        config = options(api_key, account_id, base_url, timeout, max_retries, backoff)
        super().__init__(AsyncTransport(config, http_client))

    def track(
        self, *, project_id: str, task_id: str, **options: Unpack[TrackOptions]
    ) -> AsyncTrack:
        """A timer for the `async with` block; see timeledger.client.tracking."""
        return AsyncTrack(self.timers, self.outcomes, project_id, task_id, **options)

    async def aclose(self) -> None:
        await self._io.aclose()

    async def __aenter__(self) -> AsyncTimeledger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
