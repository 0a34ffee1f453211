"""Request dependencies: the services, the caller's session, the client IP."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from eventapi.auth.tokens import InvalidToken
from eventapi.services import Services
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


def client_ip(request: Request) -> str:
    """The caller's IP: the socket peer locally; in Azure (no peer in the ASGI scope) the address the
    platform's front end appended last to X-Forwarded-For, which a caller cannot forge."""
    if request.client is not None and request.client.host:
        return request.client.host
    forwarded = request.headers.get("x-forwarded-for", "")
    last = forwarded.split(",")[-1].strip()
    host = last[1:].split("]")[0] if last.startswith("[") else last.rsplit(":", 1)[0] if last.count(":") == 1 else last
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return "unknown"


ServicesDep = Annotated[Services, Depends(services)]
SessionDep = Annotated[Session, Depends(current_session)]
ClientIpDep = Annotated[str, Depends(client_ip)]
