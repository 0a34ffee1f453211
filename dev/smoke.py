"""`make smoke`: after a deployment, check it answers as it should, without signing anyone in.

    python -m dev.smoke                 # reads `pulumi stack output --json` of the selected stack
    python -m dev.smoke https://<host>  # any running copy, e.g. http://127.0.0.1:8000 from `make local`
    python -m dev.smoke https://<edge host> --origin https://<app>.azurewebsites.net

Each check prints one line: PASS, FAIL or SKIPPED, its name, and what it saw. The edge-only checks
(the origin's own host refused, a path outside the WAF allowlist blocked) are skipped when there
is no edge; the HTTP-to-HTTPS redirect and the TLS version are skipped for a plain-http URL (a local
run). The exit code is 1 when any check fails. Nothing is written: every request is a GET.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

TIMEOUT_SECONDS = 15.0
API = "/api"
HEALTH_PATH = f"{API}/health"
JWKS_PATH = f"{API}/.well-known/jwks.json"
OPENAPI_PATH = f"{API}/openapi.json"
WALL_PATH = f"{API}/wall"
JOIN_PATH = f"{API}/join"
# RFC 8414 / RFC 9728 metadata: at the host's root (issuer without a path), or under the API prefix
# where the Functions host serves it. Any one of them answering is enough.
AUTHORIZATION_SERVER_METADATA_PATHS = (
    "/.well-known/oauth-authorization-server",
    f"{API}/.well-known/oauth-authorization-server",
)
PROTECTED_RESOURCE_METADATA_PATHS = (
    "/.well-known/oauth-protected-resource/api",
    "/.well-known/oauth-protected-resource",
    f"{API}/.well-known/oauth-protected-resource",
)
# A path no route and no WAF allowlist entry matches: the edge's custom rule answers 403 for it,
# the app itself would answer 404.
OUTSIDE_ALLOWLIST_PATH = f"{API}/smoke-check-outside-the-allowlist"
WAF_BLOCK_STATUS = 403
# Azure App Service answers 403 to a caller its access restrictions refuse.
REFUSED_STATUSES = frozenset({401, 403, 404})
REDIRECT_STATUSES = frozenset({301, 302, 307, 308})
NOT_SERVED_STATUSES = frozenset({403, 404})
# Every response carries these (eventapi.guard.SECURITY_HEADERS); pages also a content security policy.
REQUIRED_HEADERS: dict[str, str] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
HSTS_HEADER = "strict-transport-security"
CSP_HEADER = "content-security-policy"
FRAME_ANCESTORS_NONE = "frame-ancestors 'none'"
OLDEST_TLS_REFUSED = ssl.TLSVersion.TLSv1_1
ORIGIN_HOST_SUFFIX = ".azurewebsites.net"


class Status(StrEnum):
    """How one check ended."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a credential
    FAIL = "FAIL"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Result:
    """One line of the report: the check, its verdict and what it saw."""

    name: str
    status: Status
    seen: str

    def line(self) -> str:
        return f"{self.status.value:<8} {self.name:<28} {self.seen}"


@dataclass(frozen=True)
class Target:
    """What to check: the public URL, and where the edge-only and transport checks point."""

    app_url: str
    """The URL attendees use: the edge's host when there is one."""
    origin_url: str | None = None
    """The function app's own `*.azurewebsites.net` URL when an edge stands in front of it (None: no edge)."""
    http_url: str | None = None
    """The plain-http form of `app_url`, for the redirect check (None for a plain-http `app_url`)."""
    tls_address: tuple[str, int] | None = None
    """Host and port of the TLS endpoint (None for a plain-http `app_url`)."""
    verify: bool | ssl.SSLContext = True
    """Certificate verification for the HTTPS requests (tests use their own certificate)."""

    @property
    def edge(self) -> bool:
        return self.origin_url is not None

    @classmethod
    def from_url(cls, app_url: str, origin_url: str | None = None) -> Target:
        """A target from the public URL; an https URL gets the redirect and TLS checks."""
        app_url = app_url.rstrip("/")
        parts = urlsplit(app_url)
        if parts.scheme != "https" or not parts.hostname:
            return cls(app_url, origin_url)
        return cls(
            app_url,
            origin_url.rstrip("/") if origin_url else None,
            http_url=f"http://{parts.netloc}",
            tls_address=(parts.hostname, parts.port or 443),
        )

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Target:
        """A target from `pulumi stack output --json`: an appUrl off azurewebsites.net means an edge."""
        app_url = str(outputs["appUrl"])
        host = urlsplit(app_url).hostname or ""
        origin = None
        if not host.endswith(ORIGIN_HOST_SUFFIX) and outputs.get("functionAppName"):
            origin = f"https://{outputs['functionAppName']}{ORIGIN_HOST_SUFFIX}"
        return cls.from_url(app_url, origin)


@dataclass
class Probe:
    """One HTTP client for the run, and the target's URLs."""

    target: Target
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, verify=self.target.verify)

    def get(self, path: str, base: str | None = None) -> httpx.Response:
        return self.client.get(f"{base or self.target.app_url}{path}")


def _short(response: httpx.Response, limit: int = 80) -> str:
    body = response.text.replace("\n", " ")
    return f"{response.status_code} {body[:limit]}{'...' if len(body) > limit else ''}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def check_health(probe: Probe) -> Result:
    response = probe.get(HEALTH_PATH)
    ok = response.status_code == 200 and _json(response) == {"status": "ok"}
    return Result("health", Status.PASS if ok else Status.FAIL, f"GET {HEALTH_PATH} -> {_short(response)}")


def check_jwks(probe: Probe) -> Result:
    response = probe.get(JWKS_PATH)
    document = _json(response)
    keys = document.get("keys") if isinstance(document, dict) else None
    if response.status_code != 200 or not isinstance(keys, list) or not keys:
        return Result("signing keys (JWKS)", Status.FAIL, f"GET {JWKS_PATH} -> {_short(response)}")
    problems = [
        f"key {key.get('kid', '?')!s:.20}: "
        + ("holds a private part" if "d" in key else f"{key.get('kty')}/{key.get('crv')}/{key.get('alg')}")
        for key in keys
        if not isinstance(key, dict)
        or "d" in key
        or (key.get("kty"), key.get("crv"), key.get("alg", "ES256")) != ("EC", "P-256", "ES256")
    ]
    if problems:
        return Result("signing keys (JWKS)", Status.FAIL, "; ".join(problems))
    return Result("signing keys (JWKS)", Status.PASS, f"{len(keys)} public EC P-256 key(s), no private parts")


def _metadata(probe: Probe, name: str, paths: Iterable[str], required: tuple[str, ...]) -> Result:
    seen = []
    for path in paths:
        response = probe.get(path)
        seen.append(f"{path} -> {response.status_code}")
        if response.status_code in NOT_SERVED_STATUSES:
            continue
        document = _json(response)
        if response.status_code != 200 or not isinstance(document, dict):
            return Result(name, Status.FAIL, f"GET {path} -> {_short(response)}")
        missing = [key for key in required if not document.get(key)]
        if missing:
            return Result(name, Status.FAIL, f"GET {path}: no {', '.join(missing)}")
        return Result(name, Status.PASS, f"GET {path}: " + ", ".join(f"{k}={document[k]}" for k in required[:1]))
    # Served by a part of the API that a deployment may not have yet: absence is not a failure.
    return Result(name, Status.SKIPPED, "not served: " + "; ".join(seen))


def check_authorization_server_metadata(probe: Probe) -> Result:
    return _metadata(
        probe,
        "sign-in metadata (RFC 8414)",
        AUTHORIZATION_SERVER_METADATA_PATHS,
        ("issuer", "token_endpoint", "jwks_uri"),
    )


def check_protected_resource_metadata(probe: Probe) -> Result:
    return _metadata(
        probe, "resource metadata (RFC 9728)", PROTECTED_RESOURCE_METADATA_PATHS, ("resource", "authorization_servers")
    )


def check_openapi(probe: Probe) -> Result:
    response = probe.get(OPENAPI_PATH)
    document = _json(response)
    paths = document.get("paths", {}) if isinstance(document, dict) else {}
    version = str(document.get("openapi", "")) if isinstance(document, dict) else ""
    if response.status_code != 200 or not version.startswith("3.") or HEALTH_PATH not in paths:
        return Result("API description (OpenAPI)", Status.FAIL, f"GET {OPENAPI_PATH} -> {_short(response)}")
    return Result("API description (OpenAPI)", Status.PASS, f"OpenAPI {version}, {len(paths)} paths")


def _header_problems(response: httpx.Response) -> list[str]:
    problems = [
        f"{name}: {response.headers.get(name)!r}"
        for name, value in REQUIRED_HEADERS.items()
        if response.headers.get(name, "").lower() != value
    ]
    if FRAME_ANCESTORS_NONE not in response.headers.get(CSP_HEADER, ""):
        problems.append(f"{CSP_HEADER}: {response.headers.get(CSP_HEADER)!r}")
    # Browsers heed HSTS only over HTTPS, but the app sends it everywhere: its absence is a regression.
    if "max-age=" not in response.headers.get(HSTS_HEADER, ""):
        problems.append(f"{HSTS_HEADER}: {response.headers.get(HSTS_HEADER)!r}")
    return problems


def _page(probe: Probe, name: str, path: str, optional: bool) -> Result:
    response = probe.get(path)
    if optional and response.status_code == 404:
        return Result(name, Status.SKIPPED, f"GET {path} -> 404: not part of this deployment")
    content_type = response.headers.get("content-type", "")
    if response.status_code != 200 or not content_type.startswith("text/html"):
        return Result(name, Status.FAIL, f"GET {path} -> {response.status_code} {content_type}")
    problems = _header_problems(response)
    if problems:
        return Result(name, Status.FAIL, f"GET {path}: " + "; ".join(problems))
    return Result(name, Status.PASS, f"GET {path} -> 200 html, security headers and frame-ancestors 'none'")


def check_wall_page(probe: Probe) -> Result:
    return _page(probe, "wall page + headers", WALL_PATH, optional=False)


def check_join_page(probe: Probe) -> Result:
    return _page(probe, "join page + headers", JOIN_PATH, optional=True)


def check_https_redirect(probe: Probe) -> Result:
    name = "HTTP redirected to HTTPS"
    if probe.target.http_url is None:
        return Result(name, Status.SKIPPED, "the URL is plain http (a local run)")
    try:
        response = probe.get(HEALTH_PATH, base=probe.target.http_url)
    except httpx.HTTPError as error:
        # Refusing port 80 outright also keeps plain HTTP out.
        return Result(name, Status.PASS, f"plain http not answered ({type(error).__name__})")
    location = response.headers.get("location", "")
    if response.status_code in REDIRECT_STATUSES and location.startswith("https://"):
        return Result(name, Status.PASS, f"{response.status_code} -> {location}")
    seen = f"GET {probe.target.http_url}{HEALTH_PATH} -> {response.status_code} {location or '(no Location)'}"
    return Result(name, Status.FAIL, seen)


def _handshake(address: tuple[str, int], maximum: ssl.TLSVersion | None) -> str:
    """Negotiate TLS (at most `maximum`) and return the version, or raise `ssl.SSLError`/`OSError`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Only the protocol version is probed here; the certificate is checked by every HTTPS request.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            # Offering a deprecated version is the point of this probe.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.maximum_version = maximum
        # OpenSSL's default security level refuses to offer TLS 1.0/1.1 at all: lower it for this probe.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with (
        socket.create_connection(address, timeout=TIMEOUT_SECONDS) as raw,
        context.wrap_socket(raw, server_hostname=address[0]) as tls,
    ):
        return str(tls.version())


def check_tls(probe: Probe) -> Result:
    name = "TLS 1.2 or newer only"
    address = probe.target.tls_address
    if address is None:
        return Result(name, Status.SKIPPED, "the URL is plain http (a local run)")
    try:
        negotiated = _handshake(address, None)
    except (ssl.SSLError, OSError) as error:
        return Result(name, Status.FAIL, f"no TLS handshake at all: {error}")
    try:
        old = _handshake(address, OLDEST_TLS_REFUSED)
    except (ssl.SSLError, OSError):
        return Result(name, Status.PASS, f"negotiates {negotiated}; TLS 1.1 and older refused")
    return Result(name, Status.FAIL, f"accepted {old}")


def check_origin_refused(probe: Probe) -> Result:
    name = "origin host refused"
    origin = probe.target.origin_url
    if origin is None:
        return Result(name, Status.SKIPPED, "no edge: the app's own host is the public URL")
    try:
        response = probe.get(HEALTH_PATH, base=origin)
    except httpx.HTTPError as error:
        return Result(name, Status.PASS, f"{origin} not answered ({type(error).__name__})")
    if response.status_code in REFUSED_STATUSES:
        return Result(name, Status.PASS, f"GET {origin}{HEALTH_PATH} -> {response.status_code}")
    return Result(name, Status.FAIL, f"GET {origin}{HEALTH_PATH} -> {_short(response)}: the edge can be bypassed")


def check_waf_blocks(probe: Probe) -> Result:
    name = "WAF blocks unknown paths"
    if not probe.target.edge:
        return Result(name, Status.SKIPPED, "no edge: no WAF in front of the app")
    response = probe.get(OUTSIDE_ALLOWLIST_PATH)
    if response.status_code == WAF_BLOCK_STATUS:
        return Result(name, Status.PASS, f"GET {OUTSIDE_ALLOWLIST_PATH} -> {WAF_BLOCK_STATUS}")
    return Result(name, Status.FAIL, f"GET {OUTSIDE_ALLOWLIST_PATH} -> {_short(response)}: it reached the app")


CHECKS: tuple[Callable[[Probe], Result], ...] = (
    check_health,
    check_jwks,
    check_authorization_server_metadata,
    check_protected_resource_metadata,
    check_openapi,
    check_wall_page,
    check_join_page,
    check_https_redirect,
    check_tls,
    check_origin_refused,
    check_waf_blocks,
)


def _run_one(check: Callable[[Probe], Result], probe: Probe) -> Result:
    try:
        return check(probe)
    except httpx.HTTPError as error:
        # A check that cannot reach its URL has failed; the others still run.
        name = check.__name__.removeprefix("check_").replace("_", " ")
        return Result(name, Status.FAIL, f"{type(error).__name__}: {error}")


def run_checks(target: Target) -> list[Result]:
    """Every check against `target`, in order."""
    probe = Probe(target)
    try:
        return [_run_one(check, probe) for check in CHECKS]
    finally:
        probe.client.close()


def stack_outputs() -> dict[str, Any]:
    """The selected stack's outputs, as `pulumi stack output --json` prints them."""
    completed = subprocess.run(
        ["pulumi", "stack", "output", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    outputs: dict[str, Any] = json.loads(completed.stdout)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="the public URL (default: appUrl of `pulumi stack output --json`)")
    parser.add_argument("--origin", help="the app's own https://<name>.azurewebsites.net URL behind an edge")
    args = parser.parse_args(argv)
    if args.url:
        target = Target.from_url(args.url, args.origin)
    else:
        try:
            target = Target.from_outputs(stack_outputs())
        except (OSError, subprocess.CalledProcessError, KeyError, ValueError) as error:
            print(f"error: no URL given and no stack outputs to read ({error})", file=sys.stderr)
            return 2
    print(f"smoke check of {target.app_url}" + (f" (origin {target.origin_url})" if target.edge else " (no edge)"))
    results = run_checks(target)
    for result in results:
        print(result.line())
    failed = sum(result.status is Status.FAIL for result in results)
    print(f"{len(results) - failed} of {len(results)} checks did not fail; {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
