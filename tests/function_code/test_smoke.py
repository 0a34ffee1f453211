"""`make smoke`: every check passes against the local API, and each one fails against a server that breaks it."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dev import smoke
from dev.http import serve_in_background
from dev.smoke import Result, Status, Target, run_checks
from tests.function_code.conftest import RunningApi

EDGE_ONLY = {"origin host refused", "WAF blocks unknown paths"}
TRANSPORT = {"HTTP redirected to HTTPS", "TLS 1.2 or newer only"}


def _verdicts(results: list[Result]) -> dict[str, Status]:
    return {result.name: result.status for result in results}


def test_every_check_passes_or_is_skipped_against_the_local_api(api: RunningApi) -> None:
    verdicts = _verdicts(run_checks(Target.from_url(api.url)))
    assert Status.FAIL not in verdicts.values(), verdicts
    for name in ("health", "signing keys (JWKS)", "API description (OpenAPI)", "wall page + headers"):
        assert verdicts[name] is Status.PASS, name
    # Without an edge and over plain http these cannot be checked, and say so.
    for name in EDGE_ONLY | TRANSPORT:
        assert verdicts[name] is Status.SKIPPED, name


def test_the_command_prints_a_line_per_check_and_exits_zero(
    api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert smoke.main([api.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    checks = [line for line in lines if line.split(" ", 1)[0] in {s.value for s in Status}]
    assert len(checks) == len(smoke.CHECKS)
    assert any(line.startswith("PASS") and "health" in line for line in checks)
    assert any(line.startswith("SKIPPED") and "no edge" in line for line in checks)


# --- a small server whose answers each test breaks one at a time --------------------------------

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "strict-transport-security": "max-age=31536000",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: str = ""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=lambda: SECURITY_HEADERS)


def _page() -> Answer:
    return Answer(200, "<!doctype html><title>wall</title>", "text/html; charset=utf-8")


def healthy_answers() -> dict[str, Answer]:
    """What a sound deployment answers, path by path (the edge's and the origin's answers included)."""
    key = {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "k1", "x": "AA", "y": "AA", "use": "sig"}
    return {
        "/api/health": Answer(200, json.dumps({"status": "ok"})),
        "/api/.well-known/jwks.json": Answer(200, json.dumps({"keys": [key]})),
        "/.well-known/oauth-authorization-server": Answer(
            200,
            json.dumps(
                {"issuer": "https://x", "token_endpoint": "https://x/api/auth/token", "jwks_uri": "https://x/j"}
            ),
        ),
        "/.well-known/oauth-protected-resource/api": Answer(
            200, json.dumps({"resource": "https://x/api", "authorization_servers": ["https://x"]})
        ),
        "/api/openapi.json": Answer(200, json.dumps({"openapi": "3.1.0", "paths": {"/api/health": {}}})),
        "/api/wall": _page(),
        "/api/join": _page(),
        smoke.OUTSIDE_ALLOWLIST_PATH: Answer(403, "blocked"),
        # Served on the "plain http" and "origin" servers below.
        "http:/api/health": Answer(308, headers={**SECURITY_HEADERS, "location": "https://x/api/health"}),
        "origin:/api/health": Answer(403, "Ip Forbidden"),
    }


class _Handler(BaseHTTPRequestHandler):
    server: _AnswerServer

    def do_GET(self) -> None:
        answer = self.server.answers.get(f"{self.server.prefix}{self.path}", Answer(404, '{"error":"not found"}'))
        body = answer.body.encode()
        self.send_response(answer.status)
        self.send_header("content-type", answer.content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _AnswerServer(ThreadingHTTPServer):
    def __init__(self, answers: dict[str, Answer], prefix: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.prefix = prefix

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def answers() -> dict[str, Answer]:
    return healthy_answers()


@pytest.fixture
def edge_target(answers: dict[str, Answer]) -> Iterator[Target]:
    """A fake edge, its plain-http port and its origin, all on free ports (no TLS endpoint)."""
    servers = [_AnswerServer(answers, prefix) for prefix in ("", "http:", "origin:")]
    for server in servers:
        serve_in_background(server)
    app, plain, origin = servers
    yield Target(app.url, origin_url=origin.url, http_url=plain.url)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_healthy_fake_passes_every_check_but_tls(edge_target: Target) -> None:
    verdicts = _verdicts(run_checks(edge_target))
    assert verdicts.pop("TLS 1.2 or newer only") is Status.SKIPPED
    assert set(verdicts.values()) == {Status.PASS}, verdicts


_HTML = "text/html"
BREAKS: list[tuple[str, str, Answer]] = [
    ("health", "/api/health", Answer(503, json.dumps({"status": "starting"}))),
    ("health", "/api/health", Answer(200, "ok", "text/plain")),
    ("signing keys (JWKS)", "/api/.well-known/jwks.json", Answer(200, json.dumps({"keys": []}))),
    (
        "signing keys (JWKS)",
        "/api/.well-known/jwks.json",
        Answer(200, json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "d": "secret", "kid": "k"}]})),
    ),
    ("signing keys (JWKS)", "/api/.well-known/jwks.json", Answer(200, json.dumps({"keys": [{"kty": "RSA"}]}))),
    (
        "sign-in metadata (RFC 8414)",
        "/.well-known/oauth-authorization-server",
        Answer(200, json.dumps({"issuer": "https://x"})),
    ),
    ("sign-in metadata (RFC 8414)", "/.well-known/oauth-authorization-server", Answer(500, "oops")),
    (
        "resource metadata (RFC 9728)",
        "/.well-known/oauth-protected-resource/api",
        Answer(200, json.dumps({"resource": "https://x/api"})),
    ),
    ("API description (OpenAPI)", "/api/openapi.json", Answer(200, json.dumps({"openapi": "3.1.0", "paths": {}}))),
    ("API description (OpenAPI)", "/api/openapi.json", Answer(404)),
    ("wall page + headers", "/api/wall", Answer(404)),
    ("wall page + headers", "/api/wall", Answer(200, "{}", "application/json")),
    *(
        (
            "wall page + headers",
            "/api/wall",
            Answer(200, "<p>", _HTML, {k: v for k, v in SECURITY_HEADERS.items() if k != missing}),
        )
        for missing in SECURITY_HEADERS
    ),
    (
        "wall page + headers",
        "/api/wall",
        Answer(200, "<p>", _HTML, {**SECURITY_HEADERS, "content-security-policy": "default-src 'self'"}),
    ),
    ("join page + headers", "/api/join", Answer(500, "oops", _HTML)),
    ("join page + headers", "/api/join", Answer(200, "<p>", _HTML, {})),
    ("HTTP redirected to HTTPS", "http:/api/health", Answer(200, json.dumps({"status": "ok"}))),
    (
        "HTTP redirected to HTTPS",
        "http:/api/health",
        Answer(301, headers={**SECURITY_HEADERS, "location": "http://x/api/health"}),
    ),
    ("origin host refused", "origin:/api/health", Answer(200, json.dumps({"status": "ok"}))),
    ("WAF blocks unknown paths", smoke.OUTSIDE_ALLOWLIST_PATH, Answer(404, '{"error":"not found"}')),
]


@pytest.mark.parametrize(("check", "path", "broken"), BREAKS, ids=[f"{c}:{p}:{b.status}" for c, p, b in BREAKS])
def test_each_check_fails_when_its_subject_is_broken(
    answers: dict[str, Answer], edge_target: Target, check: str, path: str, broken: Answer
) -> None:
    answers[path] = broken
    verdicts = _verdicts(run_checks(edge_target))
    assert verdicts.pop(check) is Status.FAIL
    # Only the broken check fails: the others still see a sound deployment.
    assert Status.FAIL not in verdicts.values(), verdicts


def test_metadata_not_served_yet_is_skipped_not_failed(answers: dict[str, Answer], edge_target: Target) -> None:
    del answers["/.well-known/oauth-authorization-server"]
    verdicts = _verdicts(run_checks(edge_target))
    assert verdicts["sign-in metadata (RFC 8414)"] is Status.SKIPPED


def test_an_unreachable_deployment_fails_every_request_check() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    # Nothing listens on the port any more.
    verdicts = _verdicts(run_checks(Target(f"http://127.0.0.1:{port}")))
    assert verdicts["health"] is Status.FAIL
    assert smoke.main([f"http://127.0.0.1:{port}"]) == 1


# --- TLS: a server that still speaks TLS 1.1 fails the check; one that refuses it passes -----


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _tls_server(tmp_path: Path, minimum: ssl.TLSVersion) -> tuple[socket.socket, threading.Thread]:
    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = minimum
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return listener, thread


def _tls_verdict(tmp_path: Path, minimum: ssl.TLSVersion) -> Result:
    listener, _ = _tls_server(tmp_path, minimum)
    try:
        probe = smoke.Probe(Target("https://127.0.0.1", tls_address=listener.getsockname()[:2]))
        return smoke.check_tls(probe)
    finally:
        listener.close()


def _tls_1_1_possible() -> bool:
    """Whether this machine's OpenSSL can still speak TLS 1.1 at all (else the bad server cannot exist)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1_1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return False
    return ssl.HAS_TLSv1_1


def test_a_server_that_refuses_old_tls_passes(tmp_path: Path) -> None:
    result = _tls_verdict(tmp_path, ssl.TLSVersion.TLSv1_2)
    assert result.status is Status.PASS, result
    assert "TLSv1.3" in result.seen or "TLSv1.2" in result.seen


def test_a_server_that_accepts_tls_1_1_fails(tmp_path: Path) -> None:
    assert _tls_1_1_possible(), "this OpenSSL cannot speak TLS 1.1: the failing server cannot be built"
    result = _tls_verdict(tmp_path, ssl.TLSVersion.MINIMUM_SUPPORTED)
    assert result.status is Status.FAIL, result
    assert "TLSv1.1" in result.seen
