"""Every response carries the headers that keep tokens and personal data out of caches and frames."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from dev.github_standin import GitHubStandIn
from tests.function_code.conftest import RunningApi, User, bearer, sign_in

EVERY_RESPONSE = {
    "cache-control": "no-store",
    # RFC 6749 section 5.1: token responses also carry Pragma: no-cache (every response does).
    "pragma": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000",
}
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _assert_protected(response: httpx.Response, policy: str = JSON_POLICY) -> None:
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, f"{response.request.url.path}: {name}"
    assert response.headers.get("content-security-policy") == policy


def test_the_token_response_is_never_cached(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    started = client.post("/api/auth/device")
    _assert_protected(started)
    token = sign_in(client, github, new_user())
    me = client.get("/api/me", headers=bearer(token))
    assert me.status_code == 200
    _assert_protected(me)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/health", {}, 200),
        ("GET", "/api/lights", {}, 200),
        ("GET", "/api/me", {}, 401),
        ("POST", "/api/lights", {"content": b"x" * 100_000, "headers": {"content-type": "application/json"}}, 413),
        ("POST", "/api/auth/token", {"content": b"device_code=x", "headers": {"content-type": "text/plain"}}, 400),
        ("POST", "/api/auth/token", {"data": {"grant_type": "refresh_token", "refresh_token": "x"}}, 400),
        ("GET", "/api/nothing-here", {}, 404),
    ],
)
def test_success_and_every_kind_of_refusal_carry_the_headers(
    client: httpx.Client, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    _assert_protected(response)


def test_the_docs_page_may_load_its_scripts_but_not_be_framed(api: RunningApi, client: httpx.Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    _assert_protected(response, "frame-ancestors 'none'")
