"""Errors on /api/v1 as Temporal.ist (a Django REST Framework API) writes them: validation
failures are a 400 keyed by field name, `{"start_time": ["<why>"]}`, like every 400 (one about
no field, such as malformed JSON, under `non_field_errors`); everything else is
`{"detail": "<sentence>"}` with its status. Nothing under the mount answers otherwise."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from timeledger.server.core.errors import DomainError, NotFound

log = logging.getLogger("timeledger.api")

# Where a request names no field (a body that is not an object), as DRF says it.
NON_FIELD = "non_field_errors"
_REQUIRED = "This field is required."
_HTTP_DETAILS = {
    404: "Not found.",
    405: "Method not allowed.",
    413: "Request body is too large.",
}


def render_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Any error in this surface's format (`code` has no place in it). A 400 is keyed by
    field like every 400 of the surface; one about no field in particular (a malformed body,
    a bad header) under non_field_errors, as DRF words it."""
    if status == 400:
        return JSONResponse({NON_FIELD: [message]}, status_code=400, headers=dict(headers or {}))
    return JSONResponse({"detail": message}, status_code=status, headers=dict(headers or {}))


def field_errors(errors: Mapping[str, list[str]]) -> Response:
    return JSONResponse(dict(errors), status_code=400)


def _pydantic_errors(errors: list[Any], names: Mapping[str, str]) -> Response:
    keyed: dict[str, list[str]] = {}
    for error in errors:
        loc = [p for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        kind = error.get("type")
        if kind == "json_invalid":
            detail = error.get("ctx", {}).get("error", "invalid JSON")
            return render_error(400, "parse_error", f"JSON parse error - {detail}")
        if not loc:
            if kind == "missing":
                return render_error(400, "parse_error", "A JSON object body is required.")
            keyed.setdefault(NON_FIELD, []).append(
                f"Invalid data. Expected a dictionary, but got {type(error.get('input')).__name__}."
            )
            continue
        field = str(loc[0])
        field = names.get(field, field)
        if kind == "missing":
            message = _REQUIRED
        else:
            message = str(error.get("msg", "Invalid value.")).removeprefix("Value error, ")
            if len(loc) > 1:  # an item of a list: say which
                message = f"Item {loc[1]}: {message}"
        keyed.setdefault(field, []).append(message)
    return field_errors(keyed)


class WireValidationError(Exception):
    """A pydantic failure of a domain command, with the wire's names for its fields."""

    def __init__(self, errors: list[Any], names: Mapping[str, str]) -> None:
        super().__init__("invalid command")
        self.errors = errors
        self.names = names


@contextmanager
def wire_names(names: Mapping[str, str]) -> Iterator[None]:
    """Errors raised inside name fields as the wire does (`started_at` -> `start_time`)."""
    try:
        yield
    except ValidationError as exc:
        raise WireValidationError(exc.errors(), names) from None
    except DomainError as exc:
        if exc.field is not None:
            exc.field = names.get(exc.field, exc.field)
            for domain, wire in names.items():
                exc.message = re.sub(rf"\b{domain}\b", wire, exc.message)
        raise


def _domain(exc: DomainError) -> Response:
    if isinstance(exc, NotFound):
        return render_error(404, exc.code, "Not found.")
    if exc.status == 400:
        return field_errors({exc.field or NON_FIELD: [exc.message]})
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if exc.status == 401 else None
    return render_error(exc.status, exc.code, exc.message, headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _on_domain(_: Request, exc: DomainError) -> Response:
        return _domain(exc)

    @app.exception_handler(RequestValidationError)
    async def _on_request(_: Request, exc: RequestValidationError) -> Response:
        return _pydantic_errors(list(exc.errors()), {})

    @app.exception_handler(WireValidationError)
    async def _on_command(_: Request, exc: WireValidationError) -> Response:
        return _pydantic_errors(exc.errors, exc.names)

    @app.exception_handler(ValidationError)
    async def _on_pydantic(_: Request, exc: ValidationError) -> Response:
        return _pydantic_errors(exc.errors(), {})

    @app.exception_handler(HTTPException)
    async def _on_http(request: Request, exc: HTTPException) -> Response:
        detail = _HTTP_DETAILS.get(exc.status_code, "Request failed.")
        if exc.status_code == 405:
            detail = f'Method "{request.method}" not allowed.'
        elif exc.status_code == 413 and isinstance(exc.detail, str):
            detail = exc.detail
        return render_error(exc.status_code, "http_error", detail, exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render_error(500, "internal_error", "A server error occurred.")
