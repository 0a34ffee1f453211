"""Issue and verify the API's ES256 tokens; the subject is a random session id and nothing else."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from eventapi.auth.signer import Signer
from eventapi.settings import MAX_TOKEN_TTL, TOKEN_LEEWAY

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"
TOKEN_TYPE = "JWT"  # noqa: S105 - the JOSE type name, not a secret
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "aud", "iss", "sub", "jti"]
# The subject is a session id: 128 random bits as lowercase hex, and nothing else.
SUBJECT_FORM = re.compile(r"^[0-9a-f]{32}$")


class InvalidToken(Exception):  # noqa: N818 - reads as the condition it reports
    """Any reason a bearer token is refused."""


class ExpiredToken(InvalidToken):
    """A token this API signed whose lifetime is over: the caller should refresh, not sign in again."""


class KeysNotInHand(Exception):  # noqa: N818 - reads as the condition it reports
    """Deciding on this token needs a read of the signer's keys first: call `verify`, off the event loop."""


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and the session it stands for."""

    token: str
    session_id: str
    expires_at: datetime


# A compact JWS header segment: base64url without padding, small.
_HEADER_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,512}$")


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read on its own: PyJWT's decode parses the whole token again anyway, so reading
    only the first segment here keeps one full parse per verification instead of two."""
    segment = token.split(".", 1)[0]
    if token.count(".") != 2 or not _HEADER_SEGMENT.fullmatch(segment):
        raise InvalidToken("malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError as error:
        raise InvalidToken("malformed") from error
    if not isinstance(header, dict):
        raise InvalidToken("malformed")
    return header


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenService:
    """Issues tokens through the Signer and verifies them locally against its cached public keys."""

    def __init__(
        self, signer: Signer, issuer: str, audience: str, ttl: timedelta, clock: Callable[[], datetime]
    ) -> None:
        if ttl > MAX_TOKEN_TTL or ttl <= timedelta(0):
            raise ValueError("token lifetime must be positive and at most 15 minutes")
        self._signer = signer
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._clock = clock

    def issue(self, session_id: str) -> IssuedToken:
        """Sign a token for `session_id`, valid from now for the configured lifetime."""
        now = self._clock().replace(microsecond=0)
        expires_at = now + self._ttl
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": session_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": secrets.token_hex(16),
        }
        # The kid is only known once the signer has picked its key version, so the JWS is
        # assembled here rather than by PyJWT's encoder.
        kid = self._signer.current_kid()
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": kid}
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        ).encode("ascii")
        signed_kid, signature = self._signer.sign(signing_input)
        if signed_kid != kid:
            raise RuntimeError("the signing key changed while a token was being signed")
        return IssuedToken(signing_input.decode("ascii") + "." + _b64url(signature), session_id, expires_at)

    def verify(self, token: str) -> str:
        """Return the session id of a valid token; raise InvalidToken otherwise. May read the signer's
        keys (a call to Key Vault in Azure): blocking."""
        return self._verify(token, self._key_reading)

    def verify_in_hand(self, token: str) -> str:
        """As `verify`, with the keys already read and no call out: KeysNotInHand when they cannot
        decide (none read yet, a re-read due, or a kid they do not hold)."""
        return self._verify(token, self._key_in_hand)

    def _key_reading(self, kid: str) -> ec.EllipticCurvePublicKey:
        keys = self._signer.public_keys()
        if kid not in keys and self._signer.refresh_public_keys():
            keys = self._signer.public_keys()
        if kid not in keys:
            raise InvalidToken("unknown kid")
        return keys[kid]

    def _key_in_hand(self, kid: str) -> ec.EllipticCurvePublicKey:
        keys = self._signer.keys_in_hand()
        if keys is None or kid not in keys:
            raise KeysNotInHand(kid)
        return keys[kid]

    def _verify(self, token: str, key_for: Callable[[str], ec.EllipticCurvePublicKey]) -> str:
        # PyJWT (and cryptography behind it) load with the first authenticated request, not the app.
        import jwt

        header = _header(token)
        kid = header.get("kid")
        # RFC 8725 section 3.11: the type is explicit, so no other kind of JWT can pass for ours.
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE or not isinstance(kid, str):
            raise InvalidToken("header")
        key = key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=TOKEN_LEEWAY,
                # Times are checked below against the injected clock, the same one that issues.
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            issued_at, not_before, expires_at = (int(claims[name]) for name in ("iat", "nbf", "exp"))
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            raise InvalidToken("claims") from error
        now = self._clock().timestamp()
        leeway = TOKEN_LEEWAY.total_seconds()
        if not (issued_at - leeway <= now and not_before - leeway <= now):
            raise InvalidToken("time")
        lifetime = timedelta(seconds=expires_at - issued_at)
        if lifetime > min(self._ttl, MAX_TOKEN_TTL) or lifetime <= timedelta(0):
            raise InvalidToken("lifetime")
        subject = claims["sub"]
        if not isinstance(subject, str) or not SUBJECT_FORM.fullmatch(subject):
            raise InvalidToken("subject")
        # Last, so that "expired" is said only of a token that is ours in every other respect.
        if now >= expires_at + leeway:
            raise ExpiredToken("expired")
        return subject
