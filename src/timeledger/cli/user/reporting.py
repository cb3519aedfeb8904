"""Looking back: `report` (totals by day or project, as a table and a bar chart) and `export`
(a file of entries, with a progress bar while it downloads)."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from timeledger.cli.user.context import (
    JsonFlag,
    clock,
    command,
    connect,
    console,
    parse_day,
    print_json,
)
from timeledger.client import Timeledger
from timeledger.client.models import StatsRow

BAR_WIDTH = 40
From = Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")]
To = Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")]
Everyone = Annotated[
    bool, typer.Option("--everyone", help="Everyone's entries you may see, not only yours.")
]
ProjectFilter = Annotated[str | None, typer.Option(help="Only this project (id, code, name).")]


class By(StrEnum):
    day = "day"
    project = "project"


class Format(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    xlsx = "xlsx"


def _filters(
    client: Timeledger, first: date | None, last: date | None, project: str | None, everyone: bool
) -> dict[str, Any]:
    filters: dict[str, Any] = {"from_date": first, "to_date": last}
    if project:
        filters["project_id"] = client.projects.resolve(project).id
    if not everyone:
        filters["user_id"] = client.users.me().id
    return {key: value for key, value in filters.items() if value is not None}


def _hours_by_key(rows: list[StatsRow]) -> dict[str, tuple[str, Decimal]]:
    """Hours per group (its rows in several currencies added up), with the group's label."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    labels: dict[str, str] = {}
    for row in rows:
        key = row.key or "-"
        totals[key] += row.hours
        labels[key] = row.name or key
    return {key: (labels[key], hours) for key, hours in totals.items()}


def _chart(bars: list[tuple[str, Decimal]]) -> list[str]:
    """One line per bar: label, a bar scaled to the longest, the hours."""
    longest = max((hours for _, hours in bars), default=Decimal(0))
    width = max((len(label) for label, _ in bars), default=0)
    lines = []
    for label, hours in bars:
        cells = int(hours / longest * BAR_WIDTH) if longest else 0
        bar = "█" * cells or ("▏" if hours else "")
        lines.append(f"{label:<{width}} │{bar} {clock(hours)}")
    return lines


@command
def report(
    start: From = None,
    end: To = None,
    by: Annotated[By, typer.Option(help="Group by day or by project.")] = By.day,
    project: ProjectFilter = None,
    everyone: Everyone = False,
    as_json: JsonFlag = False,
) -> None:
    """Hours by day or project (default: the last 7 days), as a table and a bar chart."""
    last = parse_day(end) or date.today()
    first = parse_day(start) or last - timedelta(days=6)
    with connect() as client:
        filters = _filters(client, first, last, project, everyone)
        stats = client.time_entries.stats(group_by=by.value, **filters)
    if as_json:
        print_json(stats.to_dict())
        return
    table = Table(by.value, "hours", "billable", "amount", title=f"{first} .. {last}")
    for row in stats.results:
        amount = f"{row.billable_amount} {row.currency}" if row.billable_amount else ""
        table.add_row(
            row.name or row.key or "-", clock(row.hours), clock(row.billable_hours), amount
        )
    table.add_section()
    for row in stats.totals:
        amount = f"{row.billable_amount} {row.currency}" if row.billable_amount else ""
        table.add_row("total", clock(row.hours), clock(row.billable_hours), amount)
    console.print(table)
    grouped = _hours_by_key(stats.results)
    if by is By.day:  # every day of the range, the empty ones too
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        bars = [(str(day), grouped.get(str(day), ("", Decimal(0)))[1]) for day in days]
    else:
        bars = sorted(grouped.values(), key=lambda bar: bar[1], reverse=True)
    for line in _chart(bars):
        console.print(line, highlight=False)


@command
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    file_format: Annotated[Format, typer.Option("--format", help="File format.")] = Format.csv,
    start: From = None,
    end: To = None,
    project: ProjectFilter = None,
    everyone: Everyone = False,
    as_json: JsonFlag = False,
) -> None:
    """Export time entries as CSV, NDJSON or XLSX."""
    with connect() as client:
        filters = _filters(client, parse_day(start), parse_day(end), project, everyone)
        if output is None:
            sys.stdout.buffer.write(client.time_entries.export(format=file_format.value, **filters))
            return
        with Progress(
            SpinnerColumn(),
            TextColumn("exporting"),
            BarColumn(),
            DownloadColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("export", total=None)

            def advance(received: int, total: int | None) -> None:
                progress.update(task, completed=received, total=total)

            content = client.time_entries.export(
                format=file_format.value, progress=advance, **filters
            )
    output.write_bytes(content)
    if as_json:
        print_json({"path": str(output), "bytes": len(content), "format": file_format.value})
    else:
        typer.echo(f"wrote {len(content)} bytes to {output}")
