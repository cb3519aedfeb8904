"""What every /api/v2 handler declares: its transaction, its caller, its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import DEFAULT_PER_PAGE
from timeledger.server.core.errors import PermissionDenied
from timeledger.server.db import DbSession
from timeledger.server.surfaces.http import RequestContext, request_context

SURFACE = "api/v2"


def _account_header(request: Request, auth: Authenticated) -> None:
    claimed = request.headers.get("keito-account-id")
    if claimed is not None and claimed.strip() != str(auth.account.id):
        raise PermissionDenied(
            "Keito-Account-Id does not name this API key's account", code="account_mismatch"
        )


Context = Annotated[
    RequestContext, Depends(request_context(SURFACE, _account_header), scope="function")
]


# Views of the one per-request context; async so they cost no trip to a worker thread.
async def _session(context: Context) -> DbSession:
    return context.session


async def _caller(context: Context) -> Authenticated:
    return context.auth


async def _actor(context: Context) -> Actor:
    return context.actor


Session = Annotated[DbSession, Depends(_session)]
Caller = Annotated[Authenticated, Depends(_caller)]
CurrentActor = Annotated[Actor, Depends(_actor)]


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int


async def _paging(
    page: Annotated[int, Query(description="1-based page number")] = 1,
    per_page: Annotated[int, Query(description="1 to 2000")] = DEFAULT_PER_PAGE,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


Paging = Annotated[PageParams, Depends(_paging)]
