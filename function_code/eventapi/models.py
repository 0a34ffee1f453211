"""Allowlist models for every body in and out: extra fields forbidden, fixed enums, patterns, caps.

Here: the commands, the wall, health and the error body, which the routes built at start-up use. The
sign-in's and the privacy routes' models live in oauth_models.py and privacy_models.py, built with
their routers on the first request under their paths.
"""

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


class StrictModel(BaseModel):
    """Every body's base: unknown fields refused, values immutable."""

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


class LightCommand(StrictModel):
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


class Problem(StrictModel):
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


class Accepted(StrictModel):
    """The id of an accepted light command."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "7f3c9d2e41b84c0a9e5d6f1a2b3c4d5e"}]})

    id: str


EXAMPLE_TIME = "2026-12-01T15:04:05Z"


class WallEntry(StrictModel):
    """One command on the public wall: no identity."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"pattern": "pulse", "color": "ff6a00", "time": EXAMPLE_TIME}]}
    )

    pattern: Pattern
    color: str
    time: datetime


class Wall(StrictModel):
    """The most recent commands, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lights": [
                        {"pattern": "pulse", "color": "ff6a00", "time": EXAMPLE_TIME},
                        {"pattern": "solid", "color": "00b4ff", "time": "2026-12-01T15:04:01Z"},
                    ]
                }
            ]
        }
    )

    lights: list[WallEntry]


class Health(StrictModel):
    """Liveness only."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"] = "ok"
