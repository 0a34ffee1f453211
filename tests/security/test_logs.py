"""Logs carry no personal data: every record the app emits through a whole event, searched for it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from eventapi.auth.admission import LOGIN_PURPOSE
from eventapi.retention import purge

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import RunningApi, User, approve, bearer, make_api, sign_in_pair, start_sign_in


@pytest.fixture
def venue(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[RunningApi]:
    probe = make_api(azurite, github, state_dir)
    digests = ",".join(probe.services.keyed_hash.digest(LOGIN_PURPOSE, f"logged-{n}") for n in range(2))
    probe.stop()
    running = make_api(
        azurite,
        github,
        state_dir,
        EVENTSTACK_SIGN_IN_MODE="allowlist",
        EVENTSTACK_ALLOWED_LOGIN_DIGESTS=digests,
        EVENTSTACK_COMMANDS_PER_MINUTE="2",
    )
    yield running
    running.stop()


def test_no_log_record_holds_an_identity_a_token_a_code_or_an_address(
    venue: RunningApi, github: GitHubStandIn, new_user: Callable[[], User], caplog: pytest.LogCaptureFixture
) -> None:
    client = venue.client()
    attendee = User(new_user().id, "logged-0")
    stranger = new_user()
    hashed = venue.services.keyed_hash
    with caplog.at_level(logging.DEBUG):
        started = start_sign_in(client)
        approve(github, started["user_code"], attendee)
        pair = client.post("/api/auth/token", json={"device_code": started["device_code"]}).json()
        # Refused sign-in, refresh and its reuse, commands over and outside the quota, bad tokens.
        refused = start_sign_in(client)
        approve(github, refused["user_code"], stranger, expected=403)
        client.post("/api/auth/token", json={"device_code": refused["device_code"]})
        renewed = client.post("/api/auth/token", json={"refresh_token": pair["refresh_token"]}).json()
        key = client.get("/api/me", headers=bearer(renewed["access_token"])).json()["attendee"]["key"]
        for body in ({"pattern": "chase", "color": "c0ffee"},) * 3 + ({"pattern": "nope", "color": "decade"},):
            client.post("/api/lights", json=body, headers=bearer(renewed["access_token"]))
        client.get("/api/me", headers=bearer(renewed["access_token"][:-4] + "AAAA"))
        client.post("/api/auth/token", json={"refresh_token": pair["refresh_token"]})  # reuse: revokes
        second = sign_in_pair(client, github, attendee)
        client.delete("/api/me", headers=bearer(second["access_token"]))
        purge(venue.services.tables, venue.services.settings, venue.services.clock())
    session_id = jwt.decode(pair["access_token"], options={"verify_signature": False})["sub"]
    logged = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert "sign-in approved" in logged and "refresh token reuse" in logged, "the app's own events were not captured"
    never = {
        "GitHub login": attendee.login,
        "refused GitHub login": stranger.login,
        "GitHub id": str(attendee.id),
        "refused GitHub id": str(stranger.id),
        "access token": pair["access_token"],
        "refresh token": pair["refresh_token"].rsplit(".", 1)[1],
        "device code": str(started["device_code"]),
        "user code": str(started["user_code"]),
        "session id": session_id,
        "attendee pseudonym": key,
        "login pseudonym": hashed.digest(LOGIN_PURPOSE, attendee.login),
        "client address": "127.0.0.1",
        "client address pseudonym": hashed.digest("client-ip", "127.0.0.1"),
        "command body": "c0ffee",
    }
    leaked = [what for what, value in never.items() if value in logged]
    assert leaked == [], leaked
    assert httpx.get(f"{venue.url}/api/health").status_code == 200
