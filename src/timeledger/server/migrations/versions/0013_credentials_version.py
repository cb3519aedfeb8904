"""accounts.credentials_version: a counter the database raises on every change to an account,
its users or its keys, so a server process can keep what it knows about API keys and still
see a revocation at once by reading one integer per request (accounts/credentials.py).

Triggers raise it, not the application: a key revoked or a user deactivated by any writer
(the API, the CLI, another process, an operator's SQL) counts. Stamping a key's last use
(once a minute per key) is not a change of credentials and leaves it alone.

Revision ID: 0013_credentials_version
Revises: 0011_search_table
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_credentials_version"
down_revision = "0011_search_table"
branch_labels = None
depends_on = None

_RAISE = (
    "UPDATE accounts SET credentials_version = credentials_version + 1 WHERE id = {row}.account_id"
)

SQLITE = (
    f"""CREATE TRIGGER api_keys_credentials_update AFTER UPDATE ON api_keys
    WHEN new.last_used_at IS old.last_used_at
    BEGIN {_RAISE.format(row="old")}; {_RAISE.format(row="new")}; END""",
    f"""CREATE TRIGGER api_keys_credentials_delete AFTER DELETE ON api_keys
    BEGIN {_RAISE.format(row="old")}; END""",
    f"""CREATE TRIGGER users_credentials_update AFTER UPDATE ON users
    BEGIN {_RAISE.format(row="old")}; {_RAISE.format(row="new")}; END""",
    f"""CREATE TRIGGER users_credentials_delete AFTER DELETE ON users
    BEGIN {_RAISE.format(row="old")}; END""",
    """CREATE TRIGGER accounts_credentials_update AFTER UPDATE ON accounts
    WHEN new.credentials_version IS old.credentials_version
    BEGIN UPDATE accounts SET credentials_version = credentials_version + 1
    WHERE id = new.id; END""",
)
SQLITE_DROP = (
    "api_keys_credentials_update",
    "api_keys_credentials_delete",
    "users_credentials_update",
    "users_credentials_delete",
    "accounts_credentials_update",
)

POSTGRESQL = (
    f"""CREATE FUNCTION credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_RAISE.format(row="OLD")};
        IF TG_OP = 'UPDATE' AND NEW.account_id IS DISTINCT FROM OLD.account_id THEN
            {_RAISE.format(row="NEW")};
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER api_keys_credentials_update AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (NEW.last_used_at IS NOT DISTINCT FROM OLD.last_used_at)
    EXECUTE FUNCTION credentials_changed()""",
    """CREATE TRIGGER api_keys_credentials_delete AFTER DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION credentials_changed()""",
    """CREATE TRIGGER users_credentials AFTER UPDATE OR DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION credentials_changed()""",
    """CREATE FUNCTION account_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.credentials_version := OLD.credentials_version + 1;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER accounts_credentials BEFORE UPDATE ON accounts FOR EACH ROW
    WHEN (NEW.credentials_version = OLD.credentials_version)
    EXECUTE FUNCTION account_credentials_changed()""",
)
POSTGRESQL_DROP = (
    "DROP TRIGGER accounts_credentials ON accounts",
    "DROP TRIGGER users_credentials ON users",
    "DROP TRIGGER api_keys_credentials_delete ON api_keys",
    "DROP TRIGGER api_keys_credentials_update ON api_keys",
    "DROP FUNCTION account_credentials_changed()",
    "DROP FUNCTION credentials_changed()",
)


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("credentials_version", sa.Integer(), nullable=False, server_default="0"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE if sqlite else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_DROP:
            op.execute(f"DROP TRIGGER {name}")
    else:
        for statement in POSTGRESQL_DROP:
            op.execute(statement)
    # In place on SQLite too (3.35+): rebuilding accounts would trip other tables' triggers.
    op.execute("ALTER TABLE accounts DROP COLUMN credentials_version")
