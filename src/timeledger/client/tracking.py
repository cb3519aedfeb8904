"""`client.track(...)`: an agent's run as a timer.

    with client.track(project_id=p, task_id=t, notes="Review PR 842",
                      metadata={"agent_id": "reviewer"}) as run:
        ...                                   # the timer runs
        run.metadata["tokens_in"] = 12_500    # merged into the entry's metadata on exit
        run.add_outcome("code_review_completed", unit_price="15.00")
    run.entry                                 # the stopped entry

On exit the timer stops. If the block raised, the entry's metadata records the error
(`{"error": {"type", "message"}}`) and the exception propagates; with
`discard_on_error=True` the entry is deleted instead and its outcomes are not logged.
Outcomes are logged when the run ends, each a separate outcome (a 0-hour entry) on the same
project and task, carrying `{"time_entry_id": <the run's entry>}` in its metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, TypedDict

from timeledger.client._http import AsyncTransport, Call, SyncTransport
from timeledger.client.models import Outcome, Source, TimeEntry
from timeledger.client.resources._base import IO, fetch, send
from timeledger.client.resources.outcomes import Outcomes
from timeledger.client.resources.time_entries import Timers

ERROR_MESSAGE_LIMIT = 500


@dataclass
class _PendingOutcome:
    type: str
    quantity: int
    unit_price: Decimal | int | str | None
    success: bool
    description: str | None
    evidence: Mapping[str, Any] | None
    metadata: Mapping[str, Any] | None


class TrackOptions(TypedDict, total=False):
    notes: str | None
    metadata: Mapping[str, Any] | None
    discard_on_error: bool
    source: Source
    replace_running: bool


class Run(Generic[IO]):
    """A run's state; the sync and async context managers below only add the I/O."""

    def __init__(
        self,
        timers: Timers[IO],
        outcomes: Outcomes[IO],
        project_id: str,
        task_id: str,
        *,
        notes: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        discard_on_error: bool = False,
        source: Source = "agent",
        replace_running: bool = False,
    ) -> None:
        self._timers, self._outcomes = timers, outcomes
        self.project_id, self.task_id = project_id, task_id
        self.notes = notes
        self.metadata: dict[str, Any] = dict(metadata or {})  # the block may add to it
        self.discard_on_error = discard_on_error
        self.source: Source = source
        self.replace_running = replace_running
        self.entry: TimeEntry | None = None
        self.logged_outcomes: list[Outcome] = []
        self._pending: list[_PendingOutcome] = []

    def add_outcome(
        self,
        type: str,
        *,
        quantity: int = 1,
        unit_price: Decimal | int | str | None = None,
        success: bool = True,
        description: str | None = None,
        evidence: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """An outcome of this run, logged when the run ends."""
        self._pending.append(
            _PendingOutcome(type, quantity, unit_price, success, description, evidence, metadata)
        )

    def _begin(self) -> Call[TimeEntry]:
        self.entry = yield from self._timers._start(
            self.project_id,
            self.task_id,
            notes=self.notes,
            metadata=self.metadata or None,
            source=self.source,
            replace_running=self.replace_running,
        )
        return self.entry

    def _end(self, error: BaseException | None) -> Call[TimeEntry | None]:
        entry = self.entry
        assert entry is not None, "the run has not started"
        path = f"/time_entries/{entry.id}"
        if error is not None and self.discard_on_error:
            yield from send("DELETE", path)
            self.entry = None
            return None
        stop = {"notes": self.notes} if self.notes != entry.notes else {}
        entry = yield from fetch(TimeEntry, "PATCH", f"{path}/stop", json=stop)
        metadata = dict(self.metadata)
        if error is not None:
            message = str(error)[:ERROR_MESSAGE_LIMIT]
            metadata["error"] = {"type": type(error).__name__, "message": message}
        if metadata != (entry.metadata or {}):
            entry = yield from fetch(TimeEntry, "PATCH", path, json={"metadata": metadata})
        self.entry = entry
        for pending in self._pending:
            outcome = yield from self._outcomes._log(
                project_id=self.project_id,
                task_id=self.task_id,
                spent_date=entry.spent_date,
                type=pending.type,
                quantity=pending.quantity,
                unit_price=pending.unit_price,
                success=pending.success,
                description=pending.description,
                evidence=pending.evidence,
                metadata={**(pending.metadata or {}), "time_entry_id": entry.id},
                source=self.source,
            )
            self.logged_outcomes.append(outcome)
        self._pending.clear()
        return entry


class Track(Run[SyncTransport]):
    def __enter__(self) -> Track:
        self._timers._io.run(self._begin())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timers._io.run(self._end(exc))


class AsyncTrack(Run[AsyncTransport]):
    async def __aenter__(self) -> AsyncTrack:
        await self._timers._io.run(self._begin())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._timers._io.run(self._end(exc))
