"""Bad input to the ledger endpoints: each a 4xx in the native format naming the field, with
nothing written; and no query string, however odd, makes a report answer 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callkit import V2, assert_error, post

# (method, path, body or params, status, words the description must name). In paths and
# bodies, {project}, {category}, {tokens}, {task}, {foreign_category}, {foreign_project},
# {expense} are replaced with ids made for the test.
CASES = [
    (
        "POST",
        "expenses",
        {"expense_category_id": "{foreign_category}", "total_cost": 1},
        400,
        ["expense_category_id"],
    ),
    ("POST", "expenses", {"project_id": "{foreign_project}", "total_cost": 1}, 400, ["project_id"]),
    ("POST", "expenses", {"units": 3}, 400, ["units", "unit price"]),
    ("POST", "expenses", {"total_cost": -1}, 400, ["total_cost"]),
    ("POST", "expenses", {"total_cost": "1.005"}, 400, ["total_cost", "USD"]),
    ("POST", "expenses", {"total_cost": "NaN"}, 400, ["total_cost"]),
    ("POST", "expenses", {"total_cost": 1e12}, 400, ["total_cost"]),
    ("POST", "expenses", {}, 400, ["total_cost"]),
    ("POST", "expenses", {"expense_category_id": "{tokens}", "units": -5}, 400, ["units"]),
    ("POST", "expenses", {"expense_category_id": "{tokens}", "units": 2.5}, 400, ["units"]),
    (
        "POST",
        "expenses",
        {"expense_category_id": "{tokens}", "units": 1, "total_cost": 1},
        400,
        ["units", "total_cost"],
    ),
    ("POST", "expenses", {"total_cost": 1, "spent_date": "20260302"}, 400, ["spent_date"]),
    ("POST", "expenses", {"total_cost": 1, "metadata": {"x": "y" * 5000}}, 400, ["metadata"]),
    ("POST", "expenses", {"total_cost": 1, "source": "desktop"}, 400, ["source"]),
    ("PATCH", "expenses/{expense}", {"source": "agent"}, 400, ["source"]),
    ("PATCH", "expenses/{expense}", {"units": 4}, 400, ["units"]),
    ("PATCH", "expenses/{expense}", {"total_cost": -3}, 400, ["total_cost"]),
    ("PATCH", "expenses/{expense}", {"metadata": {"x": "y" * 5000}}, 400, ["metadata"]),
    ("POST", "expense_categories", {"name": "x", "unit_price": -1}, 400, ["unit_price"]),
    (
        "POST",
        "expense_categories",
        {"name": "x", "unit_price": "0.00000000001"},
        400,
        ["unit_price"],
    ),
    ("POST", "expense_categories", {"name": ""}, 400, ["name"]),
    ("POST", "outcomes", {"type": "x", "quantity": 1.5}, 400, ["quantity"]),
    ("POST", "outcomes", {"type": "x", "unit_price": -0.01}, 400, ["unit_price"]),
    ("POST", "outcomes", {"type": "  "}, 400, ["type"]),
    ("POST", "outcomes", {"type": "x" * 65}, 400, ["type"]),
    ("POST", "outcomes", {"type": "x", "evidence": "a string"}, 400, ["evidence"]),
    ("POST", "outcomes", {"type": "x", "evidence": {"blob": "z" * 5000}}, 400, ["metadata"]),
    ("POST", "outcomes", {"type": "x", "task_id": "{foreign_project}"}, 400, ["task_id"]),
    ("GET", "time_entries/stats", {"group_by": "foo"}, 400, ["group_by"]),
    ("GET", "time_entries/stats", {"from": "2026-05-01", "to": "2026-04-01"}, 400, ["from"]),
    ("GET", "time_entries/stats", {"from": "2010-01-01", "to": "2026-04-01"}, 400, ["to", "10"]),
    ("GET", "time_entries/search", {"q": ""}, 400, ["q"]),
    ("GET", "time_entries/search", {}, 400, ["q"]),
    ("GET", "time_entries/search", {"q": "x" * 1000}, 400, ["q", "200"]),
    ("GET", "time_entries/search", {"q": "!!! ???"}, 400, ["q", "word"]),
    ("GET", "time_entries/export", {"format": "pdf"}, 400, ["format"]),
    ("GET", "reports/time/team", {"from": "20260401", "to": "20260301"}, 400, ["from"]),
    ("GET", "reports/time/team", {"from": "2014-01-01", "to": "2026-01-01"}, 400, ["10 years"]),
    ("GET", "reports/time/team", {"to": "2026-01-01"}, 400, ["from"]),
    ("GET", "reports/time/team", {"from": "2026-01-01"}, 400, ["to"]),
    ("GET", "reports/time/team", {"from": "2026-02-30", "to": "2026-03-01"}, 400, ["from"]),
    ("GET", "reports/time/team", {"from": "yesterday", "to": "2026-03-01"}, 400, ["from"]),
    (
        "GET",
        "reports/time/team",
        {"from": "2026-01-01", "to": "2026-01-31", "per_page": 0},
        400,
        ["per_page"],
    ),
    ("GET", "reports/expenses/categories", {"from": "2026-01-01", "to": "x"}, 400, ["to"]),
    (
        "GET",
        "reports/agent_summary",
        {"from": "2026-01-01", "to": "2026-01-31", "user_id": "{foreign_project}"},
        400,
        ["user_id"],
    ),
    ("GET", "reports/uninvoiced", {"from": "2026-03-01", "to": "2025-03-01"}, 400, ["from"]),
    ("GET", "reports/project_budget", {"to": "31/12/2026"}, 400, ["to"]),
    (
        "GET",
        "reports/time/team/export",
        {"from": "2026-01-01", "to": "2026-01-31", "format": "docx"},
        400,
        ["format"],
    ),
]


@pytest.fixture
def ids(api, book, other_tenant):
    foreign_category = post(other_tenant.client, "expense_categories", name="Theirs")
    foreign_project = post(other_tenant.client, "projects", name="Theirs")
    expense = post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost=5))
    return {
        "project": book.project_id,
        "task": book.task_id,
        "category": book.category_id,
        "tokens": book.tokens_id,
        "foreign_category": foreign_category["id"],
        "foreign_project": foreign_project["id"],
        "expense": expense["id"],
    }


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _group(case):
    path = case[1]
    return path.split("/")[0] if not path.startswith("reports") else "reports"


GROUPS = sorted({_group(case) for case in CASES})


@pytest.mark.parametrize("group", GROUPS)
def test_refused_with_the_field_named_and_nothing_written(api, ids, rows, group):
    """Every case of one group (the fixtures are made once per group, not per case)."""
    for method, path, data, status, words in (c for c in CASES if _group(c) == group):
        data = _fill(data, ids)
        url = f"{V2}/{_fill(path, ids)}"
        if method == "GET":
            response = api.get(url, params=data)
        else:
            if path == "expenses":
                data = {
                    "project_id": ids["project"],
                    "expense_category_id": ids["category"],
                    "spent_date": "2026-03-02",
                    **data,
                }
            if path == "outcomes":
                data = {
                    "project_id": ids["project"],
                    "task_id": ids["task"],
                    "spent_date": "2026-03-02",
                    **data,
                }
            before = rows()
            response = api.request(method, url, json=data)
            assert rows() == before, (method, path, data)
        try:
            assert_error(response, status, *words)
        except AssertionError as exc:
            raise AssertionError(f"{method} {path} {data}: {exc}") from None


REPORTS = [
    "reports/time/team",
    "reports/time/clients",
    "reports/expenses/projects",
    "reports/uninvoiced",
    "reports/project_budget",
    "reports/agent_summary",
    "time_entries/stats",
    "time_entries/search",
]
odd = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.dates().map(str),
    st.dates().map(lambda d: d.strftime("%Y%m%d")),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(REPORTS),
    start=odd,
    end=odd,
    group_by=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["day", "week"])),
    q=st.one_of(st.none(), st.text(max_size=20)),
    per_page=st.one_of(st.none(), st.integers(-5, 3000)),
)
def test_no_query_string_is_a_server_error(api, path, start, end, group_by, q, per_page):
    params = {"from": start, "to": end, "group_by": group_by, "q": q, "per_page": per_page}
    response = api.get(f"{V2}/{path}", params={k: v for k, v in params.items() if v is not None})
    assert response.status_code in (200, 400), response.text
