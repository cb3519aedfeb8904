"""Webhook subscriptions and their delivery log: the rules behind /webhooks. Managing
webhooks is an admin's job, since a subscription sees every event of the account."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.crud import Page, apply_changes, get_scoped, paginate, scoped, snapshot
from timeledger.server.core.errors import Conflict, NotFound, PermissionDenied
from timeledger.server.core.ids import parse_id
from timeledger.server.outbox.service import emit
from timeledger.server.webhooks import signing
from timeledger.server.webhooks.models import WebhookDelivery, WebhookSubscription
from timeledger.server.webhooks.schemas import DeliveryStatus, WebhookCreate, WebhookUpdate
from timeledger.server.webhooks.ssrf import TargetPolicy, check_url

# Each subscription multiplies every event into a delivery; this bounds the fan-out.
MAX_SUBSCRIPTIONS = 100
# After a rotation the previous secret keeps signing this long, so receivers can switch.
ROTATION_OVERLAP = timedelta(hours=24)

_SECRET_COLUMNS = ("secret", "previous_secret")


def public_view(sub: WebhookSubscription) -> dict[str, Any]:
    """A subscription as event data: never its secrets."""
    data = snapshot(sub)
    for column in _SECRET_COLUMNS:
        del data[column]
    return data


def signing_keys(sub: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now, newest first."""
    expires = sub.previous_secret_expires_at
    if sub.previous_secret is not None and expires is not None and expires > now:
        return [sub.secret, sub.previous_secret]
    return [sub.secret]


# --- subscriptions ----------------------------------------------------------------------------


def list_subscriptions(
    session: Session, actor: Actor, *, page: int, per_page: int
) -> Page[WebhookSubscription]:
    actor.require(Role.admin, "listing webhooks")
    stmt = scoped(WebhookSubscription, actor.account_id).order_by(WebhookSubscription.id.desc())
    return paginate(session, stmt, page, per_page)


def get_subscription(session: Session, actor: Actor, id: str) -> WebhookSubscription:
    actor.require(Role.admin, "managing webhooks")
    return get_scoped(session, WebhookSubscription, actor.account_id, parse_id(id), "webhook")


def create_subscription(
    session: Session,
    actor: Actor,
    command: WebhookCreate,
    policy: TargetPolicy,
    *,
    scheme: str = "standard",
) -> WebhookSubscription:
    """A new subscription with a fresh secret (the caller shows it once). `scheme` is how
    its deliveries are signed; the compatibility surfaces pass their product's."""
    actor.require(Role.admin, "creating webhooks")
    if actor.api_key_id is None:
        raise PermissionDenied("webhooks are created with an API key, which then owns them")
    count = session.scalar(
        select(func.count())
        .select_from(WebhookSubscription)
        .where(WebhookSubscription.account_id == actor.account_id)
    )
    if (count or 0) >= MAX_SUBSCRIPTIONS:
        raise Conflict(
            f"an account may have at most {MAX_SUBSCRIPTIONS} webhooks; delete one first",
            code="limit_reached",
        )
    check_url(command.url, policy)
    sub = WebhookSubscription(
        account_id=actor.account_id,
        api_key_id=actor.api_key_id,
        url=command.url,
        events=command.events,
        description=command.description,
        scheme=scheme,
        secret=signing.new_secret(scheme),
    )
    session.add(sub)
    session.flush()
    emit(session, sub.account_id, "webhook.created", public_view(sub))
    return sub


def update_subscription(
    session: Session, actor: Actor, id: str, command: WebhookUpdate, policy: TargetPolicy
) -> WebhookSubscription:
    sub = get_subscription(session, actor, id)
    changes = command.changes()
    if "url" in changes:
        check_url(changes["url"], policy)
    active = changes.pop("active", sub.is_active)
    changed = list(apply_changes(sub, changes))
    if active != sub.is_active:
        (_activate if active else deactivate)(session, sub)
        changed.append("is_active")
    return _announce_update(session, sub, changed)


def _announce_update(
    session: Session, sub: WebhookSubscription, changed: list[str]
) -> WebhookSubscription:
    if changed:
        session.flush()
        data = {**public_view(sub), "changed_fields": sorted(set(changed))}
        emit(session, sub.account_id, "webhook.updated", data)
    return sub


def _activate(session: Session, sub: WebhookSubscription) -> None:
    """Back on: a clean failure record, and what waited while it was off is due now."""
    sub.is_active = True
    sub.disabled_at = None
    sub.failure_count = 0
    sub.failing_since = None
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending")
        .values(next_attempt_at=utcnow())
    )


def deactivate(
    session: Session, sub: WebhookSubscription, *, disabled_at: datetime | None = None
) -> None:
    """Off: pending deliveries wait (unscheduled) until it is switched back on. An attempt
    already in flight still records its outcome (its claim stays valid)."""
    sub.is_active = False
    sub.disabled_at = disabled_at
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending")
        .values(next_attempt_at=None)
    )


def delete_subscription(session: Session, actor: Actor, id: str) -> uuid.UUID:
    sub = get_subscription(session, actor, id)
    _delete(session, sub)
    return sub.id


def _delete(session: Session, sub: WebhookSubscription) -> None:
    data = public_view(sub)
    session.delete(sub)  # its deliveries and their attempts go with it (ON DELETE CASCADE)
    session.flush()
    emit(session, sub.account_id, "webhook.deleted", data)


def remove_for_key(session: Session, account_id: uuid.UUID, api_key_id: uuid.UUID) -> int:
    """Delete the subscriptions an API key created (its revocation takes them along)."""
    subs = session.scalars(
        scoped(WebhookSubscription, account_id).where(WebhookSubscription.api_key_id == api_key_id)
    ).all()
    for sub in subs:
        _delete(session, sub)
    return len(subs)


def rotate_secret(session: Session, actor: Actor, id: str) -> WebhookSubscription:
    """A new secret; the current one keeps signing beside it for ROTATION_OVERLAP."""
    sub = get_subscription(session, actor, id)
    sub.previous_secret = sub.secret
    sub.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    sub.secret = signing.new_secret(sub.scheme)
    return _announce_update(session, sub, ["secret"])


# --- the delivery log -------------------------------------------------------------------------


def _require_active(sub: WebhookSubscription, doing: str) -> None:
    if not sub.is_active:
        raise Conflict(
            f"the webhook is disabled; set active to true before {doing}", code="disabled"
        )


def ping(session: Session, actor: Actor, id: str) -> WebhookDelivery:
    """Queue a webhook.ping to this subscription alone."""
    sub = get_subscription(session, actor, id)
    _require_active(sub, "pinging it")
    now = utcnow()
    # Delivered below, to this subscription only: no fan-out.
    data = {"webhook_id": str(sub.id)}
    event_id = emit(session, sub.account_id, "webhook.ping", data, dispatched_at=now)
    delivery = WebhookDelivery(
        account_id=sub.account_id,
        subscription_id=sub.id,
        event_id=event_id,
        event_type="webhook.ping",
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def list_deliveries(
    session: Session,
    actor: Actor,
    id: str,
    *,
    status: DeliveryStatus | None = None,
    page: int,
    per_page: int,
) -> Page[WebhookDelivery]:
    sub = get_subscription(session, actor, id)
    stmt = (
        scoped(WebhookDelivery, actor.account_id)
        .where(WebhookDelivery.subscription_id == sub.id)
        .options(selectinload(WebhookDelivery.attempts))
        .order_by(WebhookDelivery.id.desc())
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return paginate(session, stmt, page, per_page)


def get_delivery(session: Session, actor: Actor, id: str, delivery_id: str) -> WebhookDelivery:
    sub = get_subscription(session, actor, id)
    delivery = get_scoped(
        session,
        WebhookDelivery,
        actor.account_id,
        parse_id(delivery_id),
        "delivery",
        field="delivery_id",
    )
    if delivery.subscription_id != sub.id:
        raise NotFound("delivery", field="delivery_id")
    return delivery


def redeliver(session: Session, actor: Actor, id: str, delivery_id: str) -> WebhookDelivery:
    """Attempt the delivery again now, with a fresh retry schedule; same delivery id, so
    receivers still recognise a repeat."""
    delivery = get_delivery(session, actor, id, delivery_id)
    sub = session.get_one(WebhookSubscription, delivery.subscription_id)
    _require_active(sub, "redelivering")
    now = utcnow()
    lease_end = delivery.next_attempt_at
    in_flight = delivery.claim_token is not None and lease_end is not None and lease_end > now
    if delivery.status == "pending" and in_flight:
        raise Conflict("the delivery is being attempted right now; retry shortly", code="in_flight")
    delivery.status = "pending"
    delivery.retry_step = 0
    delivery.next_attempt_at = now
    delivery.claim_token = None
    session.flush()
    return delivery
