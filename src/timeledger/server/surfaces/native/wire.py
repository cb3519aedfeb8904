"""The /api/v2 wire shapes (Keito/Harvest v2): bare objects, string ids, nested {id, name},
timestamps everywhere, never-null booleans, money as JSON numbers."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel, ConfigDict, PlainSerializer, create_model

from timeledger.server.accounts.models import Account, ApiKey, User, person_name
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.catalog.models import (
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    UserAssignment,
)
from timeledger.server.core.crud import Page

# Amounts carry at most 15 significant digits (validated on the way in), which an IEEE
# double round-trips exactly, so every JSON parser reads back the stored Decimal.
Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
Id = Annotated[uuid.UUID, PlainSerializer(str, return_type=str)]


class Wire(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IdName(Wire):
    id: Id
    name: str | None = None


def id_name(row: Any) -> IdName | None:
    return None if row is None else IdName(id=row.id, name=row.name)


class Timestamps(Wire):
    created_at: datetime
    updated_at: datetime


class CompanyOut(Timestamps):
    id: Id
    name: str
    timezone: str
    currency: str
    week_start_day: str
    plan: str
    is_active: bool = True
    allow_past_timer_starts: bool
    default_hourly_rate: Number | None
    overlapping_entries: Literal["allow", "warn", "forbid"]
    rounding_mode: Literal["none", "up", "down", "nearest"]
    rounding_increment: int
    auto_stop_after_hours: Number | None
    invoice_number_format: str

    @classmethod
    def of(cls, account: Account) -> CompanyOut:
        return cls(
            id=account.id,
            name=account.name,
            timezone=account.timezone,
            currency=account.currency,
            week_start_day=account.week_start_day,
            plan=account.plan,
            created_at=account.created_at,
            updated_at=account.updated_at,
            **asdict(AccountSettings.of(account)),
        )


class UserOut(Timestamps):
    id: Id
    email: str
    first_name: str | None
    last_name: str | None
    telephone: str | None
    timezone: str | None
    user_type: Literal["human", "agent"]
    role: Literal["member", "manager", "admin", "owner"]
    access_roles: list[str]
    roles: list[str]
    is_contractor: bool
    is_active: bool
    has_access_to_all_future_projects: bool
    weekly_capacity: int | None
    default_hourly_rate: Number | None
    cost_rate: Number | None
    currency: str
    avatar_url: str | None = None
    company: IdName

    @classmethod
    def of(cls, user: User, account: Account) -> UserOut:
        data = {name: getattr(user, name) for name in _USER_COLUMNS}
        return cls(
            **data,
            access_roles=[user.role],
            roles=[],
            currency=account.currency,
            company=IdName(id=account.id, name=account.name),
        )


_USER_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "telephone",
    "timezone",
    "user_type",
    "role",
    "is_contractor",
    "is_active",
    "has_access_to_all_future_projects",
    "weekly_capacity",
    "default_hourly_rate",
    "cost_rate",
    "created_at",
    "updated_at",
)


class ClientOut(Timestamps):
    id: Id
    name: str
    address: str | None
    currency: str | None
    payment_terms: str | None
    payment_days: int | None
    tax: Number | None
    tax2: Number | None
    discount: Number | None
    is_active: bool
    statement_key: str | None = None

    @classmethod
    def of(cls, row: Client) -> ClientOut:
        return cls.model_validate(row)


class ContactOut(Timestamps):
    id: Id
    client: IdName
    first_name: str
    last_name: str | None
    title: str | None
    email: str | None
    phone_office: str | None
    phone_mobile: str | None
    fax: str | None

    @classmethod
    def of(cls, row: Contact) -> ContactOut:
        return cls.model_validate(row)


class ProjectOut(Timestamps):
    id: Id
    client: IdName | None
    name: str
    code: str | None
    is_active: bool
    is_billable: bool
    is_fixed_fee: bool
    bill_by: str
    hourly_rate: Number | None
    fee: Number | None
    budget_by: str
    budget: Number | None
    budget_is_monthly: bool
    notify_when_over_budget: bool
    over_budget_notification_percentage: Number | None
    show_budget_to_all: bool
    cost_budget: Number | None
    cost_budget_include_expenses: bool
    currency: str | None
    starts_on: date | None
    ends_on: date | None
    notes: str | None

    @classmethod
    def of(cls, row: Project) -> ProjectOut:
        return cls.model_validate(row)


class TaskOut(Timestamps):
    id: Id
    name: str
    billable_by_default: bool
    default_hourly_rate: Number | None
    is_default: bool
    is_active: bool
    parent_task_id: str | None = None

    @classmethod
    def of(cls, row: Task) -> TaskOut:
        return cls.model_validate(row)


class TaskAssignmentOut(Timestamps):
    id: Id
    project: IdName
    task: IdName
    is_active: bool
    billable: bool
    hourly_rate: Number | None
    budget: Number | None

    @classmethod
    def of(cls, row: TaskAssignment) -> TaskAssignmentOut:
        return cls.model_validate(row)


class UserAssignmentOut(Timestamps):
    id: Id
    project: IdName
    user: IdName
    is_active: bool
    is_project_manager: bool
    use_default_rates: bool
    hourly_rate: Number | None
    budget: Number | None

    @classmethod
    def of(cls, row: UserAssignment) -> UserAssignmentOut:
        data = cls.model_validate(row).model_dump()
        user = row.user
        data["user"] = IdName(id=user.id, name=full_name(user))
        return cls(**data)


def full_name(user: User) -> str:
    return person_name(user.first_name, user.last_name, user.email)


class ApiKeyOut(Timestamps):
    id: Id
    name: str
    scope: Literal["read", "write"]
    user: IdName
    prefix: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_active: bool

    @classmethod
    def of(cls, row: ApiKey, user: User) -> ApiKeyOut:
        return cls(
            id=row.id,
            name=row.name,
            scope=row.scope,
            user=IdName(id=user.id, name=full_name(user)),
            prefix=f"tlk_{row.key_id}",
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            is_active=row.revoked_at is None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class CreatedApiKeyOut(ApiKeyOut):
    token: str


class Deleted(Wire):
    id: Id
    deleted: bool = True


# --- list envelopes -------------------------------------------------------------------------


class Links(Wire):
    first: str
    next: str | None
    previous: str | None
    last: str


class ListEnvelope(Wire):
    per_page: int
    total_pages: int
    total_entries: int
    page: int
    next_page: int | None
    previous_page: int | None
    links: Links


def list_model(key: str, item: type[BaseModel]) -> type[ListEnvelope]:
    """`{"<key>": [item, ...], per_page, total_pages, ...}` as a named model for the docs."""
    name = "".join(part.title() for part in key.split("_")) + "List"
    fields: dict[str, Any] = {key: (list[item], ...)}  # type: ignore[valid-type]
    model: type[ListEnvelope] = create_model(name, __base__=ListEnvelope, **fields)
    return model


def envelope(
    model: type[ListEnvelope], key: str, page: Page[Any], items: list[Any], request: Request
) -> ListEnvelope:
    last = max(page.total_pages, 1)

    def link(number: int) -> str:
        query = {**request.query_params, "page": number, "per_page": page.per_page}
        return f"{request.url.path}?{urlencode(query)}"

    next_page = page.page + 1 if page.page < page.total_pages else None
    previous_page = page.page - 1 if page.page > 1 else None
    return model(
        **{key: items},
        per_page=page.per_page,
        total_pages=page.total_pages,
        total_entries=page.total,
        page=page.page,
        next_page=next_page,
        previous_page=previous_page,
        links=Links(
            first=link(1),
            last=link(last),
            next=link(next_page) if next_page else None,
            previous=link(previous_page) if previous_page else None,
        ),
    )
