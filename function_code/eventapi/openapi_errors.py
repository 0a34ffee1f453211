"""The error responses an operation documents, named after what in the app produces them.

Each route lists the groups that apply to it, so the OpenAPI document shows every status the
guards, the error handlers and the route itself can answer, each with its body, example and
headers. Reusable by any router: `responses=error_responses(*EVERY_REQUEST, *JSON_BODY, 401)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eventapi.errors import ERROR_CODES
from eventapi.models import Problem

# The concurrency guard (429) and the error shield (500) stand in front of every route.
EVERY_REQUEST: tuple[int, ...] = (429, 500)
# A JSON body: the body guard (413 over the cap, 415 not JSON), unparseable JSON (400), a body
# outside its model (422).
JSON_BODY: tuple[int, ...] = (400, 413, 415, 422)
# A method that may carry a body the route ignores: the body guard still checks it.
IGNORED_BODY: tuple[int, ...] = (413, 415)
# A bearer token (401), checked against the session row in table storage (503 when it is down).
SIGNED_IN: tuple[int, ...] = (401, 503)
# An RFC 6749 form (or JSON) body the route reads itself: refusals are 400, Basic credentials 401.
OAUTH_BODY: tuple[int, ...] = (400, 401)
# Reads or writes table storage.
STORAGE: tuple[int, ...] = (503,)
# Closed with the event's phase (sign-in after the event, data after the retention window).
EVENT_PHASE: tuple[int, ...] = (410,)

_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON.",
    401: "No access token (`unauthorized`), or `invalid_token`: expired (refresh it), a refresh token sent "
    "instead, not issued by this API, or its session has ended (sign in again); `error_description` says which.",
    410: "The event is over: sign-in closes at its end (plus any grace), data endpoints when its data is deleted.",
    413: "The body is larger than the API accepts.",
    415: "The body is not application/json.",
    422: "The body or a parameter does not match the documented schema; `error_description` names the field, "
    "its allowed form and an example.",
    429: "Too many requests: from this caller (a quota) or to this instance; retry after Retry-After seconds.",
    500: "An unexpected error; nothing about it is returned.",
    503: "A dependency (table storage, GitHub) did not answer; retry after Retry-After seconds.",
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying.", "required": True, "schema": {"type": "string"}}
_BEARER_CHALLENGE = (
    'RFC 6750 `Bearer realm="eventstack"`, with `error="invalid_token"` and `error_description` when a token was '
    "sent, and RFC 9728 `resource_metadata` (the protected resource metadata URL)."
)
_BASIC_CHALLENGE = 'RFC 6749 section 5.2: `Basic realm="eventstack"`, for client credentials sent in that scheme.'
CHALLENGES = {"Bearer": _BEARER_CHALLENGE, "Basic": _BASIC_CHALLENGE}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": _BEARER_CHALLENGE, "required": True, "schema": {"type": "string"}}},
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": _RETRY_AFTER},
}


def error_response(
    status: int, description: str | None = None, codes: Sequence[str] = (), challenge: str = "Bearer"
) -> dict[str, Any]:
    """One documented error: the Problem body, an example per code (default: the status' own code), headers."""
    examples = {code: {"value": {"error": code}} for code in (codes or (ERROR_CODES[status],))}
    documented: dict[str, Any] = {
        "model": Problem,
        "description": description or _DESCRIPTIONS[status],
        "content": {"application/json": {"examples": examples}},
    }
    if status in _HEADERS:
        documented["headers"] = _HEADERS[status]
    if status == 401:
        documented["headers"] = {
            "WWW-Authenticate": {**_HEADERS[401]["WWW-Authenticate"], "description": CHALLENGES[challenge]}
        }
    return documented


def error_responses(
    *statuses: int,
    descriptions: Mapping[int, str] | None = None,
    codes: Mapping[int, Sequence[str]] | None = None,
    challenges: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """FastAPI's `responses=` for `statuses` (duplicates collapse); `descriptions`/`codes` override per status.

    `challenges` picks the 401's WWW-Authenticate scheme (`Bearer` unless it says `Basic`).
    """
    descriptions = descriptions or {}
    codes = codes or {}
    challenges = challenges or {}
    return {
        status: error_response(
            status, descriptions.get(status), codes.get(status, ()), challenges.get(status, "Bearer")
        )
        for status in sorted(set(statuses))
    }
