"""The Key Vault signer and pepper loader, through the real azure-keyvault clients, against a TLS stand-in."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from eventapi.auth.signer import KeyVaultSigner
from eventapi.auth.tokens import TokenService, new_session_id
from eventapi.pepper import KeyedHash, key_vault_pepper

from tests.function_code.vault_standin import ACCESS_TOKEN, VaultStandIn, VaultState, self_signed_certificate

KEY_NAME = "token-signing"


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


def _signer(vault: tuple[VaultStandIn, Path], credential: StandInCredential) -> KeyVaultSigner:
    server, cert = vault
    # The stand-in lives on 127.0.0.1, not *.vault.azure.net: skip only the challenge's domain check.
    return KeyVaultSigner(
        server.url, KEY_NAME, credential, connection_verify=str(cert), verify_challenge_resource=False
    )


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
