"""The sign-in's bodies out: device authorization, tokens, discovery metadata and the public keys."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from eventapi.models import StrictModel


class DeviceCodeResponse(StrictModel):
    """RFC 8628 section 3.2: what the device shows, and how often it may poll."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "device_code": "Yp3mKq0uV9dF2sLxR7wT1cN8bJ5hG4aE6zQyWvUiOkM",
                    "user_code": "BDFG-HJKL",
                    "verification_uri": "https://wall.example/api/auth/verify",
                    "verification_uri_complete": "https://wall.example/api/auth/verify?user_code=BDFG-HJKL",
                    "expires_in": 600,
                    "interval": 5,
                }
            ]
        }
    )

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class TokenResponse(StrictModel):
    """A short-lived bearer token for this API (not a GitHub token) and the refresh token that renews it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "refresh_token": "0f" * 16 + "." + "a1" * 16 + ".Yp3mKq0uV9dF2sLxR7wT1cN8bJ5hG4aE6zQyWvUiOkM",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int
    refresh_token: str


class AuthorizationServerMetadata(StrictModel):
    """RFC 8414 authorization server metadata (plus the id of the one public client)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "issuer": "https://wall.example",
                    "device_authorization_endpoint": "https://wall.example/api/auth/device",
                    "token_endpoint": "https://wall.example/api/auth/token",
                    "jwks_uri": "https://wall.example/api/.well-known/jwks.json",
                    "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
                    "response_types_supported": [],
                    "token_endpoint_auth_methods_supported": ["none"],
                    "protected_resources": ["https://wall.example/api"],
                    "service_documentation": "https://wall.example/api/docs",
                    "public_client_id": "eventstack-attendee",
                }
            ]
        }
    )

    issuer: str
    device_authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    protected_resources: list[str] = Field(description="RFC 9728 section 4: the resources these tokens are for")
    service_documentation: str
    public_client_id: str = Field(description="the one client id this server knows (public: no secret)")


class ProtectedResourceMetadata(StrictModel):
    """RFC 9728 protected resource metadata: `resource` is the audience (`aud`) of every access token."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resource": "https://wall.example/api",
                    "authorization_servers": ["https://wall.example"],
                    "bearer_methods_supported": ["header"],
                    "resource_name": "eventstack event API",
                    "resource_documentation": "https://wall.example/api/docs",
                }
            ]
        }
    )

    resource: str
    authorization_servers: list[str]
    bearer_methods_supported: list[str]
    resource_name: str
    resource_documentation: str


class JsonWebKey(StrictModel):
    """One public P-256 key that verifies this API's ES256 tokens (RFC 7517)."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    kid: str
    use: Literal["sig"]
    alg: Literal["ES256"]
    x: str
    y: str


class JsonWebKeySet(StrictModel):
    """The keys that verify this API's tokens: the current key version and the previous one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keys": [
                        {
                            "kty": "EC",
                            "crv": "P-256",
                            "kid": "https://vault.example/keys/token-signing/0123abcd",
                            "use": "sig",
                            "alg": "ES256",
                            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                        }
                    ]
                }
            ]
        }
    )

    keys: list[JsonWebKey]
