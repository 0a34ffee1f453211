"""Every refusal of the device authorization and token endpoints, as RFC 6749 section 5.2 and RFC 8628 say.

Status 400 with the RFC's code (401 and a Basic challenge for Basic credentials of another client),
a fixed `error_description`, no echo of what was sent, and the cache headers of RFC 6749 section 5.1
on every answer. Then the 401s of protected endpoints for an expired token and an ended session,
which need a signed-in attendee.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from eventapi.challenge import EXPIRED, SESSION_ENDED

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import FakeClock, RunningApi, User, approve, bearer, make_api

pytestmark = pytest.mark.azurite

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_ID = "eventstack-attendee"
A_REFRESH_TOKEN = "0f" * 16 + "." + "a1" * 16 + "." + "Q" * 43


def _basic(user: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _assert_never_cached(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


# (body, content type, extra headers, status, code): form bodies as clients send them.
TOKEN_REFUSALS = [
    pytest.param(b"", FORM, {}, 400, "invalid_request", id="empty form"),
    pytest.param(b"{}", {"Content-Type": "application/json"}, {}, 400, "invalid_request", id="empty json"),
    pytest.param(b"device_code=abc", {"Content-Type": "text/plain"}, {}, 400, "invalid_request", id="text/plain"),
    pytest.param(b"device_code=" + b"a" * 43, FORM, {}, 400, "invalid_request", id="form without grant_type"),
    pytest.param(f"grant_type={DEVICE_GRANT}".encode(), FORM, {}, 400, "invalid_request", id="no device_code"),
    pytest.param(b"grant_type=refresh_token", FORM, {}, 400, "invalid_request", id="no refresh_token"),
    pytest.param(b"grant_type=client_credentials", FORM, {}, 400, "unsupported_grant_type", id="client_credentials"),
    pytest.param(b"grant_type=password&username=a&password=b", FORM, {}, 400, "unsupported_grant_type", id="password"),
    pytest.param(
        b"grant_type=authorization_code&code=abc", FORM, {}, 400, "unsupported_grant_type", id="authorization_code"
    ),
    pytest.param(
        b"grant_type=refresh_token&refresh_token=not-one-of-ours", FORM, {}, 400, "invalid_grant", id="malformed rt"
    ),
    pytest.param(
        f"grant_type=refresh_token&refresh_token={A_REFRESH_TOKEN}".encode(),
        FORM,
        {},
        400,
        "invalid_grant",
        id="unknown refresh token",
    ),
    pytest.param(
        f"grant_type={DEVICE_GRANT}&device_code={'f' * 43}".encode(), FORM, {}, 400, "invalid_grant", id="unknown code"
    ),
    pytest.param(
        f"grant_type={DEVICE_GRANT}&device_code={'f' * 43}&device_code={'e' * 43}".encode(),
        FORM,
        {},
        400,
        "invalid_request",
        id="repeated parameter",
    ),
    pytest.param(
        f"grant_type={DEVICE_GRANT}&device_code={'f' * 43}&client_id=someone-else".encode(),
        FORM,
        {},
        400,
        "invalid_client",
        id="other client_id",
    ),
    pytest.param(
        f"grant_type={DEVICE_GRANT}&device_code={'f' * 43}".encode(),
        FORM,
        _basic("someone-else"),
        401,
        "invalid_client",
        id="basic other client",
    ),
    pytest.param(
        f"grant_type={DEVICE_GRANT}&device_code={'f' * 43}".encode(),
        FORM,
        _basic(CLIENT_ID, "a-secret"),
        401,
        "invalid_client",
        id="basic with a secret",
    ),
    pytest.param(b"grant_type=refresh_token&pad=" + b"x" * 2000, FORM, {}, 400, "invalid_request", id="over 1 KiB"),
    pytest.param(b"a=1&b=2&c=3&d=4&e=5&f=6", FORM, {}, 400, "invalid_request", id="too many parameters"),
]


@pytest.mark.parametrize(("body", "content_type", "headers", "status", "code"), TOKEN_REFUSALS)
def test_token_endpoint_refusals_are_rfc_6749_in_code_and_status(  # noqa: PLR0917 - one parameter per column
    client: httpx.Client, body: bytes, content_type: dict[str, str], headers: dict[str, str], status: int, code: str
) -> None:
    response = client.post("/api/auth/token", content=body, headers={**content_type, **headers})
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert set(response.json()) == {"error", "error_description"}
    _assert_never_cached(response)
    if status == 401:
        # RFC 6749 section 5.2: the challenge matches the scheme the client used.
        assert response.headers["www-authenticate"] == 'Basic realm="eventstack"'
    for sent in (b"someone-else", b"not-one-of-ours", b"f" * 43, A_REFRESH_TOKEN.encode()):
        if sent in body:
            assert sent.decode() not in response.text


def test_the_grants_own_refusals_keep_their_rfc_8628_codes(
    clocked: tuple[RunningApi, FakeClock], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, clock = clocked
    client = api.client()
    started = client.post("/api/auth/device", data={"client_id": CLIENT_ID}).json()
    form = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": CLIENT_ID}
    codes = [client.post("/api/auth/token", data=form).json()["error"] for _ in range(2)]
    assert codes == ["authorization_pending", "slow_down"]
    approve(github, started["user_code"], new_user())
    clock.advance(timedelta(seconds=20))
    issued = client.post("/api/auth/token", data=form)
    assert issued.status_code == 200
    _assert_never_cached(issued)
    again = client.post("/api/auth/token", data=form)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    expired = client.post("/api/auth/device", data={"client_id": CLIENT_ID}).json()
    clock.advance(timedelta(minutes=11))
    late = client.post("/api/auth/token", data={**form, "device_code": expired["device_code"]})
    assert (late.status_code, late.json()["error"]) == (400, "expired_token")


def test_unrecognised_and_empty_parameters_are_ignored(client: httpx.Client) -> None:
    # RFC 6749 section 3.1 / 3.2: a parameter without a value is omitted; an unknown one is ignored.
    started = client.post("/api/auth/device", content=b"client_id=&scope=lights&resource=x", headers=FORM)
    assert started.status_code == 200, started.text
    form = f"grant_type={DEVICE_GRANT}&device_code={started.json()['device_code']}&client_id={CLIENT_ID}&scope="
    assert client.post("/api/auth/token", content=form.encode(), headers=FORM).json()["error"] == (
        "authorization_pending"
    )


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"data": {"client_id": CLIENT_ID}}, 200, None),
        ({"json": {"client_id": CLIENT_ID}}, 200, None),
        ({}, 200, None),
        ({"params": {"client_id": CLIENT_ID, "grant_type": DEVICE_GRANT}}, 200, None),
        ({"headers": _basic(CLIENT_ID)}, 200, None),
        ({"data": {"client_id": "someone-else"}}, 400, "invalid_client"),
        ({"params": {"client_id": "someone-else"}}, 400, "invalid_client"),
        ({"json": {"client_id": None}}, 400, "invalid_request"),
        ({"headers": _basic("someone-else")}, 401, "invalid_client"),
        ({"content": b"<client/>", "headers": {"Content-Type": "application/xml"}}, 400, "invalid_request"),
    ],
)
def test_device_authorization_takes_the_public_client_and_refuses_others(
    client: httpx.Client, request_kwargs: dict[str, object], status: int, code: str | None
) -> None:
    response = client.post("/api/auth/device", **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    _assert_never_cached(response)
    if code is not None:
        assert response.json()["error"] == code
        assert "someone-else" not in response.text


@pytest.fixture(scope="module")
def clocked(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[tuple[RunningApi, FakeClock]]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    running = make_api(azurite, github, state_dir, clock=clock, EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="600")
    yield running, clock
    running.stop()


def _signed_in(api: RunningApi, clock: FakeClock, github: GitHubStandIn, user: User) -> dict[str, str]:
    client = api.client()
    started = client.post("/api/auth/device").json()
    approve(github, started["user_code"], user)
    clock.advance(timedelta(seconds=6))
    pair: dict[str, str] = client.post(
        "/api/auth/token", data={"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}
    ).json()
    return pair


def test_an_expired_token_is_told_to_refresh_and_refreshing_works(
    clocked: tuple[RunningApi, FakeClock], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, clock = clocked
    client = api.client()
    pair = _signed_in(api, clock, github, new_user())
    clock.advance(timedelta(minutes=11))
    refused = client.get("/api/me", headers=bearer(pair["access_token"]))
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_token", "error_description": EXPIRED.description}
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    renewed = client.post(
        "/api/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    assert renewed.status_code == 200
    assert client.get("/api/me", headers=bearer(renewed.json()["access_token"])).status_code == 200


def test_an_erased_session_is_told_to_sign_in_again(
    clocked: tuple[RunningApi, FakeClock], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, clock = clocked
    client = api.client()
    pair = _signed_in(api, clock, github, new_user())
    assert client.delete("/api/me", headers=bearer(pair["access_token"])).status_code == 204
    refused = client.get("/api/me", headers=bearer(pair["access_token"]))
    assert refused.json() == {"error": "invalid_token", "error_description": SESSION_ENDED.description}
    # The refresh token went with the session: the token endpoint says the same in its own terms.
    refresh = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    spent = client.post("/api/auth/token", data=refresh)
    assert (spent.status_code, spent.json()["error"]) == (400, "invalid_grant")
    assert "sign in again" in spent.json()["error_description"]
