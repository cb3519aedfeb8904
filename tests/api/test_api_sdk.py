"""The official Keito Python SDK (keito==0.2.0, unmodified) against the real server: every call
it can make on the foundation, its auto-pagination, and its error classes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import keito
import pytest
from keito.types.common import PaymentTerm
from starlette.testclient import TestClient
from v2kit import V2, db_row

from timeledger.server.models import Client, Contact


def sdk_for(app: Any, token: str, account_id: str) -> tuple[keito.Keito, list[httpx.Request]]:
    """An SDK bound to the ASGI app, and the list of requests it sends."""
    sent: list[httpx.Request] = []
    transport = TestClient(app, base_url="http://testserver")
    transport.event_hooks = {"request": [sent.append], "response": []}
    client = keito.Keito(
        api_key=token,
        account_id=account_id,
        base_url="http://testserver",
        httpx_client=transport,
        max_retries=0,
    )
    return client, sent


def test_me(sdk, tenant):
    me = sdk.users.me()
    assert me.id == tenant.user_id
    assert me.email == "owner@acme.example"
    assert me.is_active is True
    assert me.user_type is not None
    assert me.user_type.value == "human"
    assert me.currency == "USD"
    assert me.company is not None
    assert (me.company.id, me.company.name) == (tenant.account_id, "Acme")
    assert me.created_at.tzinfo is not None


def test_clients_create_get_update_list(sdk, db):
    created = sdk.clients.create(
        name="Initech",
        address="1 Main St",
        currency="EUR",
        payment_terms=PaymentTerm.NET_30,
        payment_days=30,
        tax=19.5,
        tax2=2.25,
        discount=0.0001,
        is_active=True,
    )
    assert (created.name, created.currency, created.payment_terms) == ("Initech", "EUR", "net_30")
    assert (created.payment_days, created.tax, created.tax2, created.discount) == (
        30,
        19.5,
        2.25,
        0.0001,
    )
    row = db_row(db, Client, created.id)
    assert (row.tax, row.tax2, row.discount) == (
        Decimal("19.5"),
        Decimal("2.25"),
        Decimal("0.0001"),
    )
    assert row.payment_terms == "net_30"

    assert sdk.clients.get(created.id) == created

    updated = sdk.clients.update(
        created.id, payment_terms=PaymentTerm.UPON_RECEIPT, tax=7.25, is_active=False
    )
    assert (updated.payment_terms, updated.tax, updated.is_active) == ("upon_receipt", 7.25, False)
    assert updated.tax2 == 2.25  # untouched
    assert updated.updated_at > created.updated_at
    assert sdk.clients.update(created.id) == updated  # an empty PATCH changes nothing

    sdk.clients.create(name="Umbrella")
    assert [c.name for c in sdk.clients.list()] == ["Umbrella", "Initech"]
    assert [c.name for c in sdk.clients.list(is_active=False)] == ["Initech"]
    assert [c.name for c in sdk.clients.list(is_active=True)] == ["Umbrella"]


def test_contacts_create_and_list_by_client(sdk, db):
    alpha = sdk.clients.create(name="Alpha")
    beta = sdk.clients.create(name="Beta")
    ann = sdk.contacts.create(
        client_id=alpha.id,
        first_name="Ann",
        last_name="Lee",
        title="CTO",
        email="ann@alpha.example",
        phone_office="+1 555",
        phone_mobile="+1 556",
        fax="+1 557",
    )
    sdk.contacts.create(client_id=beta.id, first_name="Bob")
    assert ann.client is not None
    assert (ann.client.id, ann.client.name) == (alpha.id, "Alpha")
    assert (ann.title, ann.email, ann.fax) == ("CTO", "ann@alpha.example", "+1 557")
    assert str(db_row(db, Contact, ann.id).client_id) == alpha.id

    assert [c.first_name for c in sdk.contacts.list(client_id=alpha.id)] == ["Ann"]
    assert [c.first_name for c in sdk.contacts.list(client_id=beta.id)] == ["Bob"]
    assert [c.first_name for c in sdk.contacts.list()] == ["Bob", "Ann"]


def test_projects_and_tasks_lists(sdk, api, create):
    alpha = create("clients", name="Alpha")
    create("projects", name="A1", client_id=alpha["id"], hourly_rate="120.1234", bill_by="Project")
    create("projects", name="A2", client_id=alpha["id"], is_active=False)
    create("projects", name="N1")
    create("tasks", name="Design", default_hourly_rate=80)
    create("tasks", name="Old", is_active=False)

    projects = list(sdk.projects.list())
    assert [p.name for p in projects] == ["N1", "A2", "A1"]
    a1 = projects[2]
    assert a1.client is not None
    assert (a1.client.id, a1.client.name) == (alpha["id"], "Alpha")
    assert (a1.hourly_rate, a1.bill_by, a1.is_billable) == (120.1234, "Project", True)
    assert [p.name for p in sdk.projects.list(client_id=alpha["id"])] == ["A2", "A1"]
    assert [p.name for p in sdk.projects.list(client_id=alpha["id"], is_active=True)] == ["A1"]
    assert [p.name for p in sdk.projects.list(is_active=False, per_page=1)] == ["A2"]
    future = datetime(2099, 1, 1, tzinfo=UTC).isoformat()
    assert list(sdk.projects.list(updated_since=future)) == []
    assert len(list(sdk.projects.list(updated_since="2000-01-01T00:00:00Z"))) == 3

    tasks = list(sdk.tasks.list())
    assert [(t.name, t.default_hourly_rate, t.is_active) for t in tasks] == [
        ("Old", None, False),
        ("Design", 80.0, True),
    ]
    assert [t.name for t in sdk.tasks.list(is_active=True)] == ["Design"]
    assert list(sdk.tasks.list(updated_since=future)) == []


def test_auto_pagination_walks_every_page(app, tenant, create):
    for n in range(7):
        create("clients", name=f"c{n}")
    sdk, sent = sdk_for(app, tenant.token, tenant.account_id)
    pages = sdk.clients.list(per_page=3)
    assert [c.name for c in pages] == [f"c{n}" for n in reversed(range(7))]
    assert (pages.total_pages, pages.total_entries, pages.per_page) == (3, 7, 3)
    assert [dict(r.url.params) for r in sent] == [
        {"per_page": "3", "page": str(n)} for n in (1, 2, 3)
    ]
    # An empty list is one request and no items.
    sent.clear()
    empty = sdk.tasks.list(per_page=3)
    assert list(empty) == []
    assert (empty.total_pages, empty.total_entries) == (0, 0)
    assert len(sent) == 1


def _call_missing(sdk: keito.Keito, _: Any) -> Any:
    return sdk.clients.get(str(uuid.uuid4()))


def _call_other_tenants(sdk: keito.Keito, ctx: dict[str, Any]) -> Any:
    return sdk.clients.get(ctx["foreign_client"])


def _call_invalid(sdk: keito.Keito, _: Any) -> Any:
    return sdk.clients.create(name="x" * 256)


def _call_create(sdk: keito.Keito, _: Any) -> Any:
    return sdk.clients.create(name="Valid")


def _call_bad_contact(sdk: keito.Keito, ctx: dict[str, Any]) -> Any:
    return sdk.contacts.create(client_id=ctx["foreign_client"], first_name="Eve")


def _call_referenced_delete(sdk: keito.Keito, ctx: dict[str, Any]) -> Any:
    # The SDK has no clients.delete; its own HTTP layer (and error mapping) still applies.
    return sdk._http.request("DELETE", f"{V2}/clients/{ctx['client_with_project']}")


@pytest.mark.parametrize(
    ("who", "call", "error", "status", "mentions"),
    [
        ("owner", _call_invalid, keito.KeitoValidationError, 400, "name"),
        ("owner", _call_bad_contact, keito.KeitoValidationError, 400, "client_id"),
        ("bad key", _call_missing, keito.KeitoAuthError, 401, "invalid"),
        ("wrong account", _call_missing, keito.KeitoForbiddenError, 403, "Keito-Account-Id"),
        ("member", _call_create, keito.KeitoForbiddenError, 403, "manager"),
        ("owner", _call_missing, keito.KeitoNotFoundError, 404, "client"),
        ("owner", _call_other_tenants, keito.KeitoNotFoundError, 404, "client"),
        ("owner", _call_referenced_delete, keito.KeitoConflictError, 409, "project"),
    ],
)
def test_sdk_error_classes(
    app, tenant, other_tenant, caller, create, counts, who, call, error, status, mentions
):
    client = create("clients", name="Kept")
    create("projects", name="P", client_id=client["id"])
    foreign = other_tenant.client.post(f"{V2}/clients", json={"name": "Theirs"}).json()
    token, account = {
        "owner": (tenant.token, tenant.account_id),
        "bad key": ("tlk_0123456789abcdef_not-the-secret", tenant.account_id),
        "wrong account": (tenant.token, other_tenant.account_id),
        "member": (caller("member").key["token"], tenant.account_id),
    }[who]
    sdk, _ = sdk_for(app, token, account)
    before = counts()
    ctx = {"foreign_client": foreign["id"], "client_with_project": client["id"]}
    with pytest.raises(error) as raised:
        call(sdk, ctx)
    assert raised.value.status_code == status
    assert set(raised.value.body) == {"error", "error_description"}
    assert mentions in raised.value.body["error_description"]
    assert str(raised.value).startswith(f"[{status}] {raised.value.body['error']}: ")
    assert counts() == before
