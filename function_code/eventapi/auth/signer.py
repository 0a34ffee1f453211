"""Who signs tokens: Key Vault in Azure (the private key never leaves it), a local key on a laptop."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger(__name__)

# P-256 coordinates and signature halves are 32 bytes each (RFC 7518 section 3.4).
_P256_BYTES = 32
# How often an unknown kid may trigger a re-read of the vault's key versions (after a rotation,
# instances started later sign with the new version); never once per request.
_KEY_REFRESH_INTERVAL_SECONDS = 300.0
# The JWKS publishes the current version and the one before it, so tokens survive a rotation.
_PUBLISHED_VERSIONS = 2


class Signer(Protocol):
    """Signs a JWS signing input with ES256 and knows the public keys that verify it."""

    def sign(self, signing_input: bytes) -> tuple[str, bytes]:
        """Return (kid, raw R||S signature) over SHA-256 of `signing_input`."""
        ...

    def current_kid(self) -> str:
        """The kid that `sign` uses now."""
        ...

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        """The public keys by kid: the current version and the previous one."""
        ...

    def refresh_public_keys(self) -> bool:
        """Re-read the keys if allowed now (an unknown kid after a rotation); True if re-read."""
        ...

    def keys_in_hand(self) -> dict[str, ec.EllipticCurvePublicKey] | None:
        """The public keys when `public_keys` would answer them without a read; None when a read is due."""
        ...


def der_to_raw_signature(der: bytes) -> bytes:
    """cryptography signs in DER; JWS ES256 wants the fixed-width R||S form."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")


def _public_key_from_jwk(x: bytes, y: bytes) -> ec.EllipticCurvePublicKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1())
    return numbers.public_key()


class LocalSigner:
    """A P-256 key generated on first run in the git-ignored state folder, readable by the owner only."""

    KEY_FILE = "signing-key.pem"

    def __init__(self, state_dir: Path) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = _load_or_create_key(state_dir / self.KEY_FILE)
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._kid = hashlib.sha256(public_der).hexdigest()[:32]
        self._public = {self._kid: self._key.public_key()}

    def sign(self, signing_input: bytes) -> tuple[str, bytes]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        der = self._key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        return self._kid, der_to_raw_signature(der)

    def current_kid(self) -> str:
        return self._kid

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        return dict(self._public)

    def refresh_public_keys(self) -> bool:
        return False

    def keys_in_hand(self) -> dict[str, ec.EllipticCurvePublicKey]:
        return dict(self._public)


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # O_EXCL: two processes starting together must not overwrite each other's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _load_or_create_key(path)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return key
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path} is not a P-256 private key")
    os.chmod(path, 0o600)
    return key


@dataclass(frozen=True)
class _VaultKeys:
    """What one read of the vault gave: public keys by version, the signing client, and when."""

    keys: dict[str, ec.EllipticCurvePublicKey]
    kid: str
    crypto: Any
    read_at: float


class KeyVaultSigner:
    """Signs with the vault's EC key (`sign`, ES256); keeps its public keys and re-reads them on a schedule.

    The re-read runs outside any lock: requests keep verifying with the keys already read while one
    thread asks the vault, so a slow vault never stalls the API, and a version disabled in the vault
    stops verifying within one interval.
    """

    def __init__(self, vault_uri: str, key_name: str, credential: TokenCredential, **client_options: Any) -> None:
        self._vault_uri = vault_uri
        self._credential = credential
        self._client_options = client_options
        self._key_name = key_name
        self._first_read = threading.Lock()
        self._lock = threading.Lock()
        self._refreshing = False
        self._state: _VaultKeys | None = None

    def _read(self) -> _VaultKeys:
        # The Key Vault SDK loads with the first token issued or verified, not with the app.
        from azure.keyvault.keys import KeyClient
        from azure.keyvault.keys.crypto import CryptographyClient

        client = KeyClient(self._vault_uri, self._credential, **self._client_options)
        current = client.get_key(self._key_name)
        versions = [
            props
            for props in client.list_properties_of_key_versions(self._key_name)
            if props.enabled and props.version and props.created_on
        ]
        versions.sort(key=lambda props: props.created_on or datetime.min.replace(tzinfo=UTC), reverse=True)
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        wanted = [current.properties.version] + [p.version for p in versions if p.version != current.properties.version]
        for version in wanted[:_PUBLISHED_VERSIONS]:
            key = current if version == current.properties.version else client.get_key(self._key_name, version)
            # JsonWebKey sets its fields dynamically; the typed stubs do not list them.
            x, y = vars(key.key).get("x"), vars(key.key).get("y")
            if isinstance(x, bytes) and isinstance(y, bytes) and version:
                keys[version] = _public_key_from_jwk(x, y)
        crypto = CryptographyClient(current, self._credential, **self._client_options)
        return _VaultKeys(keys, str(current.properties.version), crypto, time.monotonic())

    def _loaded(self) -> _VaultKeys:
        state = self._state
        if state is not None:
            return state
        # Until the first read there is nothing to verify with: callers wait for that one read.
        with self._first_read:
            if self._state is None:
                self._state = self._read()
            return self._state

    def _refresh_if_due(self) -> bool:
        with self._lock:
            state = self._state
            if state is None:
                due = True
            else:
                due = not self._refreshing and time.monotonic() - state.read_at >= _KEY_REFRESH_INTERVAL_SECONDS
            if not due:
                return False
            self._refreshing = True
            attempted_at = time.monotonic()
        from azure.core.exceptions import AzureError

        try:
            fresh = self._read()
        except AzureError as error:
            # The attempt counts, not only a success: a vault that refuses is asked again after the
            # interval, not once per request, and the keys already read keep verifying meanwhile.
            log.warning("re-reading the signing key's versions failed (%s)", type(error).__name__)
            if state is not None:
                self._state = replace(state, read_at=attempted_at)
            return False
        finally:
            with self._lock:
                self._refreshing = False
        self._state = fresh
        return True

    def sign(self, signing_input: bytes) -> tuple[str, bytes]:
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        state = self._loaded()
        digest = hashlib.sha256(signing_input).digest()
        # Key Vault returns the raw R||S form already: exactly the JWS ES256 signature.
        result = state.crypto.sign(SignatureAlgorithm.es256, digest)
        return state.kid, bytes(result.signature)

    def current_kid(self) -> str:
        return self._loaded().kid

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        self._loaded()
        self._refresh_if_due()
        state = self._state
        assert state is not None  # noqa: S101 - set by _loaded
        return dict(state.keys)

    def refresh_public_keys(self) -> bool:
        if self._state is None:
            self._loaded()
            return True
        return self._refresh_if_due()

    def keys_in_hand(self) -> dict[str, ec.EllipticCurvePublicKey] | None:
        state = self._state
        if state is None or time.monotonic() - state.read_at >= _KEY_REFRESH_INTERVAL_SECONDS:
            return None
        return dict(state.keys)
