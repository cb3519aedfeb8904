"""Webhook subscriptions, the deliveries owed to them, and every attempt at one."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timeledger.server.core.models import AccountScoped
from timeledger.server.core.types import JSONType, UTCDateTime
from timeledger.server.db import Base


class WebhookSubscription(AccountScoped, Base):
    """A URL that receives the account's events. It belongs to the API key that created it
    and goes when that key is revoked."""

    __tablename__ = "webhook_subscriptions"

    api_key_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # Event names (see outbox/events.py SUBSCRIBABLE) or ["*"] for every event.
    events: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(255))
    # How deliveries are signed: "standard" (Standard Webhooks), "temporalist", "clockeye".
    scheme: Mapped[str] = mapped_column(String(16), default="standard")
    # Kept readable because every delivery is signed with it. After a rotation the previous
    # secret signs alongside the new one until previous_secret_expires_at.
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the dispatcher disabled the subscription after failing for too long.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consecutive failed attempts, and when that run of failures began.
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)


class WebhookDelivery(AccountScoped, Base):
    """One event owed to one subscription, done after a 2xx. `next_attempt_at` is set exactly
    while the delivery still has work ahead: due, waiting for a retry, or reserved by a worker
    (claim_token) until then; it is null once settled and while the subscription is off."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("outbox_events.id", ondelete="CASCADE")
    )
    # The name delivered: the event's own, or the alias the subscription asked for.
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # succeeded, failed
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Failed attempts since the delivery was (re)scheduled: the step of the retry schedule.
    retry_step: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    attempts: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.attempted_at", viewonly=True
    )


class WebhookAttempt(AccountScoped, Base):
    """One POST of a delivery, as the delivery log shows it (never the secret or headers)."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    # Why it failed without a status (timeout, refused address ...), in a short sentence.
    error: Mapped[str | None] = mapped_column(String(255))
    # The start of the receiver's answer, read up to a small limit.
    response_body: Mapped[str | None] = mapped_column(Text)
