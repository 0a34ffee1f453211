"""Binding the browser step to one browser: a cookie nonce, a CSRF token, and what they are tied to.

The verification page sets a fresh random nonce in a cookie. The confirmation form carries a CSRF
token, an HMAC of that nonce and the user code, so only a page this app served to this browser
can start GitHub's flow. The grant keeps only a keyed hash of the nonce, and the PKCE verifier is
derived from the state *and* the nonce: a callback from a browser without the cookie is refused,
and even this app could not redeem its code (login CSRF, RFC 6749 section 10.12; RFC 9700 4.7).

In Azure (an https issuer) the cookie is `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax,
Path=/ and has no Domain. A local run on http://127.0.0.1 cannot keep a Secure cookie
(Python's cookie jar, which httpx uses, never sends one over http; browsers refuse a `__Host-`
cookie without Secure), so there, and only for a loopback http issuer, the same cookie is set
without Secure under a name without the prefix. Settings allow http only for loopback issuers.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi.responses import Response

from eventapi.pepper import KeyedHash

NONCE_BYTES = 32
COOKIE_BASENAME = "eventstack-sign-in"
SECURE_PREFIX = "__Host-"
# The browser step lasts as long as the device code it approves.
COOKIE_MAX_AGE_SECONDS = 600
_NONCE_PURPOSE = "browser-nonce"
_CSRF_PURPOSE = "csrf"


@dataclass(frozen=True)
class BrowserCookie:
    """The cookie's name and attributes, fixed by the issuer's scheme."""

    secure: bool

    @classmethod
    def for_issuer(cls, issuer: str) -> BrowserCookie:
        """Strict for https; relaxed only for an http loopback issuer (local runs)."""
        parts = urlsplit(issuer)
        return cls(secure=not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")))

    @property
    def name(self) -> str:
        return SECURE_PREFIX + COOKIE_BASENAME if self.secure else COOKIE_BASENAME

    def set(self, response: Response, nonce: str) -> None:
        """Attach the nonce to `response`."""
        response.set_cookie(
            self.name,
            nonce,
            max_age=COOKIE_MAX_AGE_SECONDS,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )


def new_nonce() -> str:
    """A fresh browser nonce (43 URL-safe characters)."""
    return secrets.token_urlsafe(NONCE_BYTES)


def nonce_hash(keyed_hash: KeyedHash, nonce: str) -> str:
    """What the grant keeps of the nonce."""
    return keyed_hash.digest(_NONCE_PURPOSE, nonce)


def csrf_token(keyed_hash: KeyedHash, nonce: str, user_code: str) -> str:
    """The confirmation form's token: valid only with this browser's nonce, for this user code."""
    return keyed_hash.digest(_CSRF_PURPOSE, f"{nonce}.{user_code}")


def csrf_valid(keyed_hash: KeyedHash, nonce: str | None, user_code: str, token: str) -> bool:
    """Whether `token` was issued to the browser holding `nonce` for `user_code`."""
    if not nonce or not token:
        return False
    return hmac.compare_digest(csrf_token(keyed_hash, nonce, user_code), token)
