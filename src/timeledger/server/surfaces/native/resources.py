"""Routes of a catalogue resource (list, get, create, update, delete) made from one pattern,
so every resource pages, filters, renders and errs the same way.

No `from __future__ import annotations` here: the handlers' annotations name this factory's
arguments, and FastAPI must see them evaluated."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from timeledger.server.core.fields import Command
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.wire import Deleted, Wire, envelope, list_model


@dataclass(frozen=True)
class Operations:
    """The service functions behind a resource. Each takes (session, actor, *parent_ids, ...)."""

    list: Callable[..., Any]
    get: Callable[..., Any]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]


async def no_parent() -> tuple[str, ...]:
    return ()


def add_resource(
    router: APIRouter,
    *,
    path: str,
    key: str,
    singular: str,
    out: type[Wire],
    render: Callable[[Any], Wire],
    create: type[Command],
    update: type[Command],
    ops: Operations,
    filters: Callable[..., Awaitable[dict[str, Any]]],
    parents: Callable[..., Awaitable[tuple[str, ...]]] = no_parent,
) -> None:
    listing = list_model(key, out)
    tag = key.replace("_", " ")
    Filters = Annotated[dict[str, Any], Depends(filters)]  # noqa: N806 (a type alias)
    Parents = Annotated[tuple[str, ...], Depends(parents)]  # noqa: N806

    @router.get(path, response_model=listing, tags=[tag], summary=f"List {tag}")
    def list_rows(
        request: Request,
        session: Session,
        actor: CurrentActor,
        paging: Paging,
        parent_ids: Parents,
        filter_values: Filters,
    ) -> Wire:
        page = ops.list(
            session, actor, *parent_ids, page=paging.page, per_page=paging.per_page, **filter_values
        )
        return envelope(listing, key, page, [render(row) for row in page.items], request)

    @router.get(path + "/{id}", response_model=out, tags=[tag], summary=f"Get a {singular}")
    def get_row(id: str, session: Session, actor: CurrentActor, parent_ids: Parents) -> Wire:
        return render(ops.get(session, actor, *parent_ids, id))

    @router.post(
        path, response_model=out, status_code=201, tags=[tag], summary=f"Create a {singular}"
    )
    def create_row(
        command: Annotated[create, Body()],  # type: ignore[valid-type]
        session: Session,
        actor: CurrentActor,
        parent_ids: Parents,
    ) -> Wire:
        return render(ops.create(session, actor, *parent_ids, command))

    @router.patch(path + "/{id}", response_model=out, tags=[tag], summary=f"Update a {singular}")
    def update_row(
        id: str,
        command: Annotated[update, Body()],  # type: ignore[valid-type]
        session: Session,
        actor: CurrentActor,
        parent_ids: Parents,
    ) -> Wire:
        return render(ops.update(session, actor, *parent_ids, id, command))

    @router.delete(
        path + "/{id}", response_model=Deleted, tags=[tag], summary=f"Delete a {singular}"
    )
    def delete_row(id: str, session: Session, actor: CurrentActor, parent_ids: Parents) -> Wire:
        row = ops.get(session, actor, *parent_ids, id)
        row_id = row.id
        ops.delete(session, actor, *parent_ids, id)
        return Deleted(id=row_id)
