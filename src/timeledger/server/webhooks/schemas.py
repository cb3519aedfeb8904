"""Webhook commands, surface-neutral."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from timeledger.server.core.fields import Command, ShortText, omitted, trimmed
from timeledger.server.outbox.events import SUBSCRIBABLE

ALL_EVENTS = "*"
MAX_EVENT_NAMES = 100

DeliveryStatus = Literal["pending", "succeeded", "failed"]


def _listed(value: object) -> object:
    """`"*"` stands for ["*"]; anything else must already be a list."""
    if value == ALL_EVENTS:
        return [ALL_EVENTS]
    if not isinstance(value, list):
        raise ValueError('must be a list of event names, or "*" for every event')
    return value


def _event_names(value: list[str]) -> list[str]:
    """Sorted, deduplicated names; ["*"] stands for every event."""
    if not value:
        raise ValueError('name at least one event, or "*" for every event')
    unknown = sorted({name for name in value if name != ALL_EVENTS and name not in SUBSCRIBABLE})
    if unknown:
        raise ValueError(
            f"unknown event {', '.join(repr(name) for name in unknown)}; "
            "the event catalogue is listed in the API docs"
        )
    return [ALL_EVENTS] if ALL_EVENTS in value else sorted(set(value))


EventNames = Annotated[
    list[Annotated[str, StringConstraints(max_length=64)]],
    BeforeValidator(_listed),
    Field(
        max_length=MAX_EVENT_NAMES,
        description=(
            'Event names, or "*" for every event. One or more of: '
            + ", ".join(sorted(SUBSCRIBABLE))
        ),
    ),
    AfterValidator(_event_names),
]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048), AfterValidator(trimmed)]


class WebhookCreate(Command):
    url: Url
    events: EventNames
    description: ShortText | None = None


class WebhookUpdate(Command):
    url: Url = omitted()
    events: EventNames = omitted()
    description: ShortText | None = None
    active: bool = omitted()
