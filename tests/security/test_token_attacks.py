"""Forged, stale and stolen tokens against the live API (RFC 8725): every one gets a 401, never a 5xx.

Each forgery starts from the claims of a real, live session and changes one thing, so a refusal can
only come from the property under attack; the unchanged copy re-signed with the API's own key is
accepted, so the suite cannot pass against a server that refuses everything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from eventapi.challenge import EXPIRED, NO_TOKEN, NOT_BEARER, NOT_OURS, REFRESH_TOKEN_SENT, SESSION_ENDED, Refusal
from eventapi.settings import MAX_TOKEN_TTL

from dev.github_standin import GitHubStandIn
from tests.function_code.conftest import bearer, sign_in
from tests.security.conftest import (
    GOOD_LIGHT,
    PROTECTED,
    Attendee,
    b64url,
    es256_token,
    signing_input,
)

# Comfortably outside the API's clock leeway (seconds).
SKEW = 120


def call(client: httpx.Client, method: str, path: str, headers: dict[str, Any]) -> httpx.Response:
    body = GOOD_LIGHT if method == "POST" else None
    return client.request(method, path, headers=headers, json=body)


# What a refused caller may be told: one of the fixed refusals, never a detail of the check that failed.
REFUSALS = {r.description: r for r in (NO_TOKEN, NOT_BEARER, NOT_OURS, SESSION_ENDED, REFRESH_TOKEN_SENT, EXPIRED)}


def assert_refused_everywhere(client: httpx.Client, headers: dict[str, Any], expected: Refusal | None = None) -> None:
    """401 with a fixed refusal and the RFC 6750 challenge on every protected endpoint.

    Only a token the API really signed may be told it expired (`expected=EXPIRED`): a forgery, a
    token of another audience or issuer, or garbage hears "sign in again" or "send a token".
    """
    for method, path in PROTECTED:
        response = call(client, method, path, headers)
        assert response.status_code == 401, (method, path, response.status_code)
        refusal = REFUSALS[response.json()["error_description"]]
        assert response.json() == {"error": refusal.error or "unauthorized", "error_description": refusal.description}
        if expected is not None:
            assert refusal == expected
        else:
            assert refusal != EXPIRED
        assert response.headers["www-authenticate"].startswith('Bearer realm="eventstack"')
        assert "resource_metadata=" in response.headers["www-authenticate"]


def assert_untouched(client: httpx.Client, victim: Attendee) -> None:
    """The victim's session still works and nothing was stored in their name by the attack."""
    mine = client.get("/api/me", headers=victim.auth)
    assert mine.status_code == 200
    assert mine.json()["commands_sent"] == 0


@pytest.fixture
def victim(attendee: Callable[[], Attendee]) -> Attendee:
    return attendee()


def forge(
    key: ec.EllipticCurvePrivateKey, victim: Attendee, header: dict[str, Any] | None = None, **claims: Any
) -> str:
    """The victim's token with `claims` changed (None removes a claim), signed ES256 with `key`."""
    forged = {**victim.claims, **claims}
    forged = {name: value for name, value in forged.items() if value is not None}
    return es256_token(key, header or victim.header, forged)


def test_a_genuine_token_and_its_faithful_re_signing_are_accepted(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    assert client.get("/api/me", headers=victim.auth).status_code == 200
    resigned = forge(signing_key, victim)
    assert client.get("/api/me", headers=bearer(resigned)).status_code == 200
    sent = client.post("/api/lights", headers=bearer(resigned), json=GOOD_LIGHT)
    assert sent.status_code == 202
    assert client.get("/api/me", headers=victim.auth).json()["commands_sent"] == 1


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(client: httpx.Client, victim: Attendee, alg: str) -> None:
    unsigned = signing_input({**victim.header, "alg": alg}, victim.claims).decode() + "."
    assert_refused_everywhere(client, bearer(unsigned))
    # The same unsigned token with the genuine signature glued on is no better.
    assert_refused_everywhere(client, bearer(unsigned + victim.token.rsplit(".", 1)[1]))
    assert_untouched(client, victim)


def _public_key_forms(client: httpx.Client) -> list[bytes]:
    """The published key as an attacker would use it as an HMAC secret: PEM, JWK JSON, raw JWK bytes."""
    jwk = client.get("/api/.well-known/jwks.json").json()["keys"][0]
    x = int.from_bytes(_b64decode(jwk["x"]), "big")
    y = int.from_bytes(_b64decode(jwk["y"]), "big")
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [
        pem,
        pem.strip(),
        json.dumps(jwk).encode(),
        json.dumps(jwk, separators=(",", ":")).encode(),
        public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
    ]


def _b64decode(value: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_public_key_is_refused(client: httpx.Client, victim: Attendee, alg: str) -> None:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    for secret in _public_key_forms(client):
        data = signing_input({**victim.header, "alg": alg}, victim.claims)
        token = data.decode() + "." + b64url(hmac.new(secret, data, digest).digest())
        assert_refused_everywhere(client, bearer(token))
    assert_untouched(client, victim)


def test_expired_token_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    now = int(time.time())
    expired = forge(signing_key, victim, iat=now - 600, nbf=now - 600, exp=now - SKEW)
    # Signed with the API's own key: the one case that is told to refresh.
    assert_refused_everywhere(client, bearer(expired), EXPIRED)
    assert_untouched(client, victim)


def test_not_yet_valid_token_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    now = int(time.time())
    early = forge(signing_key, victim, iat=now, nbf=now + SKEW, exp=now + 300)
    assert_refused_everywhere(client, bearer(early))
    issued_in_the_future = forge(signing_key, victim, iat=now + SKEW, nbf=now, exp=now + SKEW + 60)
    assert_refused_everywhere(client, bearer(issued_in_the_future))
    assert_untouched(client, victim)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://another-api.example.org/api"},
        {"aud": ["https://another-api.example.org/api"]},
        {"iss": "https://attacker.example.org"},
        {"iss": ""},
    ],
    ids=["aud", "aud-list", "iss", "iss-empty"],
)
def test_wrong_audience_or_issuer_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]
) -> None:
    assert_refused_everywhere(client, bearer(forge(signing_key, victim, **claims)))
    assert_untouched(client, victim)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "aud", "iss", "sub", "jti"])
def test_each_required_claim_missing_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey, claim: str
) -> None:
    assert claim in victim.claims
    assert_refused_everywhere(client, bearer(forge(signing_key, victim, **{claim: None})))
    assert_untouched(client, victim)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ES256", "typ": "JWT", "kid": "0" * 32},
        {"alg": "ES256", "typ": "JWT", "kid": ""},
        {"alg": "ES256", "typ": "JWT", "kid": "../../signing-key.pem"},
        {"alg": "ES256", "typ": "JWT", "kid": 1},
        {"alg": "ES256", "typ": "JWT"},
        {"alg": "ES256", "typ": "JWT", "jku": "http://127.0.0.1:9/jwks.json"},
    ],
    ids=["unknown-kid", "empty-kid", "path-kid", "numeric-kid", "no-kid", "jku-no-kid"],
)
def test_unknown_or_missing_kid_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey, header: dict[str, Any]
) -> None:
    # Signed with the real key: only the kid is wrong.
    assert_refused_everywhere(client, bearer(forge(signing_key, victim, header=header)))
    assert_untouched(client, victim)


def test_tampered_payload_is_refused(
    client: httpx.Client, attendee: Callable[[], Attendee], signing_key: ec.EllipticCurvePrivateKey
) -> None:
    victim, attacker = attendee(), attendee()
    header_part, _, signature = attacker.token.split(".")
    # The attacker's genuine signature over a payload that names the victim's session.
    payload = b64url(json.dumps({**attacker.claims, "sub": victim.session_id}, separators=(",", ":")).encode())
    assert_refused_everywhere(client, bearer(f"{header_part}.{payload}.{signature}"))
    # Stretching the attacker's own lifetime the same way fails too.
    longer = b64url(json.dumps({**attacker.claims, "exp": attacker.claims["exp"] + 3600}).encode())
    assert_refused_everywhere(client, bearer(f"{header_part}.{longer}.{signature}"))
    assert_untouched(client, victim)
    assert_untouched(client, attacker)


@pytest.mark.parametrize("where", ["first-byte", "last-byte", "truncated", "doubled", "empty"])
def test_tampered_signature_is_refused(client: httpx.Client, victim: Attendee, where: str) -> None:
    data, signature = victim.token.rsplit(".", 1)
    raw = bytearray(_b64decode(signature))
    if where == "first-byte":
        raw[0] ^= 0x01
    elif where == "last-byte":
        raw[-1] ^= 0x80
    elif where == "truncated":
        raw = raw[:-1]
    elif where == "doubled":
        raw = raw + raw
    else:
        raw = bytearray()
    assert_refused_everywhere(client, bearer(f"{data}.{b64url(bytes(raw))}"))
    assert_untouched(client, victim)


def test_lifetime_over_the_maximum_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    now = int(time.time())
    too_long = int(MAX_TOKEN_TTL.total_seconds()) + 60
    # Signed with the API's own key, currently valid, every claim right: only the lifetime is wrong.
    token = forge(signing_key, victim, iat=now - 5, nbf=now - 5, exp=now - 5 + too_long)
    assert_refused_everywhere(client, bearer(token))
    year = forge(signing_key, victim, iat=now - 5, nbf=now - 5, exp=now + 365 * 86400)
    assert_refused_everywhere(client, bearer(year))
    assert_untouched(client, victim)


def test_token_of_an_erased_session_is_refused(
    client: httpx.Client, victim: Attendee, github: GitHubStandIn, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    # The same GitHub user signs in a second time (a second session), then erases with that one.
    second_token = sign_in(client, github, victim.user)
    assert client.delete("/api/me", headers=bearer(second_token)).status_code == 204
    # The first session was erased along with the attendee: its genuine token is dead...
    assert_refused_everywhere(client, victim.auth)
    # ...and so is any freshly signed token for that session id.
    assert_refused_everywhere(client, bearer(forge(signing_key, victim, jti="f" * 32)))


def test_token_reused_after_erasure_is_refused(client: httpx.Client, victim: Attendee) -> None:
    assert client.post("/api/lights", headers=victim.auth, json=GOOD_LIGHT).status_code == 202
    assert client.delete("/api/me", headers=victim.auth).status_code == 204
    for _ in range(2):
        assert_refused_everywhere(client, victim.auth)


def test_token_signed_by_another_key_with_the_real_kid_is_refused(
    client: httpx.Client, victim: Attendee, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    assert other.public_key().public_numbers() != signing_key.public_key().public_numbers()
    assert_refused_everywhere(client, bearer(forge(other, victim)))
    # Another curve under the real kid is no better.
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert_refused_everywhere(client, bearer(forge(p384, victim)))
    assert_untouched(client, victim)


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer\tgarbage",
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer ...",
        "Bearer " + "A" * 5000,
        "Bearer " + "eyJhbGciOiJFUzI1NiJ9." * 200,
        "Basic dXNlcjpwYXNz",
        "Token abc.def.ghi",
        "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.e30.AAAA",
        b"Bearer \xe9\xe9\xe9",
    ],
    ids=[
        "empty",
        "scheme-only",
        "tab",
        "garbage",
        "dots",
        "only-dots",
        "oversized",
        "oversized-segments",
        "basic",
        "token-scheme",
        "empty-claims",
        "latin1",
    ],
)
def test_garbage_bearer_is_refused(client: httpx.Client, victim: Attendee, authorization: str | bytes) -> None:
    assert_refused_everywhere(client, {"Authorization": authorization})
    assert_untouched(client, victim)


def test_missing_authorization_is_refused(client: httpx.Client) -> None:
    assert_refused_everywhere(client, {})
