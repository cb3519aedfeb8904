"""/clients/: the account is the organisation, so every key has one."""

from __future__ import annotations

from typing import Any

from timeledger.server.catalog import service as catalog
from timeledger.server.catalog.schemas import ClientCreate, ClientUpdate
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.temporalist.deps import Caller, Session, every
from timeledger.server.surfaces.temporalist.wire import (
    ERROR_RESPONSES,
    ClientIn,
    ClientOut,
    ClientPatch,
)

router = SurfaceRouter(tags=["clients"], responses=ERROR_RESPONSES)


@router.get("/clients/", summary="List clients, ordered by name")
def list_clients(session: Session, caller: Caller) -> list[ClientOut]:
    rows = every(
        lambda page, per_page: catalog.list_clients(
            session, caller.actor, page=page, per_page=per_page
        )
    )
    rows.sort(key=lambda row: (row.name.casefold(), row.id))
    return [ClientOut.of(row, caller.account) for row in rows]


@router.post("/clients/", status_code=201, summary="Create a client")
def create_client(body: ClientIn, session: Session, caller: Caller) -> ClientOut:
    row = catalog.create_client(session, caller.actor, ClientCreate(**body.model_dump()))
    return ClientOut.of(row, caller.account)


@router.get("/clients/{id}/", summary="Get a client")
def get_client(id: str, session: Session, caller: Caller) -> ClientOut:
    return ClientOut.of(catalog.get_client(session, caller.actor, id), caller.account)


@router.patch("/clients/{id}/", summary="Update a client")
def update_client(id: str, body: ClientPatch, session: Session, caller: Caller) -> ClientOut:
    changes: dict[str, Any] = body.changes()
    row = catalog.update_client(session, caller.actor, id, ClientUpdate(**changes))
    return ClientOut.of(row, caller.account)
