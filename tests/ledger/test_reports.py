"""Reports against the list endpoints: every total equals the sum of the per-entry figures the
lists show (rounded hours, amounts half-up per entry), on both engines, for every rounding
mode and currency; the Keito SDK reads the team report; budgets announce their crossing once."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event

from callkit import V2, assert_error, get, ok, post

MONTH = {"from": "2026-03-01", "to": "2026-03-31"}
# Durations (hours) chosen to land on both sides of every rounding step.
HOURS = ["0.01", "0.07", "0.1234", "0.25", "0.26", "1.5", "2.9999", "7.77"]


def _people(api, caller):
    ada = post(api, "users", email="ada@acme.example", first_name="Ada", cost_rate="61.3333")
    bot = post(
        api,
        "users",
        email="bot@acme.example",
        first_name="Bot",
        user_type="agent",
        cost_rate="0.4567",
    )
    return ada, bot


def _log_month(api, book, users):
    """Entries over March in USD and EUR, billable or not, for the owner and `users`."""
    for i, hours in enumerate(HOURS):
        for user in [None, *users]:
            body = book.entry(spent_date=f"2026-03-{i + 2:02d}", hours=hours, notes=f"work {i}")
            if user is not None:
                body["user_id"] = user["id"]
            if i % 3 == 1:
                body["project_id"] = book.eur_project_id
            if i % 4 == 3:
                body["billable"] = False
            post(api, "time_entries", **body)
    post(api, "time_entries", **book.entry(spent_date="2026-04-01", hours=3))  # out of range


def _sums(entries, key):
    """What a report row must say: the per-entry list figures summed by (key, currency)."""
    sums = defaultdict(lambda: defaultdict(Decimal))
    for e in entries:
        row = sums[(key(e), e["currency"])]
        row["total_hours"] += e["rounded_hours"]
        row["billable_hours"] += e["rounded_hours"] if e["billable"] else 0
        row["billable_amount"] += e["billable_amount"] or 0
        row["cost_amount"] += e["cost_amount"] or 0
        row["entries"] += 1
    return sums


@pytest.mark.parametrize(
    ("mode", "increment"), [("none", 1), ("up", 15), ("down", 6), ("nearest", 30)]
)
def test_time_reports_equal_the_sums_of_the_list(api, book, caller, mode, increment):
    ok(api.patch(f"{V2}/company", json={"rounding_mode": mode, "rounding_increment": increment}))
    users = _people(api, caller)
    _log_month(api, book, users)
    entries = get(api, "time_entries", per_page=500, **MONTH)["time_entries"]
    assert len(entries) == len(HOURS) * 3
    for report, key, id_field in [
        ("team", lambda e: e["user_id"], "user_id"),
        ("projects", lambda e: e["project_id"], "project_id"),
        ("clients", lambda e: e["client_id"], "client_id"),
        ("tasks", lambda e: e["task_id"], "task_id"),
    ]:
        expected = _sums(entries, key)
        results = get(api, f"reports/time/{report}", **MONTH)["results"]
        assert len(results) == len(expected), report
        for row in results:
            want = expected[(row[id_field], row["currency"])]
            for name in ("total_hours", "billable_hours", "billable_amount", "cost_amount"):
                assert row[name] == want[name], (report, name, row)
            assert row["entries"] == want["entries"]


def test_team_report_through_the_sdk(api, sdk, book, caller):
    users = _people(api, caller)
    _log_month(api, book, users)
    http = get(api, "reports/time/team", **{"from": "20260301", "to": "20260331"})["results"]
    rows = list(sdk.reports.team_time(from_date="20260301", to_date="20260331", per_page=2))
    assert len(rows) == len(http) == 6  # three people, two currencies
    assert [(r.user_id, r.currency) for r in rows] == [(h["user_id"], h["currency"]) for h in http]
    for got, want in zip(rows, http, strict=True):
        assert got.total_hours == float(want["total_hours"])
        assert got.billable_amount == float(want["billable_amount"])
        assert got.user_name == want["user_name"]
    assert [r.user_name for r in rows[:4]] == ["Ada", "Ada", "Bot", "Bot"]
    bot = [h for h in http if h["user_name"] == "Bot"]
    assert {h["user_type"] for h in bot} == {"agent"}
    # paged like a list
    page = get(api, "reports/time/team", per_page=4, page=2, **MONTH)
    assert (page["total_pages"], page["total_entries"], len(page["results"])) == (2, 6, 2)


def test_running_timer_counts_up_to_now(api, book, frozen):
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    frozen(start)
    post(api, "time_entries", **book.entry(spent_date="2026-03-10", is_running=True))
    frozen(datetime(2026, 3, 10, 10, 30, 27, 500_000, tzinfo=UTC))
    [entry] = get(api, "time_entries", **MONTH)["time_entries"]
    [row] = get(api, "reports/time/team", **MONTH)["results"]
    assert entry["is_running"] is True
    assert row["total_hours"] == entry["hours"] == Decimal("1.5075")
    assert row["billable_amount"] == entry["billable_amount"] == Decimal("150.75")
    # past the account's auto-stop limit it counts only up to the limit
    ok(api.patch(f"{V2}/company", json={"auto_stop_after_hours": 1}))
    [row] = get(api, "reports/time/team", **MONTH)["results"]
    assert row["total_hours"] == get(api, "time_entries")["time_entries"][0]["hours"] == 1


def test_expense_reports(api, book, caller):
    other = post(api, "users", email="eve@acme.example", first_name="Eve")
    post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost="10.10"))
    post(api, "expenses", **book.expense(spent_date="2026-03-03", total_cost="5", billable=False))
    post(
        api,
        "expenses",
        **book.expense(
            expense_category_id=book.tokens_id,
            spent_date="2026-03-04",
            units=1_000_000,
            user_id=other["id"],
        ),
    )
    post(
        api,
        "expenses",
        project_id=book.eur_project_id,
        expense_category_id=book.category_id,
        spent_date="2026-03-05",
        total_cost="7.77",
    )
    post(api, "expenses", **book.expense(spent_date="2026-05-01", total_cost=1000))
    categories = get(api, "reports/expenses/categories", **MONTH)["results"]
    assert [
        (r["expense_category_name"], r["currency"], r["total_amount"], r["billable_amount"])
        for r in categories
    ] == [
        ("LLM tokens", "USD", Decimal("0.15"), Decimal("0.15")),
        ("Travel", "EUR", Decimal("7.77"), Decimal("7.77")),
        ("Travel", "USD", Decimal("15.10"), Decimal("10.10")),
    ]
    team = get(api, "reports/expenses/team", **MONTH)["results"]
    assert [(r["user_name"], r["currency"], r["total_amount"]) for r in team] == [
        ("Eve", "USD", Decimal("0.15")),
        ("owner@acme.example", "EUR", Decimal("7.77")),
        ("owner@acme.example", "USD", Decimal("15.10")),
    ]
    clients = get(api, "reports/expenses/clients", **MONTH)["results"]
    assert [(r["client_name"], r["total_amount"]) for r in clients] == [
        ("Initech", Decimal("15.25")),
        (None, Decimal("7.77")),
    ]
    projects = get(api, "reports/expenses/projects", **MONTH)["results"]
    assert [(r["project_name"], r["expenses"]) for r in projects] == [("Website", 3), ("Berlin", 1)]


def test_uninvoiced(api, book):
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours="1.25"))
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=2, billable=False))
    post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost="9.99"))
    post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost=50, billable=False))
    post(
        api, "outcomes", **book.outcome(spent_date="2026-03-03"), type="x", unit_price=3, quantity=2
    )
    post(
        api,
        "outcomes",
        **book.outcome(spent_date="2026-03-03"),
        type="x",
        unit_price=3,
        success=False,
    )
    [row] = get(api, "reports/uninvoiced", **MONTH)["results"]
    assert (row["project_name"], row["client_name"], row["currency"]) == (
        "Website",
        "Initech",
        "USD",
    )
    assert (row["total_hours"], row["uninvoiced_hours"]) == (Decimal("3.25"), Decimal("1.25"))
    assert (row["uninvoiced_time"], row["uninvoiced_outcomes"], row["uninvoiced_expenses"]) == (
        Decimal("125"),
        Decimal("6"),
        Decimal("9.99"),
    )
    assert row["uninvoiced_amount"] == Decimal("140.99")
    assert (
        get(api, "reports/uninvoiced", **{"from": "2026-04-01", "to": "2026-04-30"})["results"]
        == []
    )


def test_agent_summary(api, book, caller):
    agent = post(
        api,
        "users",
        email="agent@acme.example",
        first_name="Scribe",
        user_type="agent",
        cost_rate=2,
    )
    base = {"user_id": agent["id"], "spent_date": "2026-03-02"}
    post(
        api,
        "time_entries",
        **book.entry(
            **base,
            hours="1.5",
            source="agent",
            metadata={"model": {"provider": "anthropic", "cost_usd": 0.18}},
        ),
    )
    post(
        api,
        "time_entries",
        **book.entry(**base, hours="0.5", billable=False, metadata={"cost_usd": 0.0000123}),
    )
    post(
        api,
        "time_entries",
        **book.entry(**base, hours="0.25", metadata={"model": {"cost_usd": "not a number"}}),
    )
    post(
        api,
        "outcomes",
        **book.outcome(**base),
        type="ticket_resolved",
        unit_price="0.99",
        quantity=10,
    )
    post(
        api, "outcomes", **book.outcome(**base), type="ticket_resolved", unit_price=5, success=False
    )
    post(api, "expenses", **book.expense(**base, total_cost="1.20"))
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=8))  # someone else
    summary = get(api, "reports/agent_summary", user_id=agent["id"], **MONTH)
    assert summary["time"] == {
        "total_hours": Decimal("2.25"),
        "billable_hours": Decimal("1.75"),
        "revenue": Decimal("175"),
        "entries": 5,
    }
    assert summary["outcomes"] == {"total": 2, "successful": 1, "revenue": Decimal("9.9")}
    assert summary["combined"] == {"total_revenue": Decimal("184.9")}
    assert summary["cost"] == {
        "model": Decimal("0.1800123"),
        "expenses": Decimal("1.2"),
        "labor": Decimal("4.5"),
        "total": Decimal("5.8800123"),
    }
    assert summary["margin"] == {"amount": Decimal("179.0199877"), "percent": Decimal("96.82")}
    assert (summary["user_name"], summary["user_type"], summary["currency"]) == (
        "Scribe",
        "agent",
        "USD",
    )
    assert (summary["from"], summary["to"]) == ("2026-03-01", "2026-03-31")
    # it is the caller's own without user_id; members may not read others'
    mine = get(api, "reports/agent_summary", **MONTH)
    assert mine["time"]["total_hours"] == 8
    assert_error(
        caller("member").get(
            f"{V2}/reports/agent_summary", params={"user_id": agent["id"], **MONTH}
        ),
        403,
        "manager",
    )


def test_agent_summary_in_several_currencies(api, book):
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=1))
    post(
        api,
        "time_entries",
        project_id=book.eur_project_id,
        task_id=book.task_id,
        spent_date="2026-03-02",
        hours=1,
    )
    summary = get(api, "reports/agent_summary", **MONTH)
    assert summary["currency"] is None
    assert [(s["currency"], s["time"]["revenue"]) for s in summary["by_currency"]] == [
        ("EUR", Decimal(80)),
        ("USD", Decimal(100)),
    ]
    assert summary["time"]["total_hours"] == 2


def test_members_see_their_own_figures(api, book, caller):
    member = caller("member")
    post(member, "time_entries", **book.entry(spent_date="2026-03-02", hours=1))
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=5))
    [mine] = get(member, "reports/time/projects", **MONTH)["results"]
    assert mine["total_hours"] == 1
    [everyone] = get(api, "reports/time/projects", **MONTH)["results"]
    assert everyone["total_hours"] == 6


def _budgeted(api, book, **fields):
    ok(api.patch(f"{V2}/projects/{book.project_id}", json=fields))


def test_project_budget_report_hours_and_money(api, book):
    _budgeted(api, book, budget_by="project", budget=10)
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours="2.5"))
    post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost=100))
    [row] = get(api, "reports/project_budget")["results"]
    assert (row["unit"], row["budget"], row["budget_spent"], row["budget_remaining"]) == (
        "hours",
        Decimal(10),
        Decimal("2.5"),
        Decimal("7.5"),
    )
    assert (row["percent_used"], row["period"], row["over_threshold"]) == (
        Decimal(25),
        "total",
        False,
    )
    _budgeted(
        api, book, budget_by="project_cost", cost_budget=500, cost_budget_include_expenses=True
    )
    [row] = get(api, "reports/project_budget")["results"]
    assert (row["unit"], row["currency"], row["budget"], row["budget_spent"]) == (
        "money",
        "USD",
        Decimal(500),
        Decimal(350),
    )
    assert row["percent_used"] == 70


def test_budget_threshold_crossed_once_per_crossing(api, book, events):
    _budgeted(
        api,
        book,
        budget_by="project",
        budget=10,
        notify_when_over_budget=True,
        over_budget_notification_percentage=80,
    )
    first = post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=7))
    assert events("project.budget") == []
    second = post(api, "time_entries", **book.entry(spent_date="2026-03-03", hours=1))
    post(api, "time_entries", **book.entry(spent_date="2026-03-04", hours=1))  # still over
    [(kind, data)] = events("project.budget")
    assert kind == "project.budget_threshold_crossed"
    assert (data["project_id"], data["period"], data["unit"]) == (book.project_id, "total", "hours")
    assert (data["spent"], data["percent_used"], data["threshold"]) == (
        "8.0000",
        "80.00",
        "80.0000",
    )
    # back under, then over again: a second crossing
    ok(api.delete(f"{V2}/time_entries/{second['id']}"), 204)
    ok(api.patch(f"{V2}/time_entries/{first['id']}", json={"hours": 5}))
    assert len(events("project.budget")) == 1
    ok(api.patch(f"{V2}/time_entries/{first['id']}", json={"hours": 9}))
    assert len(events("project.budget")) == 2


def test_a_running_timer_counts_toward_its_projects_budget_as_it_reads_now(
    api, book, events, frozen
):
    """A write's budget check adds running timers live, as the entry reads at that moment
    (the hours and amount its list shows), up to the account's auto-stop."""
    _budgeted(api, book, budget_by="project_cost", budget=200, notify_when_over_budget=True)
    frozen(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    timer = post(api, "time_entries", **book.entry(spent_date="2026-03-10", is_running=True))
    frozen(datetime(2026, 3, 10, 10, 30, 27, 500_000, tzinfo=UTC))
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours="0.49"))
    assert events("project.budget") == []  # 150.75 live + 49.00 = 199.75
    live = get(api, f"time_entries/{timer['id']}")
    assert (live["hours"], live["billable_amount"]) == (Decimal("1.5075"), Decimal("150.75"))
    post(api, "time_entries", **book.entry(spent_date="2026-03-03", hours="0.01"))
    [(_, data)] = events("project.budget")
    assert data["unit"] == "money" and Decimal(data["spent"]) == Decimal("200.75")
    # an auto-stop limit of an hour counts the timer's first hour only: back under (100 +
    # 51.00, the alert re-armed), then over again at 100 + 100.00
    ok(api.patch(f"{V2}/company", json={"auto_stop_after_hours": 1}))
    post(api, "time_entries", **book.entry(spent_date="2026-03-04", hours="0.01"))
    assert len(events("project.budget")) == 1
    post(api, "time_entries", **book.entry(spent_date="2026-03-04", hours="0.49"))
    [_, (_, again)] = events("project.budget")
    assert Decimal(again["spent"]) == Decimal(200)


def test_a_writes_budget_check_finds_running_timers_without_reading_the_project(api, book, db):
    """SQLite's plan of the budget check, one statement: the project's kept totals by their
    key, "does the project have a running timer?" by the partial index of running timers
    (never the project's entries), and its alert by the (project, period) key."""
    if not db.is_sqlite:
        pytest.skip("the plan checked is SQLite's (PostgreSQL's depends on its statistics)")
    _budgeted(api, book, budget_by="project", budget=10, notify_when_over_budget=True)
    plans: list[list[str]] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if "FROM project_spending" in statement and "is_running = 1" in statement:
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append([row[3] for row in rows])

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=1))
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)
    assert plans, "the budget check asked nothing about running timers"
    for plan in plans:
        assert plan == [
            "SEARCH project_spending USING INDEX sqlite_autoindex_project_spending_1 "
            "(project_id=? AND month>? AND month<?)",
            "SCALAR SUBQUERY 1",
            "SEARCH time_entries USING INDEX ix_time_entries_running_project "
            "(account_id=? AND project_id=? AND spent_date>? AND spent_date<?)",
            "SCALAR SUBQUERY 2",
            "SEARCH project_budget_alerts USING INDEX sqlite_autoindex_project_budget_alerts_2 "
            "(project_id=? AND period=?)",
        ]


def test_a_write_to_a_project_without_notices_checks_no_budget(api, book, sql_run, events):
    """Most projects ask for no over-budget notice: a write to one neither reads the project
    again nor opens a savepoint at commit. One that asks is still checked, with the project
    and account the write loaded (the handler let go of them before its commit), in one
    read (budget.measure_kept)."""
    with sql_run() as quiet:
        post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=1))
    _budgeted(api, book, budget_by="project", budget=1, notify_when_over_budget=True)
    with sql_run() as statements:
        post(api, "time_entries", **book.entry(spent_date="2026-03-03", hours=1))
    assert not any("SAVEPOINT" in s for s in quiet)
    assert any("SAVEPOINT" in s for s in statements)
    check = statements[next(i for i, s in enumerate(statements) if "SAVEPOINT" in s) :]
    assert not [s for s in check if re.search(r"\bFROM (projects|accounts)\b", s)]
    assert len([s for s in check if s.lstrip().startswith("SELECT")]) == 1, check
    assert [kind for kind, _ in events("project.budget")] == ["project.budget_threshold_crossed"]


def test_monthly_budget_crosses_once_per_month(api, book, events):
    _budgeted(
        api,
        book,
        budget_by="project_cost",
        budget=200,
        budget_is_monthly=True,
        notify_when_over_budget=True,
    )
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=2))  # 100%
    post(api, "time_entries", **book.entry(spent_date="2026-03-09", hours=1))
    post(api, "outcomes", **book.outcome(spent_date="2026-04-02"), type="x", unit_price=250)
    post(api, "expenses", **book.expense(spent_date="2026-05-02", total_cost=500))  # not counted
    periods = [d["period"] for _, d in events("project.budget")]
    assert periods == ["2026-03", "2026-04"]
    [row] = get(api, "reports/project_budget", to="2026-04-30")["results"]
    assert (row["period"], row["budget_spent"], row["percent_used"]) == (
        "2026-04",
        Decimal(250),
        Decimal(125),
    )


def test_people_and_dates_read_from_kept_totals_as_from_the_entries(api, book, caller):
    """A selection of people and dates only is summed from the kept user-day totals and the
    outcomes' own columns; the same selection with a filter only entries can answer (every
    entry is unsubmitted) is summed from the entries: both say the same, per currency."""
    ok(api.patch(f"{V2}/company", json={"rounding_mode": "up", "rounding_increment": 6}))
    users = _people(api, caller)
    _log_month(api, book, users)
    for i, project in enumerate([book.project_id, book.eur_project_id, book.eur_project_id]):
        body = book.outcome(project_id=project, spent_date=f"2026-03-{i + 3:02d}")
        body |= {"type": "ticket_resolved", "unit_price": "1.25", "quantity": i + 1}
        post(api, "outcomes", **body, success=i != 1, user_id=users[1]["id"])
    entries_only = {"approval_status": "unsubmitted"}
    team = get(api, "reports/time/team", **MONTH)["results"]
    assert {r["currency"] for r in team} == {"USD", "EUR"}
    assert sum(r["outcomes"] for r in team) == 3
    assert team == get(api, "reports/time/team", **MONTH, **entries_only)["results"]
    for group_by in ("day", "week", "month", "user"):
        stats = get(api, "time_entries/stats", group_by=group_by, **MONTH)
        assert stats == get(api, "time_entries/stats", group_by=group_by, **MONTH, **entries_only)
    member = get(api, "reports/time/team", user_id=users[1]["id"], **MONTH)["results"]
    assert {r["user_id"] for r in member} == {users[1]["id"]}
    assert member == [r for r in team if r["user_id"] == users[1]["id"]]
