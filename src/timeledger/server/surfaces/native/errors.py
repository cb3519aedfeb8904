"""Errors on /api/v2: `{"error": "<code>", "error_description": "<sentence naming the field>"}`
with 400 for validation (as Keito does; its SDK has no class for 422)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from timeledger.server.core.errors import DomainError
from timeledger.server.surfaces.errorkit import error_responses

log = logging.getLogger("timeledger.api")

_HTTP_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorBody(BaseModel):
    """The body of every /api/v2 error, as the OpenAPI document declares it."""

    error: str
    error_description: str
    errors: list[dict[str, Any]] | None = None  # per-item problems of a batch operation


# Every operation may answer with these; declared once for the whole surface.
ERROR_RESPONSES = error_responses(ErrorBody)


def error_response(
    status: int,
    code: str,
    description: str,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, object]] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"error": code, "error_description": description}
    if details:
        body["errors"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def render_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error from a layer in front of the surface (rate limit, idempotency, body limits)."""
    return error_response(status, code, message, headers=headers)


def _field(error: Any) -> str:
    """The dotted field path of a pydantic error, without FastAPI's location prefix."""
    return ".".join(
        str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")
    )


def describe_validation(errors: list[Any]) -> str:
    """One sentence per problem, each naming its field: `name: Field required`."""
    parts = []
    for error in errors[:5]:
        field = _field(error)
        if error.get("type") == "json_invalid":
            parts.append(f"malformed JSON body ({error.get('ctx', {}).get('error', 'invalid')})")
        elif error.get("type") == "missing" and not field:
            parts.append("a JSON object body is required")
        else:
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def describe_domain(exc: DomainError) -> str:
    """The service's sentence, led by the field it is about when it does not name it."""
    if exc.field and exc.field not in exc.message:
        return f"{exc.field}: {exc.message}"
    return exc.message


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc.status, exc.code, describe_domain(exc), details=exc.details)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", describe_validation(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _command(_: Request, exc: ValidationError) -> JSONResponse:
        return error_response(400, "invalid_request", describe_validation(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "the server failed; this is a bug")
