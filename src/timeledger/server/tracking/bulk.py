"""Bulk create, update and delete of time entries: all or nothing. Every item is tried (each
in a savepoint, so one failure does not hide the next); if any fails, the whole request
fails, nothing is written, and the error lists each failing item by index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from timeledger.server.core.actor import Actor
from timeledger.server.core.errors import DomainError, ValidationFailed
from timeledger.server.tracking.schemas import (
    BULK_MAX_ITEMS,
    BulkUpdateItem,
    TimeEntryCreate,
    TimeEntryUpdate,
)
from timeledger.server.tracking.service import create_entry, delete_entry, update_entry
from timeledger.server.tracking.views import EntryView

T = TypeVar("T")


def _each(session: Session, items: list[Any], field: str, apply: Callable[[Any], T]) -> list[T]:
    if not items:
        raise ValidationFailed(f"{field} must list at least one item", field=field)
    if len(items) > BULK_MAX_ITEMS:
        raise ValidationFailed(f"{field} may list at most {BULK_MAX_ITEMS} items", field=field)
    results: list[T] = []
    failures: list[dict[str, object]] = []
    for index, item in enumerate(items):
        try:
            with session.begin_nested():
                results.append(apply(item))
        except DomainError as exc:
            failures.append(
                {
                    "index": index,
                    "status": exc.status,
                    "error": exc.code,
                    "error_description": exc.message,
                }
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"]
                for e in exc.errors()
            )
            failures.append(
                {
                    "index": index,
                    "status": 400,
                    "error": "invalid_request",
                    "error_description": problems,
                }
            )
    if failures:
        raise ValidationFailed(
            f"{len(failures)} of {len(items)} items failed; nothing was written",
            code="bulk_failed",
            field=field,
            details=failures,
        )
    return results


def bulk_create(session: Session, actor: Actor, items: list[Any]) -> list[EntryView]:
    return _each(
        session,
        items,
        "time_entries",
        lambda item: create_entry(session, actor, TimeEntryCreate.model_validate(item)),
    )


def bulk_update(session: Session, actor: Actor, items: list[Any]) -> list[EntryView]:
    def apply(item: Any) -> EntryView:
        command = BulkUpdateItem.model_validate(item)
        changes = TimeEntryUpdate.model_validate(command.changes())  # drops the id
        return update_entry(session, actor, command.id, changes)

    return _each(session, items, "time_entries", apply)


def bulk_delete(session: Session, actor: Actor, ids: list[Any]) -> list[str]:
    def apply(raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValidationFailed("each id must be a string", field="ids")
        delete_entry(session, actor, raw)
        return raw

    return _each(session, ids, "ids", apply)
