"""Attacks on the sign-in: pacing, refresh-token theft and reuse, device-code phishing, GitHub's limits."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from azure.data.tables import TableServiceClient

from dev.github_standin import SIGN_INS_PER_USER_PER_HOUR, GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import (
    UTC_2030,
    FakeClock,
    RunningApi,
    User,
    approve,
    bearer,
    confirm,
    make_api,
    rows_mentioning,
    sign_in_pair,
    start_sign_in,
)

pytestmark = pytest.mark.azurite


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(UTC_2030 + timedelta(days=secrets.randbelow(10**4), seconds=7))


@pytest.fixture
def clocked(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    running = make_api(azurite, github, state_dir, clock, EVENTSTACK_SESSIONS_PER_ATTENDEE="3")
    yield running
    running.stop()


def _poll(client: httpx.Client, device_code: object) -> httpx.Response:
    return client.post("/api/auth/token", json={"device_code": device_code})


def _refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post("/api/auth/token", json={"refresh_token": refresh_token})


# Pacing: RFC 8628 section 3.5


def test_the_first_poll_is_never_early_and_a_faster_one_gets_slow_down(clocked: RunningApi, clock: FakeClock) -> None:
    client = clocked.client()
    started = start_sign_in(client)
    assert _poll(client, started["device_code"]).json()["error"] == "authorization_pending"
    clock.advance(timedelta(seconds=4))
    assert _poll(client, started["device_code"]).json()["error"] == "slow_down"
    # slow_down added 5 s: 9 s after that poll is still too fast, 10 s is not.
    clock.advance(timedelta(seconds=9))
    assert _poll(client, started["device_code"]).json()["error"] == "slow_down"
    clock.advance(timedelta(seconds=15))
    assert _poll(client, started["device_code"]).json()["error"] == "authorization_pending"


def test_a_device_code_expires_after_ten_minutes(clocked: RunningApi, clock: FakeClock, github: GitHubStandIn) -> None:
    client = clocked.client()
    started = start_sign_in(client)
    clock.advance(timedelta(minutes=10))
    assert _poll(client, started["device_code"]).json()["error"] == "expired_token"
    # The browser step refuses it too: nobody can approve a code after it expired.
    page = client.get("/api/auth/verify", params={"user_code": started["user_code"]})
    assert page.status_code == 404


def test_a_refused_consent_is_access_denied(clocked: RunningApi, github: GitHubStandIn) -> None:
    client = clocked.client()
    started = start_sign_in(client)
    denied = httpx.post(f"{github.url}/deny", json={"user_code": started["user_code"]}, timeout=30)
    assert denied.json()["app_status"] == 400
    assert _poll(client, started["device_code"]).json()["error"] == "access_denied"
    assert _poll(client, started["device_code"]).json()["error"] == "invalid_grant"


# Sessions outlive access tokens


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session_everywhere(
    clocked: RunningApi, github: GitHubStandIn, clock: FakeClock, new_user: Callable[[], User]
) -> None:
    client = clocked.client()
    user = new_user()
    phone, laptop = sign_in_pair(client, github, user), sign_in_pair(client, github, user)
    clock.advance(timedelta(minutes=9))
    renewed = _refresh(client, phone["refresh_token"])
    assert renewed.status_code == 200
    pair = renewed.json()
    assert pair["refresh_token"] != phone["refresh_token"]
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    same_session = jwt.decode(pair["access_token"], options={"verify_signature": False})["sub"]
    assert same_session == jwt.decode(laptop["access_token"], options={"verify_signature": False})["sub"]

    # The old refresh token comes back (a thief replays a copy): the whole session ends.
    replay = _refresh(client, phone["refresh_token"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    for token in (pair["access_token"], laptop["access_token"]):
        assert client.get("/api/me", headers=bearer(token)).status_code == 401
    for refresh_token in (pair["refresh_token"], laptop["refresh_token"]):
        assert _refresh(client, refresh_token).json()["error"] == "invalid_grant"


def test_refresh_tokens_are_stored_only_as_keyed_hashes(
    clocked: RunningApi, github: GitHubStandIn, new_user: Callable[[], User], tables: TableServiceClient
) -> None:
    client = clocked.client()
    pair = sign_in_pair(client, github, new_user())
    secret = pair["refresh_token"].rsplit(".", 1)[1]
    renewed = _refresh(client, pair["refresh_token"]).json()
    for token in (pair["refresh_token"], renewed["refresh_token"]):
        assert rows_mentioning(tables, {token.rsplit(".", 1)[1]}) == []
    assert rows_mentioning(tables, {clocked.services.keyed_hash.digest("refresh", secret)}) == []
    new_secret = renewed["refresh_token"].rsplit(".", 1)[1]
    assert rows_mentioning(tables, {clocked.services.keyed_hash.digest("refresh", new_secret)})


def test_a_forged_refresh_token_is_refused(clocked: RunningApi) -> None:
    client = clocked.client()
    forged = f"{secrets.token_hex(16)}.{secrets.token_hex(16)}.{secrets.token_urlsafe(32)}"
    assert (_refresh(client, forged).status_code, _refresh(client, forged).json()["error"]) == (400, "invalid_grant")


def test_a_session_ends_with_the_event(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock, new_user: Callable[[], User]
) -> None:
    ends_at = (clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    running = make_api(azurite, github, state_dir, clock, EVENTSTACK_EVENT_ENDS_AT=ends_at)
    try:
        client = running.client()
        pair = sign_in_pair(client, github, new_user())
        clock.advance(timedelta(minutes=55))
        pair = _refresh(client, pair["refresh_token"]).json()
        clock.advance(timedelta(minutes=6))
        # Sign-in, refresh included, closes with the event; the session ends with it too.
        assert _refresh(client, pair["refresh_token"]).json()["error"] == "gone"
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
    finally:
        running.stop()


def test_an_attendee_keeps_a_bounded_number_of_devices(
    clocked: RunningApi, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    client = clocked.client()
    user = new_user()
    pairs = [sign_in_pair(client, github, user) for _ in range(4)]
    # EVENTSTACK_SESSIONS_PER_ATTENDEE=3: the oldest device's sign-in was dropped.
    assert _refresh(client, pairs[0]["refresh_token"]).json()["error"] == "invalid_grant"
    assert all(_refresh(client, p["refresh_token"]).status_code == 200 for p in pairs[1:])
    assert len(client.get("/api/me", headers=bearer(pairs[3]["access_token"])).json()["sign_ins"]) == 3


# The browser step: phishing-aware verification page, state and PKCE


def test_the_verification_page_says_what_is_being_authorised(clocked: RunningApi) -> None:
    client = clocked.client()
    started = start_sign_in(client)
    typed = str(started["user_code"]).lower().replace("-", " ")
    page = client.get("/api/auth/verify", params={"user_code": typed})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert str(started["user_code"]) in page.text
    assert "If someone sent you this code or link" in page.text
    assert "<script" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    empty = client.get("/api/auth/verify")
    assert empty.status_code == 200 and 'name="user_code"' in empty.text


def test_the_browser_step_sends_state_and_pkce_to_github(clocked: RunningApi, github: GitHubStandIn) -> None:
    client = clocked.client()
    started = start_sign_in(client)
    onward = confirm(client, started["user_code"])
    assert onward.status_code == 303
    location = httpx.URL(onward.headers["location"])
    assert str(location).startswith(f"{github.url}/login/oauth/authorize")
    query = dict(location.params)
    assert query["client_id"] == clocked.services.settings.github_client_id
    assert query["redirect_uri"] == f"{clocked.url}/api/auth/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert "scope" not in query
    # A state that is not the one handed out is refused, and approves nothing.
    device_key, _ = query["state"].split(".")
    forged = client.get("/api/auth/callback", params={"code": "abc", "state": f"{device_key}.{'A' * 43}"})
    assert forged.status_code == 404
    assert _poll(client, started["device_code"]).json()["error"] == "authorization_pending"


def test_a_user_code_can_start_the_github_step_a_few_times_only(clocked: RunningApi) -> None:
    client = clocked.client()
    started = start_sign_in(client)
    statuses = [confirm(client, started["user_code"]).status_code for _ in range(6)]
    assert statuses == [303] * 5 + [400]


def test_the_stand_in_enforces_githubs_ten_sign_ins_per_user_per_hour(
    clocked: RunningApi, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    client = clocked.client()
    user = new_user()
    for _ in range(SIGN_INS_PER_USER_PER_HOUR):
        approve(github, start_sign_in(client)["user_code"], user)
    approve(github, start_sign_in(client)["user_code"], user, expected=429)


def test_a_renamed_account_starts_a_new_session_and_the_old_one_ends(
    clocked: RunningApi, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    client = clocked.client()
    before = new_user()
    old = sign_in_pair(client, github, before)
    renamed = User(before.id, before.login + "-new")
    new = sign_in_pair(client, github, renamed)
    old_sub = jwt.decode(old["access_token"], options={"verify_signature": False})["sub"]
    assert jwt.decode(new["access_token"], options={"verify_signature": False})["sub"] != old_sub
    assert client.get("/api/me", headers=bearer(old["access_token"])).status_code == 401
    assert client.get("/api/me", headers=bearer(new["access_token"])).status_code == 200
