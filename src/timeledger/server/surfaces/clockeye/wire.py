"""ClockEye's wire shapes: snake_case out; requests also take the camelCase its JavaScript
SDK sends (projectId); lists as `{"data": [...], "pagination": {...}}`; durations in seconds.
A time entry has the keys its webhooks carry (webhooks/formats.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from timeledger.server.catalog.models import Project
from timeledger.server.core.crud import Page
from timeledger.server.outbox.events import CLOCKEYE_EVENTS
from timeledger.server.tracking.views import EntryView
from timeledger.server.webhooks.models import WebhookSubscription
from timeledger.server.webhooks.schemas import Url

Id = Annotated[uuid.UUID, PlainSerializer(str, return_type=str)]


class Wire(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TimeEntryOut(Wire):
    id: Id
    user_id: Id
    project_id: Id
    task_id: Id
    description: str | None
    start_time: datetime | None
    end_time: datetime | None
    duration: int = Field(description="Seconds, live while the timer runs")
    is_running: bool
    billable: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: EntryView) -> TimeEntryOut:
        e = view.entry
        return cls(
            id=e.id,
            user_id=e.user_id,
            project_id=e.project_id,
            task_id=e.task_id,
            description=e.notes,
            start_time=e.started_at,
            end_time=None if view.is_running else view.ended_at,
            duration=view.seconds,
            is_running=view.is_running,
            billable=e.billable,
            created_at=e.created_at,
            updated_at=e.changed_at,
        )


class Pagination(Wire):
    page: int
    per_page: int
    total: int
    total_pages: int

    @classmethod
    def of(cls, page: Page[Any]) -> Pagination:
        return cls(
            page=page.page, per_page=page.per_page, total=page.total, total_pages=page.total_pages
        )


class TimeEntryList(Wire):
    data: list[TimeEntryOut]
    pagination: Pagination


class StartTimer(BaseModel):
    """project_id (or projectId) is required; task_id may be left out when the project has
    one task (or one default task)."""

    model_config = ConfigDict(extra="ignore")

    project_id: str = Field(validation_alias=AliasChoices("project_id", "projectId"))
    task_id: str | None = Field(default=None, validation_alias=AliasChoices("task_id", "taskId"))
    description: Annotated[str, StringConstraints(max_length=5000)] | None = None


class ProjectOut(Wire):
    id: Id
    name: str
    code: str | None
    client_id: Id | None
    is_active: bool
    is_billable: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Project) -> ProjectOut:
        return cls.model_validate(row)


class ProjectList(Wire):
    data: list[ProjectOut]
    pagination: Pagination


def _clockeye_names(names: list[str]) -> list[str]:
    unknown = sorted({name for name in names if name not in CLOCKEYE_EVENTS})
    if unknown:
        raise ValueError(
            f"unknown event {', '.join(map(repr, unknown))}; one of {', '.join(CLOCKEYE_EVENTS)}"
        )
    return sorted(set(names))


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: Url
    events: Annotated[
        list[Annotated[str, Field(json_schema_extra={"enum": list(CLOCKEYE_EVENTS)})]],
        Field(min_length=1, max_length=len(CLOCKEYE_EVENTS)),
        AfterValidator(_clockeye_names),
    ]


class WebhookOut(Wire):
    id: Id
    url: str
    events: list[str]
    secret: str = Field(description="Shown once: verify X-ClockEye-Signature with it")
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, sub: WebhookSubscription) -> WebhookOut:
        return cls(
            id=sub.id,
            url=sub.url,
            events=sub.events,
            secret=sub.secret,
            active=sub.is_active,
            created_at=sub.created_at,
        )
