"""A local stand-in for Key Vault's REST endpoints, served over TLS so the real SDK talks to it.

Implements what the signer and the pepper loader call: GET key (latest and by version), list key
versions, POST sign (ES256 over a SHA-256 digest, raw R||S), GET secret; plus the bearer challenge
the SDK's authentication policy expects.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import ssl
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from cryptography.x509.oid import NameOID

from dev.http import serve_in_background

CHALLENGE = 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"'
ACCESS_TOKEN = "vault-standin-token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "vault.crt", directory / "vault.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class VaultState:
    """Key versions (oldest first) and secrets; records every sign call and every authenticated request."""

    def __init__(self, key_name: str, versions: int) -> None:
        self.key_name = key_name
        self.versions: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.created: dict[str, int] = {}
        for index in range(versions):
            self.add_version(f"v{index:02d}{'0' * 28}", 1_700_000_000 + index * 3600)
        self.secrets: dict[str, str] = {}
        self.sign_calls: list[tuple[str, bytes]] = []
        self.unauthenticated_requests = 0
        self.requests: list[tuple[str, str]] = []
        # Set to answer every authenticated request with 403, as a vault whose firewall or role
        # assignment changed does (a status the SDK does not retry).
        self.refusing = False

    def add_version(self, version: str, created: int) -> None:
        self.versions[version] = ec.generate_private_key(ec.SECP256R1())
        self.created[version] = created

    @property
    def latest(self) -> str:
        return max(self.created, key=self.created.__getitem__)

    def version_listings(self) -> int:
        """How often the key's versions were listed: once per (re-)read of the public keys."""
        return self.requests.count(("GET", f"/keys/{self.key_name}/versions"))


class _Handler(BaseHTTPRequestHandler):
    server: VaultStandIn

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        length = int(self.headers.get("Content-Length") or 0)
        self._raw_body = self.rfile.read(length) if length else b""
        if self.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}":
            self.server.state.requests.append((self.command, self.path.split("?")[0]))
            if not self.server.state.refusing:
                return True
            self._reply(403, {"error": {"code": "Forbidden"}})
            return False
        self.server.state.unauthenticated_requests += 1
        self._reply(401, {"error": {"code": "Unauthorized"}}, {"WWW-Authenticate": CHALLENGE})
        return False

    def _key_bundle(self, version: str) -> dict[str, Any]:
        state = self.server.state
        numbers = state.versions[version].public_key().public_numbers()
        return {
            "key": {
                "kid": f"{self.server.url}/keys/{state.key_name}/{version}",
                "kty": "EC",
                "crv": "P-256",
                "key_ops": ["sign", "verify"],
                "x": _b64(numbers.x.to_bytes(32, "big")),
                "y": _b64(numbers.y.to_bytes(32, "big")),
            },
            "attributes": {"enabled": True, "created": state.created[version], "updated": state.created[version]},
        }

    def do_GET(self) -> None:
        if not self._authorized():
            return
        state = self.server.state
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts[:2] == ["keys", state.key_name] and len(parts) == 2:
            self._reply(200, self._key_bundle(state.latest))
        elif parts[:2] == ["keys", state.key_name] and parts[2:] == ["versions"]:
            listed = [
                {"kid": bundle["key"]["kid"], "attributes": bundle["attributes"]}
                for bundle in (self._key_bundle(v) for v in state.versions)
            ]
            self._reply(200, {"value": listed, "nextLink": None})
        elif parts[:2] == ["keys", state.key_name] and len(parts) == 3 and parts[2] in state.versions:
            self._reply(200, self._key_bundle(parts[2]))
        elif parts[0] == "secrets" and len(parts) >= 2 and parts[1] in state.secrets:
            self._reply(
                200,
                {"id": f"{self.server.url}/secrets/{parts[1]}/1", "value": state.secrets[parts[1]], "attributes": {}},
            )
        else:
            self._reply(404, {"error": {"code": "NotFound"}})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        state = self.server.state
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) == 4 and parts[0] == "keys" and parts[3] == "sign" and parts[2] in state.versions:
            request = json.loads(self._raw_body)
            digest = _unb64(request["value"])
            if request.get("alg") != "ES256" or len(digest) != 32:
                self._reply(400, {"error": {"code": "BadParameter"}})
                return
            der = state.versions[parts[2]].sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            r, s = decode_dss_signature(der)
            state.sign_calls.append((parts[2], digest))
            self._reply(
                200,
                {
                    "kid": f"{self.server.url}/keys/{state.key_name}/{parts[2]}",
                    "value": _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
                },
            )
        else:
            self._reply(404, {"error": {"code": "NotFound"}})


class VaultStandIn(ThreadingHTTPServer):
    """The vault stand-in on 127.0.0.1 over TLS."""

    daemon_threads = True

    def __init__(self, state: VaultState, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def start_in_thread(self) -> None:
        serve_in_background(self, "vault-standin")
