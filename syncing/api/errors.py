"""The one error shape every failure of the API answers with."""

from __future__ import annotations

from ninja import Schema


class ErrorDetail(Schema):
    field: str | None = None
    message: str


class ErrorOut(Schema):
    status: int
    message: str
    details: list[ErrorDetail] = []


class ApiError(Exception):
    """Raised by a router to answer `status` with `message` and optional per-field details."""

    def __init__(self, status: int, message: str, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Rate limit exceeded; retry in {retry_after} seconds.")
        self.retry_after = retry_after


def field_error(status: int, field: str, message: str) -> ApiError:
    return ApiError(status, message, [{"field": field, "message": message}])


# Declared on every operation, so the OpenAPI document lists the shape clients must handle.
ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 422, 429)}
