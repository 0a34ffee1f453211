"""Where clients discover this API's authorization server and resource (RFC 8414, RFC 9728).

The issuer is the public origin (`https://<edge host>`, no path), so its metadata lives at
`/.well-known/oauth-authorization-server`, where RFC 8414 section 3.1 puts it and where standard
clients look. The tokens' audience, `<origin>/api`, is the protected resource's identifier; RFC 9728
section 3.1 puts its metadata between host and path: `/.well-known/oauth-protected-resource/api`.
Both are outside `/api`, so host.json leaves the Functions route prefix empty (every route of the
app carries `/api` itself) and the edge forwards and allows `/.well-known/` too.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from eventapi.settings import Settings

API_PREFIX = "/api"
WELL_KNOWN = "/.well-known"
AUTHORIZATION_SERVER = "oauth-authorization-server"
PROTECTED_RESOURCE = "oauth-protected-resource"
AUTHORIZATION_SERVER_METADATA_PATH = f"{WELL_KNOWN}/{AUTHORIZATION_SERVER}"
PROTECTED_RESOURCE_METADATA_PATH = f"{WELL_KNOWN}/{PROTECTED_RESOURCE}{API_PREFIX}"
DEVICE_AUTHORIZATION_PATH = f"{API_PREFIX}/auth/device"
TOKEN_PATH = f"{API_PREFIX}/auth/token"
JWKS_PATH = f"{API_PREFIX}/.well-known/jwks.json"
DOCS_PATH = f"{API_PREFIX}/docs"
# Tokens travel in the Authorization header only (RFC 6750 section 2.1); never in a query or body.
BEARER_METHODS = ("header",)


def well_known_url(identifier: str, name: str) -> str:
    """The metadata URL of `identifier`: the well-known segment between host and path (RFC 8414 / 9728 section 3.1)."""
    parts = urlsplit(identifier)
    return urlunsplit((parts.scheme, parts.netloc, f"{WELL_KNOWN}/{name}{parts.path.rstrip('/')}", "", ""))


def resource_metadata_url(settings: Settings) -> str:
    """What the 401 challenge names in `resource_metadata` (RFC 9728 section 5.1)."""
    return well_known_url(settings.token_audience, PROTECTED_RESOURCE)
