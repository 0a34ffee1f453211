"""The OpenAPI document lists what the guards and handlers really answer, with an example on every operation.

Schemathesis (test_openapi_contract.py) catches a status the API returns but the document does
not list; it cannot make storage fail or the instance fill up. These pin the statuses that only
an outage or a flood produces, and the examples attendees read.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.azurite

EVERY_REQUEST = {"429", "500"}
# Closed by the event's phase (eventapi/phases.py): sign-in after the event, data after the delete-by time.
GONE = {"410"}
BROWSER_STEP = {"404", "422", "503"} | GONE | EVERY_REQUEST
DOCUMENTED = {
    ("get", "/api/health"): {"200"} | EVERY_REQUEST,
    ("get", "/api/privacy"): {"200"} | EVERY_REQUEST,
    ("get", "/api/.well-known/jwks.json"): {"200"} | EVERY_REQUEST,
    ("get", "/api/lights"): {"200", "503"} | GONE | EVERY_REQUEST,
    ("post", "/api/lights"): {"202", "400", "401", "413", "415", "422", "503"} | GONE | EVERY_REQUEST,
    ("get", "/api/me"): {"200", "401", "503"} | GONE | EVERY_REQUEST,
    ("delete", "/api/me"): {"204", "401", "413", "415", "503"} | GONE | EVERY_REQUEST,
    ("get", "/api/wall"): {"200"} | GONE | EVERY_REQUEST,
    ("get", "/api/wall/wall.js"): {"200"} | GONE | EVERY_REQUEST,
    ("get", "/api/wall/wall.css"): {"200"} | GONE | EVERY_REQUEST,
    ("get", "/api/wall/wall.svg"): {"200"} | GONE | EVERY_REQUEST,
    # RFC 6749 section 5.2: every refusal of the request is 400 (401 for Basic client credentials).
    ("post", "/api/auth/device"): {"200", "400", "401", "503"} | GONE | EVERY_REQUEST,
    ("post", "/api/auth/token"): {"200", "400", "401", "503"} | GONE | EVERY_REQUEST,
    ("get", "/.well-known/oauth-authorization-server"): {"200"} | EVERY_REQUEST,
    ("get", "/.well-known/oauth-protected-resource/api"): {"200"} | EVERY_REQUEST,
    ("get", "/api/auth/verify"): {"200"} | BROWSER_STEP,
    ("post", "/api/auth/github"): {"303", "400", "413", "415"} | BROWSER_STEP,
    ("get", "/api/auth/callback"): {"200", "400", "403"} | BROWSER_STEP,
}
HEADERS = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}


@pytest.fixture(scope="module")
def document(api: Any) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{api.url}/api/openapi.json").json()
    return found


def _schema(document: dict[str, Any], media: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = media.get("schema", {})
    if "$ref" in schema:
        resolved: dict[str, Any] = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return resolved
    return schema


def _has_example(document: dict[str, Any], media: dict[str, Any]) -> bool:
    return bool(media.get("example") or media.get("examples") or _schema(document, media).get("examples"))


@pytest.mark.parametrize(("method", "path"), sorted(DOCUMENTED))
def test_every_status_the_operation_can_answer_is_documented(document: dict[str, Any], method: str, path: str) -> None:
    responses = document["paths"][path][method]["responses"]
    assert set(responses) == DOCUMENTED[(method, path)]
    for status, header in HEADERS.items():
        if status in responses:
            assert responses[status]["headers"][header]["required"] is True


@pytest.mark.parametrize(("method", "path"), sorted(DOCUMENTED))
def test_every_documented_body_has_an_example(document: dict[str, Any], method: str, path: str) -> None:
    operation = document["paths"][path][method]
    bodies = [media for response in operation["responses"].values() for media in response.get("content", {}).values()]
    request = operation.get("requestBody", {}).get("content", {})
    bodies += list(request.values())
    assert bodies or method == "delete"
    for media in bodies:
        assert _has_example(document, media), (method, path, media)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [(b"x" * 100_000, "application/json", 413), (b"erase=all", "application/x-www-form-urlencoded", 415)],
)
def test_a_body_the_erasure_ignores_is_still_guarded_as_documented(
    api: Any, content: bytes, content_type: str, status: int
) -> None:
    # DELETE /api/me reads no body, yet the body guard answers before the route: the document says so.
    response = httpx.request("DELETE", f"{api.url}/api/me", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert str(status) in DOCUMENTED[("delete", "/api/me")]
