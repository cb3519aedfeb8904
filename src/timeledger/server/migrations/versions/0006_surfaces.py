"""what the AlgaPSA surface records beyond the core: the billable part of an entry's time

Revision ID: 0006_surfaces
Revises: 0005_billing
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_surfaces"
down_revision = "0005_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("time_entries", sa.Column("billable_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_column("billable_seconds")
