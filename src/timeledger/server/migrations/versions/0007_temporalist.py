"""what the Temporal.ist surface records beyond the core: how a session was started, whether
a project is tracked automatically, and a client's company, billing email and default rate

Revision ID: 0007_temporalist
Revises: 0006_surfaces
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_temporalist"
down_revision = "0006_surfaces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("time_entries", sa.Column("started_via", sa.String(length=16), nullable=True))
    op.add_column(
        "projects",
        sa.Column("auto_track", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("clients", sa.Column("company", sa.String(length=255), nullable=True))
    op.add_column("clients", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column("clients", sa.Column("hourly_rate", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("hourly_rate")
        batch_op.drop_column("email")
        batch_op.drop_column("company")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("auto_track")
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_column("started_via")
