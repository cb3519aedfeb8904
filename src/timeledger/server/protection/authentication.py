"""The outermost layer of every surface: who is calling, found once per request
(accounts/credentials.py) and left in the ASGI scope for the layers inside (rate limit,
idempotency) and for the surface's handlers. A failure is left there too rather than
answered here: the surface answers it in its own format, and only where a route needs a
caller (its OpenAPI document does not)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from timeledger.server.accounts.credentials import Credentials
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.errors import DomainError
from timeledger.server.surfaces.http import SCOPE_AUTH, presented_token


class Authentication:
    def __init__(self, app: ASGIApp, credentials: Credentials, surface: str) -> None:
        self.app = app
        self.credentials = credentials
        self.surface = surface

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[SCOPE_AUTH] = await self._identify(presented_token(Request(scope)))
        await self.app(scope, receive, send)

    async def _identify(self, token: str | None) -> Authenticated | DomainError:
        try:
            return await self.credentials.authenticate_on_loop(token, self.surface)
        except DomainError as exc:  # not authenticated, or the database unreachable
            return exc
