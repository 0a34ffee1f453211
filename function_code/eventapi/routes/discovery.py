"""RFC 8414 and RFC 9728 metadata at their well-known paths, outside /api (see eventapi/discovery.py)."""

from __future__ import annotations

from fastapi import APIRouter

from eventapi.deps import ServicesDep
from eventapi.discovery import (
    AUTHORIZATION_SERVER_METADATA_PATH,
    PROTECTED_RESOURCE_METADATA_PATH,
    authorization_server_metadata,
    protected_resource_metadata,
)
from eventapi.models import AuthorizationServerMetadata, ProtectedResourceMetadata
from eventapi.openapi_errors import EVERY_REQUEST, error_responses

router = APIRouter(tags=["discovery"])


@router.get(AUTHORIZATION_SERVER_METADATA_PATH, responses=error_responses(*EVERY_REQUEST))
async def authorization_server(deps: ServicesDep) -> AuthorizationServerMetadata:
    """How to sign in (RFC 8414): the device authorization and token endpoints, the keys, the client id."""
    return authorization_server_metadata(deps.settings)


@router.get(PROTECTED_RESOURCE_METADATA_PATH, responses=error_responses(*EVERY_REQUEST))
async def protected_resource(deps: ServicesDep) -> ProtectedResourceMetadata:
    """What this API is to OAuth (RFC 9728): `resource` is every access token's audience."""
    return protected_resource_metadata(deps.settings)
