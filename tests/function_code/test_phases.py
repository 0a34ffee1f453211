"""The API closes with the event: sign-in at its end (plus grace), data endpoints at the delete-by time."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import UTC_2030, FakeClock, RunningApi, User, bearer, make_api, sign_in_pair

pytestmark = pytest.mark.azurite

SIGN_IN = [
    ("POST", "/api/auth/device", None),
    ("POST", "/api/auth/token", {"device_code": "a" * 43}),
    ("GET", "/api/auth/verify", None),
    ("GET", "/api/auth/github", None),
    ("GET", "/api/auth/callback?state=x", None),
]
DATA = [
    ("GET", "/api/lights", None),
    ("POST", "/api/lights", {"pattern": "solid", "color": "ffffff"}),
    ("GET", "/api/me", None),
    ("DELETE", "/api/me", None),
    ("GET", "/api/wall", None),
    ("GET", "/api/join", None),
]
ALWAYS = ["/api/health", "/api/privacy", "/api/.well-known/jwks.json", "/api/openapi.json"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(UTC_2030 + timedelta(minutes=secrets.randbelow(10**7)))


def _api(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock, grace_minutes: int
) -> RunningApi:
    return make_api(
        azurite,
        github,
        state_dir,
        clock,
        EVENTSTACK_EVENT_ENDS_AT=(clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        EVENTSTACK_RETENTION_HOURS="2",
        EVENTSTACK_SIGN_IN_GRACE_MINUTES=str(grace_minutes),
    )


@pytest.fixture
def event(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    running = _api(azurite, github, state_dir, clock, grace_minutes=0)
    yield running
    running.stop()


def _statuses(api: RunningApi, calls: list[tuple[str, str, object]], token: str) -> dict[str, tuple[int, str]]:
    client = api.client()
    found = {}
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=bearer(token))
        is_json = response.headers.get("content-type", "").startswith("application/json")
        found[f"{method} {path}"] = (response.status_code, response.json()["error"] if is_json else response.text)
    return found


def test_three_phases(event: RunningApi, github: GitHubStandIn, clock: FakeClock, new_user: Callable[[], User]) -> None:
    client = event.client()
    pair = sign_in_pair(client, github, new_user())
    assert (
        client.post(
            "/api/lights", json={"pattern": "pulse", "color": "00ff00"}, headers=bearer(pair["access_token"])
        ).status_code
        == 202
    )

    # After the event's end: sign-in is gone; the public wall still answers.
    clock.advance(timedelta(hours=1))
    closed = _statuses(event, SIGN_IN, pair["access_token"])
    assert set(closed.values()) == {(410, "gone")}, closed
    refresh = client.post("/api/auth/token", json={"refresh_token": pair["refresh_token"]})
    assert (refresh.status_code, refresh.json()) == (410, {"error": "gone"})
    assert client.get("/api/lights").status_code == 200
    # The session ended with the event: its token no longer works, although the token had time left.
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401

    # After the data-delete-by time (end + retention): every data endpoint is gone too.
    clock.advance(timedelta(hours=2))
    gone = _statuses(event, SIGN_IN + DATA, pair["access_token"])
    assert set(gone.values()) == {(410, "gone")}, gone
    for path in ALWAYS:
        assert client.get(path).status_code == 200, path


def test_a_grace_period_keeps_sign_in_open_a_little_longer(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock
) -> None:
    running = _api(azurite, github, state_dir, clock, grace_minutes=30)
    try:
        client = running.client()
        clock.advance(timedelta(minutes=70))
        assert client.post("/api/auth/device").status_code == 200
        clock.advance(timedelta(minutes=21))
        assert client.post("/api/auth/device").status_code == 410
    finally:
        running.stop()
