"""outcomes keep their entry's currency, and an index covers what reports sum

Team time summed outcome revenue by joining each outcome to its entry for the currency:
about 120 ms of SQLite's 220 over a year of the benchmark's ledger. With the currency on the
outcome (kept by outcomes/projection.py and reports/derived.py), reports over people and
dates read outcomes alone, through `ix_outcomes_figures` (it replaces
`ix_outcomes_account_date`, which its first two columns still serve).

Revision ID: 0016_outcome_currency
Revises: 0015_user_day_time
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_outcome_currency"
down_revision = "0015_user_day_time"
branch_labels = None
depends_on = None

FIGURES = ("account_id", "spent_date", "user_id", "currency", "success", "amount")


def upgrade() -> None:
    op.add_column(
        "outcomes", sa.Column("currency", sa.String(3), nullable=False, server_default="")
    )
    op.execute(
        "UPDATE outcomes SET currency = "
        "(SELECT t.currency FROM time_entries t WHERE t.id = outcomes.id)"
    )
    op.drop_index("ix_outcomes_account_date", table_name="outcomes")
    op.create_index("ix_outcomes_figures", "outcomes", list(FIGURES), unique=False)


def downgrade() -> None:
    op.drop_index("ix_outcomes_figures", table_name="outcomes")
    op.create_index(
        "ix_outcomes_account_date", "outcomes", ["account_id", "spent_date"], unique=False
    )
    op.execute("ALTER TABLE outcomes DROP COLUMN currency")  # in place, as 0014 does
