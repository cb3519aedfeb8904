"""What an entry is at the moment it is read: live hours of a running timer, rounding,
amounts, locks. Computed here once so every surface shows the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_

from timeledger.server.accounts.models import Account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.catalog.models import Project
from timeledger.server.core.money import round_money
from timeledger.server.tracking.models import Approvable, TimeEntry
from timeledger.server.tracking.timing import local_hhmm, round_seconds, seconds_to_hours


@dataclass(frozen=True)
class Figures:
    """The billed figures of some seconds of an entry: rounded, priced, in its currency."""

    rounded_seconds: int
    currency: str
    billable_amount: Decimal | None
    cost_amount: Decimal | None


@dataclass(frozen=True)
class EntryView:
    entry: TimeEntry
    seconds: int
    rounded_seconds: int
    is_running: bool
    ended_at: datetime | None
    started_time: str | None
    ended_time: str | None
    currency: str
    billable_amount: Decimal | None
    cost_amount: Decimal | None
    locked_reason: str | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def hours(self) -> Decimal:
        return seconds_to_hours(self.seconds)

    @property
    def rounded_hours(self) -> Decimal:
        return seconds_to_hours(self.rounded_seconds)

    @property
    def is_locked(self) -> bool:
        return self.locked_reason is not None

    @property
    def is_closed(self) -> bool:
        return self.entry.approval_status == "approved"

    @property
    def budgeted(self) -> bool:
        return self.entry.project.budget_by != "none"


def lock_reason(row: Approvable, what: str = "time entry") -> str | None:
    """Why a ledger row (a time entry, an expense) cannot change, or None."""
    if row.is_billed:
        return f"the {what} is billed on an invoice and cannot change"
    if row.approval_status == "approved":
        return f"the {what} is approved and locked; an admin can unlock it"
    return None


def currency_of(project: Project, account: Account) -> str:
    """The currency of a project's amounts: its own, else its client's, else the account's."""
    return (
        project.currency
        or (project.client.currency if project.client else None)
        or account.currency
    )


@dataclass(frozen=True)
class Overdue:
    """A running timer past the account's auto-stop limit, and when it counts as stopped."""

    stop_at: datetime


class Viewer:
    """Renders entries of one account at one instant."""

    def __init__(self, account: Account, now: datetime) -> None:
        self.account = account
        self.settings = AccountSettings.of(account)
        self.zone = ZoneInfo(account.timezone)
        self.now = now

    def overdue(self, entry: TimeEntry) -> Overdue | None:
        """A forgotten timer counts as stopped at start + limit, whether or not the sweeper
        has written that yet, so reads never show it running past the limit."""
        limit = self.settings.auto_stop
        if not entry.is_running or limit is None or entry.timer_started_at is None:
            return None
        stop_at = entry.timer_started_at + limit
        return Overdue(stop_at) if stop_at <= self.now else None

    def overdue_rows(self) -> ColumnElement[bool] | None:
        """`overdue` in SQL: the running timers past the limit; None without a limit."""
        limit = self.settings.auto_stop
        if limit is None:
            return None
        return and_(TimeEntry.is_running, TimeEntry.timer_started_at <= self.now - limit)

    def running_rows(self) -> ColumnElement[bool]:
        """The entries that read as running: running timers not past the limit."""
        overdue = self.overdue_rows()
        running: ColumnElement[bool] = TimeEntry.is_running.expression
        return running if overdue is None else running & ~overdue

    def elapsed(self, entry: TimeEntry) -> tuple[int, Overdue | None]:
        """The seconds an entry counts now (a running timer's up to now, or up to its
        auto-stop), and whether it is a forgotten timer."""
        seconds = entry.duration_seconds
        if not entry.is_running or entry.timer_started_at is None:
            return seconds, None
        overdue = self.overdue(entry)
        until = overdue.stop_at if overdue else self.now
        return seconds + max(0, int((until - entry.timer_started_at).total_seconds())), overdue

    def view(self, entry: TimeEntry, warnings: tuple[str, ...] = ()) -> EntryView:
        seconds, overdue = self.elapsed(entry)
        running, ended_at = entry.is_running, entry.ended_at
        if overdue:
            running, ended_at = False, overdue.stop_at
        figures = self.figures(entry, seconds)
        return EntryView(
            entry=entry,
            seconds=seconds,
            rounded_seconds=figures.rounded_seconds,
            is_running=running,
            ended_at=ended_at,
            started_time=local_hhmm(entry.started_at, self.zone),
            ended_time=None if running else local_hhmm(ended_at, self.zone),
            currency=figures.currency,
            billable_amount=figures.billable_amount,
            cost_amount=figures.cost_amount,
            locked_reason=lock_reason(entry),
            warnings=warnings,
        )

    def figures(self, entry: TimeEntry, seconds: int) -> Figures:
        """What `seconds` of this entry count and cost, by the account's rounding and the
        currency of its project (reports/derived.py stores these for finished time)."""
        rounded = round_seconds(
            seconds, self.settings.rounding_mode, self.settings.rounding_increment
        )
        currency = currency_of(entry.project, self.account)
        return Figures(
            rounded_seconds=rounded,
            currency=currency,
            # An explicit billable part is billed as given, unrounded.
            billable_amount=self._amount(
                entry.billable_rate if entry.billable else None,
                rounded if entry.billable_seconds is None else entry.billable_seconds,
                currency,
            ),
            cost_amount=self._amount(entry.cost_rate, rounded, currency),
        )

    @staticmethod
    def _amount(rate: Decimal | None, seconds: int, currency: str) -> Decimal | None:
        """rate x rounded hours, half-up to the currency's minor unit, per entry."""
        if rate is None:
            return None
        return round_money(rate * Decimal(seconds) / 3600, currency)
