"""RFC 8414 and RFC 9728 metadata at their well-known paths, outside /api (see eventapi/discovery.py)."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.auth.oauth import PUBLIC_CLIENT_ID
from eventapi.deps import ServicesDep
from eventapi.discovery import (
    AUTHORIZATION_SERVER_METADATA_PATH,
    BEARER_METHODS,
    DEVICE_AUTHORIZATION_PATH,
    DOCS_PATH,
    JWKS_PATH,
    PROTECTED_RESOURCE_METADATA_PATH,
    TOKEN_PATH,
)
from eventapi.models import GrantType
from eventapi.oauth_models import AuthorizationServerMetadata, ProtectedResourceMetadata
from eventapi.openapi_errors import EVERY_REQUEST, error_responses
from eventapi.settings import Settings

router = APIRouter(tags=["discovery"])


@router.get(AUTHORIZATION_SERVER_METADATA_PATH, responses=error_responses(*EVERY_REQUEST))
async def authorization_server(deps: ServicesDep) -> AuthorizationServerMetadata:
    """How to sign in (RFC 8414): the device authorization and token endpoints, the keys, the client id."""
    return authorization_server_metadata(deps.settings)


@router.get(PROTECTED_RESOURCE_METADATA_PATH, responses=error_responses(*EVERY_REQUEST))
async def protected_resource(deps: ServicesDep) -> ProtectedResourceMetadata:
    """What this API is to OAuth (RFC 9728): `resource` is every access token's audience."""
    return protected_resource_metadata(deps.settings)


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
