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

from eventapi.auth.oauth import PUBLIC_CLIENT_ID
from eventapi.models import AuthorizationServerMetadata, GrantType, ProtectedResourceMetadata
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


def authorization_server_metadata(settings: Settings) -> AuthorizationServerMetadata:
    """RFC 8414 section 2, for the device flow with one public client."""
    origin = settings.token_issuer
    return AuthorizationServerMetadata(
        issuer=origin,
        device_authorization_endpoint=origin + DEVICE_AUTHORIZATION_PATH,
        token_endpoint=origin + TOKEN_PATH,
        jwks_uri=origin + JWKS_PATH,
        grant_types_supported=[GrantType.DEVICE_CODE.value, GrantType.REFRESH_TOKEN.value],
        # No authorization endpoint: the browser step is the verification page, not response_type=code.
        response_types_supported=[],
        token_endpoint_auth_methods_supported=["none"],
        protected_resources=[settings.token_audience],
        service_documentation=origin + DOCS_PATH,
        public_client_id=PUBLIC_CLIENT_ID,
    )


def protected_resource_metadata(settings: Settings) -> ProtectedResourceMetadata:
    """RFC 9728 section 2: the audience the tokens carry, who issues them, how they are sent."""
    return ProtectedResourceMetadata(
        resource=settings.token_audience,
        authorization_servers=[settings.token_issuer],
        bearer_methods_supported=list(BEARER_METHODS),
        resource_name="eventstack event API",
        resource_documentation=settings.token_issuer + DOCS_PATH,
    )
