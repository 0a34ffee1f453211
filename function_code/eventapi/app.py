"""The FastAPI application: routes under /api behind the error shield, concurrency and body guards."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from eventapi.cors import CrossOrigin
from eventapi.discovery import DEVICE_AUTHORIZATION_PATH, TOKEN_PATH
from eventapi.errors import register_error_handlers
from eventapi.guard import BodyGuard, ConcurrencyGuard, ErrorShield, SecurityHeaders
from eventapi.lazy_routers import Router, include_routers
from eventapi.log_filter import install_adapter_body_filter
from eventapi.openapi_oauth import document_request_bodies
from eventapi.phases import PhaseGuard
from eventapi.services import Services, build_services
from eventapi.settings import MAX_BODY_BYTES, load_settings

API_PREFIX = "/api"


def _api(name: str, *lazy_under: str) -> Router:
    return Router(f"eventapi.routes.{name}", API_PREFIX, tuple(API_PREFIX + path for path in lazy_under))


# In routing order. What a cold instance serves at once (the edge's probe, the wall's commands and
# reads) is built at start-up; every other router on the first request under its paths.
ROUTERS = (
    _api("health"),
    _api("auth", "/auth/", "/.well-known/"),
    _api("lights"),
    _api("me", "/me"),
    _api("privacy", "/privacy"),
    _api("wall", "/wall"),
    _api("join", "/join"),
    # RFC 8414 / RFC 9728 metadata lives at the origin's well-known paths, outside the prefix.
    Router("eventapi.routes.discovery", "", ("/.well-known/",)),
)
# The endpoints that read RFC 6749 form bodies (and JSON) themselves.
OAUTH_PATHS = frozenset({DEVICE_AUTHORIZATION_PATH, TOKEN_PATH})
# The SDKs log request URLs at INFO (table URLs carry session ids and attendee hashes as keys) and
# bodies at DEBUG; the Functions worker logs requests. None of them goes below WARNING.
_CHATTY_SDK_LOGGERS = (
    "azure",
    "azure.functions",
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "msal",
    "httpx",
    "httpcore",
    "urllib3",
)


def quiet_sdk_logs() -> None:
    """Keep personal identifiers in request URLs out of the logs (and out of Application Insights)."""
    for name in _CHATTY_SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_adapter_body_filter()


def create_app(services: Services) -> FastAPI:
    """The API wired to `services`; the same app runs under Azure Functions and under uvicorn."""
    # The Functions host hands over the full path (/api/...), so routes carry the prefix themselves.
    app = FastAPI(
        title="eventstack event API",
        summary="Sign in with GitHub, then send commands to the conference light wall.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    quiet_sdk_logs()
    app.state.services = services
    register_error_handlers(app)
    # Innermost: only a request that passed the guards builds a router.
    include_routers(app, ROUTERS)
    document_request_bodies(app)
    settings = services.settings
    # Added innermost first: the shield wraps everything, the body guard sits next to the routes.
    app.add_middleware(BodyGuard, max_bytes=MAX_BODY_BYTES, oauth_paths=OAUTH_PATHS)
    app.add_middleware(PhaseGuard, settings=settings, clock=services.clock)
    app.add_middleware(
        ConcurrencyGuard,
        max_concurrent=settings.max_concurrent_requests,
        max_outstanding=settings.max_outstanding_requests,
    )
    app.add_middleware(ErrorShield)
    # Outside the guards, so that a 429 or a 500 still reaches a cross-origin caller's code as the API worded it.
    app.add_middleware(CrossOrigin, origins=settings.cors_origins)
    # Outermost, so that the guards' 413/415/429 and the shield's 500 carry the headers too.
    app.add_middleware(SecurityHeaders)
    return app


def create_app_from_environment() -> FastAPI:
    """Read and validate the settings, build the services and the app (uvicorn's --factory target)."""
    return create_app(build_services(load_settings(os.environ)))
