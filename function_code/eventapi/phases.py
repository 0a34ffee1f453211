"""The API closes with the event: sign-in ends with it, and every data endpoint with the retention window.

| phase | from | sign-in | commands, wall, /me |
| --- | --- | --- | --- |
| open | deployment | yes | yes |
| sign-in closed | event end + grace | 410 | yes (existing sessions, until they end with the event) |
| data deleted | event end + retention | 410 | 410 (and the next purge removes every row) |

Health, the privacy notice, the public keys and the API description keep answering throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from eventapi.guard import ASGIApp, Receive, Scope, Send, send_problem
from eventapi.settings import Settings

SIGN_IN_PATHS: tuple[str, ...] = (
    "/api/auth/device",
    "/api/auth/token",
    "/api/auth/verify",
    "/api/auth/github",
    "/api/auth/callback",
)
# The pages close with the data they show or send: after dataDeleteBy there is nothing to join.
DATA_PATHS: tuple[str, ...] = ("/api/lights", "/api/me", "/api/wall", "/api/join")
GONE = "gone"


class EventPhase(StrEnum):
    """Where the event stands."""

    OPEN = "open"
    SIGN_IN_CLOSED = "sign_in_closed"
    DATA_DELETED = "data_deleted"


def event_phase(settings: Settings, now: datetime) -> EventPhase:
    """The phase at `now`."""
    if now >= settings.data_delete_by:
        return EventPhase.DATA_DELETED
    if now >= settings.sign_in_closes_at:
        return EventPhase.SIGN_IN_CLOSED
    return EventPhase.OPEN


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def closed(path: str, phase: EventPhase) -> bool:
    """Whether `path` answers 410 in `phase`."""
    if phase is EventPhase.OPEN:
        return False
    if _under(path, SIGN_IN_PATHS):
        return True
    return phase is EventPhase.DATA_DELETED and _under(path, DATA_PATHS)


class PhaseGuard:
    """Answers 410 Gone, with one fixed body, on what the event's phase has closed; before any route runs."""

    def __init__(self, app: ASGIApp, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and closed(scope.get("path", ""), event_phase(self.settings, self.clock())):
            await send_problem(send, 410, GONE)
            return
        await self.app(scope, receive, send)
