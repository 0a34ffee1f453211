"""The secrets of the sign-in: device codes, user codes, OAuth state, PKCE and refresh tokens.

Each is random from `secrets`; only keyed hashes of them are ever stored.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

# RFC 8628 section 6.1: a user code from an alphabet without vowels (no words) or look-alikes,
# 8 characters in two groups: 20^8 (34 bits), and each code is usable a few times only.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
USER_CODE_FORM = re.compile(rf"^[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}$")
# 256 bits: the device code is the bearer credential of the polling device.
DEVICE_CODE_BYTES = 32
STATE_BYTES = 32
REFRESH_SECRET_BYTES = 32
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_URLSAFE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_device_code() -> str:
    """A fresh device code (43 URL-safe characters)."""
    return secrets.token_urlsafe(DEVICE_CODE_BYTES)


def new_user_code() -> str:
    """A fresh user code, e.g. BDFG-HJKL."""
    chars = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_user_code(typed: str) -> str | None:
    """What the attendee typed, as the canonical code; None if it cannot be one.

    Case and separators are forgiven (RFC 8628 section 6.1), nothing else.
    """
    letters = re.sub(r"[\s-]", "", typed).upper()
    if len(letters) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in letters):
        return None
    return f"{letters[:4]}-{letters[4:]}"


def new_state(device_key: str) -> str:
    """OAuth `state` for one browser step: which grant it belongs to, and a one-time random part."""
    return f"{device_key}.{secrets.token_urlsafe(STATE_BYTES)}"


def split_state(state: str) -> tuple[str, str] | None:
    """(device key, random part) of a well-formed state, else None."""
    device_key, dot, nonce = state.partition(".")
    if not dot or not re.fullmatch(r"[0-9a-f]{64}", device_key) or not _URLSAFE.fullmatch(nonce):
        return None
    return device_key, nonce


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_refresh_secret() -> str:
    """The secret part of a refresh token: only its keyed hash is stored."""
    return secrets.token_urlsafe(REFRESH_SECRET_BYTES)


def join_refresh_token(session_id: str, family_id: str, secret: str) -> str:
    """The refresh token: it names its session and family, and the secret proves it."""
    return f"{session_id}.{family_id}.{secret}"


def split_refresh_token(token: str) -> tuple[str, str, str] | None:
    """(session id, family id, secret) of a well-formed refresh token, else None."""
    parts = token.split(".")
    if len(parts) != 3 or not _HEX32.fullmatch(parts[0]) or not _HEX32.fullmatch(parts[1]):
        return None
    if not _URLSAFE.fullmatch(parts[2]):
        return None
    return parts[0], parts[1], parts[2]
