"""Exception handlers: every error is a fixed code (and a fixed text saying what to do), never an echo of the input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from eventapi.auth.github import GitHubUnavailable
from eventapi.auth.oauth import OAuthError
from eventapi.challenge import SESSION_ENDED, BearerRefused, unauthorized
from eventapi.models import FIELD_HELP, LIGHT_EXAMPLE
from eventapi.quotas import QuotaExceeded
from eventapi.storage.sessions import SessionGone
from eventapi.storage.tables import Conflict, StorageUnavailable

log = logging.getLogger(__name__)

# Dependencies that are down are worth a retry; clients are told when.
DEPENDENCY_RETRY_AFTER_SECONDS = 30

# The fixed code in the body of each error status (also what the OpenAPI examples show).
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def problem(status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """The generic body for `status`."""
    return JSONResponse({"error": ERROR_CODES.get(status, "bad_request")}, status_code=status, headers=headers)


# The methods a 405 may name: every method HTTP defines for resources (CONNECT is not one).
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, asked of the routes' own matching."""
    allowed = []
    for method in _HTTP_METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for HTTPException only
    status = error.status_code if 400 <= error.status_code < 500 else 400
    headers = dict(error.headers or {})
    if status == 405:
        # Starlette names only the methods of the first route that matched the path; a path with a
        # route per method (GET and POST /api/lights) must list them all.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(status, headers)


# What a 422 says when no field of ours can be named (a body that is not an object, a field we do not know).
BODY_HELP = f"The body must be a JSON object with exactly the documented fields, e.g. {LIGHT_EXAMPLE}."


def teaching(errors: list[dict[str, object]]) -> str:
    """A fixed text per field that failed: its allowed form and an example (FIELD_HELP), nothing that was sent."""
    texts: list[str] = []
    for failure in errors:
        location = failure.get("loc", ())
        named = (
            [part for part in location if isinstance(part, str) and part in FIELD_HELP]
            if isinstance(location, tuple | list)
            else []
        )
        # An unknown field's name is input too: it is never repeated, only the rule is.
        text = FIELD_HELP[named[-1]] if named and failure.get("type") != "extra_forbidden" else BODY_HELP
        if text not in texts:
            texts.append(text)
    return " ".join(texts) or BODY_HELP


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for RequestValidationError only
    # Pydantic's messages quote the input: none of them goes back, only the texts of FIELD_HELP.
    return JSONResponse(
        {"error": ERROR_CODES[422], "error_description": teaching(list(error.errors()))}, status_code=422
    )


async def _oauth(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OAuthError)  # noqa: S101 - registered for OAuthError only
    return JSONResponse(
        {"error": error.code.value, "error_description": error.description},
        status_code=error.status,
        headers=error.headers,
    )


async def _bearer_refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, BearerRefused)  # noqa: S101 - registered for BearerRefused only
    return unauthorized(error.refusal, request.app.state.services.settings)


async def _quota(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, QuotaExceeded)  # noqa: S101 - registered for QuotaExceeded only
    return problem(429, {"Retry-After": str(error.retry_after)})


async def _dependency_down(request: Request, error: Exception) -> JSONResponse:
    # 503, not a 4xx: the request was fine and a later retry can succeed; a 4xx would tell the
    # caller to change a request that was not wrong. Logged by type only.
    log.warning("dependency unavailable: %s", type(error).__name__)
    return problem(503, {"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)})


async def _session_gone(request: Request, error: Exception) -> JSONResponse:
    # Revoked or erased while the request ran: the same 401 as a session that ended before it.
    return unauthorized(SESSION_ENDED, request.app.state.services.settings)


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers on `app`."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(OAuthError, _oauth)
    app.add_exception_handler(BearerRefused, _bearer_refused)
    app.add_exception_handler(QuotaExceeded, _quota)
    app.add_exception_handler(StorageUnavailable, _dependency_down)
    app.add_exception_handler(GitHubUnavailable, _dependency_down)
    # A write that kept losing races: busy, not the caller's fault.
    app.add_exception_handler(Conflict, _dependency_down)
    app.add_exception_handler(SessionGone, _session_gone)
