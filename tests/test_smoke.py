from __future__ import annotations


def test_me_returns_the_key_owner(api, tenant):
    response = api.get("/api/v2/users/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == tenant.user_id
    assert body["company"] == {"id": tenant.account_id, "name": "Acme"}


def test_sdk_me(sdk, tenant):
    me = sdk.users.me()
    assert me.id == tenant.user_id
    assert me.email == "owner@acme.example"
