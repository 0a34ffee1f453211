"""Who may sign in: only the organisers' list in allowlist mode; a refused person leaves no trace."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from azure.data.tables import TableServiceClient
from eventapi.auth.admission import LOGIN_PURPOSE
from eventapi.auth.sign_in import GrantError
from eventapi.routes.auth import GRANT_ERROR_DESCRIPTIONS

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import (
    RunningApi,
    User,
    approve,
    bearer,
    make_api,
    rows_mentioning,
    sign_in_pair,
    start_sign_in,
)

DENIED = GRANT_ERROR_DESCRIPTIONS[GrantError.DENIED]


def _digests(api: RunningApi, *logins: str) -> str:
    return ",".join(api.services.keyed_hash.digest(LOGIN_PURPOSE, login.lower()) for login in logins)


@pytest.fixture
def allowlisted(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, new_user: Callable[[], User]
) -> Iterator[tuple[RunningApi, User, User]]:
    invited, stranger = new_user(), new_user()
    # The same pepper as every API of this session (one state folder): digests made with one fit all.
    probe = make_api(azurite, github, state_dir)
    digests = _digests(probe, invited.login)
    probe.stop()
    running = make_api(
        azurite,
        github,
        state_dir,
        EVENTSTACK_SIGN_IN_MODE="allowlist",
        EVENTSTACK_ALLOWED_LOGIN_DIGESTS=digests,
    )
    yield running, invited, stranger
    running.stop()


def _traces(tables: TableServiceClient, api: RunningApi, user: User) -> list[tuple[str, dict[str, object]]]:
    hashed = api.services.keyed_hash
    return rows_mentioning(
        tables,
        {
            str(user.id),
            user.login,
            hashed.digest("github-id", str(user.id)),
            hashed.digest(LOGIN_PURPOSE, user.login.lower()),
        },
    )


def test_a_listed_login_gets_a_token_in_any_case(
    allowlisted: tuple[RunningApi, User, User], github: GitHubStandIn
) -> None:
    api, invited, _ = allowlisted
    client = api.client()
    pair = sign_in_pair(client, github, invited)
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    shouted = User(invited.id, invited.login.upper())
    assert (
        client.get("/api/me", headers=bearer(sign_in_pair(client, github, shouted)["access_token"])).status_code == 200
    )


def test_an_unlisted_login_is_refused_and_leaves_no_trace(
    allowlisted: tuple[RunningApi, User, User], github: GitHubStandIn, tables: TableServiceClient
) -> None:
    api, _, stranger = allowlisted
    client = api.client()
    started = start_sign_in(client)
    # The browser is told plainly, with a fixed page.
    approve(github, started["user_code"], stranger, expected=403)
    assert _traces(tables, api, stranger) == []
    refused = client.post("/api/auth/token", json={"device_code": started["device_code"]})
    assert (refused.status_code, refused.json()["error"]) == (400, "access_denied")
    assert _traces(tables, api, stranger) == []
    # And the refused grant itself is gone once the device has been told.
    device_key = api.services.keyed_hash.digest("device-code", str(started["device_code"]))
    assert rows_mentioning(tables, {device_key}) == []


def test_the_refusal_is_the_same_whoever_asks(
    allowlisted: tuple[RunningApi, User, User], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, _, stranger = allowlisted
    client = api.client()
    bodies = set()
    for user in (stranger, new_user(), User(1, "a")):
        started = start_sign_in(client)
        page = httpx.post(
            f"{github.url}/approve", json={"user_code": started["user_code"], "login": user.login, "id": user.id}
        )
        assert page.status_code == 403
        bodies.add(client.post("/api/auth/token", json={"device_code": started["device_code"]}).text)
    assert bodies == {json.dumps({"error": "access_denied", "error_description": DENIED}, separators=(",", ":"))}


def test_removing_a_login_ends_the_session_at_the_next_request(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, allowlisted: tuple[RunningApi, User, User]
) -> None:
    api, invited, _ = allowlisted
    client = api.client()
    pair = sign_in_pair(client, github, invited)
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    # `pulumi up` with the login taken off the list: the app restarts with the new setting.
    api.stop()
    after = make_api(
        azurite, github, state_dir, EVENTSTACK_SIGN_IN_MODE="allowlist", EVENTSTACK_ALLOWED_LOGIN_DIGESTS=""
    )
    try:
        restarted = after.client()
        # Same signing key (same state folder): the token is still well-formed, yet refused.
        assert restarted.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
        sent = restarted.post(
            "/api/lights", headers=bearer(pair["access_token"]), json={"pattern": "solid", "color": "ffffff"}
        )
        assert sent.status_code == 401
        renewed = restarted.post("/api/auth/token", json={"refresh_token": pair["refresh_token"]})
        assert renewed.json()["error"] == "invalid_grant"
    finally:
        after.stop()


def test_open_mode_admits_everyone(api: RunningApi, github: GitHubStandIn, new_user: Callable[[], User]) -> None:
    client = api.client()
    for user in (new_user(), new_user()):
        assert (
            client.get("/api/me", headers=bearer(sign_in_pair(client, github, user)["access_token"])).status_code == 200
        )
