"""The timeledger Python SDK (needs httpx only).

    from timeledger.client import Timeledger

    with Timeledger(api_key="tlk_...") as client:       # or TIMELEDGER_API_KEY
        entry = client.timers.start(project_id, task_id, notes="Review")
        client.timers.stop()
        for entry in client.time_entries.list(from_date="2026-03-01"):   # every page
            print(entry.spent_date, entry.hours, entry.notes)

`AsyncTimeledger` has the same resources, awaited. Errors are `TimeledgerError`s.
"""

from timeledger.client._client import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    AsyncTimeledger,
    Timeledger,
)
from timeledger.client._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TimeledgerError,
    ValidationError,
)
from timeledger.client._http import encode_json
from timeledger.client.models import OutcomeTypes
from timeledger.client.pagination import AsyncPage, Page
from timeledger.client.tracking import AsyncTrack, Track
from timeledger.client.webhook_signature import WebhookVerificationError, verify_signature

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncPage",
    "AsyncTimeledger",
    "AsyncTrack",
    "AuthenticationError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "OutcomeTypes",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "Timeledger",
    "TimeledgerError",
    "Track",
    "ValidationError",
    "WebhookVerificationError",
    "encode_json",
    "verify_signature",
]
