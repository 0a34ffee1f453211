"""The Key Vault signer and pepper loader, through the real azure-keyvault clients, against a TLS stand-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from eventapi.auth import signer as signer_module
from eventapi.auth.signer import KeyVaultSigner
from eventapi.auth.tokens import InvalidToken, KeysNotInHand, TokenService
from eventapi.pepper import KeyedHash, key_vault_pepper
from eventapi.storage.sessions import new_id as new_session_id

from tests.function_code.vault_standin import ACCESS_TOKEN, VaultStandIn, VaultState, self_signed_certificate

KEY_NAME = "token-signing"
ISSUER, AUDIENCE = "https://app.example.net", "https://app.example.net/api"
# The promise to the vault's operation limits: an unknown kid re-reads the key at most once per 5 minutes.
REFRESH_INTERVAL_SECONDS = 300.0


class StandInCredential:
    """Hands out the token the stand-in accepts; counts how often it is asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests.append(scopes)
        return AccessToken(ACCESS_TOKEN, int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[tuple[VaultStandIn, Path]]:
    cert, key = self_signed_certificate(tmp_path)
    server = VaultStandIn(VaultState(KEY_NAME, versions=3), cert, key)
    server.start_in_thread()
    yield server, cert
    server.shutdown()
    server.server_close()


class SteppedClock:
    """Stands in for the signer's monotonic clock: time moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 50_000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    stepped = SteppedClock()
    # Only the signer module's view of `time` changes; the SDK and the server keep the real one.
    monkeypatch.setattr(signer_module, "time", stepped)
    return stepped


def _signer(vault: tuple[VaultStandIn, Path], credential: StandInCredential) -> KeyVaultSigner:
    server, cert = vault
    # The stand-in lives on 127.0.0.1, not *.vault.azure.net: skip only the challenge's domain check.
    return KeyVaultSigner(
        server.url, KEY_NAME, credential, connection_verify=str(cert), verify_challenge_resource=False
    )


def _tokens(signer: KeyVaultSigner) -> TokenService:
    return TokenService(signer, ISSUER, AUDIENCE, timedelta(minutes=10), lambda: datetime.now(UTC))


def _rotate(server: VaultStandIn) -> str:
    """Add a key version, newer than every other, as the vault's rotation policy does."""
    version = secrets.token_hex(16)
    server.state.add_version(version, max(server.state.created.values()) + 3600)
    return version


def _token_with_unknown_kid(key: ec.EllipticCurvePrivateKey) -> str:
    """A well-formed, currently valid ES256 token under a kid the vault never issued."""
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": new_session_id(),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": secrets.token_hex(16)})


def test_vault_signature_is_raw_r_s_over_sha256_and_verifies(vault: tuple[VaultStandIn, Path]) -> None:
    server, _ = vault
    credential = StandInCredential()
    signer = _signer(vault, credential)
    kid, signature = signer.sign(b"header.payload")

    assert kid == server.state.latest
    assert server.state.sign_calls == [(kid, hashlib.sha256(b"header.payload").digest())]
    assert len(signature) == 64
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    # Verified with the vault's own public key, not anything the signer derived.
    server.state.versions[kid].public_key().verify(
        encode_dss_signature(r, s), b"header.payload", ec.ECDSA(hashes.SHA256())
    )
    assert credential.requests and all(
        scopes == ("https://vault.azure.net/.default",) for scopes in credential.requests
    )
    assert server.state.unauthenticated_requests >= 1


def test_public_keys_are_the_current_and_previous_versions_read_once(vault: tuple[VaultStandIn, Path]) -> None:
    server, _ = vault
    signer = _signer(vault, StandInCredential())
    keys = signer.public_keys()
    versions = sorted(server.state.versions, key=server.state.created.__getitem__)
    assert set(keys) == set(versions[-2:])
    for version in versions[-2:]:
        assert keys[version].public_numbers() == server.state.versions[version].public_key().public_numbers()
    served = server.state.unauthenticated_requests
    for _ in range(5):
        signer.public_keys()
    assert server.state.unauthenticated_requests == served


def test_tokens_signed_in_the_vault_verify_locally(vault: tuple[VaultStandIn, Path]) -> None:
    signer = _signer(vault, StandInCredential())
    issuer, audience = "https://app.example.net", "https://app.example.net/api"
    tokens = TokenService(signer, issuer, audience, timedelta(minutes=10), lambda: datetime.now(UTC))
    session_id = new_session_id()
    issued = tokens.issue(session_id)
    assert tokens.verify(issued.token) == session_id
    kid = jwt.get_unverified_header(issued.token)["kid"]
    claims = jwt.decode(issued.token, signer.public_keys()[kid], algorithms=["ES256"], audience=audience)
    assert claims["sub"] == session_id


def test_pepper_is_read_from_the_vault_once(vault: tuple[VaultStandIn, Path]) -> None:
    server, cert = vault
    server.state.secrets["github-id-pepper"] = "p" * 48
    credential = StandInCredential()
    keyed = KeyedHash(
        key_vault_pepper(
            server.url, "github-id-pepper", credential, connection_verify=str(cert), verify_challenge_resource=False
        )
    )
    first = keyed.digest("github-id", "583231")
    server.state.secrets["github-id-pepper"] = "q" * 48
    assert keyed.digest("github-id", "583231") == first
    assert first == hmac.new(b"p" * 48, b"github-id:583231", hashlib.sha256).hexdigest()


# Key rotation: re-read the vault's versions on an unknown kid, at most once per interval


def test_a_token_from_a_rotated_key_verifies_once_a_re_read_is_allowed(
    vault: tuple[VaultStandIn, Path], clock: SteppedClock
) -> None:
    server, _ = vault
    signer = _signer(vault, StandInCredential())
    verifier = _tokens(signer)
    before_rotation = verifier.issue(new_session_id())
    previous = jwt.get_unverified_header(before_rotation.token)["kid"]
    assert server.state.version_listings() == 1

    new_version = _rotate(server)
    # An instance started after the rotation signs with the new version.
    after_rotation = _tokens(_signer(vault, StandInCredential())).issue(new_session_id())
    assert jwt.get_unverified_header(after_rotation.token)["kid"] == new_version
    listings = server.state.version_listings()

    clock.advance(REFRESH_INTERVAL_SECONDS - 1)
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.verify(after_rotation.token)
    assert server.state.version_listings() == listings, "re-read before the interval allowed it"

    clock.advance(1)
    assert verifier.verify(after_rotation.token) == after_rotation.session_id
    assert server.state.version_listings() == listings + 1
    assert set(signer.public_keys()) == {new_version, previous}
    # The version before the rotation is still published, so tokens it signed keep verifying.
    assert verifier.verify(before_rotation.token) == before_rotation.session_id
    assert verifier.verify(after_rotation.token) == after_rotation.session_id
    assert server.state.version_listings() == listings + 1


def test_the_re_read_publishes_the_new_and_previous_versions_and_signs_with_the_new(
    vault: tuple[VaultStandIn, Path], clock: SteppedClock
) -> None:
    server, _ = vault
    signer = _signer(vault, StandInCredential())
    previous = signer.current_kid()
    new_version = _rotate(server)
    clock.advance(REFRESH_INTERVAL_SECONDS)
    assert signer.refresh_public_keys() is True

    keys = signer.public_keys()
    assert set(keys) == {new_version, previous}
    assert keys[new_version].public_numbers() == server.state.versions[new_version].public_key().public_numbers()
    kid, signature = signer.sign(b"header.payload")
    assert kid == signer.current_kid() == new_version
    assert server.state.sign_calls[-1][0] == new_version
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    server.state.versions[new_version].public_key().verify(
        encode_dss_signature(r, s), b"header.payload", ec.ECDSA(hashes.SHA256())
    )


def test_a_flood_of_unknown_kids_makes_at_most_one_re_read_per_interval(
    vault: tuple[VaultStandIn, Path], clock: SteppedClock
) -> None:
    server, _ = vault
    verifier = _tokens(_signer(vault, StandInCredential()))
    verifier.issue(new_session_id())
    first_read = len(server.state.requests)
    forged_by = ec.generate_private_key(ec.SECP256R1())
    flood = [_token_with_unknown_kid(forged_by) for _ in range(64)]

    def refused(token: str) -> bool:
        try:
            verifier.verify(token)
        except InvalidToken:
            return True
        return False

    def flood_from_threads() -> list[bool]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(refused, flood))

    # Within the interval after the first read: not one vault call.
    clock.advance(REFRESH_INTERVAL_SECONDS / 2)
    assert all(flood_from_threads())
    assert len(server.state.requests) == first_read

    # Once the interval has passed: one re-read for the whole flood, however many threads race.
    clock.advance(REFRESH_INTERVAL_SECONDS)
    assert all(flood_from_threads())
    assert server.state.version_listings() == 2
    assert len(server.state.requests) - first_read <= first_read

    clock.advance(REFRESH_INTERVAL_SECONDS / 2)
    assert all(flood_from_threads())
    assert server.state.version_listings() == 2


def test_a_vault_refusing_the_re_read_is_not_asked_again_per_request(
    vault: tuple[VaultStandIn, Path], clock: SteppedClock
) -> None:
    server, _ = vault
    verifier = _tokens(_signer(vault, StandInCredential()))
    known = verifier.issue(new_session_id())
    forged_by = ec.generate_private_key(ec.SECP256R1())
    server.state.refusing = True
    clock.advance(REFRESH_INTERVAL_SECONDS)
    asked = len(server.state.requests)

    for _ in range(16):
        # A refused re-read is an unknown kid to the caller (a 401), never a server error.
        with pytest.raises(InvalidToken, match="unknown kid"):
            verifier.verify(_token_with_unknown_kid(forged_by))
    assert len(server.state.requests) - asked == 1
    # The keys read before keep verifying while the vault refuses.
    assert verifier.verify(known.token) == known.session_id

    server.state.refusing = False
    clock.advance(REFRESH_INTERVAL_SECONDS)
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.verify(_token_with_unknown_kid(forged_by))
    assert server.state.version_listings() == 2


def test_keys_are_in_hand_only_between_reads_and_asking_reads_nothing(
    vault: tuple[VaultStandIn, Path], clock: SteppedClock
) -> None:
    server, _ = vault
    signer = _signer(vault, StandInCredential())
    tokens = _tokens(signer)
    # Nothing read yet: the keys in hand cannot decide, and asking does not call the vault.
    assert signer.keys_in_hand() is None
    assert server.state.requests == []
    issued = tokens.issue(new_session_id())
    with_keys = len(server.state.requests)
    assert signer.keys_in_hand() == signer.public_keys()
    assert tokens.verify_in_hand(issued.token) == issued.session_id
    # A re-read is due: in hand is no longer enough, still without a call.
    clock.advance(REFRESH_INTERVAL_SECONDS)
    assert signer.keys_in_hand() is None
    with pytest.raises(KeysNotInHand):
        tokens.verify_in_hand(issued.token)
    assert len(server.state.requests) == with_keys
    # The blocking path re-reads, and the keys are in hand again.
    assert tokens.verify(issued.token) == issued.session_id
    assert server.state.version_listings() == 2
    assert tokens.verify_in_hand(issued.token) == issued.session_id


def test_an_unknown_kid_is_never_decided_in_hand(vault: tuple[VaultStandIn, Path], clock: SteppedClock) -> None:
    server, _ = vault
    tokens = _tokens(_signer(vault, StandInCredential()))
    tokens.issue(new_session_id())
    read = len(server.state.requests)
    forged = _token_with_unknown_kid(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(KeysNotInHand):
        tokens.verify_in_hand(forged)
    assert len(server.state.requests) == read
    with pytest.raises(InvalidToken):
        tokens.verify(forged)
