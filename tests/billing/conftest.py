"""Fixtures for the invoicing tests: a shop of clients, projects and people (callers and views
of the database are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from billkit import Shop, make_shop
from starlette.testclient import TestClient


@pytest.fixture
def shop(api: TestClient, tenant: Any) -> Shop:
    return make_shop(api, tenant.user_id)
