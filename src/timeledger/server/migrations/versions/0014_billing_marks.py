"""billing marks: what an invoice billed moves off time_entries and expenses to a narrow table

Billing set is_billed and invoice_id on each billed row, which rewrote the row and its
indexes (the figures index held is_billed): 100,000 entries took 1.6 s on SQLite and 3 s on
PostgreSQL. A billed row now has a row in `billing_marks` (tracking/models.py BillingMark)
instead, stamped released_at when its invoice lets it go. Existing billed rows keep their
invoice, marked at its creation.

SQLite drops the columns in place (ALTER TABLE ... DROP COLUMN, SQLite 3.35+): a batch
"move and copy" of time_entries would drop the full-text search triggers of migration 0004.

Revision ID: 0014_billing_marks
Revises: 0013_credentials_version
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_billing_marks"
down_revision = "0013_credentials_version"
branch_labels = None
depends_on = None

BILLED = ("time_entries", "expenses")
FIGURES = (
    "account_id",
    "spent_date",
    "is_running",
    "user_id",
    "project_id",
    "task_id",
    "source",
    "billable",
    "duration_seconds",
    "currency",
    "rounded_seconds",
    "billable_minor",
    "cost_minor",
)


def _figures_index(*, with_is_billed: bool) -> None:
    """Migration 0010's covering index of time_entries, with or without is_billed."""
    columns = list(FIGURES)
    if with_is_billed:
        columns.insert(columns.index("duration_seconds"), "is_billed")
    op.create_index("ix_time_entries_figures", "time_entries", columns, unique=False)


def upgrade() -> None:
    op.create_table(
        "billing_marks",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("billed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("item_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_billing_marks_invoice_id", "billing_marks", ["invoice_id"], unique=False)
    released = sa.text("released_at IS NOT NULL")
    op.create_index(
        "ix_billing_marks_released",
        "billing_marks",
        ["account_id", "released_at"],
        unique=False,
        sqlite_where=released,
        postgresql_where=released,
    )
    for table in BILLED:
        op.execute(
            "INSERT INTO billing_marks (item_id, account_id, invoice_id, billed_at) "  # noqa: S608
            f"SELECT t.id, t.account_id, t.invoice_id, i.created_at FROM {table} t "
            f"JOIN invoices i ON i.id = t.invoice_id WHERE t.is_billed"
        )
    op.drop_index("ix_time_entries_figures", table_name="time_entries")
    for table in BILLED:
        op.drop_index(f"ix_{table}_invoice_id", table_name=table)
        for column in ("invoice_id", "is_billed"):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    _figures_index(with_is_billed=False)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_time_entries_figures", table_name="time_entries")
    for table in BILLED:
        reference = "CHAR(32) REFERENCES invoices (id)" if sqlite else "uuid REFERENCES invoices"
        op.execute(f"ALTER TABLE {table} ADD COLUMN invoice_id {reference}")
        op.execute(f"ALTER TABLE {table} ADD COLUMN is_billed BOOLEAN NOT NULL DEFAULT false")
        op.execute(
            f"UPDATE {table} SET is_billed = true, invoice_id = (SELECT m.invoice_id FROM "  # noqa: S608
            f"billing_marks m WHERE m.item_id = {table}.id) WHERE id IN "
            f"(SELECT item_id FROM billing_marks WHERE released_at IS NULL)"
        )
        op.create_index(f"ix_{table}_invoice_id", table, ["invoice_id"], unique=False)
    _figures_index(with_is_billed=True)
    op.drop_table("billing_marks")
