"""Salesforce REST error responses: always a JSON array of `{message, errorCode[, fields]}`."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.sandbox.api import Response


class ApiError(Exception):
    """An error the REST API answers with `status` and one `[{message, errorCode}]` body."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: Sequence[str] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None

    def response(self) -> Response:
        """The error as Salesforce sends it."""
        return error_response(self.status, self.error_code, self.message, self.fields)


def error_response(
    status: int, error_code: str, message: str, fields: Sequence[str] | None = None
) -> Response:
    """`[{"message": ..., "errorCode": ...}]` with `status`."""
    body: dict[str, object] = {"message": message, "errorCode": error_code}
    if fields is not None:
        body["fields"] = list(fields)
    return Response.json(status, [body])


def not_found() -> ApiError:
    """404 NOT_FOUND for a path or record the org does not have."""
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_session() -> ApiError:
    """401 INVALID_SESSION_ID for a missing, unknown or expired token."""
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def method_not_allowed(method: str, allowed: str) -> ApiError:
    """405 for a method the resource does not take."""
    return ApiError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )
