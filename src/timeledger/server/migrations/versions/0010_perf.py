"""stored billed figures of time entries, and the index that covers what reports read

Each entry keeps its currency, rounded seconds and billable/cost amounts in minor units
(reports/derived.py keeps them in step); existing entries are filled here with the rules of
that revision: rounding by the account's setting, currency of the project, else its client,
else the account, amounts = rate x seconds / 3600 half-up to the currency's minor unit.

Revision ID: 0010_perf
Revises: 0009_audit
Create Date: 2026-11-27
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from timeledger.server.core.money import minor_units

revision = "0010_perf"
down_revision = "0009_audit"
branch_labels = None
depends_on = None

FIGURES = ("currency", "rounded_seconds", "billable_minor", "cost_minor")
INDEXED = (
    "account_id",
    "spent_date",
    "is_running",
    "user_id",
    "project_id",
    "task_id",
    "source",
    "billable",
    "is_billed",
    "duration_seconds",
    *FIGURES,
)


def upgrade() -> None:
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(3), nullable=False, server_default=""))
        for name in ("rounded_seconds", "billable_minor", "cost_minor"):
            kind = sa.Integer() if name == "rounded_seconds" else sa.BigInteger()
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default="0"))
    _backfill()
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.create_index("ix_time_entries_figures", list(INDEXED), unique=False)
    op.create_table(
        "project_spending",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("hours", sa.BigInteger(), nullable=False),
        sa.Column("billable_minor", sa.BigInteger(), nullable=False),
        sa.Column("outcome_revenue", sa.BigInteger(), nullable=False),
        sa.Column("expense_billable", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "month"),
    )
    with op.batch_alter_table("project_spending", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_spending_account_id"), ["account_id"])
    _backfill_spending()


def _rounded(mode: str, step: int) -> str:
    """tracking.timing.round_seconds over duration_seconds, in SQL."""
    d = "duration_seconds"
    if mode == "none" or step <= 1:
        return d
    down = f"({d} - {d} % {step})"
    if mode == "down":
        return down
    if mode == "up":
        return f"(CASE WHEN {d} % {step} = 0 THEN {d} ELSE {down} + {step} END)"
    return f"(CASE WHEN ({d} % {step}) * 2 >= {step} THEN {down} + {step} ELSE {down} END)"


def _amount(rate: str, seconds: str, minor: int) -> str:
    """rate (4 places, scaled) x seconds / 3600, half-up, in minor units: whole hours first,
    so no product leaves 64 bits on either engine."""
    per_hour = 10 ** (4 - minor)
    divisor = 3600 * per_hour
    whole = f"({rate} * ({seconds} / 3600))"
    carry = f"({whole} % {per_hour} * 3600 + {rate} * ({seconds} % 3600))"
    return f"({whole} / {per_hour} + (2 * {carry} + {divisor}) / {2 * divisor})"


def _backfill() -> None:
    conn = op.get_bind()
    columns = {c["name"] for c in sa.inspect(conn).get_columns("time_entries")}
    accounts = conn.execute(sa.text("SELECT id, currency, settings FROM accounts")).all()
    for account_id, account_currency, raw_settings in accounts:
        stored = json.loads(raw_settings) if isinstance(raw_settings, str) else raw_settings
        settings = stored or {}
        mode = settings.get("rounding_mode") or "none"
        step = int(settings.get("rounding_increment") or 1) * 60
        rounded = _rounded(mode, step)
        billed = (
            f"COALESCE(billable_seconds, {rounded})" if "billable_seconds" in columns else rounded
        )
        projects = conn.execute(
            sa.text(
                "SELECT p.id, COALESCE(p.currency, c.currency, :currency) FROM projects p "
                "LEFT JOIN clients c ON c.id = p.client_id WHERE p.account_id = :account"
            ),
            {"currency": account_currency, "account": account_id},
        ).all()
        by_currency: dict[str, list[object]] = {}
        for project_id, code in projects:
            by_currency.setdefault(code, []).append(project_id)
        for code, ids in by_currency.items():
            minor = minor_units(code)
            # Only integers and fixed column names are written into the SQL.
            sql = (
                "UPDATE time_entries SET currency = :code, "  # noqa: S608
                f"rounded_seconds = {rounded}, "
                "billable_minor = CASE WHEN billable AND billable_rate IS NOT NULL "
                f"THEN {_amount('billable_rate', billed, minor)} ELSE 0 END, "
                "cost_minor = CASE WHEN cost_rate IS NOT NULL "
                f"THEN {_amount('cost_rate', rounded, minor)} ELSE 0 END "
                "WHERE account_id = :account AND project_id IN :projects"
            )
            stmt = sa.text(sql).bindparams(sa.bindparam("projects", expanding=True))
            conn.execute(stmt, {"code": code, "account": account_id, "projects": ids})


def _backfill_spending() -> None:
    """Per project and month: rounded hours and billable amounts of finished time, revenue of
    successful outcomes, billable expenses."""
    sqlite = op.get_bind().dialect.name == "sqlite"

    def month(column: str) -> str:
        if sqlite:
            return f"date({column}, 'start of month')"
        return f"CAST(date_trunc('month', {column}) AS DATE)"

    op.execute(
        "INSERT INTO project_spending (project_id, month, account_id, hours, billable_minor, "  # noqa: S608
        "outcome_revenue, expense_billable) "
        "SELECT project_id, month, account_id, SUM(h), SUM(b), SUM(o), SUM(e) FROM ("
        f"SELECT project_id, {month('spent_date')} AS month, account_id, "
        "(rounded_seconds * 20000 + 3600) / 7200 AS h, billable_minor AS b, 0 AS o, 0 AS e "
        "FROM time_entries WHERE NOT is_running "
        f"UNION ALL SELECT project_id, {month('spent_date')}, account_id, 0, 0, "
        "CASE WHEN success THEN amount ELSE 0 END, 0 FROM outcomes "
        f"UNION ALL SELECT project_id, {month('spent_date')}, account_id, 0, 0, 0, "
        "CASE WHEN billable THEN total_cost ELSE 0 END FROM expenses"
        ") AS spent GROUP BY project_id, month, account_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("project_spending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_spending_account_id"))
    op.drop_table("project_spending")
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_time_entries_figures")
        for name in reversed(FIGURES):
            batch_op.drop_column(name)
