"""Who is calling, found once per request (accounts/credentials.py) before any other layer,
and left in the ASGI scope for the layers inside (rate limit, idempotency) and for the
surface's handlers. A failure is left there too rather than answered here: the surface
answers it in its own format, and only where a route needs a caller (its OpenAPI document
does not)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Scope

from timeledger.server.accounts.credentials import Credentials
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.core.errors import DomainError
from timeledger.server.surfaces.http import SCOPE_AUTH, presented_token


class Authentication:
    def __init__(self, credentials: Credentials, surface: str) -> None:
        self.credentials = credentials
        self.surface = surface

    async def identify(self, scope: Scope) -> Authenticated | DomainError:
        """The caller of an HTTP request, also left in its scope."""
        try:
            found: Authenticated | DomainError = await self.credentials.authenticate_on_loop(
                presented_token(Request(scope)), self.surface
            )
        except DomainError as exc:  # not authenticated, or the database unreachable
            found = exc
        scope[SCOPE_AUTH] = found
        return found
