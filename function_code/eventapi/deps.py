"""Request dependencies: the services, the caller's session, the client IP."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from eventapi.auth.tokens import InvalidToken
from eventapi.services import Services
from eventapi.settings import EDGE_CLIENT_IP_HEADER
from eventapi.storage.sessions import Session

# auto_error=False: a missing header gets the same generic 401 as a bad token.
_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/auth/token")
# JWTs of this API are a few hundred bytes; anything much longer is refused unparsed.
MAX_TOKEN_LENGTH = 2048


def services(request: Request) -> Services:
    """The app's collaborators."""
    found: Services = request.app.state.services
    return found


def _unauthorized() -> HTTPException:
    # One message whatever failed, so callers learn nothing about why.
    return HTTPException(status_code=401, headers={"WWW-Authenticate": "Bearer"})


def current_session(
    deps: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    """The caller's live session: a valid token whose session still exists and has not expired."""
    if credentials is None or len(credentials.credentials) > MAX_TOKEN_LENGTH:
        raise _unauthorized()
    try:
        session_id = deps.tokens.verify(credentials.credentials)
    except InvalidToken as error:
        raise _unauthorized() from error
    session = deps.sessions.session(session_id)
    # An attendee taken off the allowlist loses access at their next request, not their next sign-in.
    if session is None or session.expires_at <= deps.clock() or not deps.admission.admits(session.login_key):
        raise _unauthorized()
    return session


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


def client_ip(request: Request) -> str:
    """The caller's IP for the per-IP limits.

    Behind the edge: only the address Front Door reports (X-Azure-SocketIP); X-Forwarded-For and
    X-Azure-ClientIP are never read, since they carry what the caller wrote. Without the edge: the
    socket peer locally; in Azure (no peer in the ASGI scope) the address the platform's front end
    appended last to X-Forwarded-For.
    """
    settings = services(request).settings
    if settings.behind_edge:
        return edge_client_ip(request.headers.getlist(EDGE_CLIENT_IP_HEADER))
    if request.client is not None and request.client.host:
        return request.client.host
    forwarded = request.headers.get("x-forwarded-for", "")
    return _address(forwarded.split(",")[-1])


ServicesDep = Annotated[Services, Depends(services)]
SessionDep = Annotated[Session, Depends(current_session)]
ClientIpDep = Annotated[str, Depends(client_ip)]
