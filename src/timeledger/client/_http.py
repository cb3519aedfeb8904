"""Transport: headers, retries with backoff, Idempotency-Key, error mapping and decoding, in
one place. Resources describe what to ask as `Request`s (or as a `Call`, a generator that
yields requests and receives their decoded answers), and a transport runs them: the sync and
async transports share all of this module but the sending and the sleeping.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import anyio
import httpx

from timeledger import __version__
from timeledger.client._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    TimeledgerError,
    error_from_response,
    retry_after_seconds,
)
from timeledger.client._model import Model

T = TypeVar("T")

API_PREFIX = "/api/v2"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BACKOFF = 8.0
# A Retry-After longer than this is not slept through: the RateLimitError (with its
# retry_after) is raised so the caller can decide.
MAX_RETRY_AFTER = 60.0


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass(frozen=True)
class Request:
    """One API call, relative to /api/v2. `accept="bytes"` answers the raw body (PDF, CSV)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = NO_BODY
    # Multipart uploads: field -> (file name, content, content type).
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    accept: Literal["json", "bytes"] = "json"
    # Called with (bytes so far, total or None) while a "bytes" body downloads.
    progress: Callable[[int, int | None], None] | None = field(default=None, compare=False)


# A sans-I/O program: yields Requests, is sent each one's decoded answer (or has the
# TimeledgerError thrown into it), and returns its result.
Call = Generator[Request, Any, T]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, Decimal):
        # The server parses JSON numbers as doubles, which carry every amount it accepts
        # (at most 15 significant digits) exactly; a string would change metadata's types.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(value: Any) -> bytes:
    return json.dumps(value, default=_jsonable, ensure_ascii=False).encode()


def decode_json(content: bytes) -> Any:
    # Decimal for every JSON number with a fraction: money and hours stay exact.
    return json.loads(content, parse_float=Decimal)


def query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Options:
    base_url: str
    api_key: str
    account_id: str | None
    timeout: float
    max_retries: int
    backoff: float


class Transport:
    """What the sync and async transports share: everything but I/O."""

    _client: httpx.Client | httpx.AsyncClient

    def __init__(self, options: Options) -> None:
        self.options = options
        # Facts about the caller's account the resources look up once per client
        # (the user's id, the account's time zone).
        self.memo: dict[str, Any] = {}
        # Set per request, so an httpx client passed in is used as it is, never changed.
        self._auth = {
            "Authorization": f"Bearer {options.api_key}",
            "User-Agent": f"timeledger-python/{__version__}",
        }
        if options.account_id:
            self._auth["Keito-Account-Id"] = options.account_id

    def _build(self, request: Request) -> httpx.Request:
        headers = {
            **self._auth,
            "Accept": "application/json" if request.accept == "json" else "*/*",
        }
        content = None
        if request.json is not NO_BODY:
            headers["Content-Type"] = "application/json"
            content = encode_json(request.json)
        if request.method not in SAFE_METHODS:
            # One key per call, the same on each of its retries, so a server that already
            # applied the first attempt recognises the repeat instead of applying it twice.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        params = {
            key: query_value(value)
            for key, value in (request.params or {}).items()
            if value is not None
        }
        return self._client.build_request(
            request.method,
            self.options.base_url + API_PREFIX + request.path,
            params=params,
            headers=headers,
            content=content,
            files=request.files,
        )

    def _retry_delay(
        self, attempt: int, response: httpx.Response | None, error: Exception | None
    ) -> float | None:
        """Seconds to wait before retrying, or None to stop here."""
        if attempt >= self.options.max_retries:
            return None
        if error is not None:
            retryable = isinstance(
                error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
            )
            return self._backoff(attempt) if retryable else None
        assert response is not None
        if response.status_code not in RETRY_STATUSES:
            return None
        advised = retry_after_seconds(response.headers)
        if advised is None:
            return self._backoff(attempt)
        return advised if advised <= MAX_RETRY_AFTER else None

    def _backoff(self, attempt: int) -> float:
        delay = min(self.options.backoff * 2.0**attempt, MAX_BACKOFF)
        return delay + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not a secret)

    def _result(
        self,
        request: Request,
        response: httpx.Response | None,
        body: bytes,
        error: Exception | None,
    ) -> Any:
        if error is not None:
            if isinstance(error, httpx.TimeoutException):
                raise APITimeoutError(f"no answer from {self.options.base_url} in time") from error
            raise APIConnectionError(
                f"could not talk to {self.options.base_url}: {str(error) or type(error).__name__}"
            ) from error
        assert response is not None
        if response.is_error:
            try:
                details = decode_json(body) if body else None
            except ValueError:
                details = None
            raise error_from_response(response, details)
        if request.accept == "bytes":
            return body
        if response.status_code == 204 or not body:
            return None
        try:
            return decode_json(body)
        except ValueError:
            raise APIError(
                f"the server answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None


def _total(response: httpx.Response) -> int | None:
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


class SyncTransport(Transport):
    _client: httpx.Client

    def __init__(self, options: Options, http_client: httpx.Client | None = None) -> None:
        super().__init__(options)
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=options.timeout)

    def send(self, request: Request) -> Any:
        prepared = self._build(request)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            body, error = b"", None
            try:
                response = self._client.send(prepared, stream=True)
                body = self._read(response, request)
            except httpx.TransportError as exc:
                error = exc
            delay = self._retry_delay(attempt, response, error)
            if delay is None:
                return self._result(request, response, body, error)
            time.sleep(delay)
            attempt += 1

    def _read(self, response: httpx.Response, request: Request) -> bytes:
        try:
            if request.progress is None or response.is_error:
                return response.read()
            chunks: list[bytes] = []
            received, total = 0, _total(response)
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                request.progress(received, total)
            return b"".join(chunks)
        finally:
            response.close()

    def run(self, call: Call[T]) -> T:
        answer: Any = None
        failure: TimeledgerError | None = None
        while True:
            try:
                request = call.throw(failure) if failure else call.send(answer)
            except StopIteration as done:
                result: T = done.value
                return result
            try:
                answer, failure = self.send(request), None
            except TimeledgerError as exc:
                answer, failure = None, exc

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


class AsyncTransport(Transport):
    _client: httpx.AsyncClient

    def __init__(self, options: Options, http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(options)
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=options.timeout)

    async def send(self, request: Request) -> Any:
        prepared = self._build(request)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            body, error = b"", None
            try:
                response = await self._client.send(prepared, stream=True)
                body = await self._read(response, request)
            except httpx.TransportError as exc:
                error = exc
            delay = self._retry_delay(attempt, response, error)
            if delay is None:
                return self._result(request, response, body, error)
            await anyio.sleep(delay)
            attempt += 1

    async def _read(self, response: httpx.Response, request: Request) -> bytes:
        try:
            if request.progress is None or response.is_error:
                return await response.aread()
            chunks: list[bytes] = []
            received, total = 0, _total(response)
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                request.progress(received, total)
            return b"".join(chunks)
        finally:
            await response.aclose()

    async def run(self, call: Call[T]) -> T:
        answer: Any = None
        failure: TimeledgerError | None = None
        while True:
            try:
                request = call.throw(failure) if failure else call.send(answer)
            except StopIteration as done:
                result: T = done.value
                return result
            try:
                answer, failure = await self.send(request), None
            except TimeledgerError as exc:
                answer, failure = None, exc

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
