"""PostgreSQL search vectors move off time_entries into a narrow side table

Claiming work for an invoice rewrites every claimed time_entries row; with the tsvector a
stored generated column of that row, each rewrite recomputed it and added every token of the
row to the GIN index again (on 100,000 entries: 1.38 million WAL records and 224 MB of WAL
against 1.21 million and 133 MB without it). `time_entry_search` holds the vector instead,
kept by triggers on time_entries: a statement trigger on INSERT (set-based, so bulk loads
and COPY stay fast) and a row trigger on UPDATE OF notes; deletes cascade. No model describes
it (migrate.UNMODELLED_*). SQLite's FTS5 table (migration 0004) is already separate.

Revision ID: 0011_search_table
Revises: 0010_perf
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0011_search_table"
down_revision = "0010_perf"
branch_labels = None
depends_on = None

# The text search configuration is reports/search.py's TS_CONFIG, "english".

UPGRADE = (
    """CREATE TABLE time_entry_search (
        entry_id uuid PRIMARY KEY REFERENCES time_entries (id) ON DELETE CASCADE,
        search_vector tsvector NOT NULL
    )""",
    "INSERT INTO time_entry_search (entry_id, search_vector) "
    "SELECT id, search_vector FROM time_entries",
    "DROP INDEX ix_time_entries_search",
    "ALTER TABLE time_entries DROP COLUMN search_vector",
    "CREATE INDEX ix_time_entry_search ON time_entry_search USING gin (search_vector)",
    """CREATE FUNCTION time_entry_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO time_entry_search (entry_id, search_vector)
            SELECT id, to_tsvector('english', coalesce(notes, '')) FROM inserted;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER time_entries_search_insert AFTER INSERT ON time_entries
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION time_entry_search_inserted()""",
    """CREATE FUNCTION time_entry_search_noted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE time_entry_search SET search_vector =
            to_tsvector('english', coalesce(NEW.notes, ''))
        WHERE entry_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER time_entries_search_update AFTER UPDATE OF notes ON time_entries
        FOR EACH ROW WHEN (OLD.notes IS DISTINCT FROM NEW.notes)
        EXECUTE FUNCTION time_entry_search_noted()""",
)

DOWNGRADE = (
    "DROP TRIGGER time_entries_search_update ON time_entries",
    "DROP TRIGGER time_entries_search_insert ON time_entries",
    "DROP FUNCTION time_entry_search_noted()",
    "DROP FUNCTION time_entry_search_inserted()",
    "DROP TABLE time_entry_search",
    """ALTER TABLE time_entries ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english', coalesce(notes, ''))) STORED""",
    "CREATE INDEX ix_time_entries_search ON time_entries USING gin (search_vector)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
