"""the audit log, append-only in the database itself

Triggers refuse every UPDATE of audit_log, and every DELETE (and, on PostgreSQL, TRUNCATE)
except the one an account's own deletion cascades to: an account's history goes with it,
and nothing else can remove or rewrite a record. An operator who must purge old records
drops the trigger for that one transaction, deliberately.

Revision ID: 0009_audit
Revises: 0008_hardening
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_audit"
down_revision = "0008_hardening"
branch_labels = None
depends_on = None

SQLITE_APPEND_ONLY = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN EXISTS (SELECT 1 FROM accounts WHERE id = OLD.account_id)
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
    END
    """,
)

POSTGRESQL_APPEND_ONLY = (
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE'
           AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = OLD.account_id) THEN
            RETURN OLD;  -- the account is being deleted: its history goes with it
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("surface", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "before", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("after", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_account_id", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_audit_log_object_id", ["object_id"], unique=False)
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_APPEND_ONLY, "postgresql": POSTGRESQL_APPEND_ONLY}
    for statement in statements.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
        return
    op.drop_table("audit_log")  # its triggers go with it
