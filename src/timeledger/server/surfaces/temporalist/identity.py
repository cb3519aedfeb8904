"""GET /me/: who the key belongs to; integrations use it as a connection test."""

from __future__ import annotations

from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.temporalist.deps import Caller
from timeledger.server.surfaces.temporalist.wire import ERROR_RESPONSES, MeOut

router = SurfaceRouter(tags=["identity"], responses=ERROR_RESPONSES)


@router.get("/me/", summary="The account, organisation and key behind this request")
async def me(caller: Caller) -> MeOut:
    return MeOut.of(caller)
