"""Tracking time from a terminal: start, stop, status, log, ls, edit, rm. Entries made here
have source "cli"; projects are named by id, code or name, tasks by id or name."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from timeledger.cli.user.context import (
    JsonFlag,
    UserError,
    clock,
    command,
    connect,
    console,
    elapsed,
    name_of,
    parse_day,
    parse_hours,
    print_json,
)
from timeledger.client import ConflictError, Timeledger
from timeledger.client.models import Project, Task, TimeEntry


def complete_project(incomplete: str) -> list[str]:
    """Shell completion: active projects' codes and names (nothing when offline)."""
    try:
        with connect() as client:
            projects = list(client.projects.list(is_active=True, per_page=200).data)
    except Exception:
        return []
    names = [p.code for p in projects if p.code] + [p.name for p in projects]
    return [name for name in names if name.casefold().startswith(incomplete.casefold())]


ProjectArg = Annotated[
    str, typer.Argument(help="Project id, code or name.", autocompletion=complete_project)
]
TaskArg = Annotated[str, typer.Argument(help="Task id or name (assigned to the project).")]
Notes = Annotated[str | None, typer.Option("--message", "-m", help="Notes.")]
Day = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD, today or yesterday.")]


def resolve_work(client: Timeledger, project: str, task: str) -> tuple[Project, Task]:
    found = client.projects.resolve(project)
    return found, client.tasks.resolve(task, project_id=found.id)


def _started(entry: TimeEntry) -> str:
    at = entry.timer_started_at.astimezone().strftime("%H:%M") if entry.timer_started_at else ""
    return f"{name_of(entry.project)} / {name_of(entry.task)}" + (f" since {at}" if at else "")


@command
def start(
    project: ProjectArg,
    task: TaskArg,
    message: Notes = None,
    replace: Annotated[bool, typer.Option(help="Stop a running timer first.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start a timer."""
    with connect() as client:
        found, chosen = resolve_work(client, project, task)
        try:
            entry = client.timers.start(
                found.id, chosen.id, notes=message, source="cli", replace_running=replace
            )
        except ConflictError as exc:
            if exc.code != "timer_running":
                raise
            raise UserError(
                "a timer is already running: `timeledger stop` it, or start with --replace"
            ) from exc
    if as_json:
        print_json(entry)
    else:
        typer.echo(f"started {_started(entry)}")


@command
def stop(message: Notes = None, as_json: JsonFlag = False) -> None:
    """Stop the running timer."""
    with connect() as client:
        entry = client.timers.stop(notes=message)
    if entry is None:
        raise UserError("no timer is running")
    if as_json:
        print_json(entry)
    else:
        typer.echo(
            f"stopped {name_of(entry.project)} / {name_of(entry.task)}: {elapsed(entry.hours)}"
        )


@command
def status(as_json: JsonFlag = False) -> None:
    """The running timer and its elapsed time."""
    with connect() as client:
        entry = client.timers.current()
    if as_json:
        print_json(entry)
    elif entry is None:
        typer.echo("no timer running")
    else:
        notes = f"  {entry.notes}" if entry.notes else ""
        typer.echo(f"running {_started(entry)}: {elapsed(entry.hours)}{notes}")


@command
def log(
    project: ProjectArg,
    task: TaskArg,
    hours: Annotated[str, typer.Option("--hours", "-h", help="1.5 or 1:30.")],
    message: Notes = None,
    day: Day = None,
    billable: Annotated[
        bool | None, typer.Option("--billable/--not-billable", help="Default: the task's.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log time already spent (today unless --date)."""
    spent = parse_hours(hours)
    with connect() as client:
        found, chosen = resolve_work(client, project, task)
        entry = client.time_entries.create(
            project_id=found.id,
            task_id=chosen.id,
            spent_date=parse_day(day) or client.company.today(),
            hours=spent,
            notes=message,
            billable=billable,
            source="cli",
        )
    if as_json:
        print_json(entry)
    else:
        typer.echo(
            f"logged {clock(entry.hours)} on {name_of(entry.project)} / {name_of(entry.task)}"
            f" for {entry.spent_date} ({entry.id})"
        )


def _range(start: str | None, end: str | None, days: int = 7) -> tuple[date, date]:
    """--from/--to, by default the last `days` days."""
    last = parse_day(end) or date.today()
    return parse_day(start) or last - timedelta(days=days - 1), last


@command
def ls(
    start: Annotated[
        str | None, typer.Option("--from", help="First day (default: 6 days ago).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (default: today).")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project (id, code, name).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List your time entries."""
    first, last = _range(start, end)
    with connect() as client:
        filters: dict[str, Any] = {"from_date": first, "to_date": last}
        if project:
            filters["project_id"] = client.projects.resolve(project).id
        filters["user_id"] = client.users.me().id
        entries = list(client.time_entries.list(per_page=500, **filters))
    if as_json:
        print_json([entry.to_dict() for entry in entries])
        return
    table = Table("date", "project", "task", "hours", "notes", title=f"{first} .. {last}")
    table.add_column("id", no_wrap=True, min_width=36)  # edit and rm need all of it
    for entry in entries:
        hours = elapsed(entry.hours) + " ▶" if entry.is_running else clock(entry.hours)
        table.add_row(
            str(entry.spent_date),
            name_of(entry.project),
            name_of(entry.task),
            hours,
            entry.notes or "",
            entry.id,
        )
    total = sum((entry.hours for entry in entries), Decimal(0))
    table.add_section()
    table.add_row("total", "", "", clock(total), f"{len(entries)} entries", "")
    console.print(table)


@command
def edit(
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="The entry's id.")],
    hours: Annotated[str | None, typer.Option("--hours", "-h", help="1.5 or 1:30.")] = None,
    message: Notes = None,
    day: Day = None,
    project: Annotated[str | None, typer.Option(help="Move to this project.")] = None,
    task: Annotated[str | None, typer.Option(help="Move to this task.")] = None,
    billable: Annotated[bool | None, typer.Option("--billable/--not-billable")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an entry."""
    changes: dict[str, Any] = {}
    if hours is not None:
        changes["hours"] = parse_hours(hours)
    if message is not None:
        changes["notes"] = message
    if day is not None:
        changes["spent_date"] = parse_day(day)
    if billable is not None:
        changes["billable"] = billable
    with connect() as client:
        if project or task:
            current = client.time_entries.get(entry_id)
            found = client.projects.resolve(project) if project else None
            project_id = found.id if found else current.project_id
            changes["project_id"] = project_id
            changes["task_id"] = (
                client.tasks.resolve(task, project_id=project_id).id if task else current.task_id
            )
        if not changes:
            raise UserError("nothing to change: give --hours, -m, --date, --project or --task")
        entry = client.time_entries.update(entry_id, **changes)
    if as_json:
        print_json(entry)
    else:
        typer.echo(
            f"updated {entry.id}: {entry.spent_date} {clock(entry.hours)} "
            f"{name_of(entry.project)} / {name_of(entry.task)}"
        )


@command
def rm(
    entry_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Entry ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Delete entries."""
    with connect() as client:
        for entry_id in entry_ids:
            client.time_entries.delete(entry_id)
    if as_json:
        print_json({"deleted": entry_ids})
    else:
        for entry_id in entry_ids:
            typer.echo(f"deleted {entry_id}")
