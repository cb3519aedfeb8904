"""The error tree. Every error raised by the SDK is a `TimeledgerError`; API errors carry the
HTTP status, the server's machine-readable `code` and its `description`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class TimeledgerError(Exception):
    """Base of every SDK error."""

    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.code = code
        self.body = body
        self.headers: Mapping[str, str] = headers or {}

    def __str__(self) -> str:
        prefix = " ".join(str(part) for part in (self.status, self.code) if part)
        return f"[{prefix}] {self.description}" if prefix else self.description


class APIError(TimeledgerError):
    """The server answered with an error status."""


class ValidationError(APIError):
    """400/422: the request was refused as invalid; `field` names the culprit when known."""

    def __init__(self, description: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.field = field


class AuthenticationError(APIError):
    """401: the API key is missing, unknown, revoked or expired."""


class PermissionDeniedError(APIError):
    """403: the key or its user may not do this (read-only key, role too low)."""


class NotFoundError(APIError):
    """404: no such resource in this account."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's state (a timer already running,
    an approved entry is locked...)."""


class RateLimitError(APIError):
    """429: too many requests; `retry_after` is the server's advice in seconds, if given."""

    def __init__(self, description: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(description, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIError):
    """5xx after the retries ran out."""


class APIConnectionError(TimeledgerError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}
# The server names the field first in a validation message ("spent_date: Field required",
# "metadata.outcome_type must be ..."); its error body has no separate field member.
_LEADING_FIELD = re.compile(r"^([A-Za-z_][\w.]*)(?::| must | is | names | does )")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (then relative to now)."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: httpx.Response, body: Any) -> APIError:
    """The typed error for an error response whose JSON body (if any) is `body`."""
    status = response.status_code
    fields = body if isinstance(body, Mapping) else {}
    code = fields.get("error") if isinstance(fields.get("error"), str) else None
    description = fields.get("error_description") or fields.get("message") or response.text
    description = str(description).strip() or response.reason_phrase or f"HTTP {status}"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "body": body,
        "headers": response.headers,
    }
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIError)
    if cls is ValidationError:
        field = fields.get("field")
        if not isinstance(field, str):
            match = _LEADING_FIELD.match(description)
            field = match.group(1) if match else None
        return ValidationError(description, field=field, **common)
    if cls is RateLimitError:
        return RateLimitError(
            description, retry_after=retry_after_seconds(response.headers), **common
        )
    return cls(description, **common)
