"""The secret pepper that turns GitHub ids (and client IPs) into keyed hashes before they are stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

# 256 bits, the HMAC-SHA256 block-size-safe length recommended for keys.
PEPPER_BYTES = 32
LOCAL_PEPPER_FILE = "pepper.bin"


class KeyedHash:
    """HMAC-SHA256 with the pepper, read lazily once: a stored hash cannot be reversed or brute-forced
    over GitHub's id space without the pepper."""

    def __init__(self, load_pepper: Callable[[], bytes]) -> None:
        self._load_pepper = load_pepper
        self._pepper: bytes | None = None
        self._lock = threading.Lock()

    def digest(self, purpose: str, value: str) -> str:
        """A hex HMAC of `value`, separated by `purpose` so an id hash never equals an IP hash."""
        if self._pepper is None:
            with self._lock:
                if self._pepper is None:
                    self._pepper = self._load_pepper()
        return hmac.new(self._pepper, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def local_pepper(state_dir: Path) -> Callable[[], bytes]:
    """A random pepper generated on first run in the state folder, readable by the owner only."""

    def load() -> bytes:
        path = state_dir / LOCAL_PEPPER_FILE
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            os.chmod(path, 0o600)
            return _long_enough(path.read_bytes(), str(path))
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(PEPPER_BYTES))
        return _long_enough(path.read_bytes(), str(path))

    return load


def _long_enough(pepper: bytes, where: str) -> bytes:
    # An empty or truncated pepper would make every pseudonym guessable: refuse to start with it.
    if len(pepper) < PEPPER_BYTES:
        raise ValueError(f"the pepper in {where} is shorter than {PEPPER_BYTES} bytes: delete it to make a new one")
    return pepper


def key_vault_secret(
    vault_uri: str, secret_name: str, credential: TokenCredential, **client_options: Any
) -> Callable[[], str]:
    """A Key Vault secret's value, read with the app's identity on first use and kept in memory."""
    cache: list[str] = []
    lock = threading.Lock()

    def load() -> str:
        with lock:
            if not cache:
                from azure.keyvault.secrets import SecretClient

                value = SecretClient(vault_uri, credential, **client_options).get_secret(secret_name).value
                if not value:
                    raise ValueError(f"the Key Vault secret {secret_name} is empty")
                cache.append(value)
            return cache[0]

    return load


def key_vault_pepper(
    vault_uri: str, secret_name: str, credential: TokenCredential, **client_options: Any
) -> Callable[[], bytes]:
    """The pepper as a Key Vault secret, read with the app's identity once per process."""

    def load() -> bytes:
        from azure.keyvault.secrets import SecretClient

        value = SecretClient(vault_uri, credential, **client_options).get_secret(secret_name).value
        if not value or len(value) < PEPPER_BYTES:
            raise ValueError("the pepper secret is missing or too short")
        return value.encode()

    return load
