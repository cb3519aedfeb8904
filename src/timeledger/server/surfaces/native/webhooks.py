"""/api/v2 webhooks: subscriptions, their secrets, and the delivery log."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Body, Depends, Query, Request

from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.native.deps import CurrentActor, Paging, Session
from timeledger.server.surfaces.native.wire import (
    Deleted,
    Id,
    ListEnvelope,
    Timestamps,
    Wire,
    envelope,
    list_model,
)
from timeledger.server.webhooks import service as webhooks
from timeledger.server.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from timeledger.server.webhooks.schemas import DeliveryStatus, WebhookCreate, WebhookUpdate
from timeledger.server.webhooks.ssrf import TargetPolicy

router = SurfaceRouter(tags=["webhooks"])


async def _policy(request: Request) -> TargetPolicy:
    return TargetPolicy.of(request.app.state.settings)


Policy = Annotated[TargetPolicy, Depends(_policy)]


class WebhookOut(Timestamps):
    id: Id
    url: str
    events: list[str]
    description: str | None
    active: bool
    api_key_id: Id
    failure_count: int
    last_delivery_at: datetime | None
    last_status_code: int | None
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, row: WebhookSubscription) -> "WebhookOut":
        columns = {name: getattr(row, name) for name in cls.model_fields if name != "active"}
        return cls(**columns, active=row.is_active)


class WebhookWithSecretOut(WebhookOut):
    """Shown on creation and rotation only: the secret that verifies signatures."""

    secret: str

    @classmethod
    def of(cls, row: WebhookSubscription) -> "WebhookWithSecretOut":
        return cls(**WebhookOut.of(row).model_dump(), secret=row.secret)


class AttemptOut(Wire):
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None

    @classmethod
    def of(cls, row: WebhookAttempt) -> "AttemptOut":
        return cls.model_validate(row)


class DeliveryOut(Timestamps):
    id: Id
    webhook_id: Id
    event_id: Id
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int
    last_status_code: int | None
    next_attempt_at: datetime | None
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, row: WebhookDelivery) -> "DeliveryOut":
        return cls(
            id=row.id,
            webhook_id=row.subscription_id,
            event_id=row.event_id,
            event_type=row.event_type,
            status=row.status,
            attempt_count=row.attempt_count,
            last_status_code=row.last_status_code,
            next_attempt_at=row.next_attempt_at,
            attempts=[AttemptOut.of(attempt) for attempt in row.attempts],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


WebhookList = list_model("webhooks", WebhookOut)
DeliveryList = list_model("deliveries", DeliveryOut)


@router.get("/webhooks", response_model=WebhookList, summary="List webhook subscriptions")
def list_webhooks(
    request: Request, session: Session, actor: CurrentActor, paging: Paging
) -> ListEnvelope:
    page = webhooks.list_subscriptions(session, actor, page=paging.page, per_page=paging.per_page)
    return envelope(WebhookList, "webhooks", page, [WebhookOut.of(r) for r in page.items], request)


@router.post(
    "/webhooks",
    response_model=WebhookWithSecretOut,
    status_code=201,
    summary="Subscribe a URL to events; the signing secret is shown in this response only",
    description=(
        "Deliveries are POSTed as `{id, type, created_at, account_id, data}` and signed per "
        "[Standard Webhooks](https://www.standardwebhooks.com/): `webhook-id` (the delivery id, "
        "the same on every retry), `webhook-timestamp` and `webhook-signature: v1,<base64 "
        'HMAC-SHA256 of "id.timestamp.body">`, keyed with the base64-decoded secret after '
        "`whsec_`. A delivery is retried with backoff for about three days until the receiver "
        "answers 2xx; redirects are not followed; the URL must be https:// and public."
    ),
)
def create_webhook(
    command: Annotated[WebhookCreate, Body()], session: Session, actor: CurrentActor, policy: Policy
) -> WebhookWithSecretOut:
    return WebhookWithSecretOut.of(webhooks.create_subscription(session, actor, command, policy))


@router.get("/webhooks/{id}", response_model=WebhookOut, summary="Get a webhook subscription")
def get_webhook(id: str, session: Session, actor: CurrentActor) -> WebhookOut:
    return WebhookOut.of(webhooks.get_subscription(session, actor, id))


@router.patch(
    "/webhooks/{id}",
    response_model=WebhookOut,
    summary="Change url, events, description or active (true re-enables a disabled one)",
)
def update_webhook(
    id: str,
    command: Annotated[WebhookUpdate, Body()],
    session: Session,
    actor: CurrentActor,
    policy: Policy,
) -> WebhookOut:
    return WebhookOut.of(webhooks.update_subscription(session, actor, id, command, policy))


@router.delete(
    "/webhooks/{id}", response_model=Deleted, summary="Delete a subscription and its delivery log"
)
def delete_webhook(id: str, session: Session, actor: CurrentActor) -> Deleted:
    return Deleted(id=webhooks.delete_subscription(session, actor, id))


@router.post(
    "/webhooks/{id}/rotate_secret",
    response_model=WebhookWithSecretOut,
    summary="New signing secret; the old one keeps signing alongside it for 24 hours",
)
def rotate_secret(id: str, session: Session, actor: CurrentActor) -> WebhookWithSecretOut:
    return WebhookWithSecretOut.of(webhooks.rotate_secret(session, actor, id))


@router.post(
    "/webhooks/{id}/ping",
    response_model=DeliveryOut,
    status_code=202,
    summary="Send a webhook.ping event to this subscription only",
)
def ping(id: str, session: Session, actor: CurrentActor) -> DeliveryOut:
    return DeliveryOut.of(webhooks.ping(session, actor, id))


@router.get(
    "/webhooks/{id}/deliveries",
    response_model=DeliveryList,
    summary="The delivery log: attempts, status codes, durations, next retry (newest first)",
)
def list_deliveries(
    id: str,
    request: Request,
    session: Session,
    actor: CurrentActor,
    paging: Paging,
    status: Annotated[
        DeliveryStatus | None, Query(description="Only deliveries in this state")
    ] = None,
) -> ListEnvelope:
    page = webhooks.list_deliveries(
        session, actor, id, status=status, page=paging.page, per_page=paging.per_page
    )
    items = [DeliveryOut.of(row) for row in page.items]
    return envelope(DeliveryList, "deliveries", page, items, request)


@router.get(
    "/webhooks/{id}/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    summary="One delivery with its attempts",
)
def get_delivery(id: str, delivery_id: str, session: Session, actor: CurrentActor) -> DeliveryOut:
    return DeliveryOut.of(webhooks.get_delivery(session, actor, id, delivery_id))


@router.post(
    "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    status_code=202,
    summary="Attempt a delivery again now (same delivery id), whatever its state",
)
def redeliver(id: str, delivery_id: str, session: Session, actor: CurrentActor) -> DeliveryOut:
    return DeliveryOut.of(webhooks.redeliver(session, actor, id, delivery_id))
