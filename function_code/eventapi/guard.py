"""ASGI middleware that runs before any route: error shield, concurrency guard, body guard."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

# Methods whose bodies the app reads; anything else must not carry one that matters.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_TYPES = frozenset({"application/json"})
# HTML forms post application/x-www-form-urlencoded: accepted only where a form of ours posts.
_FORM_TYPE = "application/x-www-form-urlencoded"
_FORM_PATHS = frozenset({"/api/auth/github"})


async def send_problem(
    send: Send, status: int, error: str, headers: tuple[tuple[bytes, bytes], ...] = (), description: str = ""
) -> None:
    """A generic JSON error body, the same shape the routes use."""
    body = json.dumps({"error": error, "error_description": description} if description else {"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


# On every response: tokens and personal data are never cached; nothing is sniffed, framed or
# followed by a referrer; browsers stay on HTTPS (the platform serves HTTPS only).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    # For HTTP/1.0 caches; RFC 6749 section 5.1 asks for it on token responses.
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000"),
)
# JSON needs no content of any kind: every response gets this policy unless its path is a page below.
API_CONTENT_SECURITY_POLICY = b"default-src 'none'; frame-ancestors 'none'"
# The interactive docs page loads Swagger UI from a CDN, so it only refuses to be framed.
DOCS_CONTENT_SECURITY_POLICY = b"frame-ancestors 'none'"
SIGN_IN_PAGE_CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The wall and the join page: their own script, style, images and fetches from this origin only;
# no inline code, no eval, no plugins, no base or form targets, never framed.
WALL_CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# HTML pages by exact path, each with its own policy; a new page is one line here.
PAGE_CONTENT_SECURITY_POLICIES: Mapping[str, bytes] = MappingProxyType(
    {
        "/api/docs": DOCS_CONTENT_SECURITY_POLICY,
        "/api/wall": WALL_CONTENT_SECURITY_POLICY,
        "/api/join": WALL_CONTENT_SECURITY_POLICY,
        # The sign-in pages: no script, no style, a form that may only go back to this app.
        "/api/auth/verify": SIGN_IN_PAGE_CONTENT_SECURITY_POLICY,
    }
)


def content_security_policy(path: str, pages: Mapping[str, bytes] = PAGE_CONTENT_SECURITY_POLICIES) -> bytes:
    """The policy for a response to `path`: its page's own, or the API's."""
    return pages.get(path, API_CONTENT_SECURITY_POLICY)


class SecurityHeaders:
    """Adds SECURITY_HEADERS and the path's content security policy to every HTTP response."""

    def __init__(self, app: ASGIApp, pages: Mapping[str, bytes] = PAGE_CONTENT_SECURITY_POLICIES) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = content_security_policy(scope.get("path", ""), self.pages)
        extra = (*SECURITY_HEADERS, (b"content-security-policy", policy))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ErrorShield:
    """The last line: an unexpected exception becomes a generic 500 without internals, logged by type only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:  # noqa: BLE001 - the shield exists to catch what nothing else did
            # The type only: messages and tracebacks may carry request data.
            log.error("unhandled %s on %s %s", type(error).__name__, scope.get("method"), scope.get("path"))
            if not started:
                await send_problem(send, 500, "internal_error")


class ConcurrencyGuard:
    """Applies host.json's maxConcurrentRequests / maxOutstandingRequests inside the app (429 when full).

    Flex Consumption reports these host throttles as not enforced, so the app keeps them itself.
    """

    def __init__(self, app: ASGIApp, max_concurrent: int, max_outstanding: int) -> None:
        self.app = app
        self.max_outstanding = max_outstanding
        self._running = asyncio.Semaphore(max_concurrent)
        self.outstanding = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.outstanding >= self.max_outstanding:
            await send_problem(send, 429, "too_many_requests", ((b"retry-after", b"1"),))
            return
        self.outstanding += 1
        try:
            async with self._running:
                await self.app(scope, receive, send)
        finally:
            self.outstanding -= 1


def oversized(max_bytes: int) -> str:
    """What an OAuth endpoint says of a body over the cap."""
    return f"The body is over {max_bytes} bytes."


class BodyGuard:
    """Refuses bodies over `max_bytes` (413) and non-JSON bodies (415) before anything parses them.

    `oauth_paths` speak RFC 6749 instead: their routes read form or JSON bodies themselves and
    answer any other media type, and a body over the cap, with 400 `invalid_request` (section 5.2).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, oauth_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.oauth_paths = oauth_paths

    async def _too_large(self, send: Send, oauth: bool) -> None:
        if oauth:
            await send_problem(send, 400, "invalid_request", description=oversized(self.max_bytes))
        else:
            await send_problem(send, 413, "payload_too_large")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        oauth = scope.get("path", "") in self.oauth_paths
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._too_large(send, oauth)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send, oauth)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        form = media_type == _FORM_TYPE and scope.get("path") in _FORM_PATHS
        if body and media_type not in _JSON_TYPES and not (oauth or form):
            await send_problem(send, 415, "unsupported_media_type")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
