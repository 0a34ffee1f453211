"""Allowlist models for every body in and out: extra fields forbidden, fixed enums, patterns, caps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Our device codes are 43 URL-safe characters; the cap leaves room without inviting large inputs.
MAX_DEVICE_CODE_LENGTH = 64
# Six hex digits, RRGGBB; a leading # is accepted (the wall itself shows colours that way) and dropped,
# so what is stored stays six characters of [0-9a-f].
COLOR_PATTERN = r"^#?[0-9a-fA-F]{6}$"
# What is stored and shown on the wall.
STORED_COLOR_PATTERN = r"^[0-9a-f]{6}$"
MAX_COLOR_LENGTH = 7
DEVICE_CODE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# <session id>.<family id>.<secret>: two 32-hex ids and 43 URL-safe characters.
REFRESH_TOKEN_PATTERN = r"^[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$"  # noqa: S105 - a format
MAX_REFRESH_TOKEN_LENGTH = 109


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GrantType(StrEnum):
    """The two grants the token endpoint takes."""

    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - the grant's name, not a secret


class Pattern(StrEnum):
    """What the light wall can do."""

    SOLID = "solid"
    BLINK = "blink"
    PULSE = "pulse"
    RAINBOW = "rainbow"
    CHASE = "chase"
    SPARKLE = "sparkle"


class LightCommand(_Strict):
    """POST /api/lights body."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"pattern": "pulse", "color": "ff6a00"}]})

    pattern: Pattern = Field(description="one of " + ", ".join(p.value for p in Pattern) + ", in lower case")
    color: str = Field(
        pattern=COLOR_PATTERN,
        min_length=6,
        max_length=MAX_COLOR_LENGTH,
        description="six hex digits RRGGBB, with or without a leading #; stored as six lower-case digits",
    )

    @field_validator("color")
    @classmethod
    def _six_lower_hex_digits(cls, color: str) -> str:
        return color.removeprefix("#").lower()


# What a 422 tells about each field of a request, by name: the allowed form and an example. Only
# these fixed texts go back, never the value that was sent (nor the name of a field we do not know).
FIELD_HELP: dict[str, str] = {
    "pattern": "pattern must be one of " + ", ".join(p.value for p in Pattern) + ' (lower case), e.g. "pulse".',
    "color": 'color must be six hex digits RRGGBB, a leading # allowed, e.g. "ff8800" or "#ff8800" '
    "(colour names and three-digit shorthands are not accepted).",
    "user_code": "user_code must be the code your device shows, letters and a dash, e.g. BDFG-HJKL.",
    "state": "state must be the value GitHub sent back unchanged.",
    "code": "code must be the value GitHub sent back unchanged.",
    "error": "error must be the value GitHub sent back unchanged.",
}
LIGHT_EXAMPLE = '{"pattern": "pulse", "color": "ff8800"}'


class DeviceCodeResponse(_Strict):
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


class TokenResponse(_Strict):
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


class Problem(_Strict):
    """Every error body: a fixed code and a fixed text saying what to do, never an echo of the request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "invalid_token",
                    "error_description": "The access token has expired: refresh it at POST /api/auth/token "
                    "with grant_type=refresh_token, then retry.",
                }
            ]
        }
    )

    error: str
    error_description: str | None = Field(default=None, description="what to do about it (RFC 6749 section 5.2)")


class AuthorizationServerMetadata(_Strict):
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


class ProtectedResourceMetadata(_Strict):
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


class Accepted(_Strict):
    """The id of an accepted light command."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "7f3c9d2e41b84c0a9e5d6f1a2b3c4d5e"}]})

    id: str


_EXAMPLE_TIME = "2026-12-01T15:04:05Z"


class WallEntry(_Strict):
    """One command on the public wall: no identity."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"pattern": "pulse", "color": "ff6a00", "time": _EXAMPLE_TIME}]}
    )

    pattern: Pattern
    color: str
    time: datetime


class Wall(_Strict):
    """The most recent commands, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lights": [
                        {"pattern": "pulse", "color": "ff6a00", "time": _EXAMPLE_TIME},
                        {"pattern": "solid", "color": "00b4ff", "time": "2026-12-01T15:04:01Z"},
                    ]
                }
            ]
        }
    )

    lights: list[WallEntry]


class MySession(_Strict):
    """The caller's session: one per attendee, shared by every device they signed in on."""

    created_at: datetime
    expires_at: datetime


class MySignIn(_Strict):
    """One device's sign-in (a refresh-token chain): when it started, when it last renewed."""

    created_at: datetime
    last_renewed: datetime | None


class MyData(_Strict):
    """Everything stored about the caller (GDPR access)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "attendee": {"key": "3f1c9a" + "0" * 58, "last_sign_in": _EXAMPLE_TIME},
                    "session": {"created_at": _EXAMPLE_TIME, "expires_at": "2026-12-03T18:00:00Z"},
                    "sign_ins": [{"created_at": _EXAMPLE_TIME, "last_renewed": None}],
                    "commands_sent": 3,
                }
            ]
        }
    )

    attendee: dict[str, str] = Field(description="the keyed hash standing in for the GitHub id, last sign-in time")
    session: MySession
    sign_ins: list[MySignIn]
    commands_sent: int = Field(
        description="how many commands you sent; the commands themselves are stored without any link to you"
    )


class Controller(_Strict):
    """Who is responsible for attendees' data, and how to reach them (GDPR Art. 13(1)(a))."""

    name: str
    contact: str


class Privacy(_Strict):
    """What is stored, why, on what legal basis, who receives it, where and for how long (GDPR Art. 13)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "controller": {"name": "Conference Organisers e.V.", "contact": "privacy@conference.eu"},
                    "stored": {"lights": "each command you send: pattern, color, time"},
                    "purposes": ["letting you send commands to the light wall"],
                    "legal_basis": "GDPR Art. 6(1)(b): you asked to take part",
                    "recipients": {"Microsoft (Azure)": "processor: hosts the API and its storage"},
                    "location": "Azure Table storage in an EU region",
                    "retention_hours": 48,
                    "delete_all_by": "2026-12-31T00:00:00Z",
                    "your_rights": {"access": "GET /api/me returns everything stored about you"},
                }
            ]
        }
    )

    controller: Controller
    stored: dict[str, str]
    purposes: list[str]
    legal_basis: str
    recipients: dict[str, str]
    location: str
    retention_hours: int
    delete_all_by: datetime
    who_may_sign_in: str
    your_rights: dict[str, str]


class Health(_Strict):
    """Liveness only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"


class JsonWebKey(_Strict):
    """One public P-256 key that verifies this API's ES256 tokens (RFC 7517)."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    kid: str
    use: Literal["sig"]
    alg: Literal["ES256"]
    x: str
    y: str


class JsonWebKeySet(_Strict):
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
