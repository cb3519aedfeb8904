"""Bad input to the time-entry endpoints: each case answers the right 4xx whose
error_description names the field, writes nothing (no time entry row, no outbox event, the
existing entry unchanged), and never a 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from starlette.testclient import TestClient
from trackkit import V2, Work, assert_error, make_work, ok, post_entry, set_company

Counts = Callable[[], tuple[int, int]]
DAY = "2026-05-05"
BASE = {"project_id": "{project}", "task_id": "{task}", "spent_date": DAY, "hours": 1}
BIG = "x" * 4100


class Ctx(Mapping[str, str]):
    """The ids a case names ("{project}"), each made through the API the first time a case
    asks for it, so a case pays only for what it uses."""

    def __init__(
        self,
        api: TestClient,
        work: Work,
        request: pytest.FixtureRequest,
        caller: Callable[..., TestClient],
    ) -> None:
        self.api, self.work, self.request, self.caller = api, work, request, caller
        self.values: dict[str, str] = {
            "project": work.project_id,
            "task": work.task_id,
            "unassigned_task": work.unassigned_task_id,
            "random": str(uuid.uuid4()),
        }
        self.builders: dict[str, Callable[[], None]] = {
            "other_project": self._theirs,
            "other_task": self._theirs,
            "other_user": self._theirs,
            "archived_project": self._archived,
            "archived_task": self._archived,
            "retired_task": self._retired,
            "template": self._template,
            "member": self._member,
        }
        self.clients: dict[str, TestClient] = {"owner": api}
        entry = post_entry(api, work, spent_date=DAY, hours=1, metadata={"a": "x" * 3000})
        self.values["entry"], self.values["owner"] = entry["id"], entry["user_id"]

    def __getitem__(self, key: str) -> str:
        if key not in self.values:
            self.builders[key]()
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**self.builders, **self.values})

    def __len__(self) -> int:
        return len({**self.builders, **self.values})

    def client(self, who: str) -> TestClient:
        if who not in self.clients:
            self[who]
        return self.clients[who]

    def _theirs(self) -> None:

        other_tenant = self.request.getfixturevalue("other_tenant")
        theirs = make_work(other_tenant.client, "Theirs")
        self.values["other_project"], self.values["other_task"] = theirs.project_id, theirs.task_id
        self.values["other_user"] = other_tenant.user_id

    def _archived(self) -> None:

        archived = make_work(self.api, "Archived")
        ok(self.api.patch(f"{V2}/projects/{archived.project_id}", json={"is_active": False}))
        self.values["archived_project"] = archived.project_id
        self.values["archived_task"] = archived.task_id

    def _retired(self) -> None:
        retired = ok(self.api.post(f"{V2}/tasks", json={"name": "Retired"}), 201)
        assign = {"task_id": retired["id"]}
        url = f"{V2}/projects/{self.work.project_id}/task_assignments"
        ok(self.api.post(url, json=assign), 201)
        ok(self.api.patch(f"{V2}/tasks/{retired['id']}", json={"is_active": False}))
        self.values["retired_task"] = retired["id"]

    def _template(self) -> None:
        body = {"name": "T", "project_id": self.work.project_id, "task_id": self.work.task_id}
        self.values["template"] = ok(self.api.post(f"{V2}/time_entry_templates", json=body), 201)[
            "id"
        ]

    def _member(self) -> None:
        member = self.caller("member")
        self.clients["member"] = member
        self.values["member"] = member.user_id  # type: ignore[attr-defined]


@pytest.fixture
def ctx(
    api: TestClient, work: Work, request: pytest.FixtureRequest, caller: Callable[..., TestClient]
) -> Ctx:
    return Ctx(api, work, request, caller)


def fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def create(**fields: Any) -> dict[str, Any]:
    return {"method": "POST", "path": "/time_entries", "json": {**BASE, **fields}}


def without(*names: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/time_entries",
        "json": {k: v for k, v in BASE.items() if k not in names},
    }


def update(**fields: Any) -> dict[str, Any]:
    return {"method": "PATCH", "path": "/time_entries/{entry}", "json": fields}


def listing(**params: Any) -> dict[str, Any]:
    return {"method": "GET", "path": "/time_entries", "params": params}


def case(
    name: str,
    request: dict[str, Any],
    status: int,
    *mentions: str,
    who: str = "owner",
    company: dict[str, Any] | None = None,
) -> Any:
    return pytest.param(request, status, mentions, who, company or {}, id=name)


CASES = [
    # where the time goes
    case("unknown project", create(project_id="{random}"), 400, "project_id"),
    case("project not a uuid", create(project_id="nope"), 400, "project_id"),
    case("another account's project", create(project_id="{other_project}"), 400, "project_id"),
    case("archived project", create(project_id="{archived_project}", task_id="{archived_task}"),
         400, "project_id", "archived"),
    case("unknown task", create(task_id="{random}"), 400, "task_id"),
    case("another account's task", create(task_id="{other_task}"), 400, "task_id"),
    case("task not assigned", create(task_id="{unassigned_task}"), 400, "task_id", "assigned"),
    case("archived task", create(task_id="{retired_task}"), 400, "task_id", "archived"),
    case("project_id missing", without("project_id"), 400, "project_id"),
    case("task_id missing", without("task_id"), 400, "task_id"),
    case("project_id null", create(project_id=None), 400, "project_id"),
    # who
    case("another account's user", create(user_id="{other_user}"), 400, "user_id"),
    case("unknown user", create(user_id="{random}"), 400, "user_id"),
    case("member logs for the owner", create(user_id="{owner}"), 403, "manager", who="member"),
    # hours
    case("hours negative", create(hours=-1), 400, "hours"),
    case("hours over 24", create(hours=24.01), 400, "hours"),
    case("hours not a number", create(hours="abc"), 400, "hours"),
    case("hours infinite", create(hours="Infinity"), 400, "hours"),
    case("hours disagree with the clock",
         create(hours=3, started_time="09:00", ended_time="10:00"), 400, "hours"),
    case("over 24 h on a 25-hour day",
         create(spent_date="2026-10-25", started_time="00:00", ended_time="23:59", hours=None),
         400, "ended_time", company={"timezone": "Europe/London"}),
    # dates and clock times
    case("spent_date month 13", create(spent_date="2026-13-01"), 400, "spent_date"),
    case("spent_date as a number", create(spent_date=20260101), 400, "spent_date"),
    case("spent_date compact string", create(spent_date="20260101"), 400, "spent_date"),
    case("spent_date 30 February", create(spent_date="2026-02-30"), 400, "spent_date"),
    case("spent_date US style", create(spent_date="05/05/2026"), 400, "spent_date"),
    case("spent_date missing", without("spent_date"), 400, "spent_date"),
    case("started_time 25:00", create(started_time="25:00"), 400, "started_time"),
    case("started_time 12:60", create(started_time="12:60"), 400, "started_time"),
    case("started_time a number", create(started_time=900), 400, "started_time"),
    case("ended_time 9.5", create(started_time="09:00", ended_time="9.5"), 400, "ended_time"),
    case("ended_time alone", create(ended_time="10:00"), 400, "ended_time"),
    # timers
    case("timer with hours", create(is_running=True, spent_date="2026-01-01", hours=1),
         400, "hours"),
    case("timer with ended_time",
         create(is_running=True, hours=None, started_time="09:00", ended_time="10:00"),
         400, "ended_time"),
    case("timer in the past, not allowed",
         create(is_running=True, hours=None, spent_date="2020-01-01", started_time="09:00"),
         400, "started_time", "past"),
    case("timer in the future", create(is_running=True, hours=None, spent_date="2999-01-01"),
         400, "spent_date", "future"),
    case("timer in the future at a time",
         create(is_running=True, hours=None, spent_date="2999-01-01", started_time="09:00"),
         400, "started_time", "future", company={"allow_past_timer_starts": True}),
    case("stop a stopped entry", {"method": "PATCH", "path": "/time_entries/{entry}/stop"},
         409, "not running"),
    case("stop someone else's entry", {"method": "PATCH", "path": "/time_entries/{entry}/stop"},
         404, "time entry", who="member"),
    # metadata, source, notes
    case("metadata a string", create(metadata="session=1"), 400, "metadata"),
    case("metadata a list", create(metadata=[1, 2]), 400, "metadata"),
    case("metadata over 4 KB", create(metadata={"blob": BIG}), 400, "metadata", "4096"),
    case("metadata over 4 KB after the merge", update(metadata={"b": "y" * 1500}),
         400, "metadata", "4096"),
    case("metadata patch a string", update(metadata="x"), 400, "metadata"),
    case("source unknown", create(source="desktop"), 400, "source"),
    case("source changed", update(source="cli"), 400, "source"),
    case("notes too long", create(notes="n" * 5001), 400, "notes"),
    case("external_reference without id", create(external_reference={"type": "ticket"}),
         400, "external_reference"),
    # updates
    case("update hours over 24", update(hours=25), 400, "hours"),
    case("update spent_date null", update(spent_date=None), 400, "spent_date"),
    case("update spent_date bad", update(spent_date="2026-13-01"), 400, "spent_date"),
    case("update to an unassigned task", update(task_id="{unassigned_task}"), 400, "task_id"),
    case("update to another account's project", update(project_id="{other_project}"),
         400, "project_id"),
    case("update started_time bad", update(started_time="24:00"), 400, "started_time"),
    case("update unknown entry",
         {"method": "PATCH", "path": "/time_entries/{random}", "json": {"hours": 1}}, 404,
         "time entry"),
    case("update id not a uuid",
         {"method": "PATCH", "path": "/time_entries/nope", "json": {"hours": 1}}, 404,
         "time entry"),
    case("update someone else's entry", update(hours=2), 404, "time entry", who="member"),
    case("delete someone else's entry", {"method": "DELETE", "path": "/time_entries/{entry}"},
         404, "time entry", who="member"),
    case("delete unknown entry", {"method": "DELETE", "path": "/time_entries/{random}"},
         404, "time entry"),
    # bodies
    case("body not JSON", {"method": "POST", "path": "/time_entries", "content": b"{nope",
                           "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
    case("body a list", {"method": "POST", "path": "/time_entries", "json": [BASE]}, 400),
    # listing
    case("per_page 0", listing(per_page=0), 400, "per_page"),
    case("per_page 100000", listing(per_page=100000), 400, "per_page"),
    case("per_page not a number", listing(per_page="ten"), 400, "per_page"),
    case("page 0", listing(page=0), 400, "page"),
    case("from after to", listing(**{"from": "2026-05-06", "to": "2026-05-05"}), 400, "from"),
    case("from not a date", listing(**{"from": "2026-13-01"}), 400, "from"),
    case("is_running not a boolean", listing(is_running="maybe"), 400, "is_running"),
    case("is_billed not a boolean", listing(is_billed="2"), 400, "is_billed"),
    case("updated_since not a time", listing(updated_since="yesterday"), 400, "updated_since"),
    case("source filter unknown", listing(source="desktop"), 400, "source"),
    case("approval_status unknown", listing(approval_status="changes_requested"),
         400, "approval_status"),
    case("external_reference without a colon", listing(external_reference="ticket"),
         400, "external_reference"),
    # approvals
    case("member approves", {"method": "POST", "path": "/time_entries/approve",
                             "json": {"ids": ["{entry}"]}}, 403, "approv", who="member"),
    case("approve an unsubmitted entry", {"method": "POST", "path": "/time_entries/approve",
                                         "json": {"ids": ["{entry}"]}}, 409, "{entry}"),
    case("approve nothing", {"method": "POST", "path": "/time_entries/approve", "json": {}},
         400, "ids"),
    case("request changes without a reason",
         {"method": "POST", "path": "/time_entries/request_changes",
          "json": {"ids": ["{entry}"]}}, 400, "reason"),
    case("member unlocks", {"method": "POST", "path": "/time_entries/unlock",
                           "json": {"ids": ["{entry}"]}}, 403, "admin", who="member"),
    case("submit an unknown id", {"method": "POST", "path": "/time_entries/submit",
                                 "json": {"ids": ["{entry}", "{random}"]}}, 404, "{random}"),
    # templates and bulk
    case("from an unknown template",
         {"method": "POST", "path": "/time_entries/from_template/{random}",
          "json": {"spent_date": DAY}}, 404, "template"),
    case("from a template with a bad date",
         {"method": "POST", "path": "/time_entries/from_template/{template}",
          "json": {"spent_date": "2026-13-01"}}, 400, "spent_date"),
    case("template with an unassigned task",
         {"method": "POST", "path": "/time_entry_templates",
          "json": {"name": "x", "project_id": "{project}", "task_id": "{unassigned_task}"}},
         400, "task_id"),
    case("bulk of 501", {"method": "POST", "path": "/time_entries/bulk",
                        "json": {"time_entries": [BASE] * 501}}, 400, "time_entries", "500"),
    case("bulk of none", {"method": "POST", "path": "/time_entries/bulk",
                         "json": {"time_entries": []}}, 400, "time_entries"),
    case("bulk with one bad item", {"method": "POST", "path": "/time_entries/bulk",
                                   "json": {"time_entries": [BASE, {**BASE, "hours": 99}]}},
         400, "1 of 2", "nothing was written"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "status", "mentions", "who", "company"), CASES)
def test_bad_input_is_refused_and_writes_nothing(
    ctx: Ctx,
    counts: Counts,
    request_: dict[str, Any],
    status: int,
    mentions: tuple[str, ...],
    who: str,
    company: dict[str, Any],
) -> None:
    owner = ctx.client("owner")
    if company:
        set_company(owner, **company)
    client = ctx.client(who)
    kwargs = {k: fill(v, ctx) for k, v in request_.items() if k not in ("method", "path")}
    path = V2 + fill(request_["path"], ctx)
    expected = [fill(m, ctx) for m in mentions]
    entry_url = f"{V2}/time_entries/{ctx['entry']}"
    entry_before = ok(owner.get(entry_url))
    before = counts()
    response = client.request(request_["method"], path, **kwargs)
    assert response.status_code < 500, response.text
    assert_error(response, status, *expected)
    assert counts() == before
    assert ok(owner.get(entry_url)) == entry_before
