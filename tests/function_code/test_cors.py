"""Cross-origin calls over HTTP: bearer-token endpoints answer any origin without credentials; sign-in pages never."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eventapi.cors import answers_cross_origin
from eventapi.settings import SettingsError, load_settings

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts, api_environment, new_client_secret
from tests.function_code.conftest import RunningApi, make_api

pytestmark = pytest.mark.azurite

ELSEWHERE = "https://playground.example.net"
LISTED = "https://play.example.org"
# Every path whose answer a page on another origin may read.
DATA_PATHS = [
    "/api/health",
    "/api/lights",
    "/api/me",
    "/api/auth/device",
    "/api/auth/token",
    "/api/.well-known/jwks.json",
]
# The sign-in browser pages bind a cookie to the attendee's browser; the HTML pages have no use for CORS.
NEVER_PATHS = ["/api/auth/verify", "/api/auth/github", "/api/auth/callback", "/api/wall", "/api/join", "/api/privacy"]


def _preflight(client: httpx.Client, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


@pytest.mark.parametrize("path", DATA_PATHS)
def test_a_data_endpoint_answers_a_preflight_from_any_origin_without_credentials(
    client: httpx.Client, path: str
) -> None:
    response = _preflight(client, path, ELSEWHERE)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert {"GET", "POST", "DELETE"} <= set(response.headers["access-control-allow-methods"].split(", "))
    assert {"authorization", "content-type"} <= set(response.headers["access-control-allow-headers"].split(", "))
    assert "access-control-allow-credentials" not in response.headers


def test_answers_and_errors_carry_the_headers_a_page_needs_to_read_them(client: httpx.Client) -> None:
    wall = client.get("/api/lights", headers={"Origin": ELSEWHERE})
    assert wall.status_code == 200
    assert wall.headers["access-control-allow-origin"] == "*"
    # An error reaches the other page's code as the API worded it, challenge included.
    refused = client.get("/api/me", headers={"Origin": ELSEWHERE, "Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"
    exposed = set(refused.headers["access-control-expose-headers"].lower().split(", "))
    assert {"www-authenticate", "retry-after"} <= exposed
    assert "access-control-allow-credentials" not in refused.headers


@pytest.mark.parametrize("path", NEVER_PATHS)
def test_sign_in_and_html_pages_never_answer_cross_origin(client: httpx.Client, path: str) -> None:
    preflight = _preflight(client, path, ELSEWHERE, method="GET")
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400
    page = client.get(path, headers={"Origin": ELSEWHERE})
    assert "access-control-allow-origin" not in page.headers


def test_only_listed_paths_and_discovery_documents_answer_cross_origin() -> None:
    for path in DATA_PATHS:
        assert answers_cross_origin(path)
    for path in [*NEVER_PATHS, "/api/lights/", "/api/me/x", "/api/auth/", "/api/docs", "/"]:
        assert not answers_cross_origin(path)
    assert answers_cross_origin("/.well-known/oauth-authorization-server/api")
    assert answers_cross_origin("/api/.well-known/oauth-protected-resource")


@pytest.fixture
def listed_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[RunningApi]:
    running = make_api(azurite, github, state_dir, EVENTSTACK_CORS_ORIGINS=f"{LISTED} http://127.0.0.1:8000")
    yield running
    running.stop()


def test_a_configured_list_admits_exactly_those_origins(listed_api: RunningApi) -> None:
    client = listed_api.client()
    admitted = _preflight(client, "/api/lights", LISTED)
    assert admitted.status_code == 200
    assert admitted.headers["access-control-allow-origin"] == LISTED
    assert "origin" in admitted.headers["vary"].lower()
    refused = _preflight(client, "/api/lights", ELSEWHERE)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in client.get("/api/lights", headers={"Origin": ELSEWHERE}).headers
    assert client.get("/api/lights", headers={"Origin": LISTED}).headers["access-control-allow-origin"] == LISTED


@pytest.fixture
def closed_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[RunningApi]:
    running = make_api(azurite, github, state_dir, EVENTSTACK_CORS_ORIGINS="none")
    yield running
    running.stop()


def test_none_closes_every_path_to_other_origins(closed_api: RunningApi) -> None:
    client = closed_api.client()
    assert "access-control-allow-origin" not in _preflight(client, "/api/lights", ELSEWHERE).headers
    assert "access-control-allow-origin" not in client.get("/api/lights", headers={"Origin": ELSEWHERE}).headers


def _settings_with(tmp_path: Path, value: str) -> tuple[str, ...]:
    ports = AzuritePorts(10000, 10001, 10002)
    env = api_environment(7071, "http://127.0.0.1:7072", ports, tmp_path, new_client_secret())
    return load_settings({**env, "EVENTSTACK_CORS_ORIGINS": value}).cors_origins


def test_the_setting_reads_any_none_or_a_list(tmp_path: Path) -> None:
    assert _settings_with(tmp_path, "") == ("*",)
    assert _settings_with(tmp_path, "*") == ("*",)
    assert _settings_with(tmp_path, "none") == ()
    assert _settings_with(tmp_path, f"{LISTED}  https://b.example.org:8443") == (LISTED, "https://b.example.org:8443")


@pytest.mark.parametrize(
    "value", ["* https://a.example.org", "http://a.example.org", "https://a.example.org/path", "https://*.example.org"]
)
def test_the_setting_refuses_what_is_not_an_origin(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="EVENTSTACK_CORS_ORIGINS"):
        _settings_with(tmp_path, value)
