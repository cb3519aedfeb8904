"""Domain errors: what went wrong, in words a surface can render in its own format."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken. `code` is machine-readable, `message` names the field and says why,
    `status` is the HTTP status every surface uses for it."""

    status = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: list[dict[str, object]] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        # Per-item errors of a batch operation, rendered by each surface in its own format.
        self.details = details
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    status = 400
    code = "invalid_request"


class NotAuthenticated(DomainError):
    status = 401
    code = "invalid_token"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, what: str, *, field: str | None = None):
        super().__init__(f"{what} not found", field=field)


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unavailable(DomainError):
    """A passing failure of a dependency (the database connection dropped): retry."""

    status = 503
    code = "unavailable"
