"""Invoices created at the same moment, from threads over the real ASGI app and database
(on PostgreSQL these really run at once): numbers stay unique and gapless, and work that two
invoices both reach for is billed by exactly one of them."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from callkit import V2, exact, get
from timeledger.server.models import TimeEntry
from timeledger.server.tracking.service import ensure_unlocked


def _at_once(app: Any, token: str, bodies: list[dict[str, Any]]) -> list[Any]:
    """POST each body to /invoices from its own thread, released together."""
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def run(index: int) -> None:
        client = TestClient(
            app,
            base_url="http://testserver",
            raise_server_exceptions=False,
            headers={"Authorization": f"Bearer {token}"},
        )
        barrier.wait()
        results[index] = client.post(f"{V2}/invoices", json=bodies[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_numbers_are_unique_and_gapless_under_concurrent_creation(app, api, tenant, shop):
    body = {"client_id": shop.client_id, "line_items": [{"quantity": 1, "unit_price": 1}]}
    responses = _at_once(app, tenant.token, [body] * 8)
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    numbers = sorted(int(r.json()["number"]) for r in responses)
    assert numbers == list(range(1, 9))


def test_work_reached_by_two_invoices_at_once_is_billed_once(app, api, tenant, shop):
    period = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
    for round_ in range(3):
        entries = [
            shop.entry(api, spent_date=f"2026-03-{day:02d}", hours=1, project_id=project)
            for day in range(1 + round_ * 4, 5 + round_ * 4)
            for project in (shop.web_id, shop.app_id)
        ]
        both = {"client_id": shop.client_id, **period}
        app_only = {**both, "project_ids": [shop.app_id]}
        responses = _at_once(app, tenant.token, [both, app_only, both])
        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {201, 400}, [r.text for r in responses]
        assert statuses[201] >= 1
        invoices = [exact(r) for r in responses if r.status_code == 201]
        for r in responses:
            if r.status_code == 400:
                assert "nothing to bill" in r.json()["error_description"]
        # Each entry is billed by exactly one invoice, and the invoices add up to the work.
        billed_by = {e["id"]: get(api, f"time_entries/{e['id']}") for e in entries}
        assert all(row["is_billed"] for row in billed_by.values())
        hours = sum(Decimal(line["quantity"]) for i in invoices for line in i["line_items"])
        assert hours == len(entries)
        assert sum(i["subtotal"] for i in invoices) == 4 * 100 + 4 * 150
        numbers = sorted(int(i["number"]) for i in get(api, "invoices")["invoices"])
        assert numbers == list(range(1, len(numbers) + 1))  # failed creations left no gap


def test_billing_waits_for_an_edit_in_flight_and_bills_what_it_wrote(app, db, tenant, shop, api):
    """An edit that found its entry unbilled (ensure_unlocked) holds billing off until it
    commits, so the invoice bills the entry as edited, never the version before."""
    entry = shop.entry(api, spent_date="2026-03-02", hours=1)
    body = {"client_id": shop.client_id, "period_start": "2026-03-01", "period_end": "2026-03-31"}
    results: list[Any] = []
    with db.transaction(write=True) as session:
        row = session.get(TimeEntry, uuid.UUID(entry["id"]))
        assert row is not None
        ensure_unlocked(row)
        row.duration_seconds = 2 * 3600
        session.flush()
        billing = threading.Thread(
            target=lambda: results.extend(_at_once(app, tenant.token, [body]))
        )
        billing.start()
        billing.join(timeout=0.5)
        assert billing.is_alive(), "the invoice did not wait for the edit"
    billing.join(timeout=30)
    (response,) = results
    invoice = exact(response)
    assert response.status_code == 201, invoice
    assert [line["quantity"] for line in invoice["line_items"]] == [2]
    assert get(api, f"time_entries/{entry['id']}")["is_billed"] is True
