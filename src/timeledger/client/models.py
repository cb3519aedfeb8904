"""Typed response models of /api/v2. Money, rates and hours are `Decimal`; ids are strings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from timeledger.client._model import Model

Source = Literal["web", "cli", "api", "agent"]
ApprovalStatus = Literal["unsubmitted", "submitted", "approved", "rejected"]


class OutcomeTypes:
    """Common outcome types (the Keito Python and Node SDKs' lists); any other string is a
    custom type."""

    TICKET_RESOLVED = "ticket_resolved"
    LEAD_QUALIFIED = "lead_qualified"
    MEETING_BOOKED = "meeting_booked"
    CODE_REVIEW_COMPLETED = "code_review_completed"
    PR_MERGED = "pr_merged"
    DEPLOYMENT_COMPLETED = "deployment_completed"
    TEST_SUITE_PASSED = "test_suite_passed"
    DOCUMENT_GENERATED = "document_generated"
    DATA_PROCESSED = "data_processed"
    DATA_PIPELINE_RUN = "data_pipeline_run"
    ALERT_TRIAGED = "alert_triaged"
    CUSTOMER_REPLY_SENT = "customer_reply_sent"
    EMAIL_SENT = "email_sent"
    INVOICE_CREATED = "invoice_created"
    WORKFLOW_COMPLETED = "workflow_completed"
    CUSTOM = "custom"


class IdName(Model):
    id: str
    name: str | None = None


class Timestamped(Model):
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Deleted(Model):
    id: str
    deleted: bool = True


# --- accounts -------------------------------------------------------------------------------


class Company(Timestamped):
    id: str
    name: str
    timezone: str = "UTC"
    currency: str = "USD"
    week_start_day: str | None = None
    plan: str | None = None
    is_active: bool = True
    allow_past_timer_starts: bool = False
    default_hourly_rate: Decimal | None = None
    overlapping_entries: str | None = None
    rounding_mode: str | None = None
    rounding_increment: int | None = None
    auto_stop_after_hours: Decimal | None = None


class User(Timestamped):
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    telephone: str | None = None
    timezone: str | None = None
    user_type: Literal["human", "agent"] | None = None
    role: str | None = None
    access_roles: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    is_contractor: bool = False
    is_active: bool = True
    has_access_to_all_future_projects: bool = False
    weekly_capacity: int | None = None
    default_hourly_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    currency: str | None = None
    avatar_url: str | None = None
    company: IdName | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email


class ApiKey(Timestamped):
    id: str
    name: str
    scope: Literal["read", "write"]
    user: IdName | None = None
    prefix: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    is_active: bool = True
    token: str | None = None  # only in the answer to create, never again


# --- catalogue ------------------------------------------------------------------------------


class Client(Timestamped):
    id: str
    name: str
    address: str | None = None
    currency: str | None = None
    payment_terms: str | None = None
    payment_days: int | None = None
    tax: Decimal | None = None
    tax2: Decimal | None = None
    discount: Decimal | None = None
    is_active: bool = True
    statement_key: str | None = None


class Contact(Timestamped):
    id: str
    first_name: str
    client: IdName | None = None
    last_name: str | None = None
    title: str | None = None
    email: str | None = None
    phone_office: str | None = None
    phone_mobile: str | None = None
    fax: str | None = None


class Project(Timestamped):
    id: str
    name: str
    client: IdName | None = None
    code: str | None = None
    is_active: bool = True
    is_billable: bool = True
    is_fixed_fee: bool = False
    bill_by: str | None = None
    hourly_rate: Decimal | None = None
    fee: Decimal | None = None
    budget_by: str | None = None
    budget: Decimal | None = None
    budget_is_monthly: bool = False
    notify_when_over_budget: bool = False
    over_budget_notification_percentage: Decimal | None = None
    show_budget_to_all: bool = False
    cost_budget: Decimal | None = None
    cost_budget_include_expenses: bool = False
    currency: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    notes: str | None = None


class Task(Timestamped):
    id: str
    name: str
    billable_by_default: bool = True
    default_hourly_rate: Decimal | None = None
    is_default: bool = False
    is_active: bool = True
    parent_task_id: str | None = None


class TaskAssignment(Timestamped):
    id: str
    project: IdName
    task: IdName
    is_active: bool = True
    billable: bool = True
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None


class UserAssignment(Timestamped):
    id: str
    project: IdName
    user: IdName
    is_active: bool = True
    is_project_manager: bool = False
    use_default_rates: bool = True
    hourly_rate: Decimal | None = None
    budget: Decimal | None = None


# --- time -----------------------------------------------------------------------------------


class ExternalReference(Model):
    type: str
    id: str


class TimeEntry(Timestamped):
    id: str
    spent_date: date
    user_id: str
    project_id: str
    task_id: str
    user: IdName | None = None
    project: IdName | None = None
    task: IdName | None = None
    client_id: str | None = None
    client: IdName | None = None
    hours: Decimal = Decimal(0)
    rounded_hours: Decimal | None = None
    notes: str | None = None
    is_running: bool = False
    timer_started_at: datetime | None = None
    started_time: str | None = None
    ended_time: str | None = None
    billable: bool = False
    budgeted: bool = False
    billable_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    billable_amount: Decimal | None = None
    cost_amount: Decimal | None = None
    currency: str | None = None
    source: Source = "api"
    metadata: dict[str, Any] | None = None
    external_reference: ExternalReference | None = None
    approval_status: ApprovalStatus = "unsubmitted"
    rejection_reason: str | None = None
    is_locked: bool = False
    locked_reason: str | None = None
    is_closed: bool = False
    is_billed: bool = False
    warnings: list[str] = field(default_factory=list)


class TimeEntryTemplate(Timestamped):
    id: str
    name: str
    user_id: str | None = None
    project: IdName | None = None
    task: IdName | None = None
    notes: str | None = None
    hours: Decimal | None = None
    billable: bool | None = None
    metadata: dict[str, Any] | None = None


class StatsRow(Model):
    """Totals of a group of entries (`key`: a day, week, month or an id; None for all)."""

    key: str | None = None
    name: str | None = None
    currency: str | None = None
    count: int = 0
    hours: Decimal = Decimal(0)
    rounded_hours: Decimal = Decimal(0)
    billable_hours: Decimal = Decimal(0)
    billable_amount: Decimal = Decimal(0)
    cost_amount: Decimal = Decimal(0)


class TimeEntryStats(Model):
    """`totals` (one row per currency) and, when grouped, one row per group and currency."""

    group_by: str | None = None
    totals: list[StatsRow] = field(default_factory=list)
    results: list[StatsRow] = field(default_factory=list)


# --- expenses and outcomes ------------------------------------------------------------------


class ExpenseCategory(Timestamped):
    id: str
    name: str
    unit_name: str | None = None
    unit_price: Decimal | None = None
    is_active: bool = True


class Expense(Timestamped):
    id: str
    spent_date: date
    project_id: str | None = None
    expense_category_id: str | None = None
    user_id: str | None = None
    user: IdName | None = None
    project: IdName | None = None
    expense_category: IdName | None = None
    client: IdName | None = None
    client_id: str | None = None
    units: int | None = None
    unit_name: str | None = None
    unit_price: Decimal | None = None
    total_cost: Decimal = Decimal(0)
    currency: str | None = None
    notes: str | None = None
    billable: bool = True
    source: Source = "api"
    metadata: dict[str, Any] | None = None
    receipt_url: str | None = None
    receipt_file_name: str | None = None
    receipt_content_type: str | None = None
    receipt_size: int | None = None
    approval_status: ApprovalStatus | None = None
    rejection_reason: str | None = None
    is_locked: bool = False
    locked_reason: str | None = None
    is_closed: bool = False
    is_billed: bool = False


class Outcome(Timestamped):
    """A delivered result billed per unit. It is also a 0-hour time entry (`time_entry_id`),
    changed or deleted through time_entries."""

    id: str
    type: str
    time_entry_id: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    quantity: int = 1
    success: bool = True
    evidence: dict[str, Any] | None = None
    amount: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)
    currency: str | None = None
    spent_date: date | None = None
    user_id: str | None = None
    user: IdName | None = None
    project_id: str | None = None
    project: IdName | None = None
    task_id: str | None = None
    task: IdName | None = None
    client_id: str | None = None
    client: IdName | None = None
    source: Source = "api"
    billable: bool = True
    metadata: dict[str, Any] | None = None
    approval_status: ApprovalStatus = "unsubmitted"
    is_locked: bool = False
    is_billed: bool = False


# --- invoices -------------------------------------------------------------------------------


class LineItem(Model):
    id: str | None = None
    kind: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    taxed: bool = False
    taxed2: bool = False
    project_id: str | None = None


class Invoice(Timestamped):
    id: str
    client_id: str
    client: IdName | None = None
    number: str | None = None
    purchase_order: str | None = None
    subject: str | None = None
    state: Literal["draft", "open", "paid", "closed"] | None = None
    amount: Decimal | None = None
    due_amount: Decimal | None = None
    tax: Decimal | None = None
    tax_amount: Decimal | None = None
    tax2: Decimal | None = None
    tax2_amount: Decimal | None = None
    discount: Decimal | None = None
    discount_amount: Decimal | None = None
    currency: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    payment_term: str | None = None
    notes: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    sent_at: datetime | None = None
    paid_at: datetime | None = None
    closed_at: datetime | None = None
    line_items: list[LineItem] = field(default_factory=list)


class InvoiceMessage(Timestamped):
    id: str
    invoice_id: str | None = None
    sent_by: str | None = None
    sent_by_email: str | None = None
    recipients: list[dict[str, Any]] = field(default_factory=list)
    subject: str | None = None
    body: str | None = None
    event_type: str | None = None
    attach_pdf: bool = False
    send_me_a_copy: bool = False


class InvoicePayment(Timestamped):
    id: str
    amount: Decimal
    paid_at: datetime | None = None
    paid_date: date | None = None
    recorded_by: str | None = None
    notes: str | None = None


# --- reports --------------------------------------------------------------------------------


class TimeReportRow(Model):
    """A line of a time report, per client, project, task or team member (the `*_id` and
    `*_name` of its grouping are set) and currency. Keito's TeamTimeResult is a subset."""

    client_id: str | None = None
    client_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    task_id: str | None = None
    task_name: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    user_type: Literal["human", "agent"] | None = None
    is_contractor: bool = False
    weekly_capacity: int | None = None
    currency: str | None = None
    total_hours: Decimal = Decimal(0)
    billable_hours: Decimal = Decimal(0)
    billable_amount: Decimal = Decimal(0)
    cost_amount: Decimal = Decimal(0)
    entries: int = 0
    outcomes: int = 0
    successful_outcomes: int = 0
    outcome_revenue: Decimal = Decimal(0)
    total_revenue: Decimal = Decimal(0)


class ExpenseReportRow(Model):
    client_id: str | None = None
    client_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    expense_category_id: str | None = None
    expense_category_name: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    currency: str | None = None
    total_amount: Decimal = Decimal(0)
    billable_amount: Decimal = Decimal(0)
    expenses: int = 0


class UninvoicedRow(Model):
    project_id: str
    project_name: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    currency: str | None = None
    total_hours: Decimal = Decimal(0)
    uninvoiced_hours: Decimal = Decimal(0)
    uninvoiced_time: Decimal = Decimal(0)
    uninvoiced_outcomes: Decimal = Decimal(0)
    uninvoiced_expenses: Decimal = Decimal(0)
    uninvoiced_amount: Decimal = Decimal(0)


class ProjectBudget(Model):
    project_id: str
    project_name: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    is_active: bool = True
    budget_by: str | None = None
    budget_is_monthly: bool = False
    unit: Literal["hours", "money"] = "hours"
    currency: str | None = None
    period: str | None = None
    budget: Decimal | None = None
    budget_spent: Decimal = Decimal(0)
    budget_remaining: Decimal | None = None
    percent_used: Decimal | None = None
    over_threshold: bool = False


class TimeSummary(Model):
    total_hours: Decimal = Decimal(0)
    billable_hours: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)
    entries: int = 0


class OutcomeSummary(Model):
    total: int = 0
    successful: int = 0
    revenue: Decimal = Decimal(0)


class CombinedSummary(Model):
    total_revenue: Decimal = Decimal(0)


class CostSummary(Model):
    model: Decimal = Decimal(0)
    expenses: Decimal = Decimal(0)
    labor: Decimal = Decimal(0)
    total: Decimal = Decimal(0)


class MarginSummary(Model):
    amount: Decimal = Decimal(0)
    percent: Decimal | None = None


class SummaryFigures(Model):
    currency: str | None = None
    time: TimeSummary = field(default_factory=TimeSummary)
    outcomes: OutcomeSummary = field(default_factory=OutcomeSummary)
    combined: CombinedSummary = field(default_factory=CombinedSummary)
    cost: CostSummary = field(default_factory=CostSummary)
    margin: MarginSummary = field(default_factory=MarginSummary)


class AgentSummary(SummaryFigures):
    """What one user (agent or person) did, earned and cost over a range. With work in
    several currencies the top level adds them up (`currency` None); `by_currency` has each."""

    user_id: str | None = None
    user_name: str | None = None
    user_type: Literal["human", "agent"] | None = None
    from_date: date | None = None
    to_date: date | None = None
    by_currency: list[SummaryFigures] = field(default_factory=list)

    wire_names: ClassVar[Mapping[str, str]] = {"from_date": "from", "to_date": "to"}


# --- webhooks -------------------------------------------------------------------------------


class Webhook(Timestamped):
    id: str
    url: str
    events: list[str] = field(default_factory=list)
    description: str | None = None
    active: bool = True
    api_key_id: str | None = None
    failure_count: int = 0
    last_delivery_at: datetime | None = None
    last_status_code: int | None = None
    disabled_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None
    secret: str | None = None  # only on create and rotate_secret


class WebhookAttempt(Model):
    attempted_at: datetime
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = None
    response_body: str | None = None


class WebhookDelivery(Timestamped):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int = 0
    last_status_code: int | None = None
    next_attempt_at: datetime | None = None
    attempts: list[WebhookAttempt] = field(default_factory=list)
