"""Every table, imported in one place so the metadata (migrations, drift check) is complete."""

from timeledger.server.accounts.models import Account, ApiKey, User
from timeledger.server.catalog.models import (
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    UserAssignment,
)
from timeledger.server.db import Base
from timeledger.server.outbox.models import OutboxEvent
from timeledger.server.tracking.models import TimeEntry, TimeEntryTemplate

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiKey",
    "Client",
    "Contact",
    "OutboxEvent",
    "Project",
    "Task",
    "TaskAssignment",
    "TimeEntry",
    "TimeEntryTemplate",
    "User",
    "UserAssignment",
    "metadata",
]
