"""What every /api/v2 handler declares: its transaction, its caller, its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import DEFAULT_PER_PAGE
from timeledger.server.core.errors import PermissionDenied
from timeledger.server.surfaces.http import Session, authenticate

SURFACE = "api/v2"


def _caller(request: Request, session: Session) -> Authenticated:
    auth = authenticate(request, session, SURFACE)
    claimed = request.headers.get("keito-account-id")
    if claimed is not None and claimed.strip() != str(auth.account.id):
        raise PermissionDenied(
            "Keito-Account-Id does not name this API key's account", code="account_mismatch"
        )
    return auth


def _actor(caller: Annotated[Authenticated, Depends(_caller)]) -> Actor:
    return caller.actor


Caller = Annotated[Authenticated, Depends(_caller)]
CurrentActor = Annotated[Actor, Depends(_actor)]


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int


def _paging(
    page: Annotated[int, Query(description="1-based page number")] = 1,
    per_page: Annotated[int, Query(description="1 to 2000")] = DEFAULT_PER_PAGE,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


Paging = Annotated[PageParams, Depends(_paging)]
