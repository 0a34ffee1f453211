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

    error: str


class Accepted(_Strict):
    """The id of an accepted light command."""

    id: str


class WallEntry(_Strict):
    """One command on the public wall: no identity."""

    pattern: Pattern
    color: str
    time: datetime


class Wall(_Strict):
    """The most recent commands, newest first."""

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

    attendee: dict[str, str] = Field(description="the keyed hash standing in for the GitHub id, first sign-in time")
    sessions: list[MySession]
    lights: list[MyLight]
    quota_rows: int = Field(description="rate-limit counters kept for the caller's sessions")


class Privacy(_Strict):
    """What is stored, why, where and for how long."""

    controller: str
    stored: dict[str, str]
    purposes: list[str]
    location: str
    retention_hours: int
    delete_all_by: datetime
    your_rights: dict[str, str]


class Health(_Strict):
    """Liveness only."""

    status: Literal["ok"] = "ok"
