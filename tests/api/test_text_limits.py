"""Length limits count the text as sent: surrounding whitespace is dropped only afterwards
(pydantic's strip_whitespace stripped first, so 256 characters passed a 255 limit)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

URL_AT_LIMIT = "https://example.com/" + "x" * 2028  # 2048 characters
# (path, body or query, the field whose value is exactly at its limit, that limit)
CASES: list[tuple[str, dict[str, Any], str, int]] = [
    ("/api/v2/expense_categories", {"name": "Tokens", "unit_name": "x" * 64}, "unit_name", 64),
    ("/api/v2/webhooks", {"url": URL_AT_LIMIT, "events": ["*"]}, "url", 2048),
    ("/api/v2/time_entries/search", {"q": "x" * 200}, "q", 200),
    (
        "/api/v1/time-entries/",
        {"work_item_type": "x" * 64, "work_item_id": "1", "started_at": "2026-01-05T09:00:00Z"},
        "work_item_type",
        64,
    ),
    ("/api/webhooks", {"url": URL_AT_LIMIT, "events": ["time_entry.started"]}, "url", 2048),
]


@pytest.mark.parametrize(("path", "values", "field", "limit"), CASES, ids=[c[0] for c in CASES])
def test_one_space_over_the_limit_is_refused(
    api: TestClient, path: str, values: dict[str, Any], field: str, limit: int
) -> None:
    assert len(values[field]) == limit
    padded = {**values, field: " " + values[field]}
    if path.endswith("/search"):
        response = api.get(path, params=padded)
    else:
        response = api.post(path, json=padded)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert f"at most {limit} characters" in response.text
