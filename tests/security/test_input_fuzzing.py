"""Malformed and hostile input against the live API: property-based fuzzing of every operation in the
published OpenAPI document, hand-made malformed bodies, and injection strings in every field, path and
query. Nothing may produce a 5xx, no error body may echo the input, and nothing malformed may be stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import schemathesis
from azure.data.tables import TableServiceClient
from eventapi.routes.auth import fixed_pages
from eventapi.storage.tables import LIGHTS
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.function_code.conftest import RunningApi
from tests.security.conftest import (
    GOOD_LIGHT,
    Attendee,
    assert_generic_error,
    is_fixed_description,
    malformed_lights,
    malformed_wall_entries,
)

# Bounded and derandomized: the same examples on every run, and the module stays well under two minutes.
EXAMPLES_PER_OPERATION = 40
EXAMPLES_FOR_ERASURE = 8

# Every error code the API can answer with; a body outside this set could carry the input.
ERROR_CODES = frozenset(
    {
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "not_acceptable",
        "conflict",
        "payload_too_large",
        "unsupported_media_type",
        "invalid_request",
        "too_many_requests",
        "authorization_pending",
        "slow_down",
        "expired_token",
        "access_denied",
        "invalid_grant",
        "invalid_client",
        "unsupported_grant_type",
        "invalid_token",
    }
)

INJECTIONS = [
    "' or PartitionKey ne '",
    "') or (PartitionKey ne '",
    "x' or RowKey gt '' or 'a' eq 'a",
    "@pk",
    "1' OR '1'='1' --",
    "'; DROP TABLE lights; --",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "ff0000\r\nSet-Cookie: injected=1",
    "solid\r\n\r\nHTTP/1.1 200 OK",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "${jndi:ldap://127.0.0.1:9/a}",
    "{{7*7}}",
    "solid\x00",
    "ff\x000000",
    "%00",
]


@pytest.fixture
def fuzzer(attendee: Callable[[], Attendee]) -> Attendee:
    """The signed-in attendee whose token the fuzzer and the malformed requests use."""
    return attendee()


def assert_storage_well_formed(api: RunningApi, tables: TableServiceClient) -> None:
    """The lights table and the public wall hold only rows a valid command could have produced."""
    assert malformed_lights(tables) == []
    wall = httpx.get(f"{api.url}/api/lights").json()
    assert set(wall) == {"lights"}
    assert malformed_wall_entries(wall) == []


def _operations(api: RunningApi) -> Iterator[Any]:
    schema = schemathesis.openapi.from_url(f"{api.url}/api/openapi.json")
    for result in schema.get_all_operations():
        yield result.ok()


def _check(case: Any, response: Any, mode: GenerationMode) -> None:
    label = f"{case.method} {case.formatted_path} {mode.value}"
    assert response.status_code < 500, (label, response.status_code)
    if response.status_code >= 400 and "text/html" in str(response.headers.get("content-type", "")):
        # The browser step's pages for people: a fixed text each, never an echo of what was sent.
        assert response.content in fixed_pages(), (label, response.text[:200])
    elif response.status_code >= 400:
        body = response.json()
        assert set(body) <= {"error", "error_description"} and body["error"] in ERROR_CODES, (
            label,
            response.text[:200],
        )
        # The description is one of the app's fixed texts: nothing of the request is in it.
        assert body.get("error_description") is None or is_fixed_description(body["error_description"]), label
    if _body_negated(case) and _sent_as_json(case):
        # A body that breaks the schema is never accepted.
        assert 400 <= response.status_code < 500, (label, response.status_code, case.body)


def _sent_as_json(case: Any) -> bool:
    """Whether the generated body reaches the server as generated.

    A form flattens every value to text and drops nested ones, so a negation by type (an object, a
    number where a string belongs) is often gone on the wire and the request rightly succeeds; the
    form parser's own bounds are attacked in tests/function_code/test_oauth_errors.py.
    """
    return "json" in str(case.media_type or "")


def _body_negated(case: Any) -> bool:
    """Whether the generator broke the body's schema in this case (it may break only headers)."""
    components = case.meta.components if case.meta is not None else {}
    return any(
        location.value == "body" and info.mode is GenerationMode.NEGATIVE for location, info in components.items()
    )


def _fuzz(
    api: RunningApi,
    operation: Any,
    mode: GenerationMode,
    examples: int,
    headers: Callable[[], dict[str, str]] | None,
) -> list[int]:
    """Run `examples` generated cases; `headers` replaces the generated credentials (None keeps them)."""
    seen: list[int] = []
    session = requests.Session()

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        extra = headers() if headers is not None else {}
        response = case.call(base_url=api.url, session=session, headers=extra, timeout=10)
        seen.append(response.status_code)
        _check(case, response, mode)

    run()
    return seen


@pytest.mark.slow(seconds=7)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_fuzzing_every_operation_from_the_openapi_document(
    api: RunningApi,
    tables: TableServiceClient,
    fuzzer: Attendee,
    attendee: Callable[[], Attendee],
    mode: GenerationMode,
) -> None:
    operations = list(_operations(api))
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    # The document covers the whole contract: a route missing from it would escape the fuzzer.
    assert {
        "GET /api/health",
        "POST /api/auth/device",
        "POST /api/auth/token",
        "GET /api/.well-known/jwks.json",
        "POST /api/lights",
        "GET /api/lights",
        "GET /api/me",
        "DELETE /api/me",
        "GET /api/privacy",
    } <= labels
    statuses: dict[str, list[int]] = {}
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        if mode is GenerationMode.NEGATIVE and not operation.body and not operation.query and not operation.headers:
            continue  # nothing in it can be made invalid
        # The generator's own bearer values are random text: replaced by a real token so that the
        # cases reach validation (the token suite attacks credentials).
        if label == "DELETE /api/me":
            # Erasure ends the session: every example erases a fresh attendee.
            statuses[label] = _fuzz(api, operation, mode, EXAMPLES_FOR_ERASURE, lambda: attendee().auth)
        else:
            statuses[label] = _fuzz(api, operation, mode, EXAMPLES_PER_OPERATION, lambda: fuzzer.auth)
    if mode is GenerationMode.POSITIVE:
        # Valid bodies get through (the fuzzer is not just bouncing off authentication).
        assert 202 in statuses["POST /api/lights"]
        assert 200 in statuses["GET /api/me"]
    assert_storage_well_formed(api, tables)


def test_fuzzing_with_generated_credentials_never_gets_in(api: RunningApi, tables: TableServiceClient) -> None:
    for operation in _operations(api):
        label = f"{operation.method.upper()} {operation.path}"
        if label not in {"GET /api/me", "DELETE /api/me", "POST /api/lights"}:
            continue
        statuses = _fuzz(api, operation, GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION, None)
        assert set(statuses) == {401}, (label, statuses)
    assert_storage_well_formed(api, tables)


@pytest.mark.parametrize(
    "body",
    [
        {"pattern": 1, "color": "ff0000"},
        {"pattern": "solid", "color": 16711680},
        {"pattern": ["solid"], "color": "ff0000"},
        {"pattern": {"$ne": ""}, "color": "ff0000"},
        {"pattern": None, "color": "ff0000"},
        {"pattern": True, "color": "ff0000"},
        {"pattern": "solid", "color": 0.5},
        {"pattern": "solid"},
        {"color": "ff0000"},
        {},
        {"pattern": "solid", "color": "ff0000", "attendee": "0" * 64},
        {"pattern": "solid", "color": "ff0000", "id": "0" * 32},
        {"pattern": "solid", "color": "ff0000", "PartitionKey": "wall-2030010100"},
        {"pattern": "SOLID", "color": "ff0000"},
        {"pattern": "Solid", "color": "ff0000"},
        {"pattern": "strobe", "color": "ff0000"},
        {"pattern": "solid", "color": "ff000"},
        {"pattern": "solid", "color": "ff00000"},
        {"pattern": "solid", "color": "gg0000"},
        {"pattern": "solid", "color": "##ff0000"},
        {"pattern": "solid", "color": "#ff000"},
        {"pattern": "solid", "color": "0xff00"},
        {"pattern": "solid", "color": "ff0000\n"},
        {"pattern": "solid", "color": " ff0000"},
        {"pattern": "solid\n", "color": "ff0000"},
        {"pattern": "solid", "color": "\uff46\uff46\uff10\uff10\uff10\uff10"},  # fullwidth digits
        {"pattern": "s\u043elid", "color": "ff0000"},  # Cyrillic o
        {"pattern": "sol\u200bid", "color": "ff0000"},  # zero-width space
        {"pattern": "\u202esolid", "color": "ff0000"},  # right-to-left override
        {"pattern": "solid", "color": "ff\u0660\u0660\u0660\u0660"},  # Arabic-Indic digits
        {"pattern": "solid", "color": "ffoooo"},
        {"pattern": "solid\x00", "color": "ff0000"},
        {"pattern": "solid", "color": "ff00\x0000"},
        {"pattern": "so\x00lid", "color": "ff0000"},
        [GOOD_LIGHT],
        "solid",
        None,
        12,
    ],
)
def test_malformed_light_bodies_are_refused_and_not_stored(
    api: RunningApi, tables: TableServiceClient, fuzzer: Attendee, body: Any
) -> None:
    client = api.client()
    before = client.get("/api/me", headers=fuzzer.auth).json()["commands_sent"]
    headers = {**fuzzer.auth, "Content-Type": "application/json"}
    response = client.post("/api/lights", headers=headers, content=json.dumps(body).encode())
    assert_generic_error(response, *_strings(body))
    assert client.get("/api/me", headers=fuzzer.auth).json()["commands_sent"] == before
    assert malformed_lights(tables) == []


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b'{"pattern": "solid", "color": "ff0000"', "application/json", 422),
        (b'{"pattern": "solid", "color": "ff0000"}}', "application/json", 422),
        (b"{'pattern': 'solid', 'color': 'ff0000'}", "application/json", 422),
        (b'{"pattern": "solid", "color": "ff0000", }', "application/json", 422),
        (b"\xff\xfe{\x00}\x00", "application/json", 422),
        (b'{"pattern": "solid", "color": "\\ud800\\ud800\\ud800"}', "application/json", 422),
        (b"[" * 500 + b"]" * 500, "application/json", 422),
        (b'{"pattern": "solid", "color": "ff0000", "n": 1e999999}', "application/json", 422),
        (b"NaN", "application/json", 422),
        (b"", "application/json", 422),
        (json.dumps(GOOD_LIGHT).encode(), "text/plain", 415),
        (json.dumps(GOOD_LIGHT).encode(), "application/x-www-form-urlencoded", 415),
        (b"pattern=solid&color=ff0000", "application/x-www-form-urlencoded", 415),
        (
            b"--b\r\nContent-Disposition: form-data; name=pattern\r\n\r\nsolid\r\n--b--",
            "multipart/form-data; boundary=b",
            415,
        ),
        (b"<light><pattern>solid</pattern></light>", "application/xml", 415),
        (json.dumps(GOOD_LIGHT).encode(), "application/json-patch+json", 415),
        (json.dumps(GOOD_LIGHT).encode(), "", 415),
        (json.dumps({**GOOD_LIGHT, "pad": "x" * 2000}).encode(), "application/json", 413),
        (b" " * 1_000_000 + json.dumps(GOOD_LIGHT).encode(), "application/json", 413),
    ],
    ids=[
        "truncated",
        "trailing-brace",
        "single-quotes",
        "trailing-comma",
        "utf16",
        "lone-surrogates",
        "deep-nesting",
        "huge-number",
        "nan",
        "empty",
        "text-plain",
        "form-type-json-body",
        "form",
        "multipart",
        "xml",
        "json-patch",
        "no-type",
        "over-limit",
        "one-megabyte",
    ],
)
def test_malformed_raw_bodies_are_refused_and_not_stored(
    api: RunningApi, tables: TableServiceClient, fuzzer: Attendee, *, content: bytes, content_type: str, expected: int
) -> None:
    client = api.client()
    before = client.get("/api/me", headers=fuzzer.auth).json()["commands_sent"]
    headers = {**fuzzer.auth, "Content-Type": content_type}
    response = client.post("/api/lights", headers=headers, content=content)
    assert response.status_code == expected
    assert_generic_error(response)
    assert client.get("/api/me", headers=fuzzer.auth).json()["commands_sent"] == before
    assert malformed_lights(tables) == []


def test_a_chunked_body_without_length_is_capped_too(api: RunningApi, fuzzer: Attendee) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"pattern": "solid", "color": "ff0000", "pad": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    client = api.client()
    response = client.post("/api/lights", headers={**fuzzer.auth, "Content-Type": "application/json"}, content=chunks())
    assert response.status_code == 413
    assert_generic_error(response)


@pytest.mark.parametrize(
    "body",
    [
        {"device_code": 12345},
        {"device_code": None},
        {"device_code": ""},
        {"device_code": "a" * 65},
        {"device_code": "abc", "client_secret": "x"},
        {},
        {"device_code": ["a"]},
    ],
)
def test_malformed_token_requests_are_refused(api: RunningApi, body: Any) -> None:
    response = api.client().post("/api/auth/token", json=body)
    # RFC 6749 section 5.2: 400 with a code, never 422.
    assert response.status_code == 400
    assert_generic_error(response, *_strings(body))


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_in_every_field_is_refused_without_echo(
    api: RunningApi, tables: TableServiceClient, fuzzer: Attendee, injection: str
) -> None:
    client = api.client()
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("/api/lights", {"pattern": injection, "color": "ff0000"}),
        ("/api/lights", {"pattern": "solid", "color": injection}),
        ("/api/lights", {"pattern": "solid", "color": "ff0000", injection: "x"}),
        ("/api/auth/token", {"device_code": injection}),
    ]
    for path, body in bodies:
        response = client.post(path, headers=fuzzer.auth, json=body)
        # The token endpoint answers in RFC 6749 terms (400), the others 422.
        assert response.status_code == (400 if path == "/api/auth/token" else 422), (path, body)
        assert_generic_error(response, injection)
    assert client.get("/api/me", headers=fuzzer.auth).json()["commands_sent"] == 0
    assert malformed_lights(tables) == []
    assert not any(injection in str(row) for row in tables.get_table_client("lights").list_entities())


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_in_path_and_query_is_refused_or_ignored(
    api: RunningApi, tables: TableServiceClient, fuzzer: Attendee, injection: str
) -> None:
    client = api.client()
    wall_before = client.get("/api/lights").json()
    # Query parameters are not part of any operation: they are ignored, never passed to a filter.
    for name in ("filter", "$filter", "pk", "id", "attendee", injection):
        for path in ("/api/lights", "/api/me"):
            response = client.get(path, params={name: injection}, headers=fuzzer.auth)
            assert response.status_code == 200
            assert injection not in response.text
    assert client.get("/api/lights", params={"$filter": injection}).json() == wall_before
    # Injected into the path: no route, a generic 404 (or 405), never the input back.
    encoded = quote(injection, safe="")
    raw = quote(injection, safe="/.'=@${}*()<>;!")
    paths = [f"/api/lights/{encoded}", f"/api/me/{encoded}", f"/api/{encoded}", f"/api/auth/{encoded}", f"/api/{raw}"]
    for path in paths:
        for method in ("GET", "POST", "DELETE"):
            response = client.request(method, path, headers=fuzzer.auth, json=GOOD_LIGHT)
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert_generic_error(response, injection)
    assert client.get("/api/me", headers=fuzzer.auth).json()["commands_sent"] == 0
    assert malformed_lights(tables) == []


def test_storage_holds_only_well_formed_rows(api: RunningApi, tables: TableServiceClient, fuzzer: Attendee) -> None:
    # After everything above (whatever order ran), one more valid command is stored exactly as sent.
    client = api.client()
    sent = client.post("/api/lights", headers=fuzzer.auth, json={"pattern": "sparkle", "color": "A1b2C3"})
    assert sent.status_code == 202
    stored = [row for row in tables.get_table_client(LIGHTS).list_entities() if row["id"] == sent.json()["id"]]
    assert [(row["pattern"], row["color"]) for row in stored] == [("sparkle", "a1b2c3")]
    assert_storage_well_formed(api, tables)


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*_strings(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
