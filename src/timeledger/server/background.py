"""Periodic jobs that run inside the server process (the embedded default): each in a short
write transaction of its own, on a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio.to_thread
from sqlalchemy.orm import Session

from timeledger.server.db import Database
from timeledger.server.protection.idempotency import prune_expired
from timeledger.server.tracking.service import stop_overdue_timers

log = logging.getLogger("timeledger.background")

Job = Callable[[Session], int]
JOBS: tuple[tuple[str, Job], ...] = (
    ("stop forgotten timers", stop_overdue_timers),
    ("forget expired idempotency keys", prune_expired),
)


def run_jobs_once(database: Database) -> None:
    for name, job in JOBS:
        try:
            with database.transaction(write=True) as session:
                changed = job(session)
            if changed:
                log.info("%s: %d changed", name, changed)
        except Exception:  # a failing job must not stop the others or the loop
            log.exception("background job failed: %s", name)


async def run_forever(database: Database, interval_seconds: float) -> None:
    while True:
        await anyio.to_thread.run_sync(run_jobs_once, database)
        await asyncio.sleep(interval_seconds)
