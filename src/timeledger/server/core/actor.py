"""Who is calling: the account, user and key behind a request, and what their role allows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import IntEnum

from timeledger.server.core.errors import PermissionDenied

ROLES = ("member", "manager", "admin", "owner")


class Role(IntEnum):
    member = 0
    manager = 1
    admin = 2
    owner = 3


@dataclass(frozen=True, slots=True)
class Actor:
    account_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    api_key_id: uuid.UUID | None = None
    scope: str = "write"
    surface: str = "api"

    def require(self, least: Role, doing: str) -> None:
        """Refuse unless the caller's role is at least `least`."""
        if self.role < least:
            raise PermissionDenied(
                f"{doing} requires the {least.name} role or higher; you are a {self.role.name}"
            )
