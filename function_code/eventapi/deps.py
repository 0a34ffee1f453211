"""Request dependencies: the services, the caller's session, the client IP."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlows
from fastapi.security import HTTPBearer, OAuth2
from starlette.concurrency import run_in_threadpool

from eventapi.auth.oauth import OAuthRequest, parse_request
from eventapi.auth.tokens import ExpiredToken, InvalidToken, KeysNotInHand
from eventapi.challenge import (
    EXPIRED,
    NO_TOKEN,
    NOT_BEARER,
    NOT_OURS,
    REFRESH_TOKEN_SENT,
    SESSION_ENDED,
    BearerRefused,
)
from eventapi.models import REFRESH_TOKEN_PATTERN
from eventapi.openapi_oauth import DEVICE_FLOW, DEVICE_FLOW_DESCRIPTION, DEVICE_FLOW_SCHEME
from eventapi.services import Services
from eventapi.settings import EDGE_CLIENT_IP_HEADER
from eventapi.storage.sessions import Session

# Both schemes describe the same header, for the document only (auto_error=False: the dependency
# below answers every refusal itself). The bearer scheme lets the docs page take a pasted token; the
# OAuth 2.0 scheme says how to get one.
_bearer = HTTPBearer(auto_error=False, description="An access_token from POST /api/auth/token")
_device_flow = OAuth2(
    flows=OAuthFlows.model_validate({"x-deviceAuthorization": DEVICE_FLOW}),
    scheme_name=DEVICE_FLOW_SCHEME,
    description=DEVICE_FLOW_DESCRIPTION,
    auto_error=False,
)
# JWTs of this API are a few hundred bytes; anything much longer is refused unparsed.
MAX_TOKEN_LENGTH = 2048
BEARER_SCHEME = "bearer"
_REFRESH_TOKEN = re.compile(REFRESH_TOKEN_PATTERN)


def app_services(request: Request) -> Services:
    """The app's collaborators."""
    found: Services = request.app.state.services
    return found


# The dependencies below that neither read nor write storage are coroutines: FastAPI runs a plain
# function dependency in its thread pool, and each trip there and back costs more than they do.


async def services(request: Request) -> Services:
    """The app's collaborators, as a dependency."""
    return app_services(request)


def _bearer_token(authorization: str | None) -> str:
    """The token of `Authorization: Bearer <token>` (RFC 6750 section 2.1); BearerRefused otherwise."""
    if not authorization or not authorization.strip():
        raise BearerRefused(NO_TOKEN)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER_SCHEME or not token:
        raise BearerRefused(NOT_BEARER)
    if len(token) > MAX_TOKEN_LENGTH:
        raise BearerRefused(NOT_OURS)
    if _REFRESH_TOKEN.fullmatch(token):
        raise BearerRefused(REFRESH_TOKEN_SENT)
    return token


async def current_session(
    deps: Annotated[Services, Depends(services)],
    authorization: Annotated[str | None, Depends(_device_flow)],
    _documented: Annotated[object, Depends(_bearer)],
) -> Session:
    """The caller's live session: a valid token whose session still exists and has not expired.

    Each refusal says what to do (refresh, or sign in again), never which check failed beyond that.
    """
    token = _bearer_token(authorization)
    try:
        try:
            session_id = deps.tokens.verify_in_hand(token)
        except KeysNotInHand:
            session_id = await run_in_threadpool(deps.tokens.verify, token)
    except ExpiredToken as error:
        raise BearerRefused(EXPIRED) from error
    except InvalidToken as error:
        raise BearerRefused(NOT_OURS) from error
    # The keys and the session this instance holds decide on the event loop; a read goes to a thread.
    session = deps.sessions.cached(session_id) or await run_in_threadpool(deps.sessions.session, session_id)
    # An attendee taken off the allowlist loses access at their next request, not their next sign-in.
    if session is None or session.expires_at <= deps.clock() or not deps.admission.admits(session.login_key):
        raise BearerRefused(SESSION_ENDED)
    return session


async def oauth_request(request: Request) -> OAuthRequest:
    """The recognised parameters of a device authorization or token request (form, or JSON for curl)."""
    return parse_request(
        request.headers.get("content-type", ""),
        await request.body(),
        request.query_params,
        request.headers.get("authorization"),
    )


# Every request without a usable address shares one counter: it fails closed, never open.
UNKNOWN_CLIENT = "unknown"


def _address(value: str) -> str:
    """An IP address from `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678` or `::1`; UNKNOWN_CLIENT otherwise."""
    value = value.strip()
    host = (
        value[1:].split("]")[0]
        if value.startswith("[")
        else value.rsplit(":", 1)[0]
        if value.count(":") == 1
        else value
    )
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return UNKNOWN_CLIENT


def edge_client_ip(header_values: list[str]) -> str:
    """The address Front Door reported: the last X-Azure-SocketIP value, as the edge adds its own last.

    A copy the caller sent comes before it (or is replaced by it), so the caller cannot choose the
    counter it spends; a request without the header falls into the shared UNKNOWN_CLIENT counter.
    """
    entries = [entry for value in header_values for entry in value.split(",") if entry.strip()]
    return _address(entries[-1]) if entries else UNKNOWN_CLIENT


async def client_ip(request: Request) -> str:
    """The caller's IP for the per-IP limits.

    Behind the edge: only the address Front Door reports (X-Azure-SocketIP); X-Forwarded-For and
    X-Azure-ClientIP are never read, since they carry what the caller wrote. Without the edge: the
    socket peer locally; in Azure (no peer in the ASGI scope) the address the platform's front end
    appended last to X-Forwarded-For.
    """
    settings = app_services(request).settings
    if settings.behind_edge:
        return edge_client_ip(request.headers.getlist(EDGE_CLIENT_IP_HEADER))
    if request.client is not None and request.client.host:
        return request.client.host
    forwarded = request.headers.get("x-forwarded-for", "")
    return _address(forwarded.split(",")[-1])


OAuthRequestDep = Annotated[OAuthRequest, Depends(oauth_request)]
ServicesDep = Annotated[Services, Depends(services)]
SessionDep = Annotated[Session, Depends(current_session)]
ClientIpDep = Annotated[str, Depends(client_ip)]
