"""time entries and templates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "time_entries",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("spent_date", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("is_running", sa.Boolean(), nullable=False),
        sa.Column("timer_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("billable_rate", sa.BigInteger(), nullable=True),
        sa.Column("cost_rate", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("external_ref_type", sa.String(length=64), nullable=True),
        sa.Column("external_ref_id", sa.String(length=255), nullable=True),
        sa.Column("approval_status", sa.String(length=12), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("is_billed", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_time_entries_account_date", ["account_id", "spent_date", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_time_entries_account_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_time_entries_account_project_date",
            ["account_id", "project_id", "spent_date", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_time_entries_account_updated", ["account_id", "updated_at"], unique=False
        )
        batch_op.create_index(
            "ix_time_entries_account_user_date",
            ["account_id", "user_id", "spent_date", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_time_entries_external_ref",
            ["account_id", "external_ref_type", "external_ref_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_time_entries_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            "uq_time_entries_running_user",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("is_running = 1"),
            postgresql_where=sa.text("is_running"),
        )

    op.create_table(
        "time_entry_templates",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("hours", sa.BigInteger(), nullable=True),
        sa.Column("billable", sa.Boolean(), nullable=True),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("time_entry_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_time_entry_templates_account_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_time_entry_templates_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_time_entry_templates_task_id"), ["task_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_time_entry_templates_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("time_entry_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_time_entry_templates_user_id"))
        batch_op.drop_index(batch_op.f("ix_time_entry_templates_task_id"))
        batch_op.drop_index(batch_op.f("ix_time_entry_templates_project_id"))
        batch_op.drop_index(batch_op.f("ix_time_entry_templates_account_id"))

    op.drop_table("time_entry_templates")
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_time_entries_running_user",
            sqlite_where=sa.text("is_running = 1"),
            postgresql_where=sa.text("is_running"),
        )
        batch_op.drop_index(batch_op.f("ix_time_entries_task_id"))
        batch_op.drop_index("ix_time_entries_external_ref")
        batch_op.drop_index("ix_time_entries_account_user_date")
        batch_op.drop_index("ix_time_entries_account_updated")
        batch_op.drop_index("ix_time_entries_account_project_date")
        batch_op.drop_index(batch_op.f("ix_time_entries_account_id"))
        batch_op.drop_index("ix_time_entries_account_date")

    op.drop_table("time_entries")
