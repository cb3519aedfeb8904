"""The event catalogue: every event type a service may emit, in one list."""

from __future__ import annotations

_RESOURCES = {
    "company": ("updated",),
    "user": ("created", "updated"),
    "api_key": ("created", "revoked"),
    "client": ("created", "updated", "deleted"),
    "contact": ("created", "updated", "deleted"),
    "project": ("created", "updated", "deleted"),
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
}

EVENT_TYPES: frozenset[str] = frozenset(
    f"{resource}.{action}" for resource, actions in _RESOURCES.items() for action in actions
)
