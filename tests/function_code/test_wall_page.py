"""The wall page over plain HTTP: its files, its own content security policy, and 405s that name every method."""

from __future__ import annotations

import httpx
import pytest
from eventapi.guard import (
    API_CONTENT_SECURITY_POLICY,
    PAGE_CONTENT_SECURITY_POLICIES,
    WALL_CONTENT_SECURITY_POLICY,
    content_security_policy,
)

from tests.function_code.conftest import RunningApi

pytestmark = pytest.mark.azurite

WALL_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FORBIDDEN_IN_ANY_POLICY = ("unsafe-inline", "unsafe-eval", "*", "data:", "http:", "https:")


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def test_the_wall_serves_under_the_strict_policy(client: httpx.Client) -> None:
    response = client.get("/api/wall")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy == WALL_POLICY
    # The page keeps every other header the API's responses carry.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    directives = _directives(policy)
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for values in directives.values():
        assert not set(values) & set(FORBIDDEN_IN_ANY_POLICY), policy


def test_the_page_has_no_inline_script_or_style(client: httpx.Client) -> None:
    page = client.get("/api/wall").text.lower()
    assert "<script src=" in page
    # Every <script> has a src; no <style> blocks, no style or event-handler attributes.
    assert page.count("<script") == page.count("<script src=")
    assert "<style" not in page
    assert " style=" not in page
    assert " on" not in page.replace(" one", "")


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/api/wall/wall.js", "text/javascript"),
        ("/api/wall/wall.css", "text/css"),
        ("/api/wall/wall.svg", "image/svg+xml"),
    ],
)
def test_the_page_files_come_from_the_app(client: httpx.Client, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content


def test_the_script_sets_text_never_markup(client: httpx.Client) -> None:
    script = client.get("/api/wall/wall.js").text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script
    assert "textContent" in script


def test_other_responses_keep_the_api_policy() -> None:
    assert content_security_policy("/api/lights") == API_CONTENT_SECURITY_POLICY
    assert content_security_policy("/api/wall/wall.js") == API_CONTENT_SECURITY_POLICY
    assert content_security_policy("/api/wall") == WALL_CONTENT_SECURITY_POLICY
    assert content_security_policy("/api/wall/") == API_CONTENT_SECURITY_POLICY
    # A page is added by one line in the table.
    assert content_security_policy("/api/auth/verify", {"/api/auth/verify": b"x"}) == b"x"
    assert set(PAGE_CONTENT_SECURITY_POLICIES) == {"/api/docs", "/api/wall"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/lights", "GET, POST"),
        ("OPTIONS", "/api/lights", "GET, POST"),
        ("POST", "/api/me", "GET, DELETE"),
        ("DELETE", "/api/wall", "GET"),
        ("PATCH", "/api/health", "GET"),
    ],
)
def test_a_405_names_every_method_served_at_the_path(
    api: RunningApi, client: httpx.Client, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json() == {"error": "method_not_allowed"}
