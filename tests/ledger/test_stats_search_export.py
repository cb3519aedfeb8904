"""Time-entry stats (grouped totals), full-text search and streamed exports, checked against
the list endpoint on both engines."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, event, literal, select

from callkit import V2, assert_error, get, ok, post
from timeledger.server.accounts.models import person_name, person_name_sql
from timeledger.server.models import TimeEntry
from timeledger.server.reports import export, sql_text
from timeledger.server.reports.export import ENTRY_COLUMNS, EXPENSE_COLUMNS
from timeledger.server.surfaces.native import exporting

YEAR = {"from": "2026-01-01", "to": "2026-12-31"}


def _log(api, book, users):
    days = ["2026-03-01", "2026-03-02", "2026-03-08", "2026-03-09", "2026-04-30", "2026-05-01"]
    for i, day in enumerate(days):
        for j, user in enumerate([None, *users]):
            body = book.entry(spent_date=day, hours=f"{i + j + 1}.25", notes=f"task {i}")
            if user:
                body["user_id"] = user["id"]
            if (i + j) % 2:
                body["project_id"] = book.eur_project_id
            if i == 3:
                body["source"] = "agent"
            post(api, "time_entries", **body)


def _week(day: date, first: int) -> date:
    """first: 0 Monday .. 6 Sunday (Python's weekday())."""
    return day - timedelta(days=(day.weekday() - first) % 7)


KEYS = {
    "day": lambda e, _: e["spent_date"],
    "week": lambda e, first: _week(date.fromisoformat(e["spent_date"]), first).isoformat(),
    "month": lambda e, _: e["spent_date"][:8] + "01",
    "user": lambda e, _: e["user_id"],
    "project": lambda e, _: e["project_id"],
    "task": lambda e, _: e["task_id"],
    "client": lambda e, _: e["client_id"],
    "source": lambda e, _: e["source"],
}


@pytest.mark.parametrize(
    ("group_by", "week_start"),
    [(key, "Monday") for key in KEYS] + [("week", "Sunday")],
)
def test_stats_groups_equal_the_list(api, book, group_by, week_start):
    ok(
        api.patch(
            f"{V2}/company",
            json={"week_start_day": week_start, "rounding_mode": "up", "rounding_increment": 15},
        )
    )
    ada = post(api, "users", email="ada@acme.example", first_name="Ada", cost_rate="33.3333")
    _log(api, book, [ada])
    entries = get(api, "time_entries", per_page=100, **YEAR)["time_entries"]
    first = 0 if week_start == "Monday" else 6
    expected = defaultdict(lambda: defaultdict(Decimal))
    for e in entries:
        group = expected[(KEYS[group_by](e, first), e["currency"])]
        group["count"] += 1
        group["hours"] += e["hours"]
        group["rounded_hours"] += e["rounded_hours"]
        group["billable_amount"] += e["billable_amount"] or 0
        group["cost_amount"] += e["cost_amount"] or 0
    stats = get(api, "time_entries/stats", group_by=group_by, **YEAR)
    assert stats["group_by"] == group_by
    assert {(r["key"], r["currency"]) for r in stats["results"]} == set(expected)
    for row in stats["results"]:
        want = expected[(row["key"], row["currency"])]
        for name in ("count", "hours", "rounded_hours", "billable_amount", "cost_amount"):
            assert row[name] == want[name], (group_by, name, row)
    if group_by in ("user", "project"):
        assert {r["name"] for r in stats["results"]} >= {"Ada" if group_by == "user" else "Berlin"}
    totals = {t["currency"]: t for t in stats["totals"]}
    for currency in ("USD", "EUR"):
        mine = [e for e in entries if e["currency"] == currency]
        assert totals[currency]["count"] == len(mine)
        assert totals[currency]["rounded_hours"] == sum(e["rounded_hours"] for e in mine)


def test_stats_filters_and_days_in_the_zone(api, book, frozen):
    ok(api.patch(f"{V2}/company", json={"timezone": "America/New_York"}))
    # 03:30 UTC on March 10 is 23:30 on March 9 in New York
    frozen(datetime(2026, 3, 10, 3, 30, tzinfo=UTC))
    post(api, "time_entries", **book.entry(spent_date="2026-03-09", is_running=True))
    frozen(datetime(2026, 3, 10, 4, 30, tzinfo=UTC))
    post(api, "time_entries", **book.entry(spent_date="2026-03-10", hours=2, source="agent"))
    stats = get(api, "time_entries/stats", group_by="day", **YEAR)
    assert [(r["key"], r["hours"]) for r in stats["results"]] == [
        ("2026-03-09", Decimal(1)),
        ("2026-03-10", Decimal(2)),
    ]
    agent = get(api, "time_entries/stats", source="agent", is_running="false", **YEAR)
    assert [(t["count"], t["hours"]) for t in agent["totals"]] == [(1, Decimal(2))]
    assert get(api, "time_entries/stats", user_id=book.task_id)["totals"] == []


def test_search_ranks_filters_and_stays_in_sync(api, book, caller, other_tenant):
    member = caller("member")
    a = post(
        api,
        "time_entries",
        **book.entry(
            spent_date="2026-03-01", hours=1, notes="Deploying the billing service to production"
        ),
    )
    b = post(
        api,
        "time_entries",
        **book.entry(
            spent_date="2026-03-02",
            hours=1,
            notes="Review the deployment; deploy again, deploy once more",
        ),
    )
    post(api, "time_entries", **book.entry(spent_date="2026-03-03", hours=1, notes="Coffee"))
    c = post(
        api,
        "outcomes",
        **book.outcome(spent_date="2026-03-04"),
        type="deployment",
        description="Café déploiement résolu",
    )
    d = post(
        member,
        "time_entries",
        **book.entry(spent_date="2026-03-05", hours=1, notes="deploy from a member"),
    )
    post(other_tenant.client, "clients", name="x")  # another account's data never shows

    def found(client=api, **params):
        return [e["id"] for e in get(client, "time_entries/search", **params)["time_entries"]]

    hits = found(q="deploy")  # stemmed: deploying, deployment, deploy
    assert sorted(hits) == sorted([a["id"], b["id"], d["id"]])
    assert hits[0] == b["id"]  # three mentions rank first
    assert found(q="billing production") == [a["id"]]  # every word is required
    assert found(q="deploy", to="2026-03-01") == [a["id"]]
    assert found(q="CAFÉ") == [c["id"]]  # outcome descriptions; case folded
    assert found(member, q="deploy") == [d["id"]]  # members search their own
    assert found(other_tenant.client, q="deploy") == []
    ok(api.patch(f"{V2}/time_entries/{a['id']}", json={"notes": "nothing to see"}))
    assert a["id"] not in found(q="deploy")
    assert found(q="nothing") == [a["id"]]
    ok(api.delete(f"{V2}/time_entries/{a['id']}"), 204)
    assert found(q="nothing") == []
    # the first page counts in its own pass, a later one (or one past the end) on its own
    pages = [get(api, "time_entries/search", q="deploy", per_page=1, page=n) for n in (1, 2, 3)]
    assert [(p["total_entries"], p["total_pages"]) for p in pages] == [(2, 2)] * 3
    assert [len(p["time_entries"]) for p in pages] == [1, 1, 0]
    assert pages[0]["time_entries"][0]["id"] != pages[1]["time_entries"][0]["id"]
    assert get(api, "time_entries/search", q="nowhere")["total_entries"] == 0


def _rows_by_id(rows):
    return {row["id"]: row for row in rows}


def _xlsx_rows(content: bytes) -> list[list[str | None]]:
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    rows = []
    for row in ElementTree.fromstring(sheet).iterfind(".//m:row", ns):
        cells: dict[int, str | None] = {}
        for cell in row.iterfind("m:c", ns):
            letters = "".join(ch for ch in cell.get("r", "") if ch.isalpha())
            column = 0
            for ch in letters:  # A..Z, AA..: empty cells are not written at all
                column = column * 26 + ord(ch) - 64
            text = cell.find(".//m:t", ns)
            value = cell.find("m:v", ns)
            cells[column - 1] = text.text if text is not None else getattr(value, "text", None)
        rows.append([cells.get(i) for i in range(max(cells) + 1)])
    return rows


def test_export_time_entries_in_every_format(api, book, db):
    ok(
        api.patch(
            f"{V2}/company",
            json={"timezone": "Europe/Berlin", "rounding_mode": "up", "rounding_increment": 6},
        )
    )
    post(
        api,
        "time_entries",
        **book.entry(
            spent_date="2026-03-02",
            started_time="09:00",
            ended_time="10:07",
            notes='quote " and, comma\r\nsecond line',
            metadata={"k": [1, "é"]},
        ),
    )
    short = post(api, "time_entries", **book.entry(spent_date="2026-07-02", hours="0.1234"))
    with db.transaction(write=True) as session:  # half an hour billed, as AlgaPSA may record
        session.get(TimeEntry, uuid.UUID(short["id"])).billable_seconds = 1800
    post(
        api,
        "time_entries",
        project_id=book.eur_project_id,
        task_id=book.task_id,
        spent_date="2026-03-05",
        hours=1,
        billable=False,
    )
    post(api, "time_entries", **book.entry(spent_date="2025-12-31", hours=1))  # filtered out
    listed = _rows_by_id(get(api, "time_entries", **YEAR)["time_entries"])
    rate = listed[short["id"]]["billable_rate"]
    assert listed[short["id"]]["billable_amount"] == rate / 2  # its explicit half hour
    names = [name for name, _ in ENTRY_COLUMNS]

    response = api.get(f"{V2}/time_entries/export", params={"format": "csv", **YEAR})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert list(table[0]) == names
    assert [r["spent_date"] for r in table] == ["2026-03-02", "2026-03-05", "2026-07-02"]
    for row in table:
        entry = listed[row["id"]]
        assert Decimal(row["hours"]) == entry["hours"]
        assert Decimal(row["rounded_hours"]) == entry["rounded_hours"]
        amount = entry["billable_amount"]
        assert (Decimal(row["billable_amount"]) if row["billable_amount"] else None) == amount
        assert row["billable"] == ("true" if entry["billable"] else "false")
        assert (row["currency"], row["project_name"]) == (
            entry["currency"],
            entry["project"]["name"],
        )
        assert row["started_time"] == (entry["started_time"] or "")
        assert datetime.fromisoformat(row["created_at"]).utcoffset() in (
            timedelta(hours=1),
            timedelta(hours=2),
        )
    first = next(r for r in table if r["spent_date"] == "2026-03-02")
    assert (first["started_time"], first["ended_time"], first["notes"]) == (
        "09:00",
        "10:07",
        'quote " and, comma\r\nsecond line',  # quoted as csv.writer quotes it
    )
    assert json.loads(first["metadata"]) == {"k": [1, "é"]}

    ndjson = api.get(f"{V2}/time_entries/export", params={"format": "ndjson", **YEAR})
    lines = [json.loads(line, parse_float=Decimal) for line in ndjson.text.splitlines()]
    assert [list(line) for line in lines] == [names] * 3
    assert {line["id"]: line["billable_amount"] for line in lines} == {
        i: e["billable_amount"] for i, e in listed.items()
    }
    assert lines[0]["metadata"] == {"k": [1, "é"]}
    assert lines[0]["is_running"] is False

    xlsx = api.get(f"{V2}/time_entries/export", params={"format": "xlsx", **YEAR})
    sheet = _xlsx_rows(xlsx.content)
    assert sheet[0] == names
    assert len(sheet) == 4
    hours = names.index("hours")
    assert sorted(Decimal(r[hours]) for r in sheet[1:]) == sorted(
        e["hours"] for e in listed.values()
    )


def test_export_expenses_and_a_report(api, book):
    post(api, "expenses", **book.expense(spent_date="2026-03-02", total_cost="12.30"))
    post(
        api,
        "expenses",
        **book.expense(expense_category_id=book.tokens_id, spent_date="2026-03-03", units=123_456),
    )
    post(api, "expenses", **book.expense(spent_date="2026-03-04", total_cost=1, source="agent"))
    table = list(
        csv.DictReader(io.StringIO(api.get(f"{V2}/expenses/export", params={"source": "api"}).text))
    )
    assert list(table[0]) == [name for name, _ in EXPENSE_COLUMNS]
    assert [(r["total_cost"], r["units"], r["unit_price"]) for r in table] == [
        ("12.30", "", ""),
        ("0.02", "123456", "0.00000015"),
    ]
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours="1.5"))
    report = get(api, "reports/time/team", **YEAR)["results"]
    exported = api.get(f"{V2}/reports/time/team/export", params={"format": "ndjson", **YEAR})
    lines = [json.loads(line, parse_float=Decimal) for line in exported.text.splitlines()]
    assert lines == report


@pytest.mark.parametrize(
    "path", ["time_entries/export", "expenses/export", "reports/time/team/export"]
)
def test_export_bad_input(api, path):
    assert_error(api.get(f"{V2}/{path}", params={"format": "pdf", **YEAR}), 400, "format")
    bad = {"from": "2026-05-01", "to": "2026-04-01"}
    assert_error(api.get(f"{V2}/{path}", params=bad), 400, "from")


# Cells of each kind as exports produce them: words never hold a comma, quote or line break.
_CELLS = {
    sql_text.TEXT: st.none() | st.text(st.sampled_from('ab ,"\r\né'), max_size=6),
    sql_text.JSON: st.none() | st.sampled_from(['{"k": [1, "é"]}', '"x,y"', "[]"]),
    sql_text.WORD: st.none() | st.text(st.sampled_from("a1-:T."), max_size=6),
    sql_text.NUMBER: st.none() | st.sampled_from(["0", "-1.5", "12.0001"]),
    sql_text.BOOL: st.none() | st.sampled_from(["true", "false"]),
}


@st.composite
def _tables(draw: st.DrawFn) -> tuple[export.Table, list[list[str | None]]]:
    kinds = draw(st.lists(st.sampled_from(list(_CELLS)), min_size=1, max_size=5))
    rows = draw(st.lists(st.tuples(*(_CELLS[kind] for kind in kinds)).map(list), max_size=6))
    columns = tuple(f"c{i}" for i in range(len(kinds)))
    return export.Table("t", columns, tuple(kinds), lambda _: rows), rows


@given(_tables())
def test_csv_is_what_csv_writer_writes(made: tuple[export.Table, list[list[str | None]]]) -> None:
    table, rows = made
    written = b"".join(export.stream(lambda: nullcontext(None), table, "csv")).decode()
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(rows)
    assert written == expected.getvalue()


def test_an_export_made_ahead_stops_making_when_the_client_goes_away() -> None:
    """The thread that makes an export's chunks stops, and closes what it reads from (the
    read transaction), when the client takes one chunk and leaves; it never runs far ahead."""
    made: list[int] = []
    closed_in: list[str] = []

    def chunks() -> Iterator[bytes]:
        try:
            for n in range(10_000):
                made.append(n)
                yield b"%d" % n
        finally:
            closed_in.append(threading.current_thread().name)

    async def take_one() -> bytes:
        body = exporting.ahead(chunks())
        first = await anext(body)
        await body.aclose()
        return first

    assert anyio.run(take_one) == b"0"
    assert len(closed_in) == 1 and closed_in[0] != threading.current_thread().name
    assert len(made) <= 2 + exporting.AHEAD  # the one taken, AHEAD waiting, one being sent


def test_an_export_made_ahead_arrives_whole_and_in_order() -> None:
    async def take_all() -> list[bytes]:
        return [chunk async for chunk in exporting.ahead(b"%d" % n for n in range(500))]

    assert anyio.run(take_all) == [b"%d" % n for n in range(500)]


def test_an_export_made_ahead_raises_what_went_wrong_after_what_was_made() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"first"
        raise LookupError("the database went away")

    taken: list[bytes] = []

    async def take_all() -> None:
        async for chunk in exporting.ahead(chunks()):
            taken.append(chunk)

    with pytest.raises(LookupError, match="went away"):
        anyio.run(take_all)
    assert taken == [b"first"]


def test_every_format_writes_the_listed_cells_of_timers(api, book, frozen):
    """A running timer (live time), one past the auto-stop limit (stopped at start + limit),
    and a finished entry whose notes need quotes, in a zone of half-hour offsets with
    rounding: CSV (lines made by the database) and NDJSON hold the same cells, which are the
    list's."""
    ok(
        api.patch(
            f"{V2}/company",
            json={
                "timezone": "America/St_Johns",
                "rounding_mode": "nearest",
                "rounding_increment": 15,
                "auto_stop_after_hours": 2,
            },
        )
    )
    other = post(api, "users", email="eve@acme.example", first_name="Eve", last_name='"E, V"')
    frozen(datetime(2026, 3, 7, 20, 0, 13, 250_000, tzinfo=UTC))  # 16:30:13 local (-03:30)
    post(api, "time_entries", **book.entry(spent_date="2026-03-07", is_running=True))
    frozen(datetime(2026, 3, 8, 11, 0, tzinfo=UTC))  # a DST change (05:30 UTC) in between
    post(
        api,
        "time_entries",
        **book.entry(spent_date="2026-03-08", is_running=True, user_id=other["id"]),
    )
    post(
        api,
        "time_entries",
        **book.entry(spent_date="2026-03-08", hours="1.2", notes=' lead, "quoted"\nnext '),
    )
    frozen(datetime(2026, 3, 8, 12, 7, 41, tzinfo=UTC))
    listed = _rows_by_id(get(api, "time_entries", **YEAR)["time_entries"])
    csv_rows = list(
        csv.DictReader(io.StringIO(api.get(f"{V2}/time_entries/export", params=YEAR).text))
    )
    ndjson = api.get(f"{V2}/time_entries/export", params={"format": "ndjson", **YEAR}).text
    assert len(csv_rows) == len(listed) == 3
    for row, line in zip(csv_rows, ndjson.splitlines(), strict=True):
        cells = json.loads(line, parse_float=str, parse_int=str)
        for name, kind in ENTRY_COLUMNS:
            value = cells[name]
            if kind == sql_text.JSON:
                assert (json.loads(row[name]) if row[name] else None) == value
            elif kind == sql_text.BOOL:
                assert row[name] == {True: "true", False: "false"}[value]
            else:
                assert row[name] == ("" if value is None else value), name
        entry = listed[row["id"]]
        assert Decimal(row["hours"]) == entry["hours"]
        assert Decimal(row["rounded_hours"]) == entry["rounded_hours"]
        assert Decimal(row["billable_amount"]) == entry["billable_amount"]
        assert row["is_running"] == ("true" if entry["is_running"] else "false")
        assert row["started_time"] == (entry["started_time"] or "")
        assert row["ended_time"] == (entry["ended_time"] or "")
        assert row["notes"] == (entry["notes"] or "")
        assert row["user_name"] == entry["user"]["name"]
    overdue, running, finished = csv_rows  # oldest first: spent_date, then id
    assert (overdue["is_running"], overdue["ended_time"]) == ("false", "18:30")
    assert (overdue["hours"], overdue["started_time"]) == ("2.0000", "16:30")
    assert (running["is_running"], running["ended_time"], running["hours"]) == (
        "true",
        "",
        "1.1281",
    )
    assert finished["notes"] == ' lead, "quoted"\nnext '
    assert finished["created_at"] == "2026-03-08T08:30:00-02:30"


def test_an_export_reads_its_rows_in_order_and_looks_its_catalogues_up(api, book, db):
    """SQLite's plan of an export, filtered by one user: the entries are the outer loop, in
    the order of an index, and each catalogue is found by its primary key. (With the
    catalogues as CTEs SQLite scanned them once per row, or put them outside the entries
    and sorted: minutes for a few thousand rows.)"""
    if not db.is_sqlite:
        pytest.skip("the plan checked is SQLite's; PostgreSQL hash-joins the catalogues")
    post(api, "time_entries", **book.entry(spent_date="2026-03-02", hours=1))
    me = get(api, "users/me")["id"]
    plans: list[list[str]] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if "export_users" in statement and statement.lstrip().startswith("SELECT"):
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append([row[3] for row in rows])

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        for fmt in ("csv", "ndjson"):
            response = api.get(f"{V2}/time_entries/export", params={"format": fmt, "user_id": me})
            assert response.status_code == 200 and "2026-03-02" in response.text
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)
    assert len(plans) == 2
    for plan in plans:
        assert plan[0].startswith("SEARCH time_entries USING INDEX ix_time_entries_account_user")
        for name in ("export_users", "export_projects", "export_tasks"):
            assert any(step.startswith(f"SEARCH {name} USING PRIMARY KEY (key=?)") for step in plan)
        assert not any("TEMP B-TREE" in step for step in plan)  # no sort


_NAME_PARTS = st.sampled_from([None, "", "Ann", 'O"Neil, Jr', "Zoë"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_NAME_PARTS, _NAME_PARTS, st.sampled_from([None, "ann@example.test"]))
def test_the_exports_person_name_is_the_apis(db, first, last, email):
    """person_name_sql (exports) names a person as person_name (the API and reports) does."""
    parts = [literal(value, String) for value in (first, last, email)]
    with db.transaction(write=False) as session:
        named = session.execute(select(person_name_sql(*parts))).scalar_one()
    assert named == person_name(first, last, email)
