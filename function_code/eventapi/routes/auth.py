"""Sign-in through GitHub's device flow, and the public keys that verify the API's tokens."""

from __future__ import annotations

import base64
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from eventapi.auth.github import Pending
from eventapi.auth.tokens import new_session_id
from eventapi.deps import ClientIpDep, ServicesDep
from eventapi.models import DeviceCodeResponse, Problem, TokenRequest, TokenResponse
from eventapi.quotas import ip_subject
from eventapi.store import Session

router = APIRouter(tags=["sign-in"])
# Events only: never tokens, device codes, GitHub ids or logins.
log = logging.getLogger(__name__)


def _take_auth_quota(deps: ServicesDep, ip: str) -> None:
    deps.quotas.take(ip_subject(deps.keyed_hash.digest("client-ip", ip)), deps.settings.auth_requests_per_minute)


@router.post("/auth/device", responses={429: {"model": Problem}})
def start_device_flow(deps: ServicesDep, ip: ClientIpDep) -> DeviceCodeResponse:
    """Start GitHub's device flow: open verification_uri and enter user_code, then call /api/auth/token."""
    _take_auth_quota(deps, ip)
    code = deps.github.start()
    return DeviceCodeResponse(
        device_code=code.device_code,
        user_code=code.user_code,
        verification_uri=code.verification_uri,
        expires_in=code.expires_in,
        interval=code.interval,
    )


@router.post("/auth/token", response_model=TokenResponse, responses={400: {"model": Problem}, 429: {"model": Problem}})
def exchange_device_code(body: TokenRequest, deps: ServicesDep, ip: ClientIpDep) -> TokenResponse | JSONResponse:
    """Exchange an approved device code for a short-lived API token; poll no faster than `interval`."""
    _take_auth_quota(deps, ip)
    outcome = deps.github.poll(body.device_code)
    if isinstance(outcome, Pending):
        log.info("sign-in not completed: %s", outcome.reason)
        return JSONResponse({"error": outcome.reason}, status_code=400)
    # The GitHub id is stored only as a keyed hash; the token's subject is a fresh random id.
    attendee_key = deps.keyed_hash.digest("github-id", str(outcome))
    now = deps.clock()
    deps.store.record_attendee(attendee_key, now)
    issued = deps.tokens.issue(new_session_id())
    deps.store.create_session(Session(issued.session_id, attendee_key, now, issued.expires_at))
    log.info("sign-in completed")
    return TokenResponse(access_token=issued.token, expires_in=int(deps.settings.token_ttl.total_seconds()))


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
