"""invoices, their line items, payments and messages, per-account invoice number counters,
and the invoice that bills each time entry and expense

Revision ID: 0005_billing
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_billing"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tables the other tables' invoice_id columns point at; created first, dropped last.
BILLED = ("time_entries", "expenses")


def _scoped() -> list[sa.Column[object]]:
    """The columns of every account-scoped table (core/models.py AccountScoped)."""
    return [
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _owned() -> list[sa.schema.SchemaItem]:
    return [
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    ]


def _indexes(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_account_id", table, ["account_id", "id"], unique=False)
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "invoices",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("purchase_order", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("payment_term", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("tax", sa.BigInteger(), nullable=True),
        sa.Column("tax2", sa.BigInteger(), nullable=True),
        sa.Column("discount", sa.BigInteger(), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax2_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_date", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_void", sa.Boolean(), nullable=False),
        *_scoped(),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "number", name="uq_invoices_account_number"),
    )
    _indexes("invoices")
    op.create_index("ix_invoices_account_client", "invoices", ["account_id", "client_id", "id"])
    op.create_index(
        "ix_invoices_account_issue_date", "invoices", ["account_id", "issue_date", "id"]
    )
    op.create_index("ix_invoices_account_updated", "invoices", ["account_id", "updated_at"])

    op.create_table(
        "invoice_line_items",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("taxed", sa.Boolean(), nullable=False),
        sa.Column("taxed2", sa.Boolean(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        *_scoped(),
        *_owned(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    )
    _indexes("invoice_line_items", "invoice_id", "project_id")

    op.create_table(
        "invoice_payments",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_date", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        *_scoped(),
        *_owned(),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
    )
    _indexes("invoice_payments", "invoice_id")

    op.create_table(
        "invoice_messages",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("sent_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "recipients", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("attach_pdf", sa.Boolean(), nullable=False),
        sa.Column("send_me_a_copy", sa.Boolean(), nullable=False),
        sa.Column("include_attachments", sa.Boolean(), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=True),
        *_scoped(),
        *_owned(),
        sa.ForeignKeyConstraint(["sent_by_id"], ["users.id"]),
    )
    _indexes("invoice_messages", "invoice_id")

    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in BILLED:
        if sqlite:
            # In place with ADD COLUMN ... REFERENCES (which Alembic cannot emit for SQLite): a
            # batch "move and copy" of time_entries would drop the full-text search triggers
            # migration 0004 put on it. CHAR(32) is how sa.Uuid is stored on SQLite.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN invoice_id CHAR(32) REFERENCES invoices (id)"
            )
        else:
            op.add_column(
                table,
                sa.Column("invoice_id", sa.Uuid(), sa.ForeignKey("invoices.id"), nullable=True),
            )
        op.create_index(f"ix_{table}_invoice_id", table, ["invoice_id"], unique=False)


def downgrade() -> None:
    for table in BILLED:
        op.drop_index(f"ix_{table}_invoice_id", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("invoice_id")
    for table in ("invoice_messages", "invoice_payments", "invoice_line_items", "invoices"):
        op.drop_table(table)
    op.drop_table("invoice_counters")
