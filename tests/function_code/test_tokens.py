"""Token issue and verification: ES256 pinned, every claim required, lifetime capped, unknown kid refused."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from eventapi.auth.signer import LocalSigner, der_to_raw_signature
from eventapi.auth.tokens import ExpiredToken, InvalidToken, KeysNotInHand, TokenService
from eventapi.storage.sessions import new_id as new_session_id

ISSUER = "https://app.example.net"
AUDIENCE = "https://app.example.net/api"
NOW = datetime(2027, 6, 4, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def signer(tmp_path: Path) -> LocalSigner:
    return LocalSigner(tmp_path / "state")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(signer: LocalSigner, clock: Clock) -> TokenService:
    return TokenService(signer, ISSUER, AUDIENCE, timedelta(minutes=10), clock)


def _forge(signer: LocalSigner, claims: dict[str, object], header: dict[str, object] | None = None) -> str:
    """A token signed by the real key with chosen claims: only the claim checks can refuse it."""
    head = {"alg": "ES256", "typ": "JWT", "kid": signer.current_kid(), **(header or {})}

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{part(head)}.{part(claims)}".encode()
    _, signature = signer.sign(signing_input)
    return signing_input.decode() + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _claims(**changes: object) -> dict[str, object]:
    now = int(NOW.timestamp())
    base: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": new_session_id(),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "j",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_issued_token_verifies_to_its_session(tokens: TokenService) -> None:
    session_id = new_session_id()
    issued = tokens.issue(session_id)
    assert tokens.verify(issued.token) == session_id
    assert issued.expires_at == NOW + timedelta(minutes=10)


def test_forged_tokens_with_valid_claims_are_accepted(signer: LocalSigner, tokens: TokenService) -> None:
    claims = _claims()
    assert tokens.verify(_forge(signer, claims)) == claims["sub"]


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "aud", "iss", "sub", "jti"])
def test_every_claim_is_required(signer: LocalSigner, tokens: TokenService, missing: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(_forge(signer, _claims(**{missing: None})))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example.net"},
        {"aud": "https://app.example.net/other"},
        {"exp": int(NOW.timestamp()) - 60, "iat": int(NOW.timestamp()) - 600, "nbf": int(NOW.timestamp()) - 600},
        {"nbf": int(NOW.timestamp()) + 120},
        {"iat": int(NOW.timestamp()) + 120, "exp": int(NOW.timestamp()) + 600},
        # Longer than the configured 10 minutes, and longer than the 15-minute cap.
        {"exp": int(NOW.timestamp()) + 11 * 60},
        {"exp": int(NOW.timestamp()) + 16 * 60},
        {"sub": "583231"},
    ],
)
def test_wrong_or_over_long_claims_are_refused(
    signer: LocalSigner, tokens: TokenService, changes: dict[str, object]
) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(_forge(signer, _claims(**changes)))


def test_small_clock_skew_is_tolerated(signer: LocalSigner, tokens: TokenService) -> None:
    now = int(NOW.timestamp())
    assert tokens.verify(_forge(signer, _claims(iat=now + 5, nbf=now + 5, exp=now + 600)))


def test_expiry_follows_the_injected_clock(tokens: TokenService, clock: Clock) -> None:
    issued = tokens.issue(new_session_id())
    clock.now = NOW + timedelta(minutes=9)
    tokens.verify(issued.token)
    clock.now = NOW + timedelta(minutes=11)
    with pytest.raises(InvalidToken):
        tokens.verify(issued.token)


@pytest.mark.parametrize(
    "header", [{"kid": "unknown"}, {"kid": None}, {"alg": "HS256"}, {"alg": "none"}, {"alg": "ES384"}]
)
def test_unknown_kid_and_other_algorithms_are_refused(
    signer: LocalSigner, tokens: TokenService, header: dict[str, object]
) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(_forge(signer, _claims(), header))


def test_hs256_signed_with_the_public_key_is_refused(signer: LocalSigner, tokens: TokenService) -> None:
    # The classic algorithm-confusion attack: HMAC keyed with the published public key.
    from cryptography.hazmat.primitives import serialization

    public_pem = signer.public_keys()[signer.current_kid()].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": signer.current_kid()}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=")
    import hashlib
    import hmac

    mac = hmac.new(public_pem, head + b"." + body, hashlib.sha256).digest()
    token = (head + b"." + body + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_a_tampered_payload_is_refused(tokens: TokenService) -> None:
    issued = tokens.issue(new_session_id())
    head, _, signature = issued.token.split(".")
    other = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        tokens.verify(f"{head}.{other}.{signature}")


def test_ttl_over_fifteen_minutes_is_refused_at_construction(signer: LocalSigner, clock: Clock) -> None:
    with pytest.raises(ValueError, match="15 minutes"):
        TokenService(signer, ISSUER, AUDIENCE, timedelta(minutes=16), clock)


def test_session_ids_are_random_128_bit_hex() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(x) == 32 and int(x, 16) >= 0 for x in ids)


def test_local_key_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = LocalSigner(tmp_path / "state")
    key_file = tmp_path / "state" / LocalSigner.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = LocalSigner(tmp_path / "state")
    assert first.current_kid() == second.current_kid()


def test_local_signature_is_raw_r_s_that_verifies(signer: LocalSigner) -> None:
    kid, signature = signer.sign(b"header.payload")
    assert len(signature) == 64
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    signer.public_keys()[kid].verify(encode_dss_signature(r, s), b"header.payload", ec.ECDSA(hashes.SHA256()))


def test_der_to_raw_keeps_leading_zeros() -> None:
    der = encode_dss_signature(1, 2**255)
    raw = der_to_raw_signature(der)
    assert raw == (1).to_bytes(32, "big") + (2**255).to_bytes(32, "big")


def test_pyjwt_accepts_issued_tokens_with_the_published_key(tokens: TokenService, signer: LocalSigner) -> None:
    issued = tokens.issue(new_session_id())
    claims = jwt.decode(
        issued.token,
        signer.public_keys()[signer.current_kid()],
        algorithms=["ES256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["sub"] == issued.session_id


_AT_NOW = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"iat": _AT_NOW - 660, "nbf": _AT_NOW - 660, "exp": _AT_NOW - 60}, ExpiredToken),
        ({"aud": "https://other.example"}, InvalidToken),
    ],
)
def test_verifying_in_hand_decides_as_verifying_does(
    signer: LocalSigner, tokens: TokenService, changes: dict[str, object], refusal: type[Exception] | None
) -> None:
    claims = _claims(**changes)
    token = _forge(signer, claims)
    for verify in (tokens.verify, tokens.verify_in_hand):
        if refusal is None:
            assert verify(token) == claims["sub"]
        else:
            with pytest.raises(refusal):
                verify(token)


def test_a_kid_the_signer_does_not_hold_is_left_to_the_blocking_path(signer: LocalSigner, tokens: TokenService) -> None:
    token = _forge(signer, _claims(), {"kid": "unknown"})
    with pytest.raises(KeysNotInHand):
        tokens.verify_in_hand(token)
    with pytest.raises(InvalidToken):
        tokens.verify(token)
