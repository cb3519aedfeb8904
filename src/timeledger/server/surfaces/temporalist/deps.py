"""What every /api/v1 (Temporal.ist) handler declares: its transaction and its caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.actor import Actor
from timeledger.server.core.crud import MAX_PER_PAGE, Page
from timeledger.server.db import DbSession
from timeledger.server.surfaces.http import context_views

SURFACE = "temporalist"

views = context_views(SURFACE)
Session = Annotated[DbSession, views.session]
Caller = Annotated[Authenticated, views.caller]
CurrentActor = Annotated[Actor, views.actor]

Item = TypeVar("Item")


def every(fetch: Callable[[int, int], Page[Item]]) -> list[Item]:
    """Temporal.ist lists are bare arrays of everything: read the service's pages to the end."""
    items: list[Item] = []
    page = 1
    while True:
        result = fetch(page, MAX_PER_PAGE)
        items.extend(result.items)
        if page >= result.total_pages:
            return items
        page += 1
