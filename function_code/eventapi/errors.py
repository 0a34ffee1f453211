"""Exception handlers: every error is a fixed code in a generic body, never an echo of the input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from eventapi.auth.github import GitHubUnavailable
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


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    # Pydantic's messages quote the input: none of it goes back.
    return problem(422)


async def _quota(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, QuotaExceeded)  # noqa: S101 - registered for QuotaExceeded only
    return problem(429, {"Retry-After": str(error.retry_after)})


async def _dependency_down(request: Request, error: Exception) -> JSONResponse:
    # 503, not a 4xx: the request was fine and a later retry can succeed; a 4xx would tell the
    # caller to change a request that was not wrong. Logged by type only.
    log.warning("dependency unavailable: %s", type(error).__name__)
    return problem(503, {"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)})


async def _session_gone(request: Request, error: Exception) -> JSONResponse:
    # Revoked or erased while the request ran: the same 401 as any other refused token.
    return problem(401, {"WWW-Authenticate": "Bearer"})


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers on `app`."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(QuotaExceeded, _quota)
    app.add_exception_handler(StorageUnavailable, _dependency_down)
    app.add_exception_handler(GitHubUnavailable, _dependency_down)
    # A write that kept losing races: busy, not the caller's fault.
    app.add_exception_handler(Conflict, _dependency_down)
    app.add_exception_handler(SessionGone, _session_gone)
