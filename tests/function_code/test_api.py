"""The HTTP contract, end to end: uvicorn + the real app + Azurite + the GitHub stand-in."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import jwt
import pytest
from azure.data.tables import TableServiceClient
from eventapi.challenge import (
    EXPIRED,
    NO_TOKEN,
    NOT_BEARER,
    NOT_OURS,
    REFRESH_TOKEN_SENT,
    SESSION_ENDED,
    Refusal,
)
from eventapi.errors import BODY_HELP
from eventapi.models import FIELD_HELP, Pattern

from dev.github_standin import GitHubStandIn
from tests.function_code.conftest import (
    RunningApi,
    User,
    approve,
    bearer,
    rows_mentioning,
    sign_in,
    start_sign_in,
)

pytestmark = pytest.mark.azurite


def test_health_says_ok_and_nothing_else(client: httpx.Client) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_sign_in_end_to_end(
    client: httpx.Client, github: GitHubStandIn, api: RunningApi, new_user: Callable[[], User]
) -> None:
    user = new_user()
    started = start_sign_in(client)
    assert set(started) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    # Our own authorization server: the attendee's browser step is on this app, not on GitHub.
    assert started["verification_uri"] == f"{api.url}/api/auth/verify"
    assert started["verification_uri_complete"] == f"{api.url}/api/auth/verify?user_code={started['user_code']}"
    assert (started["expires_in"], started["interval"]) == (600, 5)

    approve(github, started["user_code"], user)
    issued = client.post("/api/auth/token", json={"device_code": started["device_code"]})
    assert issued.status_code == 200
    body = issued.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}

    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (header["alg"], header["typ"]) == ("ES256", "JWT")
    assert set(claims) == {"iss", "aud", "sub", "iat", "nbf", "exp", "jti"}
    assert claims["iss"] == api.url and claims["aud"] == f"{api.url}/api"
    assert claims["exp"] - claims["iat"] == 600
    # The subject is a random session id: nothing about the GitHub user appears in the token.
    assert str(user.id) not in body["access_token"] and user.login not in str(claims)
    assert len(claims["sub"]) == 32 and int(claims["sub"], 16) >= 0
    assert str(user.id) not in body["refresh_token"] and user.login not in body["refresh_token"]

    # A device code is exchanged once.
    again = client.post("/api/auth/token", json={"device_code": started["device_code"]})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "invalid_request"),
        ({"device_code": ""}, "invalid_request"),
        ({"device_code": "a" * 65}, "invalid_grant"),
        ({"device_code": "abc'; drop"}, "invalid_grant"),
        ({"device_code": 12345}, "invalid_request"),
        ({"device_code": "abc", "refresh_token": "0" * 32 + "." + "0" * 32 + "." + "a" * 43}, "invalid_request"),
        ({"refresh_token": "not-a-refresh-token"}, "invalid_grant"),
        ({"device_code": "abc", "grant_type": "refresh_token"}, "invalid_request"),
        ({"device_code": "abc", "grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"device_code": "abc", "client_id": "someone-else"}, "invalid_client"),
        (["abc"], "invalid_request"),
    ],
)
def test_token_request_outside_the_allowlist_is_refused_without_echo(
    client: httpx.Client, body: object, error: str
) -> None:
    response = client.post("/api/auth/token", json=body)
    assert (response.status_code, response.json()["error"]) == (400, error)
    assert set(response.json()) == {"error", "error_description"}
    for value in body.values() if isinstance(body, dict) else body:
        if isinstance(value, str) and len(value) > 3 and value not in ("refresh_token", "password"):
            assert value not in response.text


def test_unknown_device_code_is_invalid_grant(client: httpx.Client) -> None:
    response = client.post("/api/auth/token", json={"device_code": "f" * 43})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_jwks_holds_the_key_that_verifies_tokens(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User], api: RunningApi
) -> None:
    token = sign_in(client, github, new_user())
    keys = client.get("/api/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(key for key in keys if key["kid"] == kid)
    assert {jwk["kty"], jwk["crv"], jwk["alg"]} == {"EC", "P-256", "ES256"}
    assert "d" not in jwk
    public_key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, public_key, algorithms=["ES256"], audience=f"{api.url}/api", issuer=api.url)
    assert claims["sub"]


def test_post_light_then_the_wall_shows_it_without_identity(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    user = new_user()
    token = sign_in(client, github, user)
    color = f"{user.id % 0xFFFFFF:06x}"
    response = client.post("/api/lights", json={"pattern": "sparkle", "color": color.upper()}, headers=bearer(token))
    assert response.status_code == 202
    light_id = response.json()["id"]
    assert len(light_id) == 32

    wall = client.get("/api/lights").json()["lights"]
    assert {"pattern": "sparkle", "color": color} in [{"pattern": x["pattern"], "color": x["color"]} for x in wall]
    assert all(set(entry) == {"pattern", "color", "time"} for entry in wall)
    assert light_id not in str(wall)


COLOR_HELP = FIELD_HELP["color"]
PATTERN_HELP = FIELD_HELP["pattern"]


@pytest.mark.parametrize(
    ("body", "help_text"),
    [
        ({"pattern": "strobe", "color": "ff0000"}, PATTERN_HELP),
        ({"pattern": "SOLID", "color": "ff0000"}, PATTERN_HELP),
        ({"pattern": "Pulse", "color": "ff8800"}, PATTERN_HELP),
        ({"pattern": "solid", "color": "ff00000"}, COLOR_HELP),
        ({"pattern": "solid", "color": "#ff000"}, COLOR_HELP),
        ({"pattern": "solid", "color": "##ff0000"}, COLOR_HELP),
        ({"pattern": "solid", "color": "gg0000"}, COLOR_HELP),
        ({"pattern": "solid", "color": "red"}, COLOR_HELP),
        ({"pattern": "solid", "color": "f80"}, COLOR_HELP),
        ({"pattern": "solid", "color": "ff0000", "owner": "mallory"}, BODY_HELP),
        ({"pattern": "solid"}, COLOR_HELP),
        ({"pattern": "solid", "color": 16711680}, COLOR_HELP),
        ({"pattern": "<script>", "color": "ff0000"}, PATTERN_HELP),
    ],
)
def test_light_outside_the_allowlist_is_refused_with_the_rule_and_never_stored(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User], body: dict[str, object], help_text: str
) -> None:
    token = sign_in(client, github, new_user())
    response = client.post("/api/lights", json=body, headers=bearer(token))
    assert (response.status_code, response.json()) == (
        422,
        {"error": "invalid_request", "error_description": help_text},
    )
    # The rule and its example, never what was sent (the unknown field's name included).
    for sent in [*body, *body.values()]:
        if isinstance(sent, str) and sent not in ("pattern", "color"):
            assert sent not in response.text
    assert client.get("/api/me", headers=bearer(token)).json()["commands_sent"] == 0


def test_the_teaching_texts_name_the_field_the_form_and_an_example() -> None:
    assert "color" in COLOR_HELP and "RRGGBB" in COLOR_HELP and '"ff8800"' in COLOR_HELP
    assert "pattern" in PATTERN_HELP and all(p.value in PATTERN_HELP for p in Pattern) and '"pulse"' in PATTERN_HELP


def test_a_colour_with_a_hash_is_accepted_and_stored_as_six_digits(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    user = new_user()
    token = sign_in(client, github, user)
    color = f"{(user.id * 7) % 0xFFFFFF:06x}"
    response = client.post(
        "/api/lights", json={"pattern": "blink", "color": "#" + color.upper()}, headers=bearer(token)
    )
    assert response.status_code == 202
    wall = client.get("/api/lights").json()["lights"]
    assert {"pattern": "blink", "color": color} in [{"pattern": x["pattern"], "color": x["color"]} for x in wall]


def test_bodies_that_are_not_small_json_are_refused_before_parsing(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    token = sign_in(client, github, new_user())
    big = '{"pattern": "solid", "color": "ff0000", "pad": "' + "x" * 2000 + '"}'
    too_big = client.post("/api/lights", content=big, headers={**bearer(token), "Content-Type": "application/json"})
    assert (too_big.status_code, too_big.json()) == (413, {"error": "payload_too_large"})
    form = client.post("/api/lights", data={"pattern": "solid", "color": "ff0000"}, headers=bearer(token))
    assert (form.status_code, form.json()) == (415, {"error": "unsupported_media_type"})
    broken = client.post(
        "/api/lights", content=b'{"pattern": "solid",', headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()) == (422, {"error": "invalid_request", "error_description": BODY_HELP})
    assert "solid" not in broken.text


REFRESH_TOKEN_SHAPE = "0f" * 16 + "." + "a1" * 16 + "." + "Y" * 43


@pytest.mark.parametrize(
    ("authorization", "refusal"),
    [
        (None, NO_TOKEN),
        ("Bearer", NOT_BEARER),
        ("Basic dXNlcjpwYXNz", NOT_BEARER),
        ("eyJhbGciOiJFUzI1NiJ9.e30.c2ln", NOT_BEARER),
        ("Bearer not-a-jwt", NOT_OURS),
        ("Bearer " + "a" * 3000, NOT_OURS),
        ("Bearer e30.e30.", NOT_OURS),
        ("Bearer " + REFRESH_TOKEN_SHAPE, REFRESH_TOKEN_SENT),
    ],
)
@pytest.mark.parametrize("operation", [("GET", "/api/me"), ("DELETE", "/api/me"), ("POST", "/api/lights")])
def test_protected_endpoints_need_a_valid_token_and_say_what_to_do(
    client: httpx.Client, api: RunningApi, authorization: str | None, refusal: Refusal, operation: tuple[str, str]
) -> None:
    method, path = operation
    headers = {"Authorization": authorization} if authorization else {}
    body = {"pattern": "solid", "color": "ff0000"} if method == "POST" else None
    response = client.request(method, path, headers=headers, json=body)
    assert response.status_code == 401
    assert response.json() == {"error": refusal.error or "unauthorized", "error_description": refusal.description}
    # RFC 6750 section 3: no error code without a token; RFC 9728 section 5.1: where the metadata is.
    metadata = f'resource_metadata="{api.url}/.well-known/oauth-protected-resource/api"'
    expected = (
        f'Bearer realm="eventstack", {metadata}'
        if refusal.error is None
        else f'Bearer realm="eventstack", error="invalid_token", error_description="{refusal.description}", {metadata}'
    )
    assert response.headers["www-authenticate"] == expected


def test_refusals_tell_refresh_from_sign_in_again() -> None:
    assert "refresh" in EXPIRED.description and "sign in again" not in EXPIRED.description
    assert "refresh" in REFRESH_TOKEN_SENT.description
    for ended in (NOT_OURS, SESSION_ENDED):
        assert "sign in again" in ended.description
    for text in (r.description for r in (NO_TOKEN, NOT_BEARER, EXPIRED, NOT_OURS, SESSION_ENDED, REFRESH_TOKEN_SENT)):
        # RFC 6750 section 3: error_description is printable ASCII without " and \.
        assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text), text


def test_a_token_from_another_signer_is_refused(client: httpx.Client, api: RunningApi) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    forged_key = ec.generate_private_key(ec.SECP256R1())
    kid = next(iter(api.services.signer.public_keys()))
    now = int(api.services.clock().timestamp())
    claims = {"iss": api.url, "aud": f"{api.url}/api", "sub": "0" * 32, "iat": now, "nbf": now, "exp": now + 60}
    forged = jwt.encode({**claims, "jti": "x"}, forged_key, algorithm="ES256", headers={"kid": kid})
    response = client.get("/api/me", headers=bearer(forged))
    assert response.status_code == 401


def test_me_returns_everything_stored_about_the_caller(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    user = new_user()
    first = sign_in(client, github, user)
    second = sign_in(client, github, user)
    client.post("/api/lights", json={"pattern": "blink", "color": "00ff00"}, headers=bearer(first)).raise_for_status()
    client.post("/api/lights", json={"pattern": "chase", "color": "0000ff"}, headers=bearer(second)).raise_for_status()

    mine = client.get("/api/me", headers=bearer(first))
    assert mine.status_code == 200
    data = mine.json()
    assert set(data) == {"attendee", "session", "sign_ins", "commands_sent"}
    # Two sign-ins of one attendee: one session, two devices' refresh chains, one count.
    assert len(data["sign_ins"]) == 2
    assert data["commands_sent"] == 2
    # Stored as a keyed hash: neither the id nor the login is anywhere in the answer.
    assert len(data["attendee"]["key"]) == 64
    assert str(user.id) not in mine.text and user.login not in mine.text
    assert client.get("/api/me", headers=bearer(second)).json() == data


def test_users_cannot_see_change_or_erase_each_other(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    alice, bob = new_user(), new_user()
    alice_token, bob_token = sign_in(client, github, alice), sign_in(client, github, bob)
    client.post("/api/lights", json={"pattern": "pulse", "color": "aaaaaa"}, headers=bearer(alice_token))
    client.post("/api/lights", json={"pattern": "solid", "color": "bbbbbb"}, headers=bearer(bob_token))
    client.post("/api/lights", json={"pattern": "solid", "color": "bbbbbb"}, headers=bearer(bob_token))

    alice_view = client.get("/api/me", headers=bearer(alice_token)).json()
    bob_view = client.get("/api/me", headers=bearer(bob_token)).json()
    assert (alice_view["commands_sent"], bob_view["commands_sent"]) == (1, 2)
    assert alice_view["attendee"]["key"] != bob_view["attendee"]["key"]

    assert client.delete("/api/me", headers=bearer(alice_token)).status_code == 204
    assert client.get("/api/me", headers=bearer(alice_token)).status_code == 401
    after = client.get("/api/me", headers=bearer(bob_token))
    assert after.status_code == 200
    assert after.json() == bob_view


def test_erasure_removes_every_row_of_the_caller_and_revokes(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User], tables: TableServiceClient
) -> None:
    user, other = new_user(), new_user()
    tokens = [sign_in(client, github, user) for _ in range(2)]
    other_token = sign_in(client, github, other)
    for token, color in zip(tokens, ("123456", "654321"), strict=True):
        client.post("/api/lights", json={"pattern": "rainbow", "color": color}, headers=bearer(token))
    client.post("/api/lights", json={"pattern": "rainbow", "color": "abcdef"}, headers=bearer(other_token))
    key = client.get("/api/me", headers=bearer(tokens[0])).json()["attendee"]["key"]
    other_key = client.get("/api/me", headers=bearer(other_token)).json()["attendee"]["key"]
    sessions = {jwt.decode(t, options={"verify_signature": False})["sub"] for t in tokens}
    assert len(sessions) == 1, "one attendee, one session, however many devices"
    before = rows_mentioning(tables, {key, *sessions})
    assert {table for table, _ in before} == {"attendees", "sessions"}

    assert client.delete("/api/me", headers=bearer(tokens[1])).status_code == 204

    assert rows_mentioning(tables, {key, *sessions}) == []
    for token in tokens:
        assert client.get("/api/me", headers=bearer(token)).status_code == 401
        denied = client.post("/api/lights", json={"pattern": "solid", "color": "000000"}, headers=bearer(token))
        assert denied.status_code == 401
    assert client.delete("/api/me", headers=bearer(tokens[0])).status_code == 401
    assert {table for table, _ in rows_mentioning(tables, {other_key})} == {"attendees", "sessions"}


def test_github_id_is_stored_only_as_a_keyed_hash(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User], tables: TableServiceClient
) -> None:
    user = new_user()
    token = sign_in(client, github, user)
    key = client.get("/api/me", headers=bearer(token)).json()["attendee"]["key"]
    assert rows_mentioning(tables, {str(user.id), user.login}) == []
    assert rows_mentioning(tables, {key})


def test_privacy_notice_comes_from_the_settings(client: httpx.Client, api: RunningApi) -> None:
    response = client.get("/api/privacy")
    assert response.status_code == 200
    notice = response.json()
    settings = api.services.settings
    assert notice["retention_hours"] == 48
    assert notice["delete_all_by"] == settings.data_delete_by.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {"attendee", "sessions", "lights", "rate_limits", "sign_in", "logs"} <= set(notice["stored"])
    # GDPR Art. 13: the configured controller and their contact, the legal basis, the recipients.
    assert notice["controller"] == {"name": settings.controller_name, "contact": settings.controller_contact}
    assert notice["controller"]["name"] == "whoever runs this local copy"
    assert "Art. 6(1)(b)" in notice["legal_basis"]
    assert "processor" in notice["recipients"]["Microsoft (Azure)"]
    assert "identity provider" in notice["recipients"]["GitHub"]


def test_openapi_and_docs_are_served_under_api(client: httpx.Client) -> None:
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = set(spec.json()["paths"])
    assert {
        "/api/health",
        "/api/auth/device",
        "/api/auth/token",
        "/api/auth/verify",
        "/api/auth/github",
        "/api/auth/callback",
        "/api/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/api",
        "/api/lights",
        "/api/me",
        "/api/privacy",
        "/api/wall",
        "/api/wall/wall.js",
        "/api/wall/wall.css",
        "/api/wall/wall.svg",
        "/api/wall/join.svg",
        "/api/join",
        "/api/join/join.js",
        "/api/join/join.css",
    } == paths
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/api/nothing"), ("PUT", "/api/lights"), ("PATCH", "/api/me"), ("GET", "/api/auth/device")],
)
def test_unknown_routes_and_methods_are_generic_4xx(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}


def test_logs_hold_no_tokens_device_codes_ids_logins_or_bodies(
    client: httpx.Client, github: GitHubStandIn, new_user: Callable[[], User], caplog: pytest.LogCaptureFixture
) -> None:
    user = new_user()
    with caplog.at_level(logging.DEBUG):
        started = start_sign_in(client)
        approve(github, started["user_code"], user)
        issued = client.post("/api/auth/token", json={"device_code": started["device_code"]}).json()
        token = issued["access_token"]
        client.post("/api/lights", json={"pattern": "chase", "color": "c0ffee"}, headers=bearer(token))
        client.post("/api/lights", json={"pattern": "nope", "color": "decade"}, headers=bearer(token))
        key = client.get("/api/me", headers=bearer(token)).json()["attendee"]["key"]
        client.delete("/api/me", headers=bearer(token))
    session_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records, "nothing was captured: the check below would prove nothing"
    for secret in (token, str(started["device_code"]), str(user.id), user.login, session_id, key, "c0ffee", "decade"):
        assert secret not in logged


def test_storage_down_is_an_honest_503_with_retry_after(api: RunningApi, monkeypatch: pytest.MonkeyPatch) -> None:
    from eventapi.storage.tables import StorageUnavailable

    def down(*args: object, **kwargs: object) -> object:
        raise StorageUnavailable("ServiceRequestError")

    monkeypatch.setattr(api.services.lights, "recent", down)
    raw = httpx.get(f"{api.url}/api/lights")
    assert (raw.status_code, raw.json()) == (503, {"error": "service_unavailable"})
    assert raw.headers["retry-after"] == "30"


def test_an_unexpected_failure_is_a_generic_error_without_internals(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one deliberate 5xx in the suites: it proves the shield, so it bypasses the checking client.
    def explode(*args: object, **kwargs: object) -> object:
        raise KeyError("secret internal detail")

    monkeypatch.setattr(api.services.lights, "recent", explode)
    raw = httpx.get(f"{api.url}/api/lights")
    assert raw.status_code == 500
    assert raw.json() == {"error": "internal_error"}
    assert "secret" not in raw.text
