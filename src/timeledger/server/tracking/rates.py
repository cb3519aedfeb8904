"""Which rates a time entry snapshots when it is created or moved, by the project's bill_by:
People -> the user's assignment rate, else the user's default, else the account default;
Tasks -> the task assignment rate, else the task's default, else the account default;
Project -> the project's rate, else its client's; none -> not billable. The cost rate is the
user's."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import User
from timeledger.server.catalog.models import Project, Task, TaskAssignment, UserAssignment


@dataclass(frozen=True)
class Rates:
    billable: bool  # the default when the entry does not say
    billable_rate: Decimal | None
    cost_rate: Decimal | None


def resolve(
    session: Session,
    *,
    project: Project,
    task: Task,
    assignment: TaskAssignment,
    user: User,
    account_default: Decimal | None,
) -> Rates:
    billable = project.is_billable and assignment.billable and project.bill_by != "none"
    rate: Decimal | None = None
    if project.bill_by == "Project":
        rate = _first(project.hourly_rate, project.client.hourly_rate if project.client else None)
    elif project.bill_by == "Tasks":
        rate = _first(assignment.hourly_rate, task.default_hourly_rate, account_default)
    elif project.bill_by == "People":
        membership = session.scalar(
            select(UserAssignment).where(
                UserAssignment.project_id == project.id, UserAssignment.user_id == user.id
            )
        )
        own = membership.hourly_rate if membership and not membership.use_default_rates else None
        rate = _first(own, user.default_hourly_rate, account_default)
    return Rates(billable=billable, billable_rate=rate, cost_rate=user.cost_rate)


def _first(*values: Decimal | None) -> Decimal | None:
    return next((value for value in values if value is not None), None)
