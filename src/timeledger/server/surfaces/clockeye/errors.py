"""ClockEye's error format, for every error of the surface:
`{"error": "<human-readable sentence>", "code": "MACHINE_READABLE_CODE", "details": {}}`.
For bad input `details.fields` maps each field (as the client named it) to its problem."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from timeledger.server.surfaces.errorkit import Failure, Style, code_of, error_responses


class ErrorDetails(BaseModel):
    fields: dict[str, str] | None = None  # bad input: each field's problem


class ErrorBody(BaseModel):
    """The body of every ClockEye error, as the OpenAPI document declares it."""

    error: str
    code: str
    details: ErrorDetails


ERROR_RESPONSES = error_responses(ErrorBody)


def render(failure: Failure) -> JSONResponse:
    details: dict[str, object] = {}
    fields = {p.field: p.message for p in failure.problems if p.field}
    if fields:
        details["fields"] = fields
    return JSONResponse(
        {"error": failure.message, "code": failure.code, "details": details},
        status_code=failure.status,
        headers=dict(failure.headers or {}),
    )


def render_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An error in ClockEye's format, for middleware in front of the surface (rate limits,
    idempotency); `code` may be given in the domain's lower case."""
    return render(Failure(status, code_of(code), message, headers=headers))


# Domain fields under the names ClockEye clients send.
STYLE = Style(
    render=render,
    renames={"notes": "description", "from": "start_date", "to": "end_date"},
)
