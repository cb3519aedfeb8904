"""What every AlgaPSA handler declares: its transaction and caller, its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from timeledger.server.core.actor import Actor
from timeledger.server.db import DbSession
from timeledger.server.surfaces.http import context_views

SURFACE = "algapsa"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100

views = context_views(SURFACE)
Session = Annotated[DbSession, views.session]
CurrentActor = Annotated[Actor, views.actor]


@dataclass(frozen=True)
class PageParams:
    page: int
    limit: int


async def _paging(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Entries per page, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(page=page, limit=limit)


Paging = Annotated[PageParams, Depends(_paging)]
