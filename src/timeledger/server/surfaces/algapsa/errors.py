"""AlgaPSA's error format, for every error of the surface:
`{"error": {"code": "VALIDATION_ERROR", "message": "<sentence>", "details": [...]}}`.
`details` lists the problems: `{"field", "message"}` for bad input, `{"index", "code",
"message"}` for the items of a bulk request that failed. Validation is a 400."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from timeledger.server.surfaces.errorkit import Failure, Problem, Style, code_of, error_responses


class ErrorDetail(BaseModel):
    message: str
    field: str | None = None
    index: int | None = None
    code: str | None = None


class Error(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorBody(BaseModel):
    """The body of every AlgaPSA error, as the OpenAPI document declares it."""

    error: Error


ERROR_RESPONSES = error_responses(ErrorBody)


def _problem(problem: Problem) -> dict[str, object]:
    item: dict[str, object] = {"message": problem.message}
    if problem.field is not None:
        item["field"] = problem.field
    if problem.index is not None:
        item["index"] = problem.index
    if problem.code is not None:
        item["code"] = problem.code
    return item


def render(failure: Failure) -> JSONResponse:
    error: dict[str, object] = {"code": failure.code, "message": failure.message}
    if failure.problems:
        error["details"] = [_problem(p) for p in failure.problems]
    return JSONResponse(
        {"error": error}, status_code=failure.status, headers=dict(failure.headers or {})
    )


def render_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An error in AlgaPSA's format, for middleware in front of the surface (rate limits,
    idempotency); `code` may be given in the domain's lower case."""
    return render(Failure(status, code_of(code), message, headers=headers))


# Domain fields under the names AlgaPSA clients send.
STYLE = Style(
    render=render,
    renames={
        "billable_seconds": "billable_minutes",
        "hours": "duration_minutes",
        "external_reference": "work_item_type",
        "spent_date": "started_at",
        "started_time": "started_at",
        "ended_time": "ended_at",
        "ids": "entry_ids",
        "time_entries": "entries",
        "from": "start_date",
        "to": "end_date",
        "q": "query",
    },
)
