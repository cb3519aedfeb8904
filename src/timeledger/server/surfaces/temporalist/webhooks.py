"""/webhooks/: one event per subscription, owned by the key that made it, delivered in
Temporal.ist's envelope and signed with its scheme (webhooks/signing.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from timeledger.server.core.actor import Actor
from timeledger.server.core.errors import NotFound
from timeledger.server.db import DbSession
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.temporalist.deps import CurrentActor, Session, every
from timeledger.server.surfaces.temporalist.errors import wire_names
from timeledger.server.surfaces.temporalist.wire import (
    ERROR_RESPONSES,
    WEBHOOK_FIELDS,
    WebhookIn,
    WebhookOut,
)
from timeledger.server.webhooks import service as webhooks
from timeledger.server.webhooks.models import WebhookSubscription
from timeledger.server.webhooks.schemas import WebhookCreate
from timeledger.server.webhooks.ssrf import TargetPolicy

SCHEME = "temporalist"
router = SurfaceRouter(tags=["webhooks"], responses=ERROR_RESPONSES)


async def _policy(request: Request) -> TargetPolicy:
    return TargetPolicy.of(request.app.state.settings)


Policy = Annotated[TargetPolicy, Depends(_policy)]


def _mine(sub: WebhookSubscription, actor: Actor) -> bool:
    """Temporal.ist shows a key the subscriptions it made here, and no others."""
    return sub.api_key_id == actor.api_key_id and sub.scheme == SCHEME


def _get(session: DbSession, actor: Actor, id: str) -> WebhookSubscription:
    sub = webhooks.get_subscription(session, actor, id)
    if not _mine(sub, actor):
        raise NotFound("webhook")
    return sub


@router.get("/webhooks/", summary="List the subscriptions made with this key")
def list_webhooks(session: Session, actor: CurrentActor) -> list[WebhookOut]:
    subs = every(
        lambda page, per_page: webhooks.list_subscriptions(
            session, actor, page=page, per_page=per_page
        )
    )
    return [WebhookOut.of(sub) for sub in subs if _mine(sub, actor)]


@router.post("/webhooks/", status_code=201, summary="Subscribe a URL to an event")
def create_webhook(
    body: WebhookIn, session: Session, actor: CurrentActor, policy: Policy
) -> WebhookOut:
    with wire_names(WEBHOOK_FIELDS):
        command = WebhookCreate(url=body.target_url, events=[body.event])
        sub = webhooks.create_subscription(session, actor, command, policy, scheme=SCHEME)
    return WebhookOut.of(sub)


@router.get("/webhooks/{id}/", summary="Get a subscription")
def get_webhook(id: str, session: Session, actor: CurrentActor) -> WebhookOut:
    return WebhookOut.of(_get(session, actor, id))


@router.delete("/webhooks/{id}/", status_code=204, summary="Delete a subscription")
def delete_webhook(id: str, session: Session, actor: CurrentActor) -> Response:
    _get(session, actor, id)
    webhooks.delete_subscription(session, actor, id)
    return Response(status_code=204)
