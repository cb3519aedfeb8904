"""Probes, the API's own description, and the HTTP conventions every /api/v2 response keeps."""

from __future__ import annotations

from starlette.testclient import TestClient
from v2kit import V2, api_routes, assert_error, native_app

from timeledger.server.app import create_app
from timeledger.server.config import Settings
from timeledger.server.db import Database


def test_healthz(http):
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(http):
    response = http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable():
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    database = Database(settings)
    with TestClient(create_app(settings, database=database)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
        assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_openapi_document_lists_every_route(http, app):
    response = http.get(f"{V2}/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"]
    assert spec["info"]["version"]
    listed = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routed = {
        (path, method)
        for path, route in api_routes(native_app(app).routes)
        if route.include_in_schema
        for method in route.methods - {"HEAD"}
    }
    assert listed == routed
    assert ("/clients/{id}", "PATCH") in listed
    # Every operation is documented and every $ref resolves.
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            assert any(code.startswith("2") for code in op["responses"]), (method, path)
    refs = {r.rsplit("/", 1)[-1] for r in _refs(spec)}
    assert refs <= set(schemas), refs - set(schemas)
    # The list envelope of the Keito contract is what the document promises.
    envelope = schemas["ClientsList"]
    assert {"clients", "per_page", "total_pages", "total_entries", "page", "links"} <= set(
        envelope["properties"]
    )
    assert envelope["properties"]["total_pages"]["type"] == "integer"


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_docs_page(http):
    response = http.get(f"{V2}/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f"{V2}/openapi.json" in response.text


def test_trailing_slash_is_404_not_a_redirect(api):
    for path in ("clients/", "users/me/", "", "projects/x/task_assignments/", "company/"):
        response = api.get(f"{V2}/{path}", follow_redirects=False)
        assert response.status_code == 404, path
        assert_error(response, 404)
        assert "location" not in response.headers


RESPONSES = [  # (method, path, status): successes and each kind of failure
    ("GET", "users/me", 200),
    ("GET", "clients", 200),
    ("GET", "clients/00000000-0000-0000-0000-000000000000", 404),
    ("GET", "nothing-here", 404),
    ("PUT", "clients", 405),
    ("POST", "clients", 400),
]


def test_every_response_carries_the_api_version(api):
    for method, path, status in RESPONSES:
        # The SDK sends Content-Type: application/json on every request, bodies or not.
        headers = {"Content-Type": "application/json"}
        response = api.request(method, f"{V2}/{path}", headers=headers)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["X-Keito-API-Version"] == "2", (method, path)
        assert response.headers["content-type"] == "application/json", (method, path)
        if status >= 400:
            assert_error(response, status)
