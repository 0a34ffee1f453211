"""Sign-in: our own RFC 8628 device flow, GitHub's web flow for the browser step, and the public keys."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from eventapi import pages
from eventapi.auth.codes import normalize_user_code
from eventapi.auth.sign_in import BrowserOutcome, GrantError, TokenPair
from eventapi.deps import ClientIpDep, ServicesDep
from eventapi.models import DeviceCodeResponse, GrantProblem, Problem, TokenRequest, TokenResponse
from eventapi.quotas import GITHUB_SIGN_INS, ip_subject

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
    BrowserOutcome.UNKNOWN: ("Unknown sign-in", "This sign-in is unknown or has expired: start again.", 400),
    BrowserOutcome.USED_UP: (
        "Code used too often",
        "This code was tried too many times: start a new sign-in on your device.",
        429,
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


@router.post("/auth/device", responses={429: {"model": Problem}, 503: {"model": Problem}})
def start_sign_in(deps: ServicesDep, ip: ClientIpDep) -> DeviceCodeResponse:
    """Start a sign-in (RFC 8628): show user_code and open verification_uri, then poll /api/auth/token."""
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
    responses={400: {"model": GrantProblem}, 422: {"model": Problem}, 503: {"model": Problem}},
)
def token(body: TokenRequest, deps: ServicesDep) -> TokenResponse | JSONResponse:
    """Redeem an approved device code, or rotate a refresh token, for a new token pair.

    Poll a device code no faster than `interval` seconds (`slow_down` adds 5 to it). A refresh
    token works once: presenting it again ends the session on every device.
    """
    if body.device_code is not None:
        outcome: TokenPair | GrantError = deps.sign_in.poll(body.device_code)
    else:
        assert body.refresh_token is not None  # noqa: S101 - the model requires one of the two
        outcome = deps.sign_in.refresh(body.refresh_token)
    if isinstance(outcome, GrantError):
        return JSONResponse({"error": outcome.value}, status_code=400)
    return TokenResponse(
        access_token=outcome.access_token, expires_in=outcome.expires_in, refresh_token=outcome.refresh_token
    )


@router.get("/auth/verify", response_class=HTMLResponse, responses={429: {"model": Problem}})
def verification_page(deps: ServicesDep, ip: ClientIpDep, user_code: Annotated[str, _USER_CODE] = "") -> HTMLResponse:
    """The attendee's browser step: enter the code, see what is being authorised, continue to GitHub."""
    _take_browser_quota(deps, ip)
    if not user_code:
        return pages.enter_code()
    canonical = normalize_user_code(user_code)
    if canonical is None or deps.sign_in.pending_grant(canonical) is None:
        return pages.enter_code(UNKNOWN_CODE, 404)
    return pages.confirm(canonical, f"/api/auth/github?user_code={quote(canonical)}")


@router.get("/auth/github", response_model=None, responses={303: {"description": "to GitHub"}, 429: {"model": Problem}})
def to_github(
    deps: ServicesDep, ip: ClientIpDep, user_code: Annotated[str, _USER_CODE] = ""
) -> RedirectResponse | HTMLResponse:
    """Send the browser to GitHub's consent page (state and PKCE), within the app's GitHub budget."""
    _take_browser_quota(deps, ip)
    # GitHub allows an OAuth app 2,000 token requests an hour: the whole app stays under it.
    deps.quotas.take(GITHUB_SIGN_INS, deps.settings.sign_ins_per_minute)
    started = deps.sign_in.begin_browser_step(user_code)
    if isinstance(started, BrowserOutcome):
        title, message, status = OUTCOMES[started]
        return pages.outcome(title, message, status)
    return RedirectResponse(started, status_code=303)


@router.get("/auth/callback", response_class=HTMLResponse)
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


@router.get("/.well-known/jwks.json")
def jwks(deps: ServicesDep) -> dict[str, list[dict[str, str]]]:
    """The public keys that verify this API's tokens (current and previous key versions)."""
    keys = []
    for kid, key in deps.signer.public_keys().items():
        numbers = key.public_numbers()
        keys.append(
            {
                "kty": "EC",
                "crv": "P-256",
                "kid": kid,
                "use": "sig",
                "alg": "ES256",
                "x": _b64url_int(numbers.x),
                "y": _b64url_int(numbers.y),
            }
        )
    return {"keys": keys}
