"""expenses, outcomes, budget alerts, and full-text search over time-entry notes

Search objects no model describes (migrate.include_object keeps them out of the drift check):
- SQLite: `time_entry_search_keys` gives each entry a stable integer key (an INTEGER PRIMARY
  KEY: VACUUM never renumbers it), `time_entries_fts` (FTS5) holds the notes under that key,
  and three triggers keep both in step on every insert, notes update and delete.
- PostgreSQL: `time_entries.search_vector`, a stored generated tsvector, with a GIN index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expense_categories",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("unit_name", sa.String(length=64), nullable=True),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expense_categories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expense_categories_account_id"), ["account_id", "id"], unique=False
        )

    op.create_table(
        "expenses",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("expense_category_id", sa.Uuid(), nullable=False),
        sa.Column("spent_date", sa.Date(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=True),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("total_cost", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("receipt_key", sa.String(length=128), nullable=True),
        sa.Column("receipt_file_name", sa.String(length=255), nullable=True),
        sa.Column("receipt_content_type", sa.String(length=64), nullable=True),
        sa.Column("receipt_size", sa.Integer(), nullable=True),
        sa.Column("approval_status", sa.String(length=12), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_billed", sa.Boolean(), nullable=False),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
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
            ["expense_category_id"],
            ["expense_categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_expenses_account_date", ["account_id", "spent_date", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expenses_account_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_expenses_account_project_date",
            ["account_id", "project_id", "spent_date", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_expenses_account_updated", ["account_id", "updated_at"], unique=False
        )
        batch_op.create_index(
            "ix_expenses_account_user_date",
            ["account_id", "user_id", "spent_date", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_expenses_expense_category_id"), ["expense_category_id"], unique=False
        )

    op.create_table(
        "project_budget_alerts",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("percent_used", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "period", name="uq_project_budget_alerts_period"),
    )
    with op.batch_alter_table("project_budget_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_budget_alerts_account_id"), ["account_id", "id"], unique=False
        )

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("spent_date", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column(
            "evidence", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["id"], ["time_entries.id"], ondelete="CASCADE"),
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
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outcomes_account_date", ["account_id", "spent_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outcomes_account_id"), ["account_id", "id"], unique=False
        )
        batch_op.create_index("ix_outcomes_account_type", ["account_id", "type"], unique=False)
        batch_op.create_index(
            "ix_outcomes_account_user_date", ["account_id", "user_id", "spent_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outcomes_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_task_id"), ["task_id"], unique=False)

    _create_search()


SEARCH_CONFIG = "english"  # reports/search.py TS_CONFIG
SQLITE_SEARCH = (
    """CREATE TABLE time_entry_search_keys (
        key INTEGER PRIMARY KEY,
        entry_id CHAR(32) NOT NULL UNIQUE
    )""",
    """CREATE VIRTUAL TABLE time_entries_fts
        USING fts5(notes, tokenize = 'porter unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER time_entries_search_insert AFTER INSERT ON time_entries BEGIN
        INSERT INTO time_entry_search_keys (entry_id) VALUES (new.id);
        INSERT INTO time_entries_fts (rowid, notes)
            SELECT last_insert_rowid(), new.notes WHERE coalesce(new.notes, '') <> '';
    END""",
    """CREATE TRIGGER time_entries_search_update AFTER UPDATE OF notes ON time_entries BEGIN
        DELETE FROM time_entries_fts WHERE rowid =
            (SELECT key FROM time_entry_search_keys WHERE entry_id = old.id);
        INSERT INTO time_entries_fts (rowid, notes)
            SELECT key, new.notes FROM time_entry_search_keys
            WHERE entry_id = new.id AND coalesce(new.notes, '') <> '';
    END""",
    """CREATE TRIGGER time_entries_search_delete AFTER DELETE ON time_entries BEGIN
        DELETE FROM time_entries_fts WHERE rowid =
            (SELECT key FROM time_entry_search_keys WHERE entry_id = old.id);
        DELETE FROM time_entry_search_keys WHERE entry_id = old.id;
    END""",
    "INSERT INTO time_entry_search_keys (entry_id) SELECT id FROM time_entries",
    """INSERT INTO time_entries_fts (rowid, notes)
        SELECT k.key, t.notes FROM time_entry_search_keys k
        JOIN time_entries t ON t.id = k.entry_id WHERE coalesce(t.notes, '') <> ''""",
)
POSTGRESQL_SEARCH = (
    f"""ALTER TABLE time_entries ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('{SEARCH_CONFIG}', coalesce(notes, ''))) STORED""",
    "CREATE INDEX ix_time_entries_search ON time_entries USING gin (search_vector)",
)


def _create_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRESQL_SEARCH}.get(dialect, ()):
        op.execute(statement)


def _drop_search() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS time_entries_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS time_entries_fts")
        op.execute("DROP TABLE IF EXISTS time_entry_search_keys")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_time_entries_search")
        op.execute("ALTER TABLE time_entries DROP COLUMN IF EXISTS search_vector")


def downgrade() -> None:
    _drop_search()
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_task_id"))
        batch_op.drop_index(batch_op.f("ix_outcomes_project_id"))
        batch_op.drop_index("ix_outcomes_account_user_date")
        batch_op.drop_index("ix_outcomes_account_type")
        batch_op.drop_index(batch_op.f("ix_outcomes_account_id"))
        batch_op.drop_index("ix_outcomes_account_date")

    op.drop_table("outcomes")
    with op.batch_alter_table("project_budget_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_budget_alerts_account_id"))

    op.drop_table("project_budget_alerts")
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expenses_expense_category_id"))
        batch_op.drop_index("ix_expenses_account_user_date")
        batch_op.drop_index("ix_expenses_account_updated")
        batch_op.drop_index("ix_expenses_account_project_date")
        batch_op.drop_index(batch_op.f("ix_expenses_account_id"))
        batch_op.drop_index("ix_expenses_account_date")

    op.drop_table("expenses")
    with op.batch_alter_table("expense_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expense_categories_account_id"))

    op.drop_table("expense_categories")
