"""The wall and join pages over plain HTTP: their files, their own content security policy, and 405s that name
every method."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from eventapi.guard import (
    API_CONTENT_SECURITY_POLICY,
    PAGE_CONTENT_SECURITY_POLICIES,
    WALL_CONTENT_SECURITY_POLICY,
    content_security_policy,
)
from eventapi.qr import qr_svg

from dev.local import walkthrough
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


@pytest.mark.parametrize("page", ["/api/wall", "/api/join"])
def test_the_pages_serve_under_the_strict_policy(client: httpx.Client, page: str) -> None:
    response = client.get(page)
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


class _InlineCode(HTMLParser):
    """Collects everything in a page that would need 'unsafe-inline' or a host outside 'self'."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        self.found += [f"{tag}[{name}]" for name in names if name == "style" or name.startswith("on")]
        if tag == "style":
            self.found.append("<style>")
        if tag == "script":
            self._in_script = True
            self.scripts.append(dict(attrs).get("src") or "")
        for name, value in attrs:
            if name in {"src", "href"} and value and not value.startswith("/"):
                self.found.append(f"{tag}[{name}={value}]")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append("inline <script>")


@pytest.mark.parametrize(("page", "script"), [("/api/wall", "/api/wall/wall.js"), ("/api/join", "/api/join/join.js")])
def test_the_pages_have_no_inline_script_or_style(client: httpx.Client, page: str, script: str) -> None:
    parser = _InlineCode()
    parser.feed(client.get(page).text)
    assert parser.scripts == [script]
    assert parser.found == []


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/api/wall/wall.js", "text/javascript"),
        ("/api/wall/wall.css", "text/css"),
        ("/api/wall/wall.svg", "image/svg+xml"),
        ("/api/wall/join.svg", "image/svg+xml"),
        ("/api/join/join.js", "text/javascript"),
        ("/api/join/join.css", "text/css"),
    ],
)
def test_the_page_files_come_from_the_app(client: httpx.Client, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content


@pytest.mark.parametrize("path", ["/api/wall/wall.js", "/api/join/join.js"])
def test_the_scripts_set_text_never_markup(client: httpx.Client, path: str) -> None:
    script = client.get(path).text
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
    assert {"/api/docs", "/api/wall", "/api/join"} <= set(PAGE_CONTENT_SECURITY_POLICIES)
    assert content_security_policy("/api/join") == WALL_CONTENT_SECURITY_POLICY
    assert content_security_policy("/api/join/join.js") == API_CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/lights", "GET, POST"),
        ("OPTIONS", "/api/lights", "GET, POST"),
        ("POST", "/api/me", "GET, DELETE"),
        ("DELETE", "/api/wall", "GET"),
        ("POST", "/api/join", "GET"),
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


def test_the_local_run_announces_the_wall_and_the_join_page() -> None:
    banner = walkthrough("http://127.0.0.1:7071", "http://127.0.0.1:7072", "open")
    assert "http://127.0.0.1:7071/api/wall" in banner
    assert "http://127.0.0.1:7071/api/join" in banner


def test_the_join_code_is_the_join_pages_address_drawn_by_the_server(api: RunningApi, client: httpx.Client) -> None:
    response = client.get("/api/wall/join.svg")
    assert response.status_code == 200
    svg = response.text
    # A scalable drawing (no fixed size), named by the address it holds; nothing loaded from elsewhere.
    assert 'viewBox="0 0 ' in svg
    assert " width=" not in svg.split(">", 1)[0]
    assert f"<title>{api.url}/api/join</title>" in svg
    assert "href" not in svg
    assert "<script" not in svg
    assert response.content == qr_svg(f"{api.url}/api/join")
    assert response.content != qr_svg(f"{api.url}/api/wall")
