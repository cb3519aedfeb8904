"""user_day_time: each user's finished time per day, kept for reports over people and days

Team time over a year summed 275,000 entries in the benchmark's ledger: 390 ms on SQLite,
230 ms on PostgreSQL, against budgets of 300 and 150. Reports with no filter but people and
dates now sum a row per user and day (reports/models.py UserDayTime), kept in step with
every write by reports/derived.py. Filled here from the entries' stored figures.

Revision ID: 0015_user_day_time
Revises: 0014_billing_marks
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_user_day_time"
down_revision = "0014_billing_marks"
branch_labels = None
depends_on = None

MEASURES = ("entries", "raw_hours", "hours", "billable_hours", "billable_minor", "cost_minor")


def upgrade() -> None:
    op.create_table(
        "user_day_time",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("spent_date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MEASURES),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "spent_date", "user_id", "currency"),
        sqlite_with_rowid=False,
    )
    # Hours as reports/sql.py Figures.hours: ten-thousandths, half-up, entry by entry.
    rounded = "(CAST(rounded_seconds AS BIGINT) * 20000 + 3600) / 7200"
    op.execute(
        f"INSERT INTO user_day_time (account_id, spent_date, user_id, currency, "  # noqa: S608
        f"{', '.join(MEASURES)}) "
        "SELECT account_id, spent_date, user_id, currency, count(*), "
        "sum((CAST(duration_seconds AS BIGINT) * 20000 + 3600) / 7200), "
        f"sum({rounded}), sum(CASE WHEN billable THEN {rounded} ELSE 0 END), "
        "sum(billable_minor), sum(cost_minor) "
        "FROM time_entries WHERE NOT is_running "
        "GROUP BY account_id, spent_date, user_id, currency"
    )


def downgrade() -> None:
    op.drop_table("user_day_time")
