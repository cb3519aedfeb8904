"""Commands of the accounts domain (company, users, API keys)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from timeledger.server.billing.numbering import check_format
from timeledger.server.core.fields import (
    AwareDatetime,
    Command,
    Currency,
    Email,
    Money,
    Name,
    Phone,
    ShortText,
    TimeZone,
    omitted,
)

PlanName = Literal["free", "standard", "pro", "enterprise"]
RoleName = Literal["member", "manager", "admin", "owner"]
UserType = Literal["human", "agent"]
Scope = Literal["read", "write"]
WeekDay = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class AccountCreate(Command):
    name: Name
    timezone: TimeZone = "UTC"
    currency: Currency = "USD"
    week_start_day: WeekDay = "Monday"
    plan: PlanName = "pro"


class CompanyUpdate(Command):
    name: Name = omitted()
    timezone: TimeZone = omitted()
    currency: Currency = omitted()
    week_start_day: WeekDay = omitted()
    allow_past_timer_starts: bool = omitted()
    default_hourly_rate: Money | None = None
    overlapping_entries: Literal["allow", "warn", "forbid"] = omitted()
    rounding_mode: Literal["none", "up", "down", "nearest"] = omitted()
    rounding_increment: Literal[1, 5, 6, 10, 15, 30] = omitted()
    auto_stop_after_hours: Decimal | None = Field(default=None, gt=0, le=168, decimal_places=2)
    invoice_number_format: Annotated[str, AfterValidator(check_format)] = omitted()


class UserCreate(Command):
    email: Email
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    telephone: Phone | None = None
    timezone: TimeZone | None = None
    user_type: UserType = "human"
    role: RoleName = "member"
    is_contractor: bool = False
    is_active: bool = True
    weekly_capacity: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    default_hourly_rate: Money | None = None
    cost_rate: Money | None = None
    has_access_to_all_future_projects: bool = False


class UserUpdate(Command):
    email: Email = omitted()
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    telephone: Phone | None = None
    timezone: TimeZone | None = None
    user_type: UserType = omitted()
    role: RoleName = omitted()
    is_contractor: bool = omitted()
    is_active: bool = omitted()
    weekly_capacity: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    default_hourly_rate: Money | None = None
    cost_rate: Money | None = None
    has_access_to_all_future_projects: bool = omitted()


# Fields a user may change on their own profile without the admin role.
SELF_EDITABLE = frozenset({"first_name", "last_name", "telephone", "timezone"})


class ApiKeyCreate(Command):
    name: Name
    scope: Scope = "read"
    user_id: str | None = None
    expires_at: AwareDatetime | None = None
