"""Time entries and timers: the rules of recording work."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, false, func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload, object_session, selectinload

from timeledger.server.accounts.models import Account, User
from timeledger.server.accounts.service import get_account
from timeledger.server.accounts.settings import AccountSettings
from timeledger.server.audit import trail
from timeledger.server.catalog import service as catalog
from timeledger.server.catalog.models import Project, Task, TaskAssignment
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.crud import Page, paginate, scoped, snapshot
from timeledger.server.core.errors import Conflict, NotFound, ValidationFailed
from timeledger.server.core.ids import parse_id
from timeledger.server.outbox.service import emit
from timeledger.server.reports import derived
from timeledger.server.tracking import rates
from timeledger.server.tracking.models import FIGURE_COLUMNS, Approvable, TimeEntry
from timeledger.server.tracking.schemas import (
    METADATA_MAX_BYTES,
    EntryFilters,
    ExternalReference,
    RestartTimer,
    StopTimer,
    TimeEntryCreate,
    TimeEntryUpdate,
    metadata_size,
)
from timeledger.server.tracking.timing import (
    MAX_ENTRY_SECONDS,
    Interval,
    hours_to_seconds,
    interval_from_clock,
    local_date,
    parse_hhmm,
    to_instant,
)
from timeledger.server.tracking.views import EntryView, Viewer, lock_reason

# Wall-clock input has minute precision: a start "now" or hours that differ from the
# started..ended span by less than this are the same thing.
CLOCK_TOLERANCE = timedelta(seconds=60)
# Instants clients may send (started_at, ended_at).
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
# Keito's API (the native surface, and direct callers) names the project and task of every
# entry; the compatibility surfaces' products point at work their own way (resolve_target).
INFERS_WORK = frozenset({"algapsa", "clockeye", "temporalist"})


@dataclass(frozen=True)
class Work:
    """Where time goes: a project, a task assigned to it, and the assignment itself."""

    project: Project
    task: Task
    assignment: TaskAssignment


def viewer(session: Session, actor: Actor) -> Viewer:
    return Viewer(get_account(session, actor.account_id), utcnow())


# --- reading ----------------------------------------------------------------------------------


def visible_entries(actor: Actor) -> Select[TimeEntry]:
    return select(TimeEntry).where(*visible_to(actor, TimeEntry))


def visible_to(actor: Actor, table: Any) -> list[ColumnElement[bool]]:
    """Which rows of people's time `table` (entries, or what is kept per user: the user-day
    totals, outcomes) the actor sees: members their own; managers and above the account's."""
    where = [table.account_id == actor.account_id]
    if actor.role < Role.manager:
        where.append(table.user_id == actor.user_id)
    return where


def find_in_view(session: Session, actor: Actor, entry_id: str) -> tuple[Viewer, TimeEntry]:
    """The entry, and the viewer that shows it (its account read in the same statement)."""
    uid = parse_id(entry_id)
    stmt = visible_entries(actor).add_columns(Account)
    stmt = stmt.join(Account, Account.id == TimeEntry.account_id).where(TimeEntry.id == uid)
    row = session.execute(stmt).first() if uid else None
    if row is None:
        raise NotFound("time entry")
    entry, account = row
    return Viewer(account, utcnow()), entry


def get_entry(session: Session, actor: Actor, entry_id: str) -> EntryView:
    view, entry = find_in_view(session, actor, entry_id)
    return view.view(entry)


def list_entries(
    session: Session, actor: Actor, filters: EntryFilters, *, page: int, per_page: int
) -> Page[EntryView]:
    view = viewer(session, actor)
    stmt = apply_filters(visible_entries(actor), filters, view)
    stmt = stmt.order_by(TimeEntry.spent_date.desc(), TimeEntry.id.desc())
    result = paginate(
        session, stmt.options(*_page_loading(session, page, per_page)), page, per_page
    )
    return Page([view.view(e) for e in result.items], result.total, result.page, result.per_page)


# A page's entries share a few people, projects and tasks: each is read once (SELECT ... IN)
# instead of joined into every row, where its columns were decoded once per entry (and, for
# a search, joined to every match before the page of them was chosen).
PAGE_LOADING = (
    selectinload(TimeEntry.user),
    selectinload(TimeEntry.project),
    selectinload(TimeEntry.task),
)
# Up to this many entries a page, joining them costs less than three more queries.
JOINED_PAGE_MAX = 50


def _page_loading(session: Session, page: int, per_page: int) -> tuple[Any, ...]:
    """How a list page reads its entries' people, projects and tasks. A small page whose
    query reads only the page's own rows (its first page; any page on PostgreSQL, which
    picks a later page's ids first: crud.paginate) joins them into that query, as the models
    do by default: a page of 10 took a third less CPU so. Otherwise PAGE_LOADING: SQLite's
    OFFSET joins every row it skips (page 40 of 50 entries: 5.5 -> 8.7 ms), and a page of
    100 measured the same either way."""
    if per_page <= JOINED_PAGE_MAX and (
        page == 1 or session.get_bind().dialect.name == "postgresql"
    ):
        return ()
    return PAGE_LOADING


def apply_filters(stmt: Select[TimeEntry], f: EntryFilters, view: Viewer) -> Select[TimeEntry]:
    """The list filters as WHERE clauses (reports, stats, search and export share them)."""
    if f.from_ and f.to and f.from_ > f.to:
        raise ValidationFailed("from must not be after to", field="from")
    for name, column in (
        ("user_id", TimeEntry.user_id),
        ("project_id", TimeEntry.project_id),
        ("task_id", TimeEntry.task_id),
    ):
        raw = getattr(f, name)
        if raw is not None:
            uid = parse_id(raw)  # an id that is no UUID matches nothing
            stmt = stmt.where(column == uid if uid else false())
    if f.client_id is not None:
        client = parse_id(f.client_id)
        projects = select(Project.id).where(Project.client_id == client if client else false())
        stmt = stmt.where(TimeEntry.project_id.in_(projects))
    if f.source is not None:
        stmt = stmt.where(TimeEntry.source == f.source)
    if f.from_ is not None:
        stmt = stmt.where(TimeEntry.spent_date >= f.from_)
    if f.to is not None:
        stmt = stmt.where(TimeEntry.spent_date <= f.to)
    if f.is_billed is not None:
        stmt = stmt.where(TimeEntry.is_billed if f.is_billed else ~TimeEntry.is_billed)
    if f.approval_status is not None:
        stmt = stmt.where(TimeEntry.approval_status == f.approval_status)
    if f.updated_since is not None:
        stmt = stmt.where(TimeEntry.changed_since(view.account.id, f.updated_since))
    if f.external_reference is not None:
        ref_type, sep, ref_id = f.external_reference.partition(":")
        if not sep or not ref_type or not ref_id:
            raise ValidationFailed(
                "external_reference must be written type:id, e.g. ticket:tk_9",
                field="external_reference",
            )
        stmt = stmt.where(
            TimeEntry.external_ref_type == ref_type, TimeEntry.external_ref_id == ref_id
        )
    if f.is_running is not None:  # timers past the auto-stop limit count as stopped
        running = view.running_rows()
        stmt = stmt.where(running if f.is_running else ~running)
    return stmt


# --- who and where --------------------------------------------------------------------------


def resolve_user(
    session: Session, actor: Actor, user_id: str | None, doing: str = "logging time"
) -> User:
    """The user time (or an expense) is logged for: yourself, or anyone if you are a manager
    or above."""
    if user_id is None or parse_id(user_id) == actor.user_id:
        user = session.get(User, actor.user_id)
    else:
        actor.require(Role.manager, f"{doing} for other users")
        uid = parse_id(user_id)
        user = session.get(User, uid) if uid else None
        if user is None or user.account_id != actor.account_id:
            raise ValidationFailed("user_id does not name a user of this account", field="user_id")
    assert user is not None
    if not user.is_active:
        raise ValidationFailed("user_id names a deactivated user", field="user_id")
    return user


def resolve_project(
    session: Session, actor: Actor, project_id: str, doing: str = "log time"
) -> Project:
    """An active project of the caller's account that work can be logged against."""
    project: Project | None = _owned(session, actor, Project, project_id)
    if project is None:
        raise ValidationFailed(
            "project_id does not name a project of this account", field="project_id"
        )
    if not project.is_active:
        raise ValidationFailed(
            f"project_id names an archived project; reactivate it to {doing}", field="project_id"
        )
    return project


def resolve_work(
    session: Session,
    actor: Actor,
    project_id: str,
    task_id: str,
    read: TaskAssignment | None = None,
) -> Work:
    """`read`: an assignment already read (see `_read_at_once`), used if it is this one."""
    project = resolve_project(session, actor, project_id)
    task = _owned(session, actor, Task, task_id)
    if task is None:
        raise ValidationFailed("task_id does not name a task of this account", field="task_id")
    if not task.is_active:
        raise ValidationFailed("task_id names an archived task", field="task_id")
    assignment = (
        read
        if read is not None and (read.project_id, read.task_id) == (project.id, task.id)
        else session.scalar(
            select(TaskAssignment).where(
                TaskAssignment.project_id == project.id, TaskAssignment.task_id == task.id
            )
        )
    )
    if assignment is None or not assignment.is_active:
        raise ValidationFailed(
            "task_id names a task that is not assigned to the project", field="task_id"
        )
    return Work(project, task, assignment)


def resolve_target(
    session: Session,
    actor: Actor,
    project_id: str | None,
    task_id: str | None,
    reference: ExternalReference | None,
    read: TaskAssignment | None = None,
) -> Work:
    """Where time goes when the caller names less than a project and a task (the
    compatibility surfaces): a work item of type T goes to the active project whose code is
    T, and a project's only active task (else its only default task) is the task."""
    if actor.surface not in INFERS_WORK:
        for name, value in (("project_id", project_id), ("task_id", task_id)):
            if value is None:
                raise ValidationFailed(f"{name} is required", field=name)
    if project_id is None:
        project = None
        if reference is not None:
            project = session.scalar(
                scoped(Project, actor.account_id).where(
                    Project.code == reference.type, Project.is_active
                )
            )
        if project is None:
            hint = f"; no active project has the code {reference.type!r}" if reference else ""
            raise ValidationFailed(f"project_id is required{hint}", field="project_id")
        project_id = str(project.id)
    if task_id is None:
        project = resolve_project(session, actor, project_id)
        task_id = str(_only_task(session, actor, project))
    return resolve_work(session, actor, project_id, task_id, read)


class _ReadAtOnce(NamedTuple):
    account: Account
    user: User
    project: Project
    task: Task
    assignment: TaskAssignment | None


def _read_at_once(
    session: Session, actor: Actor, user_id: str | None, project_id: str | None, task_id: str | None
) -> _ReadAtOnce | None:
    """What a new entry is checked against, read in one statement rather than five: the
    account, the user, the project (with its client), the task and the task's assignment to
    the project. The checks that follow find them in the session without SQL, as long as
    the caller holds what this returns (the session holds what it loaded only weakly); when
    something is missing they read (and refuse) one at a time as before. Saves four round
    trips of each create."""
    project, task = parse_id(project_id or ""), parse_id(task_id or "")
    if project is None or task is None:
        return None
    user = (user_id and parse_id(user_id)) or actor.user_id
    params = {"account": actor.account_id, "user": user, "project": project, "task": task}
    row = session.execute(_READ_AT_ONCE, params).first()
    return None if row is None else _ReadAtOnce(*row)


# Built once: SQLAlchemy keys its compiled-statement cache by walking a statement, and a
# statement built per call is walked per call (a tenth of this read's time).
_READ_AT_ONCE = (
    select(Account, User, Project, Task, TaskAssignment)
    .select_from(Account)
    .join(User, User.id == bindparam("user"))
    .join(Project, Project.id == bindparam("project"))
    .join(Task, Task.id == bindparam("task"))
    .outerjoin(
        TaskAssignment,
        (TaskAssignment.project_id == Project.id) & (TaskAssignment.task_id == Task.id),
    )
    .where(Account.id == bindparam("account"))
    # The assignment's project and task are the row's own: no second join for them.
    .options(lazyload(TaskAssignment.project), lazyload(TaskAssignment.task))
)


def _only_task(session: Session, actor: Actor, project: Project) -> uuid.UUID:
    tasks = session.scalars(
        select(Task)
        .join(TaskAssignment, TaskAssignment.task_id == Task.id)
        .where(TaskAssignment.project_id == project.id, TaskAssignment.is_active, Task.is_active)
    ).all()
    if not tasks and not catalog.has_tasks(session, project):
        return catalog.assign_general_task(session, actor, project).id
    defaults = [task for task in tasks if task.is_default]
    if len(tasks) == 1 or len(defaults) == 1:
        return (tasks[0] if len(tasks) == 1 else defaults[0]).id
    raise ValidationFailed(
        f"task_id is required: project {project.name!r} has {len(tasks)} active tasks",
        field="task_id",
    )


def _owned(session: Session, actor: Actor, model: type[Any], raw_id: str) -> Any:
    uid = parse_id(raw_id)
    row = session.get(model, uid) if uid else None
    return row if row is not None and row.account_id == actor.account_id else None


def _apply_rates(
    session: Session,
    entry: TimeEntry,
    work: Work,
    user: User,
    account: Account,
    billable: bool | None,
) -> None:
    settings_default = AccountSettings.of(account).default_hourly_rate
    resolved = rates.resolve(
        session,
        project=work.project,
        task=work.task,
        assignment=work.assignment,
        user=user,
        account_default=settings_default,
    )
    entry.billable_rate = resolved.billable_rate
    entry.cost_rate = resolved.cost_rate
    entry.billable = resolved.billable if billable is None else billable


# --- timing ---------------------------------------------------------------------------------


def _timer_start(
    view: Viewer,
    spent_date: date | None,
    started_time: str | None,
    started_at: datetime | None = None,
) -> datetime:
    """When a new timer starts: now, or a past moment if the account allows it."""
    now = view.now
    today = local_date(now, view.zone)
    if started_at is not None:
        start, field = _instant(started_at, "started_at"), "started_at"
    elif started_time is None and spent_date in (None, today):
        return now
    else:
        clock = parse_hhmm(started_time) if started_time else now.astimezone(view.zone).time()
        start = to_instant(spent_date or today, clock, view.zone)
        field = "started_time" if started_time else "spent_date"
    if start > now + CLOCK_TOLERANCE:
        raise ValidationFailed(f"{field}: a timer cannot start in the future", field=field)
    if start < now - CLOCK_TOLERANCE and not view.settings.allow_past_timer_starts:
        raise ValidationFailed(
            f"{field}: this account does not allow timers that start in the past "
            f"(enable allow_past_timer_starts on the company, or omit {field})",
            field=field,
        )
    return min(start, now)


def _finished_span(
    view: Viewer, spent_date: date, hours: Any, started_time: str | None, ended_time: str | None
) -> tuple[int, Interval | None]:
    """Duration and, when the clock times are known, the interval of a finished entry."""
    if ended_time is not None and started_time is None:
        raise ValidationFailed("ended_time requires started_time", field="ended_time")
    interval: Interval | None = None
    if started_time is not None and ended_time is not None:
        interval = interval_from_clock(
            spent_date, parse_hhmm(started_time), parse_hhmm(ended_time), view.zone
        )
        if (
            hours is not None
            and abs(hours_to_seconds(hours) - interval.seconds) > CLOCK_TOLERANCE.total_seconds()
        ):
            raise ValidationFailed(
                f"hours ({hours}) does not match started_time-ended_time "
                f"({interval.seconds / 3600:.2f} h); send one or the other",
                field="hours",
            )
        seconds = interval.seconds
    elif started_time is not None:
        start = to_instant(spent_date, parse_hhmm(started_time), view.zone)
        seconds = hours_to_seconds(hours) if hours is not None else 0
        interval = Interval(start, start + timedelta(seconds=seconds))
    else:
        seconds = hours_to_seconds(hours) if hours is not None else 0
    if seconds > MAX_ENTRY_SECONDS:
        raise ValidationFailed(
            f"ended_time: an entry may not exceed 24 hours ({seconds / 3600:.2f} h)",
            field="ended_time",
        )
    return seconds, interval


def _instant(value: datetime, field: str) -> datetime:
    """An instant given by a client, in UTC and within the years time is tracked in (any
    zone's local date of it, and an entry of 24 hours from it, are real dates)."""
    if not EARLIEST_INSTANT <= value <= LATEST_INSTANT:
        raise ValidationFailed(
            f"{field} must be between {EARLIEST_INSTANT.year} and {LATEST_INSTANT.year - 1}",
            field=field,
        )
    return value.astimezone(UTC)


def _instant_span(
    started_at: datetime | None, ended_at: datetime | None, hours: Any
) -> tuple[int, Interval]:
    """Duration and interval of a finished entry given as instants (ended_at, or hours)."""
    if started_at is None:
        raise ValidationFailed("ended_at requires started_at", field="ended_at")
    start = _instant(started_at, "started_at")
    if ended_at is None:
        seconds = hours_to_seconds(hours) if hours is not None else 0
        end = start + timedelta(seconds=seconds)
    else:
        end = _instant(ended_at, "ended_at")
        if end < start:
            raise ValidationFailed("ended_at must not be before started_at", field="ended_at")
    interval = Interval(start, end)
    if hours is not None and abs(hours_to_seconds(hours) - interval.seconds) > 60:
        raise ValidationFailed(
            f"hours ({hours}) does not match started_at-ended_at "
            f"({interval.seconds / 3600:.2f} h); send one or the other",
            field="hours",
        )
    if interval.seconds > MAX_ENTRY_SECONDS:
        raise ValidationFailed(
            f"ended_at: an entry may not exceed 24 hours ({interval.seconds / 3600:.2f} h)",
            field="ended_at",
        )
    return interval.seconds, interval


def _one_way_of_timing(given: set[str]) -> None:
    """Instants or wall-clock times, not both."""
    if {"started_at", "ended_at"} & given and {"started_time", "ended_time"} & given:
        raise ValidationFailed(
            "send started_at/ended_at or started_time/ended_time, not both", field="started_at"
        )


def _check_billable(entry: TimeEntry) -> None:
    """The billable part of an entry is known once it stops and is at most its duration."""
    if entry.billable_seconds is None:
        return
    if entry.is_running:
        raise ValidationFailed(
            "a running timer has no billable time yet; set it once stopped",
            field="billable_seconds",
        )
    if entry.billable_seconds > entry.duration_seconds:
        raise ValidationFailed(
            f"billable_seconds ({entry.billable_seconds // 60} min) may not exceed the "
            f"entry's duration ({entry.duration_seconds // 60} min)",
            field="billable_seconds",
        )


def _overlap_warnings(session: Session, view: Viewer, entry: TimeEntry) -> tuple[str, ...]:
    """Apply the account's overlap policy to an entry whose interval is known. Intervals are
    half-open, so back-to-back entries never overlap."""
    policy = view.settings.overlapping_entries
    start = entry.started_at
    end = entry.ended_at if not entry.is_running else None
    if policy == "allow" or start is None or (end is None and not entry.is_running):
        return ()
    running = session.scalar(
        select(TimeEntry).where(
            TimeEntry.user_id == entry.user_id,
            TimeEntry.is_running,
            TimeEntry.id != entry.id,
        )
    )
    if running is not None:  # a forgotten timer ended at start + limit, not "still running"
        _settle_overdue(session, view, running)
    # Another entry [s2, e2) overlaps [start, end) when s2 < end and e2 > start; a running
    # entry has no end yet.
    stmt = select(TimeEntry).where(
        TimeEntry.account_id == entry.account_id,
        TimeEntry.user_id == entry.user_id,
        TimeEntry.id != entry.id,
        TimeEntry.started_at.is_not(None),
        or_(TimeEntry.ended_at > start, TimeEntry.is_running),
    )
    if end is not None:
        stmt = stmt.where(TimeEntry.started_at < end)
    other = session.scalars(stmt.order_by(TimeEntry.started_at).limit(1)).first()
    if other is None:
        return ()
    message = (
        f"overlaps time entry {other.id} on {other.spent_date} "
        f"({view.view(other).started_time}-{view.view(other).ended_time or 'running'})"
    )
    if policy == "forbid":
        raise Conflict(f"this entry {message}", code="overlapping_entry")
    return (message,)


# --- timers ---------------------------------------------------------------------------------


def _stop(
    session: Session,
    actor: Actor | None,
    entry: TimeEntry,
    at: datetime,
    *,
    auto: bool = False,
    notes: str | None = None,
) -> None:
    """Stop a running timer at `at`; `actor` None: the auto-stop rule did it (the system)."""
    assert entry.timer_started_at is not None
    before = payload(entry)
    if notes is not None:
        entry.notes = notes
    entry.duration_seconds += max(0, int((at - entry.timer_started_at).total_seconds()))
    entry.ended_at = at
    entry.is_running = False
    entry.timer_started_at = None
    session.flush()
    after = payload(entry)
    emit(session, entry.account_id, "time_entry.stopped", {**after, "auto_stopped": auto})
    trail.record(session, actor, "time_entry.stopped", entry, before, after)
    derived.entry_written(session, actor, entry, stopped=True)


def _settle_overdue(session: Session, view: Viewer, entry: TimeEntry) -> None:
    """Persist the auto-stop of a forgotten timer before anything else changes it."""
    overdue = view.overdue(entry)
    if overdue is not None:
        _stop(session, None, entry, overdue.stop_at, auto=True)


def _make_room_for_timer(
    session: Session,
    actor: Actor,
    view: Viewer,
    user_id: uuid.UUID,
    replace_running: bool,
    keep: uuid.UUID | None = None,
) -> None:
    """At most one running timer per user: stop the current one when asked to, else 409."""
    # One user's timer starts take turns (the user's row, locked until commit; FOR NO KEY
    # UPDATE leaves other inserts of the user's entries free). At once, two starts took
    # the running-timer index slot and the user's day totals (user_day_time) in opposite
    # orders: a PostgreSQL deadlock, answered 500. SQLite's writers take turns anyway.
    # The lock and the look for the running timer are one statement.
    running = session.scalar(
        select(TimeEntry)
        .select_from(User)
        .outerjoin(TimeEntry, (TimeEntry.user_id == User.id) & TimeEntry.is_running.expression)
        .where(User.id == user_id)
        .with_for_update(key_share=True, of=User)
        # Not its user, project and task: their joins would make the outer join an inner one,
        # and a timer found is one to refuse or stop (which reads them when it needs them).
        .options(lazyload("*"))
    )
    if running is None or running.id == keep:
        return
    _settle_overdue(session, view, running)
    if not running.is_running:
        return
    if not replace_running:
        raise Conflict(
            f"the user already has a running timer ({running.id}); stop it first "
            "or send replace_running: true",
            code="timer_running",
        )
    _stop(session, actor, running, view.now)


@contextmanager
def _writing_timer(session: Session) -> Iterator[None]:
    """Around the write of a running timer: the partial unique index settles races between
    two starts."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict("the user already has a running timer", code="timer_running") from None


def stop_entry(session: Session, actor: Actor, entry_id: str, command: StopTimer) -> EntryView:
    view, entry = find_in_view(session, actor, entry_id)
    _settle_overdue(session, view, entry)
    if not entry.is_running:
        raise Conflict("time entry is not running", code="not_running")
    at = view.now
    if command.ended_at is not None:
        assert entry.timer_started_at is not None
        if command.ended_at < entry.timer_started_at:
            raise ValidationFailed(
                "ended_at must not be before the timer started", field="ended_at"
            )
        if command.ended_at > view.now + CLOCK_TOLERANCE:
            raise ValidationFailed("ended_at: a timer cannot stop in the future", field="ended_at")
        at = min(command.ended_at.astimezone(UTC), view.now)
    _stop(session, actor, entry, at, notes=command.notes)
    return view.view(entry)


def current_timer(session: Session, actor: Actor) -> EntryView | None:
    """The caller's running timer (there is at most one per user), or None."""
    view = viewer(session, actor)
    entry = session.scalar(
        visible_entries(actor).where(TimeEntry.user_id == actor.user_id, TimeEntry.is_running)
    )
    if entry is None or view.overdue(entry) is not None:
        return None
    return view.view(entry)


def stop_current_timer(session: Session, actor: Actor, command: StopTimer) -> EntryView:
    """Stop the caller's running timer, whichever surface started it."""
    running = current_timer(session, actor)
    if running is None:
        settle_overdue(session, actor)
        raise Conflict("no timer is running", code="not_running")
    return stop_entry(session, actor, str(running.entry.id), command)


def restart_entry(
    session: Session, actor: Actor, entry_id: str, command: RestartTimer
) -> EntryView:
    view, entry = find_in_view(session, actor, entry_id)
    _settle_overdue(session, view, entry)
    if entry.is_running:
        raise Conflict("time entry is already running", code="already_running")
    ensure_unlocked(entry)
    _make_room_for_timer(session, actor, view, entry.user_id, command.replace_running)
    before = payload(entry)
    entry.is_running = True
    entry.timer_started_at = view.now
    entry.ended_at = None
    if entry.started_at is None:
        entry.started_at = view.now
    with _writing_timer(session):
        session.flush()
    after = payload(entry)
    emit(session, entry.account_id, "time_entry.started", after)
    trail.record(session, actor, "time_entry.started", entry, before, after)
    derived.entry_written(session, actor, entry)
    return view.view(entry)


def settle_overdue(session: Session, actor: Actor) -> None:
    """Persist the auto-stop of every forgotten timer the caller can see, before an action
    that treats running entries differently from stopped ones."""
    view = viewer(session, actor)
    for entry in session.scalars(visible_entries(actor).where(TimeEntry.is_running)):
        _settle_overdue(session, view, entry)


def stop_overdue_timers(session: Session, now: datetime | None = None) -> int:
    """The sweeper: persist the auto-stop of every forgotten timer, in every account."""
    now = now or utcnow()
    stopped = 0
    accounts: dict[uuid.UUID, Viewer] = {}
    # SKIP LOCKED (PostgreSQL): several server processes may sweep at once; each timer is
    # stopped by exactly one of them. SQLite serializes writers anyway and ignores it.
    running = select(TimeEntry).where(TimeEntry.is_running)
    for entry in session.scalars(running.with_for_update(skip_locked=True, of=TimeEntry)):
        view = accounts.get(entry.account_id)
        if view is None:
            view = accounts[entry.account_id] = Viewer(get_account(session, entry.account_id), now)
        overdue = view.overdue(entry)
        if overdue is not None:
            _stop(session, None, entry, overdue.stop_at, auto=True)
            stopped += 1
    return stopped


# --- writing --------------------------------------------------------------------------------


def payload(entry: TimeEntry) -> dict[str, Any]:
    """An entry as event data: its columns but the derived figures, with metadata under its
    wire name, and its project's name (receivers such as Temporal.ist's show it)."""
    data = snapshot(entry)
    data["metadata"] = data.pop("meta")
    data.update(entry.billing_state())
    data["project_name"] = entry.project.name
    for name in FIGURE_COLUMNS:
        data.pop(name)
    return data


def hold_billing(session: Session, account_id: uuid.UUID, *, to_bill: bool) -> bool:
    """Until the transaction ends, keep the account's ledger rows from being billed (an edit
    of one: shared) or from being edited (billing them: exclusive); whether it had to.
    Billing marks rows without locking them, which is what makes 100,000 of them cheap; so on
    PostgreSQL an edit that found a row unbilled finishes before an invoice reads it, and one
    that starts later sees the invoice's marks. SQLite admits one writer at a time already."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    lock = func.pg_advisory_xact_lock if to_bill else func.pg_advisory_xact_lock_shared
    session.execute(select(lock(_BILLING_LOCKS, account_id.int & 0x7FFFFFFF)))
    return True


# The first key of hold_billing's advisory locks: their namespace ("tl").
_BILLING_LOCKS = 0x746C


def ensure_unlocked(row: Approvable, what: str = "time entry") -> None:
    """Conflict when an approved or billed row (a time entry, an expense) is to change.
    Billing is held off first, and whether the row is billed read again under that hold."""
    session = object_session(row)
    if (
        session is not None
        and inspect(row).persistent
        and hold_billing(session, row.account_id, to_bill=False)
    ):
        session.refresh(row, ["billing"])
    reason = lock_reason(row, what)
    if reason is not None:
        raise Conflict(reason, code="locked")


def create_entry(session: Session, actor: Actor, command: TimeEntryCreate) -> EntryView:
    read = _read_at_once(session, actor, command.user_id, command.project_id, command.task_id)
    view = viewer(session, actor)
    _one_way_of_timing(command.model_fields_set)
    user = resolve_user(session, actor, command.user_id)
    work = resolve_target(
        session,
        actor,
        command.project_id,
        command.task_id,
        command.external_reference,
        read.assignment if read else None,
    )
    entry = TimeEntry(
        account_id=actor.account_id,
        user_id=user.id,
        project_id=work.project.id,
        task_id=work.task.id,
        notes=command.notes,
        source=command.source,
        started_via=command.started_via,
        meta=command.metadata,
        approval_status="unsubmitted",
        billing=None,
    )
    entry.project, entry.task, entry.user = work.project, work.task, user
    if command.external_reference is not None:
        entry.external_ref_type = command.external_reference.type
        entry.external_ref_id = command.external_reference.id
    _apply_rates(session, entry, work, user, view.account, command.billable)
    if command.is_running:
        if command.hours:
            raise ValidationFailed(
                "a running timer measures its own time; omit hours", field="hours"
            )
        if command.ended_time is not None or command.ended_at is not None:
            field = "ended_time" if command.ended_time is not None else "ended_at"
            raise ValidationFailed(f"a running timer has no {field} yet", field=field)
        if command.billable_seconds is not None:
            raise ValidationFailed(
                "a running timer has no billable time yet; set it once stopped",
                field="billable_seconds",
            )
        start = _timer_start(view, command.spent_date, command.started_time, command.started_at)
        entry.spent_date = local_date(start, view.zone)
        entry.started_at = entry.timer_started_at = start
        entry.duration_seconds = 0
        entry.is_running = True
        _make_room_for_timer(session, actor, view, user.id, command.replace_running)
        with _writing_timer(session):
            derived.insert_entry(session, entry, view)
    else:
        interval: Interval | None
        if command.started_at is not None or command.ended_at is not None:
            seconds, interval = _instant_span(command.started_at, command.ended_at, command.hours)
            spent_date = command.spent_date or local_date(interval.start, view.zone)
        elif command.spent_date is None:
            raise ValidationFailed("spent_date is required", field="spent_date")
        else:
            spent_date = command.spent_date
            seconds, interval = _finished_span(
                view, spent_date, command.hours, command.started_time, command.ended_time
            )
        entry.spent_date = spent_date
        entry.duration_seconds = seconds
        entry.is_running = False
        entry.billable_seconds = command.billable_seconds
        _check_billable(entry)
        if interval is not None:
            entry.started_at, entry.ended_at = interval.start, interval.end
        derived.insert_entry(session, entry, view)
    warnings = _overlap_warnings(session, view, entry)
    data = payload(entry)
    emit(session, actor.account_id, "time_entry.created", data)
    trail.record(session, actor, "time_entry.created", entry, None, data)
    if entry.is_running:
        emit(session, actor.account_id, "time_entry.started", data)
    derived.entry_written(session, actor, entry, new=True)
    return view.view(entry, warnings)


def update_entry(
    session: Session, actor: Actor, entry_id: str, command: TimeEntryUpdate
) -> EntryView:
    view, entry = find_in_view(session, actor, entry_id)
    _settle_overdue(session, view, entry)
    ensure_unlocked(entry)
    changes = command.changes()
    if "source" in changes and changes.pop("source") != entry.source:
        raise ValidationFailed("source cannot change after the entry is created", field="source")
    before = payload(entry)
    _one_way_of_timing(set(changes))
    _move(session, actor, view, entry, changes)
    _retime(view, entry, changes)
    if "billable_seconds" in changes:
        entry.billable_seconds = changes["billable_seconds"]
    _check_billable(entry)
    if "notes" in changes:
        entry.notes = changes["notes"]
    if "metadata" in changes:
        entry.meta = merge_metadata(entry.meta, changes["metadata"])
    if "external_reference" in changes:
        ref = changes["external_reference"]
        entry.external_ref_type = ref["type"].strip() if ref else None
        entry.external_ref_id = ref["id"].strip() if ref else None
    session.flush()
    warnings = _overlap_warnings(session, view, entry)
    after = payload(entry)
    changed = sorted(k for k in after if after[k] != before.get(k) and k != "updated_at")
    if changed:
        emit(session, actor.account_id, "time_entry.updated", {**after, "changed_fields": changed})
        trail.record(session, actor, "time_entry.updated", entry, before, after)
        derived.entry_written(session, actor, entry, before=before)
    return view.view(entry, warnings)


def _move(
    session: Session, actor: Actor, view: Viewer, entry: TimeEntry, changes: dict[str, Any]
) -> None:
    """A new user, project or task: check it and snapshot the rates again."""
    moved = {"user_id", "project_id", "task_id"} & changes.keys()
    if moved:
        user = resolve_user(session, actor, changes.get("user_id", str(entry.user_id)))
        work = resolve_work(
            session,
            actor,
            changes.get("project_id", str(entry.project_id)),
            changes.get("task_id", str(entry.task_id)),
        )
        if entry.is_running and user.id != entry.user_id:
            _make_room_for_timer(session, actor, view, user.id, replace_running=False)
        entry.user, entry.project, entry.task = user, work.project, work.task
        entry.user_id, entry.project_id, entry.task_id = user.id, work.project.id, work.task.id
        _apply_rates(session, entry, work, user, view.account, changes.get("billable"))
    elif "billable" in changes:
        entry.billable = changes["billable"]


def _retime(view: Viewer, entry: TimeEntry, changes: dict[str, Any]) -> None:
    """Recompute date, clock times and duration from what changed and what was there."""
    if {"started_at", "ended_at"} & changes.keys():
        _retime_instants(view, entry, changes)
        return
    timing = {"spent_date", "hours", "started_time", "ended_time"} & changes.keys()
    if not timing:
        return
    spent_date = changes.get("spent_date", entry.spent_date)
    current = view.view(entry)
    started = changes.get("started_time", current.started_time)
    if entry.is_running:
        if "hours" in changes or changes.get("ended_time"):
            field = "hours" if "hours" in changes else "ended_time"
            raise ValidationFailed(
                f"{field}: a running timer measures its own time; stop it first", field=field
            )
        if "started_time" in changes or "spent_date" in changes:
            start = _timer_start(view, spent_date, started)
            entry.started_at = entry.timer_started_at = start
            entry.spent_date = local_date(start, view.zone)
        return
    ended = changes.get("ended_time", current.ended_time)
    hours = changes.get("hours")
    if "hours" in changes and "ended_time" not in changes:
        ended = None  # new hours keep the start and move the end
    if started is None:
        ended = None
        hours = hours if hours is not None else current.hours
    elif ended is None and hours is None:
        hours = current.hours
    seconds, interval = _finished_span(view, spent_date, hours, started, ended)
    entry.spent_date = spent_date
    entry.duration_seconds = seconds
    entry.started_at = interval.start if interval else None
    entry.ended_at = interval.end if interval else None


def _retime_instants(view: Viewer, entry: TimeEntry, changes: dict[str, Any]) -> None:
    if entry.is_running:
        if "ended_at" in changes or "hours" in changes:
            field = "ended_at" if "ended_at" in changes else "hours"
            raise ValidationFailed(
                f"{field}: a running timer measures its own time; stop it first", field=field
            )
        start = _timer_start(view, None, None, changes["started_at"])
        entry.started_at = entry.timer_started_at = start
        entry.spent_date = local_date(start, view.zone)
        return
    ended = entry.ended_at if "hours" not in changes else None  # new hours move the end
    seconds, interval = _instant_span(
        changes.get("started_at", entry.started_at),
        changes.get("ended_at", ended),
        changes.get("hours"),
    )
    entry.spent_date = changes.get("spent_date", local_date(interval.start, view.zone))
    entry.duration_seconds = seconds
    entry.started_at, entry.ended_at = interval.start, interval.end


def merge_metadata(
    current: dict[str, Any] | None, patch: dict[str, Any] | None
) -> dict[str, Any] | None:
    """JSON Merge Patch (RFC 7386): keys merge recursively, a null value removes its key, and
    a null patch clears everything. The 4 KB limit applies to the result."""
    if patch is None:
        return None
    merged = _merge(current or {}, patch)
    if metadata_size(merged) > METADATA_MAX_BYTES:
        raise ValidationFailed(
            f"metadata would exceed {METADATA_MAX_BYTES} bytes after the merge", field="metadata"
        )
    return merged


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def delete_entry(session: Session, actor: Actor, entry_id: str) -> None:
    _, entry = find_in_view(session, actor, entry_id)
    ensure_unlocked(entry)
    data = payload(entry)
    derived.entry_deleting(session, actor, entry)
    session.delete(entry)
    session.flush()
    emit(session, actor.account_id, "time_entry.deleted", data)
    trail.record(session, actor, "time_entry.deleted", entry, data, None)
