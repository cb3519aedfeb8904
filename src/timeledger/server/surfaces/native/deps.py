"""What every /api/v2 handler declares: its transaction, its caller, its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import DEFAULT_PER_PAGE, MAX_PER_PAGE
from timeledger.server.core.errors import PermissionDenied, ValidationFailed
from timeledger.server.db import DbSession
from timeledger.server.surfaces.http import context_views

SURFACE = "api/v2"


def _checks(request: Request, auth: Authenticated) -> None:
    """Made of every /api/v2 request (each declares its caller), once it is authenticated.

    No /api/v2 parameter takes several values: a repeated one is refused rather than read as
    its last value (a filter by two projects would silently be a filter by one). Made here
    rather than as an app-wide dependency, which would cost every request a tenth of its
    time in FastAPI's dependency machinery."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValidationFailed(f"{repeated[0]} is given more than once", field=repeated[0])
    claimed = request.headers.get("keito-account-id")
    if claimed is not None and claimed.strip() != str(auth.account.id):
        raise PermissionDenied(
            "Keito-Account-Id does not name this API key's account", code="account_mismatch"
        )


views = context_views(SURFACE, _checks)
Session = Annotated[DbSession, views.session]
Caller = Annotated[Authenticated, views.caller]
CurrentActor = Annotated[Actor, views.actor]


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int


async def _paging(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description=f"1 to {MAX_PER_PAGE}")
    ] = DEFAULT_PER_PAGE,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


Paging = Annotated[PageParams, Depends(_paging)]
