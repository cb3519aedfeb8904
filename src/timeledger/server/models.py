"""Every table, imported in one place so the metadata (migrations, drift check) is complete."""

from timeledger.server.accounts.models import Account, ApiKey, User
from timeledger.server.audit.models import AuditRecord
from timeledger.server.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLineItem,
    InvoiceMessage,
    InvoicePayment,
)
from timeledger.server.catalog.models import (
    Client,
    Contact,
    Project,
    Task,
    TaskAssignment,
    UserAssignment,
)
from timeledger.server.db import Base
from timeledger.server.expenses.models import Expense, ExpenseCategory
from timeledger.server.outbox.models import OutboxEvent
from timeledger.server.outcomes.models import Outcome
from timeledger.server.protection.models import IdempotencyRecord
from timeledger.server.reports.models import BudgetAlert, ProjectSpending, UserDayTime
from timeledger.server.tracking.models import BillingMark, TimeEntry, TimeEntryTemplate
from timeledger.server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiKey",
    "AuditRecord",
    "BillingMark",
    "BudgetAlert",
    "Client",
    "Contact",
    "Expense",
    "ExpenseCategory",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLineItem",
    "InvoiceMessage",
    "InvoicePayment",
    "OutboxEvent",
    "Outcome",
    "Project",
    "ProjectSpending",
    "Task",
    "TaskAssignment",
    "TimeEntry",
    "TimeEntryTemplate",
    "User",
    "UserAssignment",
    "UserDayTime",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
]
