"""Work that waits for the outcome of the request's transaction, for things the database
cannot roll back: a file written beside a row is removed if the row never commits, and a
file a row stopped pointing at is removed only once that change has committed.

Services register callbacks here; they still never commit. Callbacks run after the
transaction ended and must not raise (a failure is logged and the rest still run)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("timeledger.hooks")

_ON_COMMIT = "timeledger.after_commit"
_ON_ROLLBACK = "timeledger.after_rollback"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def after_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` if the session's transaction rolls back (never if it commits)."""
    session.info.setdefault(_ON_ROLLBACK, []).append(callback)


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("post-transaction callback failed")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_ON_COMMIT, []))


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)
    _run(session.info.pop(_ON_ROLLBACK, []))
