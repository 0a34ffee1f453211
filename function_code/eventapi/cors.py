"""Cross-origin calls: the bearer-token endpoints answer browsers from the configured origins, pages never.

CORS only ever relaxes what a browser lets a page read. It matters where a request carries an
ambient credential the page's author does not hold: a cookie, or a network position. The
endpoints listed here carry neither: a caller proves who it is with a bearer token its own code
put in the Authorization header (RFC 6750), or is anonymous, and `Access-Control-Allow-Credentials`
is never sent, so a browser never attaches cookies to these calls. Any page can therefore call
them (THREATS.md, "Browser calls from other sites"), exactly as curl can.

The sign-in browser pages (`/api/auth/verify`, `/api/auth/github`, `/api/auth/callback`) bind a
cookie to the attendee's browser: they never answer cross-origin, so no other site can drive or
read them; nor do the HTML pages, which have no reason to.

The platform's own CORS (the site's `cors` setting) stays empty: when it lists an origin, App
Service answers every path itself and this code has no effect (Microsoft Learn, "Host a RESTful
API with CORS in Azure App Service"). The headers come from Starlette's CORSMiddleware.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware

from eventapi.guard import ASGIApp, Receive, Scope, Send

# Exact paths: a route added later answers cross-origin only once it is listed here.
CROSS_ORIGIN_PATHS = frozenset(
    {
        "/api/health",
        "/api/lights",
        "/api/me",
        # The device flow's public endpoints: no cookie, the device code is the only secret.
        "/api/auth/device",
        "/api/auth/token",
        "/api/.well-known/jwks.json",
        "/api/openapi.json",
    }
)
# Discovery documents (RFC 8414, RFC 9728) are public metadata, wherever they are mounted.
CROSS_ORIGIN_PREFIXES = ("/.well-known/", "/api/.well-known/")
ALLOWED_METHODS = ("GET", "POST", "DELETE")
# What a client sends: the token and a JSON body. Nothing else is needed for the contract.
ALLOWED_HEADERS = ("authorization", "content-type")
# What a client must read to follow the API: the RFC 6750 challenge and how long to wait.
EXPOSED_HEADERS = ("www-authenticate", "retry-after")
# Browsers cache a preflight this long (Chromium caps it at two hours); a config change applies within it.
PREFLIGHT_MAX_AGE_SECONDS = 600


def answers_cross_origin(path: str) -> bool:
    """Whether `path` is a bearer-token or public data endpoint that may be called from other origins."""
    return path in CROSS_ORIGIN_PATHS or path.startswith(CROSS_ORIGIN_PREFIXES)


class CrossOrigin:
    """CORS headers and preflight answers for the data endpoints; every other path is left alone."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors: ASGIApp | None = None
        if origins:
            self.cors = CORSMiddleware(
                app,
                allow_origins=list(origins),
                allow_methods=ALLOWED_METHODS,
                allow_headers=ALLOWED_HEADERS,
                expose_headers=EXPOSED_HEADERS,
                # Never: the endpoints take no cookie, and a credentialed request is how cookies leak.
                allow_credentials=False,
                max_age=PREFLIGHT_MAX_AGE_SECONDS,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.cors is not None and scope["type"] == "http" and answers_cross_origin(scope.get("path", "")):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
