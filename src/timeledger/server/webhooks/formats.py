"""What a delivery's body looks like for the subscriptions of a compatibility surface: the
product's own envelope and field names over the same outbox event. Subscriptions of other
schemes get the standard envelope (deliveries.envelope).

ClockEye: `{"id", "event", "timestamp", "data"}`, where `data` is the resource as ClockEye's
API shows it (a time entry's keys are those of GET /api/time-entries)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from timeledger.server.core.money import two_places
from timeledger.server.tracking.schemas import how_started

# (delivered event name, event id, when it happened, event data, delivery id) -> body
Shape = Callable[[str, uuid.UUID, datetime, Mapping[str, Any], uuid.UUID], dict[str, Any]]
# event data -> the resource as the product's API shows it
ResourceShape = Callable[[Mapping[str, Any]], dict[str, Any]]


def _instant(value: Any) -> Any:
    """Event data holds ISO 8601 text with +00:00; the APIs write Z."""
    return value.replace("+00:00", "Z") if isinstance(value, str) else value


def _same(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The fields the product names as the event data does."""
    return {key: data.get(key) for key in keys}


def _clockeye_stamps(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _instant(data.get(key)) for key in ("created_at", "updated_at")}


def clockeye_time_entry(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_same(data, "id", "user_id", "project_id", "task_id"),
        "description": data.get("notes"),
        "start_time": _instant(data.get("started_at")),
        "end_time": None if data.get("is_running") else _instant(data.get("ended_at")),
        "duration": data.get("duration_seconds"),
        **_same(data, "is_running", "billable"),
        **_clockeye_stamps(data),
    }


def clockeye_project(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_same(data, "id", "name", "code", "client_id", "is_active", "is_billable"),
        **_clockeye_stamps(data),
    }


def clockeye_user(data: Mapping[str, Any]) -> dict[str, Any]:
    return _same(data, "id", "email", "first_name", "last_name", "role")


_CLOCKEYE_DATA: dict[str, ResourceShape] = {
    "time_entry": clockeye_time_entry,
    "project": clockeye_project,
    "user": clockeye_user,
}


def _resource(
    shapes: Mapping[str, ResourceShape], event_type: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The event's data as the product shows its resource (`time_entry.created`: a time entry);
    data of a resource the product has no shape for goes as it is."""
    shape = shapes.get(event_type.partition(".")[0])
    return shape(data) if shape else dict(data)


def _clockeye(
    event_type: str,
    event_id: uuid.UUID,
    created_at: datetime,
    data: Mapping[str, Any],
    delivery_id: uuid.UUID,
) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "event": event_type,
        "timestamp": created_at.isoformat().replace("+00:00", "Z"),
        "data": _resource(_CLOCKEYE_DATA, event_type, data),
    }


# Temporal.ist: `{"event", "delivery_id", "occurred_at" (Unix seconds), "data"}`, where
# `data` names the resource by `uuid` and what it points at by `<thing>_uuid`.


def _money(value: Any) -> str | None:
    return None if value is None else two_places(Decimal(value))


def temporalist_session(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uuid": data.get("id"),
        "project_uuid": data.get("project_id"),
        "project_name": data.get("project_name"),
        "start_time": data.get("started_at"),
        "end_time": None if data.get("is_running") else data.get("ended_at"),
        "description": data.get("notes") or "",
        "started_via": how_started(data.get("started_via"), str(data.get("source"))),
    }


def temporalist_project(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uuid": data.get("id"),
        "name": data.get("name"),
        "is_active": data.get("auto_track"),
        "currency": data.get("currency"),
        "hourly_rate": _money(data.get("hourly_rate")),
        "client_uuid": data.get("client_id"),
    }


def temporalist_invoice(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uuid": data.get("id"),
        "invoice_number": data.get("number"),
        "client_uuid": data.get("client_id"),
        "status": TEMPORALIST_STATUS.get(str(data.get("state")), data.get("state")),
        "subtotal": _money(data.get("subtotal")),
        "tax_rate": _money(data.get("tax") or 0),
        "tax_amount": _money(data.get("tax_amount")),
        "total": _money(data.get("amount")),
        "currency": data.get("currency"),
        "period_start": data.get("period_start"),
        "period_end": data.get("period_end"),
        "due_date": data.get("due_date"),
        "paid_date": data.get("paid_date"),
    }


# Our invoice states as Temporal.ist names them (an open invoice is one that was sent).
TEMPORALIST_STATUS = {"draft": "draft", "open": "sent", "paid": "paid", "closed": "cancelled"}

_TEMPORALIST_DATA: dict[str, ResourceShape] = {
    "session": temporalist_session,
    "project": temporalist_project,
    "invoice": temporalist_invoice,
}


def _temporalist(
    event_type: str,
    event_id: uuid.UUID,
    created_at: datetime,
    data: Mapping[str, Any],
    delivery_id: uuid.UUID,
) -> dict[str, Any]:
    return {
        "event": event_type,
        "delivery_id": str(delivery_id),
        "occurred_at": int(created_at.timestamp()),
        "data": _resource(_TEMPORALIST_DATA, event_type, data),
    }


SHAPES: dict[str, Shape] = {"clockeye": _clockeye, "temporalist": _temporalist}
