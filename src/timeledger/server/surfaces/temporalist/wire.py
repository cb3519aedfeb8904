"""The Temporal.ist v1 wire shapes: UUID ids, money as decimal strings, ISO 8601 instants,
bare arrays for lists. Requests are checked here for type and form; every rule beyond that
is the services'."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from timeledger.server.accounts.keys import Authenticated
from timeledger.server.accounts.models import Account
from timeledger.server.billing.models import Invoice
from timeledger.server.billing.schemas import OverlapStrategy
from timeledger.server.catalog.models import Client, Project
from timeledger.server.core.fields import (
    AwareDatetime,
    Command,
    Currency,
    Email,
    LongText,
    Money,
    Name,
    Percent,
    ShortText,
    omitted,
)
from timeledger.server.core.money import two_places
from timeledger.server.surfaces.errorkit import error_responses
from timeledger.server.tracking.schemas import SpentDate, StartedVia, how_started
from timeledger.server.tracking.views import EntryView, currency_of
from timeledger.server.webhooks.formats import TEMPORALIST_STATUS
from timeledger.server.webhooks.models import WebhookSubscription
from timeledger.server.webhooks.schemas import Url

DecimalString = Annotated[Decimal, PlainSerializer(two_places, return_type=str)]

# Domain field names as this wire spells them, for error bodies.
SESSION_FIELDS = {
    "started_at": "start_time",
    "ended_at": "end_time",
    "notes": "description",
    "task_id": "project_id",
}
PROJECT_FIELDS = {"auto_track": "is_active"}
WEBHOOK_FIELDS = {"url": "target_url", "events": "event"}

WebhookEvent = Literal[
    "project.created", "session.created", "session.closed", "invoice.created", "invoice.paid"
]


# --- identity -------------------------------------------------------------------------------


# Temporal.ist numbers users and organisations; here they are UUIDs like every other id.
_UUID_NOT_NUMBER = "a UUID (Temporal.ist itself sends an integer here)"


class MeOut(BaseModel):
    user_id: str = Field(description=_UUID_NOT_NUMBER)
    email: str
    organisation_id: str = Field(description=_UUID_NOT_NUMBER)
    organisation_name: str
    api_key_name: str
    api_key_scope: str

    @classmethod
    def of(cls, caller: Authenticated) -> MeOut:
        return cls(
            user_id=str(caller.user.id),
            email=caller.user.email,
            organisation_id=str(caller.account.id),
            organisation_name=caller.account.name,
            api_key_name=caller.key.name,
            api_key_scope=caller.key.scope,
        )


# --- projects -------------------------------------------------------------------------------


class ProjectOut(BaseModel):
    id: uuid.UUID
    name: str
    is_active: bool
    currency: str
    hourly_rate: DecimalString | None
    client_id: uuid.UUID | None

    @classmethod
    def of(cls, row: Project, account: Account) -> ProjectOut:
        return cls(
            id=row.id,
            name=row.name,
            is_active=row.auto_track,
            currency=currency_of(row, account),
            hourly_rate=row.hourly_rate,
            client_id=row.client_id,
        )


class ProjectIn(Command):
    name: Name
    is_active: bool = False
    currency: Currency | None = None
    hourly_rate: Money | None = None
    client_id: uuid.UUID | None = None


class ProjectPatch(Command):
    name: Name = omitted()
    is_active: bool = omitted()
    currency: Currency | None = None
    hourly_rate: Money | None = None
    client_id: uuid.UUID | None = None


# --- sessions -------------------------------------------------------------------------------


class SessionOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    start_time: datetime | None
    end_time: datetime | None
    description: str
    started_via: StartedVia
    is_active: bool
    total_seconds: int

    @classmethod
    def of(cls, view: EntryView) -> SessionOut:
        entry = view.entry
        return cls(
            id=entry.id,
            project_id=entry.project_id,
            project_name=entry.project.name,
            start_time=entry.started_at,
            end_time=view.ended_at,
            description=entry.notes or "",
            started_via=how_started(entry.started_via, entry.source),
            is_active=view.is_running,
            total_seconds=view.seconds,
        )


class AlreadyClosedOut(BaseModel):
    detail: str
    session: SessionOut


class SessionIn(Command):
    project_id: uuid.UUID
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    description: LongText = ""
    started_via: StartedVia = "api"


class SessionPatch(Command):
    end_time: AwareDatetime = omitted()
    description: LongText | None = None
    project_id: uuid.UUID = omitted()


# --- clients --------------------------------------------------------------------------------


class ClientOut(BaseModel):
    id: uuid.UUID
    name: str
    company: str
    email: str
    hourly_rate: DecimalString | None
    currency: str

    @classmethod
    def of(cls, row: Client, account: Account) -> ClientOut:
        return cls(
            id=row.id,
            name=row.name,
            company=row.company or "",
            email=row.email or "",
            hourly_rate=row.hourly_rate,
            currency=row.currency or account.currency,
        )


class ClientIn(Command):
    name: Name
    company: ShortText | None = None
    email: Email | None = None
    hourly_rate: Money | None = None
    currency: Currency | None = None


class ClientPatch(Command):
    name: Name = omitted()
    company: ShortText | None = None
    email: Email | None = None
    hourly_rate: Money | None = None
    currency: Currency | None = None


# --- invoices -------------------------------------------------------------------------------

InvoiceStatus = Literal["draft", "sent", "paid", "cancelled"]
# Temporal.ist's status names for our states, both ways.
STATE_OF_STATUS = {status: state for state, status in TEMPORALIST_STATUS.items()}


class InvoiceOut(BaseModel):
    id: uuid.UUID
    invoice_number: str
    client_id: uuid.UUID
    status: str
    subtotal: DecimalString
    tax_rate: DecimalString
    tax_amount: DecimalString
    total: DecimalString
    currency: str
    period_start: date | None
    period_end: date | None
    due_date: date
    paid_date: date | None
    created: datetime

    @classmethod
    def of(cls, row: Invoice) -> InvoiceOut:
        return cls(
            id=row.id,
            invoice_number=row.number,
            client_id=row.client_id,
            status=TEMPORALIST_STATUS[row.state],
            subtotal=row.subtotal,
            tax_rate=row.tax or Decimal(0),
            tax_amount=row.tax_amount,
            total=row.amount,
            currency=row.currency,
            period_start=row.period_start,
            period_end=row.period_end,
            due_date=row.due_date,
            paid_date=row.paid_date,
            created=row.created_at,
        )


class InvoiceIn(Command):
    client_id: uuid.UUID
    period_start: SpentDate
    period_end: SpentDate
    project_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    tax_rate: Percent = Decimal(0)
    notes: LongText | None = None
    overlap_strategy: OverlapStrategy = "add"


# --- webhooks -------------------------------------------------------------------------------


class WebhookOut(BaseModel):
    id: uuid.UUID
    event: str
    target_url: str
    secret: str
    created_at: datetime
    last_delivery_at: datetime | None
    last_status_code: int | None
    failure_count: int

    @classmethod
    def of(cls, row: WebhookSubscription) -> WebhookOut:
        return cls(
            id=row.id,
            event=row.events[0],
            target_url=row.url,
            secret=row.secret,
            created_at=row.created_at,
            last_delivery_at=row.last_delivery_at,
            last_status_code=row.last_status_code,
            failure_count=row.failure_count,
        )


class WebhookIn(Command):
    event: WebhookEvent
    target_url: Url


# --- errors, for the OpenAPI document ---------------------------------------------------------


class Detail(BaseModel):
    detail: str


ERROR_RESPONSES = error_responses(
    Detail,
    {
        400: {
            "description": "Invalid request; the body is keyed by field name "
            "(non_field_errors when about no field)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                        },
                    },
                    "example": {"project_id": ["This field is required."]},
                }
            },
        }
    },
)
