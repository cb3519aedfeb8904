"""`timeledger mcp`: tools an AI agent uses to track its own billable work, over stdio with
the official `mcp` SDK. Configured like the SDK (TIMELEDGER_API_KEY, TIMELEDGER_BASE_URL, or
the login `timeledger login` stored). Entries made here have source "agent".

A failed call answers the server's reason plus what to do about it, so the model can act
(e.g. "a timer is already running ... call stop_timer first, or pass replace_running=true").
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from timeledger.cli.user.context import credentials
from timeledger.client import (
    AsyncTimeledger,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TimeledgerError,
    ValidationError,
    encode_json,
)
from timeledger.client.models import Project, Task

INSTRUCTIONS = (
    "Track your own billable work in timeledger. Start a timer when you begin a task "
    "(start_timer) and stop it when done (stop_timer), or log time already spent (log_time). "
    "Record delivered results billed per unit with log_outcome. Put what the work cost in "
    "metadata (e.g. model, tokens_in, tokens_out, cost_usd). Projects are named by id, code "
    "or name; tasks by id or name."
)

ProjectRef = Annotated[str, Field(description="Project id, code or name.")]
TaskRef = Annotated[str, Field(description="Task id or name (a task assigned to the project).")]
Notes = Annotated[str | None, Field(description="What the work is, in a sentence.")]
Metadata = Annotated[
    dict[str, Any] | None,
    Field(
        description="JSON object (at most 4 KB) merged into the entry's metadata, e.g. "
        '{"model": "...", "tokens_in": 1200, "tokens_out": 800, "cost_usd": 0.02}.'
    ),
]
Day = Annotated[
    str | None,
    Field(
        description="YYYY-MM-DD; default today in the account's time zone.",
        pattern=r"^\d{4}-\d{2}-\d{2}$",
    ),
]


def plain(value: Any) -> Any:
    """A model, Decimal, date... as plain JSON values."""
    return json.loads(encode_json(value))


def _advice(exc: TimeledgerError) -> str:
    if isinstance(exc, ConflictError) and exc.code == "timer_running":
        return "call stop_timer first, or call start_timer again with replace_running=true"
    if isinstance(exc, ConflictError) and exc.code == "locked":
        return "approved, billed or locked entries cannot change; ask a manager to unlock it"
    if isinstance(exc, ValidationError):
        field = f" ({exc.field})" if exc.field else ""
        return f"fix the argument{field} and call again"
    if isinstance(exc, NotFoundError):
        return "check the id or name; list_entries shows your entries"
    if isinstance(exc, AuthenticationError):
        return "the API key is wrong or revoked; the operator must set TIMELEDGER_API_KEY"
    if isinstance(exc, PermissionDeniedError):
        return "the API key may not do this (a read-only key, or a role too low)"
    return "try again later"


def _failed(exc: TimeledgerError) -> ToolError:
    code = f"{exc.code}: " if exc.code else ""
    return ToolError(f"{code}{exc.description} -> {_advice(exc)}")


def build(connect: Callable[[], AsyncTimeledger]) -> MCPServer:
    """The server; `connect()` makes the AsyncTimeledger it uses while it runs."""
    holder: dict[str, AsyncTimeledger] = {}

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[None]:
        async with connect() as client:
            holder["client"] = client
            yield

    server = MCPServer("timeledger", instructions=INSTRUCTIONS, lifespan=lifespan)

    async def work(project: str, task: str) -> tuple[Project, Task]:
        client = holder["client"]
        found = await client.projects.resolve(project)
        return found, await client.tasks.resolve(task, project_id=found.id)

    def entry_view(entry: Any) -> dict[str, Any]:
        view: dict[str, Any] = plain(entry)
        keep = (
            "id", "spent_date", "project", "task", "hours", "notes", "is_running",
            "timer_started_at", "billable", "billable_amount", "currency", "metadata", "source",
        )  # fmt: skip
        return {key: view.get(key) for key in keep}

    @server.tool()
    async def start_timer(
        project: ProjectRef,
        task: TaskRef,
        notes: Notes = None,
        metadata: Metadata = None,
        replace_running: Annotated[
            bool, Field(description="Stop a timer that is already running first.")
        ] = False,
    ) -> dict[str, Any]:
        """Start a timer for work you are beginning now. At most one runs at a time."""
        try:
            found, chosen = await work(project, task)
            entry = await holder["client"].timers.start(
                found.id,
                chosen.id,
                notes=notes,
                metadata=metadata,
                source="agent",
                replace_running=replace_running,
            )
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        return entry_view(entry)

    @server.tool()
    async def stop_timer(notes: Notes = None, metadata: Metadata = None) -> dict[str, Any]:
        """Stop your running timer; the server measures the time. Metadata (tokens, cost)
        is merged into the entry."""
        client = holder["client"]
        try:
            entry = await client.timers.stop(notes=notes)
            if entry is None:
                raise ToolError("no timer is running -> start one with start_timer")
            if metadata:
                entry = await client.time_entries.update(entry.id, metadata=metadata)
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        return entry_view(entry)

    @server.tool()
    async def current_timer() -> dict[str, Any]:
        """Your running timer, if any, with the hours elapsed so far."""
        try:
            entry = await holder["client"].timers.current()
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        return {"running": entry is not None, "entry": entry_view(entry) if entry else None}

    @server.tool()
    async def log_time(
        project: ProjectRef,
        task: TaskRef,
        hours: Annotated[float, Field(gt=0, le=24, description="Hours spent, e.g. 1.5.")],
        notes: Notes = None,
        spent_date: Day = None,
        metadata: Metadata = None,
        billable: Annotated[
            bool | None, Field(description="Default: the task's billable setting.")
        ] = None,
    ) -> dict[str, Any]:
        """Log time already spent (a finished entry)."""
        client = holder["client"]
        try:
            found, chosen = await work(project, task)
            entry = await client.time_entries.create(
                project_id=found.id,
                task_id=chosen.id,
                spent_date=spent_date or await client.company.today(),
                hours=Decimal(str(hours)),
                notes=notes,
                metadata=metadata,
                billable=billable,
                source="agent",
            )
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        return entry_view(entry)

    @server.tool()
    async def log_outcome(
        project: ProjectRef,
        task: TaskRef,
        type: Annotated[
            str,
            Field(
                description="What was delivered, e.g. ticket_resolved, pr_merged, "
                "code_review_completed, document_generated, or your own word."
            ),
        ],
        unit_price: Annotated[
            float | None, Field(ge=0, description="Price of one unit, in the project's currency.")
        ] = None,
        quantity: Annotated[int, Field(ge=0, description="How many units.")] = 1,
        success: Annotated[bool, Field(description="False for a failed attempt.")] = True,
        description: Notes = None,
        evidence: Annotated[
            dict[str, Any] | None,
            Field(description='What proves it, e.g. {"ticket_id": "TKT-4821"}.'),
        ] = None,
        metadata: Metadata = None,
    ) -> dict[str, Any]:
        """Record a delivered result billed per unit (revenue = unit_price x quantity when
        it succeeded)."""
        client = holder["client"]
        try:
            found, chosen = await work(project, task)
            outcome = await client.outcomes.log(
                project_id=found.id,
                task_id=chosen.id,
                type=type,
                unit_price=None if unit_price is None else Decimal(str(unit_price)),
                quantity=quantity,
                success=success,
                description=description,
                evidence=evidence,
                metadata=metadata,
                source="agent",
            )
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        view: dict[str, Any] = plain(outcome)
        keep = ("id", "type", "quantity", "unit_price", "success", "revenue", "currency",
                "spent_date", "project", "task", "description")  # fmt: skip
        return {key: view.get(key) for key in keep}

    @server.tool()
    async def list_entries(
        from_date: Day = None,
        to_date: Day = None,
        project: Annotated[str | None, Field(description="Only this project.")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many.")] = 50,
    ) -> dict[str, Any]:
        """Your time entries, newest first (default: the last 7 days)."""
        client = holder["client"]
        try:
            today = await client.company.today()
            filters: dict[str, Any] = {
                "user_id": (await client.users.me()).id,
                "from_date": from_date or today - timedelta(days=6),
                "to_date": to_date or today,
            }
            if project:
                filters["project_id"] = (await client.projects.resolve(project)).id
            page = await client.time_entries.list(per_page=limit, **filters)
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        return {
            "total_entries": page.total_entries,
            "entries": [entry_view(entry) for entry in page.data],
        }

    @server.tool()
    async def summary(from_date: Day = None, to_date: Day = None) -> dict[str, Any]:
        """Your hours, outcomes, revenue, cost and margin over a range (default: the last 30
        days), and hours per project."""
        client = holder["client"]
        try:
            last = date.fromisoformat(to_date) if to_date else await client.company.today()
            first = date.fromisoformat(from_date) if from_date else last - timedelta(days=29)
            report = await client.reports.agent_summary(first, last)
            me = (await client.users.me()).id
            by_project = await client.time_entries.stats(
                group_by="project", user_id=me, from_date=first, to_date=last
            )
        except TimeledgerError as exc:
            raise _failed(exc) from exc
        result: dict[str, Any] = plain(report)
        result["by_project"] = [
            {"project": row.name, "hours": plain(row.hours), "currency": row.currency,
             "billable_amount": plain(row.billable_amount)}
            for row in by_project.results
        ]  # fmt: skip
        return result

    return server


def serve() -> None:
    """Serve over stdio until the client hangs up."""
    given = credentials()  # before anything runs: a missing key is one clear line

    def connect() -> AsyncTimeledger:
        return AsyncTimeledger(
            api_key=given.api_key, base_url=given.base_url, account_id=given.account_id
        )

    build(connect).run("stdio")
