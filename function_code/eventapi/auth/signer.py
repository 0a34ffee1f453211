"""Who signs tokens: Key Vault in Azure (the private key never leaves it), a local key on a laptop."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

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


def der_to_raw_signature(der: bytes) -> bytes:
    """cryptography signs in DER; JWS ES256 wants the fixed-width R||S form."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")


def _public_key_from_jwk(x: bytes, y: bytes) -> ec.EllipticCurvePublicKey:
    numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1())
    return numbers.public_key()


class LocalSigner:
    """A P-256 key generated on first run in the git-ignored state folder, readable by the owner only."""

    KEY_FILE = "signing-key.pem"

    def __init__(self, state_dir: Path) -> None:
        self._key = _load_or_create_key(state_dir / self.KEY_FILE)
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._kid = hashlib.sha256(public_der).hexdigest()[:32]

    def sign(self, signing_input: bytes) -> tuple[str, bytes]:
        der = self._key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        return self._kid, der_to_raw_signature(der)

    def current_kid(self) -> str:
        return self._kid

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        return {self._kid: self._key.public_key()}

    def refresh_public_keys(self) -> bool:
        return False


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
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


class KeyVaultSigner:
    """Signs with the vault's EC key (`sign`, ES256); reads public keys once and caches them."""

    def __init__(self, vault_uri: str, key_name: str, credential: TokenCredential, **client_options: Any) -> None:
        from azure.keyvault.keys import KeyClient

        self._credential = credential
        self._client_options = client_options
        self._client = KeyClient(vault_uri, credential, **client_options)
        self._key_name = key_name
        self._lock = threading.Lock()
        self._keys: dict[str, ec.EllipticCurvePublicKey] | None = None
        self._current: tuple[str, Any] | None = None
        self._read_at = 0.0

    def _load(self) -> None:
        from azure.keyvault.keys.crypto import CryptographyClient

        current = self._client.get_key(self._key_name)
        versions = [
            props
            for props in self._client.list_properties_of_key_versions(self._key_name)
            if props.enabled and props.version and props.created_on
        ]
        versions.sort(key=lambda props: props.created_on or datetime.min.replace(tzinfo=UTC), reverse=True)
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        wanted = [current.properties.version] + [p.version for p in versions if p.version != current.properties.version]
        for version in wanted[:_PUBLISHED_VERSIONS]:
            key = current if version == current.properties.version else self._client.get_key(self._key_name, version)
            # JsonWebKey sets its fields dynamically; the typed stubs do not list them.
            x, y = vars(key.key).get("x"), vars(key.key).get("y")
            if isinstance(x, bytes) and isinstance(y, bytes) and version:
                keys[version] = _public_key_from_jwk(x, y)
        kid = str(current.properties.version)
        crypto = CryptographyClient(current, self._credential, **self._client_options)
        self._keys, self._current, self._read_at = keys, (kid, crypto), time.monotonic()

    def _ensure_loaded(self) -> tuple[dict[str, ec.EllipticCurvePublicKey], tuple[str, Any]]:
        with self._lock:
            if self._keys is None or self._current is None:
                self._load()
            assert self._keys is not None and self._current is not None  # noqa: S101 - set by _load
            return self._keys, self._current

    def sign(self, signing_input: bytes) -> tuple[str, bytes]:
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        _, (kid, crypto) = self._ensure_loaded()
        digest = hashlib.sha256(signing_input).digest()
        # Key Vault returns the raw R||S form already: exactly the JWS ES256 signature.
        result = crypto.sign(SignatureAlgorithm.es256, digest)
        return kid, bytes(result.signature)

    def current_kid(self) -> str:
        _, (kid, _) = self._ensure_loaded()
        return kid

    def public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        keys, _ = self._ensure_loaded()
        return dict(keys)

    def refresh_public_keys(self) -> bool:
        from azure.core.exceptions import AzureError

        with self._lock:
            now = time.monotonic()
            if self._keys is not None and now - self._read_at < _KEY_REFRESH_INTERVAL_SECONDS:
                return False
            if self._keys is None:
                self._load()
                return True
            # The attempt counts, not only a success: a vault that refuses is asked again after the
            # interval, not once per request, and the keys already read keep verifying meanwhile.
            self._read_at = now
            try:
                self._load()
            except AzureError as error:
                log.warning("re-reading the signing key's versions failed (%s)", type(error).__name__)
                return False
            return True
