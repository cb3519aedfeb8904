"""API keys at the door: every way a key can be wrong is a 401 in the /api/v2 error format;
X-API-Key works like Bearer; read keys only read; revocation, expiry and deactivation take
effect on the very next request; use is stamped on the key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from v2kit import V2, assert_error, db_row

from timeledger.server.core.clock import set_clock, utcnow
from timeledger.server.models import ApiKey


@pytest.fixture
def clock() -> Iterator[Callable[[timedelta], None]]:
    """Move "now" forward from the real time by the given amount."""
    start = utcnow()

    def advance(by: timedelta) -> None:
        set_clock(lambda: start + by)

    yield advance
    set_clock(None)


def _headers(kind: str, token: str, key_id: str) -> dict[str, str | bytes]:
    return {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": f"Basic {token}"},
        "no prefix": {"Authorization": f"Bearer {token.removeprefix('tlk_')}"},
        "wrong prefix": {"Authorization": f"Bearer abc_{token.removeprefix('tlk_')}"},
        "no secret": {"Authorization": f"Bearer tlk_{key_id}_"},
        "overlong key id": {"Authorization": f"Bearer tlk_{'a' * 33}_secret"},
        "garbage": {"Authorization": b"Bearer \xc3\xa9\xff tlk_"},  # not ASCII
        "wrong secret": {"Authorization": f"Bearer tlk_{key_id}_{'A' * 43}"},
        "unknown key id": {"Authorization": f"Bearer tlk_0000000000000000_{'A' * 43}"},
        "secret of another key": {"Authorization": f"Bearer tlk_{key_id}x_{token[-43:]}"},
        "x-api-key wrong": {"X-API-Key": f"tlk_{key_id}_{'B' * 43}"},
    }[kind]


BAD = [  # (what is wrong with the credentials, a word of the error description)
    ("none", "missing"),
    ("empty bearer", "missing"),
    ("basic scheme", "missing"),
    ("no prefix", "malformed"),
    ("wrong prefix", "malformed"),
    ("no secret", "malformed"),
    ("overlong key id", "malformed"),
    ("garbage", "malformed"),
    ("wrong secret", "invalid"),
    ("unknown key id", "invalid"),
    ("secret of another key", "invalid"),
    ("x-api-key wrong", "invalid"),
]


@pytest.mark.parametrize(("method", "path"), [("GET", "users/me"), ("POST", "clients")])
def test_bad_credentials_are_401(http, tenant, state, method, path):
    key_id = tenant.token.split("_")[1]
    before = state()
    for kind, says in BAD:
        headers = _headers(kind, tenant.token, key_id)
        response = http.request(method, f"{V2}/{path}", headers=headers, json={"name": "x"})
        assert response.status_code == 401, (kind, response.text)
        assert_error(response, 401, says)
        assert response.headers["X-Keito-API-Version"] == "2"
    assert state() == before


@pytest.mark.parametrize(
    "headers",
    [
        lambda t: {"X-API-Key": t},
        lambda t: {"Authorization": f"bearer {t}"},
        lambda t: {"Authorization": f"Bearer   {t}  "},
        lambda t: {"Authorization": f"Bearer {t}", "Keito-Account-Id": "ACCOUNT"},
    ],
    ids=["x-api-key", "lowercase scheme", "padded", "matching account header"],
)
def test_accepted_ways_to_present_a_key(http, tenant, headers):
    sent = {k: v.replace("ACCOUNT", tenant.account_id) for k, v in headers(tenant.token).items()}
    me = http.get(f"{V2}/users/me", headers=sent)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == tenant.user_id
    created = http.post(f"{V2}/clients", headers=sent, json={"name": "Via header"})
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("claimed", ["OTHER", "not-an-account", ""])
def test_keito_account_id_must_name_the_keys_account(http, tenant, other_tenant, claimed):
    claimed = claimed.replace("OTHER", other_tenant.account_id)
    headers = {"Authorization": f"Bearer {tenant.token}", "Keito-Account-Id": claimed}
    assert_error(http.get(f"{V2}/users/me", headers=headers), 403, "Keito-Account-Id")


def test_a_read_key_reads_but_never_writes(caller, create, state):
    reader = caller("owner", scope="read")
    client = create("clients", name="Kept")
    for path in ("users/me", "clients", f"clients/{client['id']}", "company", "api_keys"):
        assert reader.get(f"{V2}/{path}").status_code == 200, path
    for method, path, body in [
        ("POST", "clients", {"name": "x"}),
        ("PATCH", f"clients/{client['id']}", {"name": "x"}),
        ("DELETE", f"clients/{client['id']}", None),
        ("PATCH", "company", {"name": "x"}),
        ("POST", "api_keys", {"name": "escalate", "scope": "write"}),
        ("DELETE", f"api_keys/{reader.key['id']}", None),
    ]:
        before = state()
        kwargs = {} if body is None else {"json": body}
        assert_error(reader.request(method, f"{V2}/{path}", **kwargs), 403, "read-only")
        assert state() == before, (method, path)


def test_revocation_takes_effect_on_the_next_request(api, caller, db):
    other = caller("member")
    assert other.get(f"{V2}/users/me").status_code == 200
    assert api.delete(f"{V2}/api_keys/{other.key['id']}").status_code == 200
    assert_error(other.get(f"{V2}/users/me"), 401, "revoked")
    # Revoking your own key: the response is the last thing it does.
    own = caller("admin")
    revoked = own.delete(f"{V2}/api_keys/{own.key['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    assert_error(own.get(f"{V2}/users/me"), 401, "revoked")
    assert db_row(db, ApiKey, own.key["id"]).revoked_at is not None


def test_changes_made_by_any_writer_reach_the_next_request(api, caller, db):
    """Each process remembers keys (accounts/credentials.py); the database raises the
    account's credentials_version on any change, so a role, a profile or a revocation made
    elsewhere (another process, an operator's SQL) is seen by the very next request."""
    member = caller("member")
    assert_error(member.get(f"{V2}/api_keys"), 403, "admin")
    assert member.get(f"{V2}/users/me").json()["first_name"] != "Promoted"
    changed = api.patch(
        f"{V2}/users/{member.user['id']}", json={"role": "admin", "first_name": "Promoted"}
    )
    assert changed.status_code == 200
    assert member.get(f"{V2}/api_keys").status_code == 200
    assert member.get(f"{V2}/users/me").json()["first_name"] == "Promoted"
    # Plain SQL, as an operator or another program would: no application code involved.
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE api_keys SET revoked_at = created_at")
    assert_error(member.get(f"{V2}/users/me"), 401, "revoked")
    assert_error(api.get(f"{V2}/users/me"), 401, "revoked")


def test_a_deactivated_users_key_is_refused(api, caller):
    member = caller("member")
    assert member.get(f"{V2}/clients").status_code == 200
    assert api.delete(f"{V2}/users/{member.user['id']}").status_code == 200
    assert_error(member.get(f"{V2}/clients"), 401, "deactivated")
    assert_error(member.post(f"{V2}/clients", json={"name": "x"}), 401, "deactivated")


def test_a_key_expires(api, tenant, clock):
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    key = api.post(f"{V2}/api_keys", json={"name": "short", "expires_at": expires}).json()
    headers = {"Authorization": f"Bearer {key['token']}"}
    assert datetime.fromisoformat(key["expires_at"]) == datetime.fromisoformat(expires)
    assert api.get(f"{V2}/users/me", headers=headers).status_code == 200
    clock(timedelta(minutes=59))
    assert api.get(f"{V2}/users/me", headers=headers).status_code == 200
    clock(timedelta(hours=1, seconds=1))
    assert_error(api.get(f"{V2}/users/me", headers=headers), 401, "expired")
    assert api.get(f"{V2}/users/me").status_code == 200  # the owner's own key still works


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_last_used_at_is_stamped(api, caller, db, clock, method):
    user = caller("manager")
    assert db_row(db, ApiKey, user.key["id"]).last_used_at is None

    def use() -> None:
        if method == "GET":
            assert user.get(f"{V2}/clients").status_code == 200
        else:
            assert user.post(f"{V2}/clients", json={"name": "x"}).status_code == 201

    use()
    first = db_row(db, ApiKey, user.key["id"]).last_used_at
    assert first is not None
    assert abs(first - utcnow()) < timedelta(seconds=5)
    shown = api.get(f"{V2}/api_keys/{user.key['id']}").json()["last_used_at"]
    assert datetime.fromisoformat(shown) == first
    use()  # within the minute: not stamped again
    assert db_row(db, ApiKey, user.key["id"]).last_used_at == first
    clock(timedelta(minutes=2))
    use()
    assert db_row(db, ApiKey, user.key["id"]).last_used_at > first + timedelta(minutes=1)
