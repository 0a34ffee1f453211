"""Sign-in: our own RFC 8628 device flow, GitHub's web flow for the browser step, and the public keys."""

from __future__ import annotations

import base64
import math
import re
from typing import Annotated
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from eventapi import pages
from eventapi.auth.browser import BrowserCookie, csrf_token, csrf_valid, new_nonce
from eventapi.auth.codes import normalize_user_code
from eventapi.auth.oauth import check_client, token_grant
from eventapi.auth.sign_in import BrowserOutcome, GrantError, Queued, TokenPair
from eventapi.callers import AddressDep, CallerDep
from eventapi.deps import OAuthRequestDep, ServicesDep
from eventapi.models import GrantType
from eventapi.oauth_models import DeviceCodeResponse, JsonWebKey, JsonWebKeySet, TokenResponse
from eventapi.openapi_errors import EVENT_PHASE, EVERY_REQUEST, IGNORED_BODY, OAUTH_BODY, STORAGE, error_responses
from eventapi.openapi_oauth import DEVICE_REQUEST_BODY, TOKEN_REQUEST_BODY
from eventapi.quotas import ip_subject
from eventapi.storage.counters import HOT_SHARDS

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
    BrowserOutcome.WRONG_BROWSER: (
        "Start again in this browser",
        "This sign-in was not started in this browser (or its cookie is gone), so it approves nothing. "
        "If you are signing in yourself, open the verification page again and enter the code from your device.",
        400,
    ),
}


# One caller (a program on an address) may take this share of its address's sign-in starts and
# unknown codes: a greedy script cannot starve the other attendees behind the same NAT address.
CALLER_SHARE_DIVISOR = 2
# ...but never less than a person needs for a few tries.
MIN_CALLER_SHARE = 5
# Views of one valid user code's confirmation page a minute (a reload, a second tab), no more.
VIEWS_PER_CODE_PER_MINUTE = 20
_CSRF = re.compile(r"^[0-9a-f]{64}$")
# The confirmation form has two fields; anything much larger is not it.
_FORM_FIELDS = 4


def fixed_pages() -> frozenset[bytes]:
    """Every page the browser step can answer with an error: none of them depends on the request."""
    found = {bytes(pages.outcome(*outcome).body) for outcome in OUTCOMES.values()}
    return frozenset({*found, bytes(pages.enter_code(UNKNOWN_CODE, 404).body)})


def caller_share(per_address: int) -> int:
    """What one caller may take of a per-address limit."""
    return min(per_address, max(MIN_CALLER_SHARE, math.ceil(per_address / CALLER_SHARE_DIVISOR)))


def _take_start_quota(deps: ServicesDep, address: str, caller: str) -> None:
    """One sign-in start: the caller's share first (a greedy caller is refused before it spends the
    address's budget), then the address's (sharded: a venue's starts do not queue on one row)."""
    per_address = deps.settings.auth_requests_per_minute
    # Sharded too: at a venue many attendees run the same program (curl) behind one address.
    deps.quotas.take(f"caller-start-{caller}", caller_share(per_address), shards=HOT_SHARDS)
    deps.quotas.take(ip_subject(address), per_address, shards=HOT_SHARDS)


def _misses_subject(caller: str) -> str:
    # Unknown user codes and unknown or replayed callback states: guesses, typos and replays.
    return f"caller-miss-{caller}"


def _check_misses(deps: ServicesDep, caller: str) -> None:
    """Refuse (429) before any lookup once this caller's unknown-code budget is spent (RFC 8628 5.1)."""
    deps.quotas.check(_misses_subject(caller), caller_share(deps.settings.auth_requests_per_minute), shards=HOT_SHARDS)


def _count_miss(deps: ServicesDep, caller: str) -> None:
    deps.quotas.take(_misses_subject(caller), caller_share(deps.settings.auth_requests_per_minute), shards=HOT_SHARDS)


def _cookie(deps: ServicesDep) -> BrowserCookie:
    return BrowserCookie.for_issuer(deps.settings.token_issuer)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
        429: "Too many unknown codes from this caller, or views of this code, this minute; see Retry-After.",
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
    address: AddressDep,
    caller: CallerDep,
    request: OAuthRequestDep,
) -> DeviceCodeResponse:
    """Start a sign-in (RFC 8628 section 3.1): show user_code and open verification_uri, then poll /api/auth/token.

    Send `client_id=eventstack-attendee` form-encoded (or nothing at all); no scopes.
    """
    check_client(request)
    _take_start_quota(deps, address, caller)
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
        200: _page("The form for the code, or the code with what approving it does and a form on to GitHub."),
        404: _page("The code is unknown or has expired (the form again)."),
        **_BROWSER_ERRORS,
    },
)
def verification_page(deps: ServicesDep, caller: CallerDep, user_code: Annotated[str, _USER_CODE] = "") -> HTMLResponse:
    """The attendee's browser step: enter the code, see what is being authorised, confirm.

    Showing a valid code sets this browser's sign-in cookie; the confirmation form carries a CSRF
    token tied to it. A valid code is charged to the code, an unknown one to the caller.
    """
    if not user_code:
        return pages.enter_code()
    canonical = normalize_user_code(user_code)
    if canonical is None:
        return pages.enter_code(UNKNOWN_CODE, 404)
    _check_misses(deps, caller)
    grant = deps.sign_in.pending_grant(canonical)
    if grant is None:
        _count_miss(deps, caller)
        return pages.enter_code(UNKNOWN_CODE, 404)
    deps.quotas.take(f"code-view-{grant.user_key}", VIEWS_PER_CODE_PER_MINUTE)
    nonce = new_nonce()
    response = pages.confirm(
        canonical, csrf_token(deps.keyed_hash, nonce, canonical), _origin(deps.settings.github_base_url)
    )
    _cookie(deps).set(response, nonce)
    return response


async def confirmation_form(request: Request) -> dict[str, str]:
    """The two fields of the confirmation form (application/x-www-form-urlencoded; the body guard bounds it)."""
    body = (await request.body()).decode("ascii", errors="replace")
    try:
        fields = parse_qs(body, max_num_fields=_FORM_FIELDS)
    except ValueError:
        return {}
    return {name: values[0] for name, values in fields.items() if name in ("user_code", "csrf")}


@router.post(
    "/auth/github",
    response_model=None,
    response_class=HTMLResponse,
    status_code=303,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "user_code": {"type": "string", "maxLength": 16, "pattern": r"^[A-Za-z -]*$"},
                            "csrf": {"type": "string", "pattern": _CSRF.pattern},
                        },
                        "required": ["user_code", "csrf"],
                    },
                    "example": {"user_code": "BDFG-HJKL", "csrf": "0" * 64},
                }
            }
        }
    },
    responses={
        303: {
            **_page("On to GitHub's consent page (state and PKCE in the query).", "On to GitHub"),
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        400: _page(
            "The code was tried too often, or this is not the confirmation form this browser was shown: start again."
        ),
        404: _page("The code is unknown or has expired."),
        **_BROWSER_ERRORS,
        **error_responses(
            *IGNORED_BODY,
            descriptions={
                413: "A body over the size cap.",
                415: "A body that is neither application/x-www-form-urlencoded nor JSON.",
            },
        ),
    },
)
def to_github(
    request: Request, deps: ServicesDep, form: Annotated[dict[str, str], Depends(confirmation_form)]
) -> HTMLResponse:
    """The confirmation (a POST with the CSRF token from this browser's page): on to GitHub, state and PKCE.

    Nothing else starts GitHub's flow. Charged to the user code (a few steps each); nothing here
    calls GitHub or takes from the app-wide budget.
    """
    canonical = normalize_user_code(form.get("user_code", ""))
    token = form.get("csrf", "")
    nonce = request.cookies.get(_cookie(deps).name)
    if canonical is None or not _CSRF.fullmatch(token) or nonce is None:
        return pages.outcome(*OUTCOMES[BrowserOutcome.WRONG_BROWSER])
    if not csrf_valid(deps.keyed_hash, nonce, canonical, token):
        return pages.outcome(*OUTCOMES[BrowserOutcome.WRONG_BROWSER])
    started = deps.sign_in.begin_browser_step(canonical, nonce)
    if isinstance(started, BrowserOutcome):
        title, message, status = OUTCOMES[started]
        return pages.outcome(title, message, status)
    return pages.onward(started)


@router.get(
    "/auth/callback",
    response_class=HTMLResponse,
    responses={
        200: _page("Signed in: the device can redeem its code now; or a page that waits and continues by itself."),
        400: _page("The sign-in was cancelled, has expired, or was not started in this browser."),
        404: _page("The sign-in is unknown, or this step was used already."),
        403: _page("The GitHub account is not on the attendee list; nothing was stored."),
        **_BROWSER_ERRORS,
    },
)
def github_callback(
    request: Request,
    deps: ServicesDep,
    caller: CallerDep,
    *,
    state: Annotated[str, Query(max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")],
    code: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    error: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> HTMLResponse:
    """Where GitHub sends the browser back: the device code is approved, refused, or waits its turn."""
    _check_misses(deps, caller)
    nonce = request.cookies.get(_cookie(deps).name)
    result = deps.sign_in.complete_browser_step(code, state, error, nonce)
    if isinstance(result, Queued):
        query = {"state": state, **({"code": code} if code else {}), **({"error": error} if error else {})}
        return pages.queued(result.retry_after, f"{request.url.path}?{urlencode(query)}")
    if result is BrowserOutcome.UNKNOWN:
        _count_miss(deps, caller)
    title, message, status = OUTCOMES[result]
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
