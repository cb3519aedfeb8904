"""The webhook dispatcher: fan the outbox out into deliveries, claim the due ones, send them
concurrently, record each outcome. `timeledger serve` runs one on a thread of its own
(InProcessDispatcher); `timeledger worker` runs one per process, as many as needed.

Database work runs on worker threads in short transactions of its own, never while a POST
is waiting, so a slow receiver holds up nothing but its own delivery, and API requests
never wait for webhooks at all.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from timeledger.server.config import Settings
from timeledger.server.db import Database
from timeledger.server.webhooks import deliveries
from timeledger.server.webhooks.deliveries import Job, Outcome, RetrySchedule
from timeledger.server.webhooks.ssrf import TargetPolicy
from timeledger.server.worker.transport import TIMEOUT_SECONDS, Sender

log = logging.getLogger("timeledger.webhooks")

T = TypeVar("T")
U = TypeVar("U")

# Outbox events turned into deliveries per transaction.
FAN_OUT_BATCH = 500
# Attempts in flight at once per dispatcher: enough that receivers taking a second or two
# to answer do not throttle delivery, and that each transaction records many outcomes.
DEFAULT_CONCURRENCY = 64


class Dispatcher:
    """One dispatcher. The retry schedule, poll interval, timeout and TLS trust are
    parameters so tests can move through them quickly."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        schedule: RetrySchedule | None = None,
        poll_interval: float | None = None,
        timeout: float = TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.database = database
        self.policy = TargetPolicy.of(settings)
        self.concurrency = concurrency
        self.schedule = schedule or RetrySchedule()
        self.poll_interval = poll_interval or settings.webhooks_poll_interval
        self.lease = timedelta(seconds=settings.webhooks_lease)
        self.timeout = timeout
        self.ssl_context = ssl_context

    def announce(self) -> None:
        """Say at startup what the settings relax or risk."""
        for relaxation in self.policy.relaxations:
            log.warning("webhooks may go to %s: for development and tests only", relaxation)
        if self.lease.total_seconds() <= self.timeout:
            log.warning(
                "TIMELEDGER_WEBHOOKS_LEASE (%g s) is not longer than an attempt may take "
                "(%g s): a slow attempt may be sent a second time by another dispatcher",
                self.lease.total_seconds(),
                self.timeout,
            )

    # --- the transactions ---------------------------------------------------------------------

    def fan_out(self) -> int:
        with self.database.transaction(write=True) as session:
            return deliveries.fan_out(session, limit=FAN_OUT_BATCH)

    def exchange(self, outcomes: list[Outcome], limit: int) -> list[Job]:
        """Record finished attempts and claim up to `limit` new ones, in one transaction."""
        with self.database.transaction(write=True) as session:
            deliveries.settle(session, outcomes, self.schedule)
            return deliveries.claim(session, limit=limit, lease=self.lease) if limit else []

    def _sender(self) -> Sender:
        return Sender(self.policy, timeout=self.timeout, ssl_context=self.ssl_context)

    # --- running ------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Deliver everything that is due now, then return the number of attempts made."""
        return anyio.run(self._drain)

    async def _drain(self) -> int:
        attempts = 0
        sender = self._sender()

        async def send(job: Job, into: list[Outcome]) -> None:
            into.append(await sender.send(job))

        try:
            while await anyio.to_thread.run_sync(self.fan_out):
                pass
            outcomes: list[Outcome] = []
            while jobs := await anyio.to_thread.run_sync(self.exchange, outcomes, self.concurrency):
                attempts += len(outcomes)
                outcomes = []
                async with anyio.create_task_group() as group:
                    for job in jobs:
                        group.start_soon(send, job, outcomes)
            attempts += len(outcomes)
        finally:
            await sender.aclose()
        return attempts

    async def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, then finish (and record) the attempts in flight.

        Each turn: fan the outbox out if it may hold news (it had a backlog, the queue ran
        dry, or a poll interval passed), record what finished and claim as much new work as
        there are free slots (one transaction), then wait for an attempt to finish or for
        the poll interval."""
        sender = self._sender()
        finished: list[Outcome] = []
        unrecorded: list[Outcome] = []
        in_flight = 0
        backlog = dry = False
        fanned_at = -self.poll_interval
        wake = anyio.Event()

        async def send(job: Job) -> None:
            outcome = await sender.send(job)
            finished.append(outcome)  # the list current now, not when the send began
            wake.set()

        try:
            async with anyio.create_task_group() as group:
                while True:
                    if not stop.is_set() and (
                        backlog or dry or time.monotonic() - fanned_at >= self.poll_interval
                    ):
                        fanned_at = time.monotonic()
                        backlog = await self._try(self.fan_out, 0) >= FAN_OUT_BATCH
                    done, finished = finished, []
                    unrecorded += done
                    in_flight -= len(done)
                    free = 0 if stop.is_set() else self.concurrency - in_flight
                    if unrecorded or free:
                        jobs = await self._try(self.exchange, None, unrecorded, free)
                        if jobs is not None or stop.is_set():
                            unrecorded = []  # recorded (or, when stopping, left to the lease)
                        dry = jobs is not None and len(jobs) < free
                        for job in jobs or ():
                            in_flight += 1
                            group.start_soon(send, job)
                    if stop.is_set() and in_flight == 0:
                        return
                    if not finished and not backlog:
                        with anyio.move_on_after(self.poll_interval):
                            await wake.wait()
                    wake = anyio.Event()
        finally:
            await sender.aclose()

    @staticmethod
    async def _try(work: Callable[..., T], failed: U, *args: Any) -> T | U:
        """Database work on a worker thread; if it fails (the database is away), log it and
        return `failed`, to be tried again on the next turn."""
        try:
            return await anyio.to_thread.run_sync(work, *args)
        except Exception:
            log.exception("webhook dispatcher: %s failed; retrying", work.__name__)
            return failed


class InProcessDispatcher:
    """The dispatcher `serve` runs: on a thread with its own event loop, so it neither waits
    on the API's loop nor holds it up."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.dispatcher = Dispatcher(database, settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, database: Database, settings: Settings) -> InProcessDispatcher:
        """Log what the webhook settings relax, then start delivering unless the settings
        leave delivery to `timeledger worker` processes."""
        runner = cls(database, settings)
        runner.dispatcher.announce()
        if settings.webhooks_in_process:
            runner._thread = threading.Thread(
                target=anyio.run, args=(runner.dispatcher.run, runner._stop), daemon=True
            )
            runner._thread.name = "webhook-dispatcher"
            runner._thread.start()
        return runner

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.dispatcher.timeout + 5)
