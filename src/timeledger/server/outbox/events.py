"""The event catalogue: every event type a service may emit, in one list."""

from __future__ import annotations

_RESOURCES = {
    "company": ("updated",),
    "user": ("created", "updated"),
    "api_key": ("created", "revoked"),
    "client": ("created", "updated", "deleted"),
    "contact": ("created", "updated", "deleted"),
    "project": ("created", "updated", "deleted", "budget_threshold_crossed"),
    "task": ("created", "updated", "deleted"),
    "task_assignment": ("created", "updated", "deleted"),
    "user_assignment": ("created", "updated", "deleted"),
    "time_entry": (
        "created",
        "updated",
        "deleted",
        "started",
        "stopped",
        "submitted",
        "approved",
        "changes_requested",
        "unlocked",
    ),
    "time_entry_template": ("created", "updated", "deleted"),
    "expense_category": ("created", "updated", "deleted"),
    "expense": (
        "created",
        "updated",
        "deleted",
        "submitted",
        "approved",
        "changes_requested",
        "unlocked",
    ),
    "outcome": ("created", "updated", "deleted"),
    "invoice": ("created", "updated", "deleted", "sent", "paid", "closed"),
    "invoice_payment": ("created", "deleted"),
    "webhook": ("created", "updated", "deleted", "disabled", "ping"),
}

EVENT_TYPES: frozenset[str] = frozenset(
    f"{resource}.{action}" for resource, actions in _RESOURCES.items() for action in actions
)

# Names the compatibility surfaces subscribe to, each standing for one emitted event:
# Temporal.ist's sessions are our timers; a ClockEye invitation is a user being added.
ALIASES: dict[str, str] = {
    "session.created": "time_entry.started",
    "session.closed": "time_entry.stopped",
    "user.invited": "user.created",
}

# ClockEye's event catalogue (reference/clockeye-api.md), in its order. Its time_entry.* and
# project.* names are ours; screenshots, accepted invitations and removals never happen
# here, so a subscription may name them and simply receives none.
CLOCKEYE_EVENTS: tuple[str, ...] = (
    "time_entry.created",
    "time_entry.updated",
    "time_entry.deleted",
    "time_entry.started",
    "time_entry.stopped",
    "screenshot.captured",
    "project.created",
    "project.updated",
    "project.deleted",
    "user.invited",
    "user.joined",
    "user.removed",
)
NEVER_EMITTED: frozenset[str] = frozenset({"screenshot.captured", "user.joined", "user.removed"})

# Sent to one subscription on request (POST /webhooks/:id/ping), never fanned out.
DIRECT_ONLY: frozenset[str] = frozenset({"webhook.ping"})

# What a webhook subscription may name in `events`.
SUBSCRIBABLE: frozenset[str] = (EVENT_TYPES - DIRECT_ONLY) | ALIASES.keys() | NEVER_EMITTED
