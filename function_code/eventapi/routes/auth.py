"""Sign-in: our own RFC 8628 device flow, GitHub's web flow for the browser step, and the public keys."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse

from eventapi import pages
from eventapi.auth.codes import normalize_user_code
from eventapi.auth.oauth import check_client, token_grant
from eventapi.auth.sign_in import BrowserOutcome, GrantError, TokenPair
from eventapi.deps import ClientIpDep, OAuthRequestDep, ServicesDep
from eventapi.models import DeviceCodeResponse, GrantType, JsonWebKey, JsonWebKeySet, TokenResponse
from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, OAUTH_BODY, STORAGE, error_responses
from eventapi.openapi_oauth import DEVICE_REQUEST_BODY, TOKEN_REQUEST_BODY
from eventapi.quotas import github_sign_ins_subject, ip_subject

router = APIRouter(tags=["sign-in"])
UNKNOWN_CODE = "That code is unknown or has expired. Check it, or start again on your device."

_USER_CODE = Query(max_length=16, pattern=r"^[A-Za-z -]*$")
OUTCOMES: dict[BrowserOutcome, tuple[str, str, int]] = {
    BrowserOutcome.APPROVED: ("Signed in", "Done. Go back to your device: it is signed in now.", 200),
    BrowserOutcome.NOT_ADMITTED: (
        "Not on the attendee list",
        "This GitHub account is not on the organisers' list for this event, so the sign-in was refused. "
        "Nothing about you was stored. If you registered with another GitHub login, sign in with that one, "
        "or ask the organisers.",
        403,
    ),
    BrowserOutcome.CANCELLED: ("Sign-in cancelled", "GitHub reported that the sign-in was not approved.", 400),
    BrowserOutcome.EXPIRED: ("Sign-in expired", "This sign-in is over or was used already: start again.", 400),
    BrowserOutcome.UNKNOWN: ("Unknown sign-in", "This sign-in is unknown or has expired: start again.", 404),
    BrowserOutcome.USED_UP: (
        "Code used too often",
        "This code was tried too many times: start a new sign-in on your device.",
        400,
    ),
}


# A sign-in's browser step loads two pages of ours (verification, then on to GitHub).
_BROWSER_PAGES_PER_SIGN_IN = 2


def fixed_pages() -> frozenset[bytes]:
    """Every page the browser step can answer with an error: none of them depends on the request."""
    found = {bytes(pages.outcome(*outcome).body) for outcome in OUTCOMES.values()}
    return frozenset({*found, bytes(pages.enter_code(UNKNOWN_CODE, 404).body)})


def _take_address_quota(deps: ServicesDep, ip: str) -> None:
    """One sign-in start for this client address."""
    deps.quotas.take(ip_subject(deps.keyed_hash.digest("client-ip", ip)), deps.settings.auth_requests_per_minute)


def _take_browser_quota(deps: ServicesDep, ip: str) -> None:
    """One page of the browser step for this address: as many sign-ins a minute as the starts allow."""
    deps.quotas.take(
        ip_subject("browser-" + deps.keyed_hash.digest("client-ip", ip)),
        deps.settings.auth_requests_per_minute * _BROWSER_PAGES_PER_SIGN_IN,
    )


# The browser step's pages are for people: HTML, each with a fixed text.
def _page(description: str, title: str = "Sign in to the light wall") -> dict[str, object]:
    example = f'<!doctype html>\n<html lang="en"><head><title>{title}</title></head>...'
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}, "example": example}}}


_BROWSER_ERRORS = error_responses(
    *EVERY_REQUEST,
    *EVENT_PHASE,
    *STORAGE,
    422,
    descriptions={
        429: "Too many sign-ins from this address, or to GitHub from the whole app, this minute; see Retry-After.",
        422: "A query parameter that cannot be a user code, GitHub code or state.",
    },
)
GRANT_ERRORS = ("authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_grant")
# What each refusal of a grant tells the device to do next (RFC 8628 section 3.5).
GRANT_ERROR_DESCRIPTIONS: dict[GrantError, str] = {
    GrantError.PENDING: "The attendee has not approved yet: poll again after interval seconds.",
    GrantError.SLOW_DOWN: "Polling too fast: add 5 seconds to the interval, then poll again.",
    GrantError.DENIED: "The sign-in was refused in the browser: start again with POST /api/auth/device.",
    GrantError.EXPIRED: "The device code has expired: start again with POST /api/auth/device.",
    GrantError.INVALID: "The device code or refresh token is unknown, used or revoked: "
    "sign in again with POST /api/auth/device.",
}
_OAUTH_400 = (
    "The request is refused (RFC 6749 section 5.2): `invalid_request` (a body that is not a form or JSON object, "
    "or over 1 KiB; a parameter missing or sent twice), `invalid_client` (a client_id other than the public one)"
)
# RFC 6749 section 5.2: Basic credentials of another client are answered 401 with a Basic challenge.
_BASIC_401 = "Basic credentials of any client but the public one, with a secret, or unreadable: `invalid_client`."


@router.post(
    "/auth/device",
    responses=error_responses(
        *EVERY_REQUEST,
        *EVENT_PHASE,
        *OAUTH_BODY,
        *STORAGE,
        descriptions={
            429: "Too many sign-ins started from this address this minute; retry after Retry-After.",
            400: _OAUTH_400 + ".",
            401: _BASIC_401,
        },
        codes={400: ("invalid_request", "invalid_client"), 401: ("invalid_client",)},
        challenges={401: "Basic"},
    ),
    openapi_extra=DEVICE_REQUEST_BODY,
)
def start_sign_in(
    deps: ServicesDep,
    ip: ClientIpDep,
    request: OAuthRequestDep,
) -> DeviceCodeResponse:
    """Start a sign-in (RFC 8628 section 3.1): show user_code and open verification_uri, then poll /api/auth/token.

    Send `client_id=eventstack-attendee` form-encoded (or nothing at all); no scopes.
    """
    check_client(request)
    _take_address_quota(deps, ip)
    started = deps.sign_in.start()
    uri = deps.settings.verification_uri
    return DeviceCodeResponse(
        device_code=started.device_code,
        user_code=started.user_code,
        verification_uri=uri,
        verification_uri_complete=f"{uri}?user_code={quote(started.user_code)}",
        expires_in=started.expires_in,
        interval=started.interval,
    )


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses=error_responses(
        *EVERY_REQUEST,
        *EVENT_PHASE,
        *OAUTH_BODY,
        *STORAGE,
        descriptions={
            400: _OAUTH_400 + ", `unsupported_grant_type` (a grant other than the device code and refresh token), "
            "or the grant itself (RFC 8628 section 3.5): `authorization_pending` (poll again after `interval`), "
            "`slow_down` (add 5 s to it), `access_denied`, `expired_token` (start again), `invalid_grant` "
            "(unknown, malformed or used code; spent or revoked refresh token: sign in again).",
            401: _BASIC_401,
        },
        codes={
            400: ("invalid_request", "invalid_client", "unsupported_grant_type", *GRANT_ERRORS),
            401: ("invalid_client",),
        },
        challenges={401: "Basic"},
    ),
    openapi_extra=TOKEN_REQUEST_BODY,
)
def token(
    deps: ServicesDep,
    request: OAuthRequestDep,
) -> TokenResponse | JSONResponse:
    """Redeem an approved device code, or rotate a refresh token, for a new token pair (RFC 6749 section 5.1).

    Form-encoded as RFC 6749 has it (`grant_type`, `device_code` or `refresh_token`, optional
    `client_id`), or the same as JSON. Poll a device code no faster than `interval` seconds
    (`slow_down` adds 5 to it). A refresh token works once: presenting it again ends the session
    on every device.
    """
    check_client(request)
    grant = token_grant(request)
    if grant.grant_type is GrantType.DEVICE_CODE:
        outcome: TokenPair | GrantError = deps.sign_in.poll(grant.value)
    else:
        outcome = deps.sign_in.refresh(grant.value)
    if isinstance(outcome, GrantError):
        return JSONResponse(
            {"error": outcome.value, "error_description": GRANT_ERROR_DESCRIPTIONS[outcome]}, status_code=400
        )
    return TokenResponse(
        access_token=outcome.access_token, expires_in=outcome.expires_in, refresh_token=outcome.refresh_token
    )


@router.get(
    "/auth/verify",
    response_class=HTMLResponse,
    responses={
        200: _page("The form for the code, or the code with what approving it does and a link on to GitHub."),
        404: _page("The code is unknown or has expired (the form again)."),
        **_BROWSER_ERRORS,
    },
)
def verification_page(deps: ServicesDep, ip: ClientIpDep, user_code: Annotated[str, _USER_CODE] = "") -> HTMLResponse:
    """The attendee's browser step: enter the code, see what is being authorised, continue to GitHub."""
    _take_browser_quota(deps, ip)
    if not user_code:
        return pages.enter_code()
    canonical = normalize_user_code(user_code)
    if canonical is None or deps.sign_in.pending_grant(canonical) is None:
        return pages.enter_code(UNKNOWN_CODE, 404)
    return pages.confirm(canonical, f"/api/auth/github?user_code={quote(canonical)}")


@router.get(
    "/auth/github",
    response_model=None,
    response_class=HTMLResponse,
    status_code=303,
    responses={
        303: {
            **_page("On to GitHub's consent page (state and PKCE in the query).", "On to GitHub"),
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        400: _page("The code was tried too often: start a new sign-in."),
        404: _page("The code is unknown or has expired."),
        **_BROWSER_ERRORS,
    },
)
def to_github(deps: ServicesDep, ip: ClientIpDep, user_code: Annotated[str, _USER_CODE] = "") -> HTMLResponse:
    """Send the browser to GitHub's consent page (state and PKCE), within the app's GitHub budget."""
    _take_browser_quota(deps, ip)
    # GitHub allows an OAuth app 2,000 token requests an hour: the whole app stays under it.
    deps.quotas.take(github_sign_ins_subject(deps.settings.github_client_id), deps.settings.sign_ins_per_minute)
    started = deps.sign_in.begin_browser_step(user_code)
    if isinstance(started, BrowserOutcome):
        title, message, status = OUTCOMES[started]
        return pages.outcome(title, message, status)
    return pages.onward(started)


@router.get(
    "/auth/callback",
    response_class=HTMLResponse,
    responses={
        200: _page("Signed in: the device can redeem its code now.", "Signed in"),
        400: _page("The sign-in was cancelled or has expired."),
        404: _page("The sign-in is unknown."),
        403: _page("The GitHub account is not on the attendee list; nothing was stored."),
        **_BROWSER_ERRORS,
    },
)
def github_callback(
    deps: ServicesDep,
    state: Annotated[str, Query(max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")],
    code: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    error: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> HTMLResponse:
    """Where GitHub sends the browser back: the device code is approved, or refused."""
    title, message, status = OUTCOMES[deps.sign_in.complete_browser_step(code, state, error)]
    return pages.outcome(title, message, status)


def _b64url_int(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode("ascii")


@router.get("/.well-known/jwks.json", responses=error_responses(*EVERY_REQUEST))
def jwks(deps: ServicesDep) -> JsonWebKeySet:
    """The public keys that verify this API's tokens (current and previous key versions)."""
    return JsonWebKeySet(
        keys=[
            JsonWebKey(
                kty="EC",
                crv="P-256",
                kid=kid,
                use="sig",
                alg="ES256",
                x=_b64url_int(key.public_numbers().x),
                y=_b64url_int(key.public_numbers().y),
            )
            for kid, key in deps.signer.public_keys().items()
        ]
    )
