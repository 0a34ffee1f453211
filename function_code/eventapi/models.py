"""Allowlist models for every body in and out: extra fields forbidden, fixed enums, patterns, caps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# GitHub device codes are 40 hex characters; the cap leaves room without inviting large inputs.
MAX_DEVICE_CODE_LENGTH = 64
COLOR_PATTERN = r"^[0-9a-fA-F]{6}$"
DEVICE_CODE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    pattern: Pattern
    color: str = Field(pattern=COLOR_PATTERN, min_length=6, max_length=6, description="six hex digits, RRGGBB")


class TokenRequest(_Strict):
    """POST /api/auth/token body."""

    device_code: str = Field(pattern=DEVICE_CODE_PATTERN, max_length=MAX_DEVICE_CODE_LENGTH)


class DeviceCodeResponse(_Strict):
    """What to show the attendee to approve the sign-in on GitHub."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


class TokenResponse(_Strict):
    """A short-lived bearer token for this API (not a GitHub token)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int


class Problem(_Strict):
    """Every error body: a fixed code, never an echo of the request."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": "unauthorized"}]})

    error: str


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


class MyLight(_Strict):
    """A command the caller sent."""

    id: str
    pattern: Pattern
    color: str
    time: datetime


class MySession(_Strict):
    """A session the caller signed in with."""

    created_at: datetime
    expires_at: datetime


class MyData(_Strict):
    """Everything stored about the caller (GDPR access)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "attendee": {"key": "3q2-7w", "last_sign_in": _EXAMPLE_TIME},
                    "sessions": [{"created_at": _EXAMPLE_TIME, "expires_at": "2026-12-01T16:04:05Z"}],
                    "lights": [
                        {
                            "id": "7f3c9d2e41b84c0a9e5d6f1a2b3c4d5e",
                            "pattern": "pulse",
                            "color": "ff6a00",
                            "time": _EXAMPLE_TIME,
                        }
                    ],
                    "quota_rows": 1,
                }
            ]
        }
    )

    attendee: dict[str, str] = Field(description="the keyed hash standing in for the GitHub id, first sign-in time")
    sessions: list[MySession]
    lights: list[MyLight]
    quota_rows: int = Field(description="rate-limit counters kept for the caller's sessions")


class Privacy(_Strict):
    """What is stored, why, where and for how long."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "controller": "the conference organisers running this event API",
                    "stored": {"lights": "each command you send: pattern, color, time"},
                    "purposes": ["letting you send commands to the light wall"],
                    "location": "Azure Table storage in an EU region",
                    "retention_hours": 48,
                    "delete_all_by": "2026-12-31T00:00:00Z",
                    "your_rights": {"access": "GET /api/me returns everything stored about you"},
                }
            ]
        }
    )

    controller: str
    stored: dict[str, str]
    purposes: list[str]
    location: str
    retention_hours: int
    delete_all_by: datetime
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
