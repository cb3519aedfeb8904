"""What Schemathesis found (test_schemathesis.py), each pinned by a plain test."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from surfacekit import (
    ALGAPSA,
    CLOCKEYE,
    NATIVE,
    SURFACES,
    TEMPORALIST,
    Surface,
    native_error,
    openapi,
    temporalist_error,
)

from timeledger.server.core.crud import MAX_PER_PAGE

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "422", "429"}


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_every_operation_of_every_surface_documents_its_errors(
    api: TestClient, surface: Surface
) -> None:
    # Before: the compatibility surfaces documented no error (AlgaPSA and ClockEye only
    # FastAPI's 422, which they never send), so every 400/404/409 broke their documents.
    document = openapi(api, surface)
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert operations
    for operation in operations:
        assert set(operation["responses"]) >= ERROR_STATUSES, operation["summary"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["security"] and document["components"]["securitySchemes"]


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    response = api.get(NATIVE.openapi_url)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_every_native_operation_documents_its_errors_in_the_surface_format(
    document: dict[str, Any],
) -> None:
    # Before: only a 422 with FastAPI's HTTPValidationError, which /api/v2 never sends (its
    # validation errors are 400s), and no 400/401/403/404/409/413/429 at all.
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) > 100
    for operation in operations:
        responses = operation["responses"]
        assert set(responses) >= ERROR_STATUSES, (operation["summary"], sorted(responses))
        for status in ERROR_STATUSES:
            assert responses[status]["content"]["application/json"]["schema"] == error_body
    schema = document["components"]["schemas"]["ErrorBody"]
    assert schema["required"] == ["error", "error_description"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_document_says_how_to_send_the_api_key(document: dict[str, Any], http: Any) -> None:
    # Before: no security scheme, so no client (nor Schemathesis' auth checks) knew of the key.
    assert document["security"] == [{"bearer": []}, {"apiKey": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    native_error(http.get(f"{NATIVE.prefix}/users/me", headers={"X-API-Key": "wrong"}), 401)


def test_paging_bounds_are_in_the_document(document: dict[str, Any]) -> None:
    # Before: per_page=0 or page=-1 obeyed the document and got a 400.
    parameters = {
        p["name"]: p["schema"] for p in document["paths"]["/clients"]["get"]["parameters"]
    }
    assert parameters["page"]["minimum"] == 1
    assert (parameters["per_page"]["minimum"], parameters["per_page"]["maximum"]) == (
        1,
        MAX_PER_PAGE,
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": MAX_PER_PAGE + 1}, "per_page"),
        ({"page": 0}, "page"),
    ],
)
def test_paging_out_of_bounds_is_a_400_naming_the_parameter(
    api: TestClient, query: dict[str, int], field: str
) -> None:
    body = native_error(api.get(f"{NATIVE.prefix}/clients", params=query), 400)
    assert field in body["error_description"]


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("contacts", {"updated_since": "6.7e-115"}, "updated_since"),
        ("expenses", {"updated_since": "0.0"}, "updated_since"),
        ("time_entries", {"updated_since": "1700000000"}, "updated_since"),
        ("expenses/export", {"to": "0.0"}, "to"),
        ("expenses", {"from": "20260101"}, "from"),
    ],
)
def test_a_number_is_not_a_date_or_time(
    api: TestClient, path: str, query: dict[str, str], field: str
) -> None:
    # Before: pydantic read numbers as seconds since 1970 and the request was answered.
    body = native_error(api.get(f"{NATIVE.prefix}/{path}", params=query), 400)
    assert field in body["error_description"]


def test_an_iso_time_is_still_a_time(api: TestClient) -> None:
    response = api.get(f"{NATIVE.prefix}/contacts", params={"updated_since": "2026-01-01T00:00Z"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", [0, 0.0, 1, "no", "true", "off"])
def test_a_flag_is_true_or_false_not_something_like_it(api: TestClient, value: Any) -> None:
    # Before: pydantic read 0.0 or "off" as false and the change was stored.
    response = api.post(f"{NATIVE.prefix}/clients", json={"name": "Initech", "is_active": value})
    assert "is_active" in native_error(response, 400)["error_description"]
    assert api.get(f"{NATIVE.prefix}/clients").json()["clients"] == []


def test_a_parameter_given_twice_is_refused(api: TestClient) -> None:
    # Before: the last value won, so a filter by two projects was silently a filter by one.
    response = api.get(f"{NATIVE.prefix}/reports/uninvoiced?project_id=a&project_id=b")
    assert "project_id" in native_error(response, 400)["error_description"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [(" " + "x" * 255, "at most 255"), ("   ", "blank"), ("", "at least 1")],
)
def test_length_limits_hold_for_the_text_as_sent(api: TestClient, name: str, problem: str) -> None:
    # Before: surrounding whitespace was stripped before the length check, so 256 characters
    # (as the document counts them) were taken.
    response = api.post(f"{NATIVE.prefix}/clients", json={"name": name})
    assert problem in native_error(response, 400)["error_description"]


def test_surrounding_whitespace_is_still_dropped(api: TestClient) -> None:
    response = api.post(f"{NATIVE.prefix}/clients", json={"name": "  Initech  "})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Initech"


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_a_newline_in_a_path_is_the_surface_s_own_404(api: TestClient, surface: Surface) -> None:
    # Before: Starlette's Mount does not match a path with a newline, so the server's own 404
    # ({"detail": "Not Found"}) answered instead of the surface.
    surface.assert_error(api.get(f"{surface.prefix}/clients/a%0Ab"), 404)


@pytest.mark.parametrize(
    "body", [b'{"name": ', b"[[[[" * 100_000], ids=["malformed", "nested too deep"]
)
def test_every_temporalist_400_is_keyed_by_field(api: TestClient, body: bytes) -> None:
    # Before: a malformed body got {"detail": ...}, which its document (and the reference)
    # does not allow for a 400.
    response = api.post(
        f"{TEMPORALIST.prefix}/projects/",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert list(temporalist_error(response, 400)) == ["non_field_errors"]


@pytest.mark.parametrize(
    ("surface", "path"),
    [(ALGAPSA, ""), (ALGAPSA, "/export"), (CLOCKEYE, "/time-entries")],
    ids=["algapsa", "algapsa-export", "clockeye"],
)
def test_a_number_is_not_a_date_on_the_compatibility_surfaces(
    api: TestClient, surface: Surface, path: str
) -> None:
    # Before: pydantic read start_date=0.0 as 1970-01-01 and the request was answered.
    response = api.get(f"{surface.prefix}{path}", params={"start_date": "0.0"})
    assert "start_date" in str(surface.assert_error(response, 400))
