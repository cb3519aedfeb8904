"""What other domains derive from a time entry, kept in step on every write of it: its
outcome row (outcomes/projection.py) and the budget check of the project it counts toward
(reports/budget.py). tracking/service.py calls these at each write."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from timeledger.server.outcomes import projection
from timeledger.server.reports import budget
from timeledger.server.tracking.models import TimeEntry


def entry_written(
    session: Session, entry: TimeEntry, *, new: bool = False, before: dict[str, Any] | None = None
) -> None:
    """After an entry was created (`new`) or changed (`before`: its payload before)."""
    projection.sync(session, entry, new=new)
    budget.touch(session, entry.account_id, entry.project_id, entry.spent_date)
    if before is not None:
        project_id = uuid.UUID(before["project_id"])
        day = date.fromisoformat(before["spent_date"])
        if (project_id, day) != (entry.project_id, entry.spent_date):
            budget.touch(session, entry.account_id, project_id, day)


def entry_deleting(session: Session, entry: TimeEntry) -> None:
    """Before an entry is deleted."""
    projection.forget(session, entry)
    budget.touch(session, entry.account_id, entry.project_id, entry.spent_date)
