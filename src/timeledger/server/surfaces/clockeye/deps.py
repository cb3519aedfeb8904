"""What every ClockEye handler declares: its transaction and caller, its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from timeledger.server.core.actor import Actor
from timeledger.server.db import DbSession
from timeledger.server.surfaces.http import context_views
from timeledger.server.webhooks.ssrf import TargetPolicy

SURFACE = "clockeye"
PER_PAGE = 50
MAX_PER_PAGE = 100

views = context_views(SURFACE)


async def _policy(request: Request) -> TargetPolicy:
    return TargetPolicy.of(request.app.state.settings)


Session = Annotated[DbSession, views.session]
CurrentActor = Annotated[Actor, views.actor]
Policy = Annotated[TargetPolicy, Depends(_policy)]


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int


async def _paging(
    page: Annotated[int, Query(ge=1, description="Page number (default: 1)")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description=f"1 to {MAX_PER_PAGE}")
    ] = PER_PAGE,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


Paging = Annotated[PageParams, Depends(_paging)]
