"""Webhook subscriptions and their delivery log. Receivers verify deliveries with
`Webhooks.verify_signature` (also `timeledger.client.verify_signature`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from timeledger.client._http import Call
from timeledger.client.models import Deleted, Webhook, WebhookDelivery
from timeledger.client.pagination import Listing
from timeledger.client.resources._base import IO, Collection, Resource, fetch, listing, operation
from timeledger.client.webhook_signature import verify_signature

Events = Sequence[str] | Literal["*"]


class Deliveries(Resource[IO]):
    @listing
    def list(
        self,
        webhook_id: str,
        *,
        status: Literal["pending", "succeeded", "failed"] | None = None,
        per_page: int | None = None,
    ) -> Listing[WebhookDelivery]:
        """The delivery log, newest first."""
        params = {"status": status, "per_page": per_page}
        path = f"/webhooks/{webhook_id}/deliveries"
        return Listing(path, "deliveries", WebhookDelivery.from_wire, params)

    @operation
    def get(self, webhook_id: str, id: str) -> Call[WebhookDelivery]:
        path = f"/webhooks/{webhook_id}/deliveries/{id}"
        return (yield from fetch(WebhookDelivery, "GET", path))

    @operation
    def redeliver(self, webhook_id: str, id: str) -> Call[WebhookDelivery]:
        """Attempt a delivery again now, with the same delivery id."""
        path = f"/webhooks/{webhook_id}/deliveries/{id}/redeliver"
        return (yield from fetch(WebhookDelivery, "POST", path))


class Webhooks(Collection[IO, Webhook]):
    path, key, model = "/webhooks", "webhooks", Webhook
    verify_signature = staticmethod(verify_signature)

    def __init__(self, io: IO) -> None:
        super().__init__(io)
        self.deliveries = Deliveries(io)

    @listing
    def list(self, *, per_page: int | None = None) -> Listing[Webhook]:
        return self._listing(per_page=per_page)

    @operation
    def create(self, *, url: str, events: Events, description: str | None = None) -> Call[Webhook]:
        """Subscribe `url` (https, public) to events, or "*" for all; the answer's `secret`
        signs deliveries and is shown only here."""
        body = {"url": url, "events": events if events == "*" else list(events)}
        if description is not None:
            body["description"] = description
        return (yield from self._create(body))

    @operation
    def update(
        self,
        id: str,
        *,
        url: str | None = None,
        events: Events | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> Call[Webhook]:
        """Change a subscription; `active=True` re-enables a disabled one."""
        body = {"url": url, "events": events, "description": description, "active": active}
        if isinstance(events, Sequence) and events != "*":
            body["events"] = list(events)
        return (yield from self._update(id, {k: v for k, v in body.items() if v is not None}))

    @operation
    def delete(self, id: str) -> Call[Deleted]:
        return (yield from self._delete(id))

    @operation
    def rotate_secret(self, id: str) -> Call[Webhook]:
        """A new secret (in this answer only); the old one keeps signing for 24 hours."""
        return (yield from fetch(Webhook, "POST", f"/webhooks/{id}/rotate_secret"))

    @operation
    def ping(self, id: str) -> Call[WebhookDelivery]:
        """Send a webhook.ping event to this subscription only."""
        return (yield from fetch(WebhookDelivery, "POST", f"/webhooks/{id}/ping"))
