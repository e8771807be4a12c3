"""HubSpot's error bodies, as the real API sends them (crm-apis.md B5)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.sandbox.api import Response

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
EXPIRED_MESSAGE = (
    "The OAuth token used to make this call expired 0 second(s) ago. "
    "You can get a new access token by calling the refresh endpoint."
)


def error(status: int, message: str, category: str, **extra: Any) -> Response:
    """A `{"status":"error", ...}` body with a fresh correlationId."""
    payload = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response.json(status, payload)


def validation(message: str, **extra: Any) -> Response:
    """400 VALIDATION_ERROR."""
    return error(400, message, "VALIDATION_ERROR", **extra)


def property_errors(problems: Sequence[Mapping[str, str]]) -> Response:
    """400 for invalid property values: the message embeds the validation results as JSON."""
    results = [
        {
            "isValid": False,
            "message": p["message"],
            "error": p["error"],
            "name": p["name"],
            "localizedErrorMessage": p["message"],
        }
        for p in problems
    ]
    message = "Property values were not valid: " + json.dumps(results, separators=(",", ":"))
    return validation(message)


def rate_limited(policy: str) -> Response:
    """429 RATE_LIMIT; TEN_SECONDLY_ROLLING carries `Retry-After: 1`, DAILY carries none."""
    name = policy.lower()
    payload = {
        "status": "error",
        "message": f"You have reached your {name} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }
    headers = {"Retry-After": "1"} if policy != "DAILY" else {}
    return Response.json(429, payload, headers)


def server_error(status: int) -> Response:
    """500/502/503 in HubSpot's shape."""
    messages = {500: "internal error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return error(
        status,
        messages.get(status, "error"),
        "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
    )


def not_found_object(object_id: str) -> Response:
    """404 for an object id that does not exist."""
    return error(
        404,
        "Object not found.  objectId are usually numeric.",
        "OBJECT_NOT_FOUND",
        context={"id": [object_id]},
    )
