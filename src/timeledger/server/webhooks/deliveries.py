"""The life of a delivery, as the dispatcher drives it: fanned out from committed outbox
events, claimed by one dispatcher at a time, settled by each attempt's outcome.

At least once: a delivery is done only after a 2xx. A claim reserves it for `lease` (its
next_attempt_at moves to the lease's end), so if the dispatcher dies mid-attempt the same
delivery, with the same id, is due again when the lease runs out. On PostgreSQL claims use
FOR UPDATE SKIP LOCKED, so any number of dispatchers share the work without waiting on each
other; on SQLite the write transaction itself is exclusive.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from timeledger.server.core.clock import utcnow
from timeledger.server.core.ids import new_id
from timeledger.server.outbox.events import ALIASES
from timeledger.server.outbox.models import OutboxEvent
from timeledger.server.outbox.service import emit
from timeledger.server.webhooks import formats
from timeledger.server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from timeledger.server.webhooks.schemas import ALL_EVENTS
from timeledger.server.webhooks.service import deactivate, public_view, signing_keys

# Waits after each failed attempt: 1 min, 5 min, 30 min, 2 h, 5 h, then 10 h six times.
# Twelve attempts spread over about three days; after the last the delivery has failed.
DEFAULT_DELAYS: tuple[float, ...] = (60, 300, 1800, 7200, 18000, *(36000,) * 6)
# A subscription that keeps failing this often, for this long, is switched off.
FAILURES_TO_DISABLE = 50
FAILING_FOR_TO_DISABLE = timedelta(hours=24)

_random = random.SystemRandom()


@dataclass(frozen=True)
class RetrySchedule:
    delays: tuple[float, ...] = DEFAULT_DELAYS
    # Each wait is stretched or shrunk by up to this share, so deliveries that failed
    # together (a receiver outage) do not all come back in the same second.
    jitter: float = 0.1

    def after(self, step: int) -> timedelta | None:
        """The wait after the step-th failure (0-based), or None when retries are spent."""
        if step >= len(self.delays):
            return None
        spread = 1 + _random.uniform(-self.jitter, self.jitter)
        return timedelta(seconds=self.delays[step] * spread)


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with everything needed to send it outside any transaction."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    claim_token: uuid.UUID
    url: str
    scheme: str
    keys: tuple[str, ...]
    body: bytes
    event_type: str  # as delivered: the event's own name or the alias subscribed to


@dataclass(frozen=True)
class Outcome:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    claim_token: uuid.UUID
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def delivered_name(subscribed: list[str], event_type: str) -> str | None:
    """The name a subscription receives this event under (its own, or the alias it asked
    for), or None when it did not subscribe to it."""
    if ALL_EVENTS in subscribed or event_type in subscribed:
        return event_type
    return next((a for a in sorted(subscribed) if ALIASES.get(a) == event_type), None)


def envelope(
    event_type: str,
    event_id: uuid.UUID,
    account_id: uuid.UUID,
    created_at: datetime,
    data: dict[str, Any],
    scheme: str = "standard",
    *,
    delivery_id: uuid.UUID | None = None,
) -> bytes:
    """The delivery's body: a compatibility surface's own shape (formats.SHAPES), else ours."""
    shape = formats.SHAPES.get(scheme)
    if shape is not None:
        body = shape(event_type, event_id, created_at, data, delivery_id or event_id)
    else:
        body = {
            "id": str(event_id),
            "type": event_type,
            "created_at": created_at.isoformat().replace("+00:00", "Z"),
            "account_id": str(account_id),
            "data": data,
        }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def fan_out(session: Session, *, limit: int = 500) -> int:
    """Turn up to `limit` undispatched outbox events into deliveries for the subscriptions
    that want them; returns how many events were taken. Only committed events are visible
    here, so a rolled-back change never reaches a receiver."""
    now = utcnow()
    events = session.execute(
        select(OutboxEvent.id, OutboxEvent.account_id, OutboxEvent.type, OutboxEvent.created_at)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not events:
        return 0
    subscribers: dict[uuid.UUID, list[WebhookSubscription]] = defaultdict(list)
    for sub in session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.account_id.in_({e.account_id for e in events}),
            WebhookSubscription.is_active,
        )
    ):
        subscribers[sub.account_id].append(sub)
    rows: list[dict[str, Any]] = []
    for event in events:
        for sub in subscribers[event.account_id]:
            name = delivered_name(sub.events, event.type)
            # A subscription receives what happened after it was made, not the backlog.
            if name is not None and sub.created_at <= event.created_at:
                rows.append(
                    {
                        "account_id": event.account_id,
                        "subscription_id": sub.id,
                        "event_id": event.id,
                        "event_type": name,
                        "next_attempt_at": now,
                    }
                )
    if rows:
        session.execute(insert(WebhookDelivery), rows)
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([e.id for e in events]))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(events)


def claim(session: Session, *, limit: int, lease: timedelta) -> list[Job]:
    """Reserve up to `limit` due deliveries for this dispatcher, oldest due first."""
    now = utcnow()
    rows = session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.event_type,
            WebhookSubscription,
            OutboxEvent.id.label("event_id"),
            OutboxEvent.account_id,
            OutboxEvent.created_at,
            OutboxEvent.data,
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    ).all()
    token = new_id()
    jobs: list[Job] = []
    # Switched off after these deliveries were queued: they wait (unscheduled) instead.
    parked = [row.id for row in rows if not row.WebhookSubscription.is_active]
    for row in rows:
        sub = row.WebhookSubscription
        if sub.is_active:
            body = envelope(
                row.event_type,
                row.event_id,
                row.account_id,
                row.created_at,
                row.data,
                sub.scheme,
                delivery_id=row.id,
            )
            keys = tuple(signing_keys(sub, now))
            jobs.append(
                Job(
                    row.id,
                    row.subscription_id,
                    token,
                    sub.url,
                    sub.scheme,
                    keys,
                    body,
                    row.event_type,
                )
            )
    _set(session, [job.delivery_id for job in jobs], next_attempt_at=now + lease, claim_token=token)
    _set(session, parked, next_attempt_at=None)
    return jobs


def _set(session: Session, ids: list[uuid.UUID], **values: Any) -> None:
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(**values, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def settle(session: Session, outcomes: list[Outcome], schedule: RetrySchedule) -> int:
    """Record attempts and move their deliveries on: done after a 2xx, else retried later or
    failed for good; a subscription failing for too long is disabled. An outcome whose claim
    is no longer current (its lease ran out and another dispatcher took over) is dropped.
    Returns how many outcomes were recorded."""
    if not outcomes:
        return 0
    now = utcnow()
    by_id = {outcome.delivery_id: outcome for outcome in outcomes}
    # Lock subscriptions, then deliveries, each in id order: every writer takes them in this
    # order, so concurrent dispatchers and API calls wait for each other but never deadlock.
    subs = {
        sub.id: sub
        for sub in session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.id.in_({o.subscription_id for o in outcomes}))
            .order_by(WebhookSubscription.id)
            .with_for_update(key_share=True)
        )
    }
    rows = session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.account_id,
            WebhookDelivery.status,
            WebhookDelivery.claim_token,
            WebhookDelivery.retry_step,
        )
        .where(WebhookDelivery.id.in_(by_id))
        .order_by(WebhookDelivery.id)
        .with_for_update(key_share=True)
    ).all()
    current = [
        r for r in rows if r.status == "pending" and r.claim_token == by_id[r.id].claim_token
    ]
    current.sort(key=lambda r: by_id[r.id].attempted_at)
    # Deliveries that end up alike (most often: all succeeded) move on in one UPDATE.
    alike: dict[tuple[tuple[str, Any], ...], list[uuid.UUID]] = defaultdict(list)
    attempts: list[dict[str, Any]] = []
    for row in current:
        outcome = by_id[row.id]
        sub = subs[outcome.subscription_id]
        state = _next_state(row.retry_step, sub, outcome, schedule, now)
        alike[tuple(sorted(state.items()))].append(row.id)
        attempts.append(
            {
                "account_id": row.account_id,
                "delivery_id": row.id,
                "attempted_at": outcome.attempted_at,
                "duration_ms": outcome.duration_ms,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "response_body": outcome.response_body,
            }
        )
        _count(sub, outcome)
    for state_items, ids in alike.items():
        _set(
            session,
            ids,
            **dict(state_items),
            attempt_count=WebhookDelivery.attempt_count + 1,
            claim_token=None,
        )
    if attempts:
        session.execute(insert(WebhookAttempt), attempts)
    for sub in subs.values():
        _disable_if_failing(session, sub, now)
    session.flush()
    return len(attempts)


def _next_state(
    retry_step: int,
    sub: WebhookSubscription,
    outcome: Outcome,
    schedule: RetrySchedule,
    now: datetime,
) -> dict[str, Any]:
    """The delivery after this attempt: done, failed for good, or due again later."""
    state: dict[str, Any] = {"last_status_code": outcome.status_code}
    if outcome.ok:
        return {**state, "status": "succeeded", "next_attempt_at": None}
    wait = schedule.after(retry_step)
    if wait is None:
        return {**state, "status": "failed", "next_attempt_at": None}
    later = now + wait if sub.is_active else None
    return {**state, "retry_step": retry_step + 1, "next_attempt_at": later}


def _count(sub: WebhookSubscription, outcome: Outcome) -> None:
    """The subscription's view: its last attempt, and its current run of failures."""
    sub.last_delivery_at = outcome.attempted_at
    sub.last_status_code = outcome.status_code
    if outcome.ok:
        sub.failure_count = 0
        sub.failing_since = None
    else:
        sub.failure_count += 1
        sub.failing_since = sub.failing_since or outcome.attempted_at


def _disable_if_failing(session: Session, sub: WebhookSubscription, now: datetime) -> None:
    failing_since = sub.failing_since
    if (
        sub.is_active
        and failing_since is not None
        and sub.failure_count >= FAILURES_TO_DISABLE
        and now - failing_since >= FAILING_FOR_TO_DISABLE
    ):
        deactivate(session, sub, disabled_at=now)
        reason = (
            f"{sub.failure_count} consecutive failed deliveries since {failing_since.isoformat()}"
        )
        emit(session, sub.account_id, "webhook.disabled", {**public_view(sub), "reason": reason})
