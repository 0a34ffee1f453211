"""The 401 a protected endpoint answers: an RFC 6750 challenge that says whether to refresh or sign in again.

`WWW-Authenticate: Bearer` names the realm, the protected resource metadata (RFC 9728 section
5.1) and, when a token was sent, `error="invalid_token"` with a description (RFC 6750 section
3.1); without a token there is no error code (RFC 6750 section 3.1). The body repeats the code and
the description. Only genuinely signed tokens are told "expired": the signature is checked first,
so the texts reveal nothing a forger could not see for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.responses import JSONResponse

from eventapi.discovery import DEVICE_AUTHORIZATION_PATH, TOKEN_PATH, resource_metadata_url
from eventapi.settings import Settings

REALM = "eventstack"
INVALID_TOKEN = "invalid_token"  # noqa: S105 - the RFC 6750 error code, not a secret
# The body's code when no bearer token was sent (RFC 6750 puts no error code in that challenge).
NO_TOKEN_CODE = "unauthorized"  # noqa: S105 - an error code, not a secret
_SIGN_IN = f"sign in again (POST {DEVICE_AUTHORIZATION_PATH})"
_REFRESH = f"POST {TOKEN_PATH} with grant_type=refresh_token and your refresh_token"


@dataclass(frozen=True)
class Refusal:
    """Why a request was not authorised: an RFC 6750 error code (None: no token sent) and what to do."""

    error: str | None
    description: str


NO_TOKEN = Refusal(
    None,
    "This needs an access token: send Authorization: Bearer <access_token>. "
    f"Get one with the device flow: POST {DEVICE_AUTHORIZATION_PATH}, then {TOKEN_PATH}.",
)
NOT_BEARER = Refusal(
    None,
    "Send the access token as Authorization: Bearer <access_token> (the word Bearer, a space, the token).",
)
REFRESH_TOKEN_SENT = Refusal(
    INVALID_TOKEN,
    f"That is a refresh token, not an access token: exchange it ({_REFRESH}) and send the access_token it returns.",
)
EXPIRED = Refusal(INVALID_TOKEN, f"The access token has expired: refresh it ({_REFRESH}), then retry.")
NOT_OURS = Refusal(INVALID_TOKEN, f"The access token is not one this API issued, or was altered: {_SIGN_IN}.")
SESSION_ENDED = Refusal(INVALID_TOKEN, f"The session has ended (signed out, erased, revoked or expired): {_SIGN_IN}.")


class BearerRefused(Exception):  # noqa: N818 - reads as the condition it reports
    """Raised by the auth dependency; answered with `unauthorized(...)`."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.error or NO_TOKEN_CODE)
        self.refusal = refusal


def challenge(refusal: Refusal, resource_metadata: str) -> str:
    """The WWW-Authenticate value; every text in it is fixed and free of quotes and backslashes."""
    parts = [f'realm="{REALM}"']
    if refusal.error is not None:
        parts += [f'error="{refusal.error}"', f'error_description="{refusal.description}"']
    parts.append(f'resource_metadata="{resource_metadata}"')
    return "Bearer " + ", ".join(parts)


def unauthorized(refusal: Refusal, settings: Settings) -> JSONResponse:
    """The 401 for `refusal`: the challenge, and a body with the same code and description."""
    return JSONResponse(
        {"error": refusal.error or NO_TOKEN_CODE, "error_description": refusal.description},
        status_code=401,
        headers={"WWW-Authenticate": challenge(refusal, resource_metadata_url(settings))},
    )
