"""Error plumbing the compatibility surfaces share: every failure (a domain rule, bad input,
an unknown route, a wrong method, a body too large, a bug) becomes one `Failure`, which each
surface renders in its product's own error format. Domain field names are shown under the
names the surface's clients sent (AlgaPSA's billable_minutes, not billable_seconds).

Every surface's OpenAPI document declares these answers (`error_responses`) and the API key
whose absence is a 401 (`declare_keys`), so a client knows every response it can get."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from timeledger.server.core.errors import DomainError

log = logging.getLogger("timeledger.api")

VALIDATION = "VALIDATION_ERROR"
HTTP_CODES = {
    400: VALIDATION,
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: VALIDATION,
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}


# What any operation of any surface may answer besides its success, in the surface's format.
ERROR_STATUSES = {
    400: "Invalid request; the error names the field",
    401: "Missing, unknown or revoked API key",
    403: "The key's user or scope may not do this",
    404: "No such object in this account",
    409: "Conflicts with the object's current state, or a request with the same "
    "Idempotency-Key is still running",
    413: "The request body is too large",
    415: "The body (or an uploaded file) is not of an accepted media type",
    422: "Idempotency-Key reused for a different request",
    429: "Rate limit reached; retry after Retry-After seconds",
}


def error_responses(
    body: type[BaseModel], shapes: Mapping[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` declaring every ERROR_STATUSES answer with the surface's error
    `body`, or for a status in `shapes` that declaration. Declaring 422 also keeps FastAPI
    from documenting its own validation error, which no surface sends."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": body, "description": description}
        for status, description in ERROR_STATUSES.items()
    }
    responses.update(shapes or {})
    return responses


def declare_keys(app: FastAPI) -> None:
    """Say in the OpenAPI document how every operation is authenticated: an API key, as a
    bearer token or in X-API-Key (surfaces/http.py reads both)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = app.openapi_schema or generate()  # generated once, then kept
        document.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        document["security"] = [{"bearer": []}, {"apiKey": []}]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a field (in the surface's words), or an item of a
    batch (its index)."""

    message: str
    field: str | None = None
    index: int | None = None
    code: str | None = None


@dataclass(frozen=True)
class Failure:
    status: int
    code: str  # MACHINE_READABLE
    message: str
    problems: list[Problem] = field(default_factory=list)
    headers: Mapping[str, str] | None = None


Render = Callable[[Failure], Response]


@dataclass(frozen=True)
class Style:
    """A surface's error format and the names its clients use for domain fields."""

    render: Render
    renames: Mapping[str, str] = field(default_factory=dict)

    def wire_name(self, name: str) -> str:
        return self.renames.get(name, name)

    def reword(self, text: str) -> str:
        """Domain identifiers in a message (billable_seconds) in the surface's words."""
        for domain, wire in self.renames.items():
            if "_" in domain:
                text = re.sub(rf"\b{domain}\b", wire, text)
        return text


def code_of(domain_code: str) -> str:
    return VALIDATION if domain_code == "invalid_request" else domain_code.upper()


_LOCATIONS = ("body", "query", "path", "header")


def _loc(error: Mapping[str, Any]) -> str:
    """The field's dotted path, without FastAPI's leading location ("query" may also be the
    name of a query parameter)."""
    loc = list(error.get("loc", ()))
    if loc and loc[0] in _LOCATIONS:
        loc = loc[1:]
    return ".".join(str(p) for p in loc)


def validation_problems(errors: list[Any]) -> list[Problem]:
    problems = []
    for error in errors[:20]:
        name = _loc(error)
        if error.get("type") == "json_invalid":
            message = f"malformed JSON body ({error.get('ctx', {}).get('error', 'invalid')})"
            problems.append(Problem(message))
        elif error.get("type") == "missing" and not name:
            problems.append(Problem("a JSON object body is required"))
        else:
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(Problem(message, field=name or None))
    return problems


def summary(problems: list[Problem]) -> str:
    return "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems[:5])


def domain_failure(exc: DomainError, style: Style) -> Failure:
    message = style.reword(exc.message)
    wire_field = style.wire_name(exc.field) if exc.field else None
    if wire_field and wire_field not in message:
        message = f"{wire_field}: {message}"
    problems = []
    for item in exc.details or []:
        index = item.get("index")
        problems.append(
            Problem(
                style.reword(str(item.get("error_description", ""))),
                index=index if isinstance(index, int) else None,
                code=code_of(str(item.get("error", "invalid_request"))),
            )
        )
    if not problems and wire_field:
        problems = [Problem(message, field=wire_field)]
    return Failure(exc.status, code_of(exc.code), message, problems)


def validation_failure(errors: list[Any]) -> Failure:
    problems = validation_problems(errors)
    return Failure(400, VALIDATION, summary(problems) or "the request is invalid", problems)


def install(app: FastAPI, style: Style) -> None:
    """Route every error of `app` through the surface's renderer; never a bare 5xx page."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> Response:
        return style.render(domain_failure(exc, style))

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> Response:
        return style.render(validation_failure(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _command(_: Request, exc: ValidationError) -> Response:
        return style.render(validation_failure(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "ERROR")
        message = exc.detail if isinstance(exc.detail, str) else code
        return style.render(Failure(exc.status_code, code, message, headers=exc.headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return style.render(Failure(500, "INTERNAL_ERROR", "the server failed; this is a bug"))
