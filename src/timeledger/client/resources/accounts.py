"""Users (people and agents), the company (account settings) and API keys."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Required, TypedDict, Unpack

from timeledger.client._http import Call
from timeledger.client.models import ApiKey, Company, User
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import IO, Collection, Resource, fetch, listing, operation

Money = Decimal | int | str
Role = Literal["member", "manager", "admin", "owner"]


class _UserFields(TypedDict, total=False):
    first_name: str | None
    last_name: str | None
    telephone: str | None
    timezone: str | None
    user_type: Literal["human", "agent"]
    role: Role
    is_contractor: bool
    is_active: bool
    weekly_capacity: int | None
    default_hourly_rate: Money | None
    cost_rate: Money | None
    has_access_to_all_future_projects: bool


class UserCreate(_UserFields, total=False):
    email: Required[str]


class UserUpdate(_UserFields, total=False):
    email: str


class Users(Collection[IO, User]):
    path, key, model = "/users", "users", User

    @operation
    def me(self) -> Call[User]:
        """The user the API key acts as."""
        return (yield from fetch(User, "GET", "/users/me"))

    @listing
    def list(
        self,
        *,
        is_active: bool | None = None,
        updated_since: datetime | None = None,
        per_page: int | None = None,
    ) -> Listing[User]:
        return self._listing(is_active=is_active, updated_since=updated_since, per_page=per_page)

    @operation
    def create(self, **fields: Unpack[UserCreate]) -> Call[User]:
        """Add a person or an agent (`user_type="agent"`) to the account."""
        return (yield from self._create(fields))

    @operation
    def update(self, id: str, **fields: Unpack[UserUpdate]) -> Call[User]:
        return (yield from self._update(id, fields))

    @operation
    def deactivate(self, id: str) -> Call[User]:
        """Deactivate a user: their history stays, their keys stop working."""
        return (yield from fetch(User, "DELETE", f"/users/{id}"))


class CompanyUpdate(TypedDict, total=False):
    name: str
    timezone: str
    currency: str
    week_start_day: str
    allow_past_timer_starts: bool
    default_hourly_rate: Money | None
    overlapping_entries: Literal["allow", "warn", "forbid"]
    rounding_mode: Literal["none", "up", "down", "nearest"]
    rounding_increment: Literal[1, 5, 6, 10, 15, 30]
    auto_stop_after_hours: Money | None


class CompanyResource(Resource[IO]):
    """The account and its settings."""

    @operation
    def get(self) -> Call[Company]:
        return (yield from fetch(Company, "GET", "/company"))

    @operation
    def update(self, **fields: Unpack[CompanyUpdate]) -> Call[Company]:
        return (yield from fetch(Company, "PATCH", "/company", json=fields))

    @operation
    def today(self) -> Call[date]:
        """Today in the account's time zone: the day a spent_date of now names."""
        return (yield from self._today())


class ApiKeys(Collection[IO, ApiKey]):
    path, key, model = "/api_keys", "api_keys", ApiKey

    @listing
    def list(self, *, per_page: int | None = None) -> Listing[ApiKey]:
        return self._listing(per_page=per_page)

    @operation
    def create(
        self,
        *,
        name: str,
        scope: Literal["read", "write"] = "read",
        user_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> Call[ApiKey]:
        """A new key; its `token` is in this answer only."""
        body = {"name": name, "scope": scope, "user_id": user_id, "expires_at": expires_at}
        return (yield from self._create({k: v for k, v in body.items() if v is not None}))

    @operation
    def revoke(self, id: str) -> Call[ApiKey]:
        """Revoke a key; it stops working on the next request."""
        return (yield from fetch(ApiKey, "DELETE", f"/api_keys/{id}"))
