"""Reading other attendees' data: cross-user access, enumeration of ids, erasure completeness, and the
GitHub identity kept out of every table and every log line."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.data.tables import TableServiceClient

from dev.github_standin import GitHubStandIn
from tests.function_code.conftest import RunningApi, bearer, sign_in
from tests.security.conftest import Attendee, all_rows, decode_part, row_text

LIGHTS_EACH = 3


def send_lights(client: httpx.Client, who: Attendee, count: int = LIGHTS_EACH) -> list[str]:
    ids = []
    for n in range(count):
        response = client.post("/api/lights", headers=who.auth, json={"pattern": "blink", "color": f"00{n:02x}ff"})
        assert response.status_code == 202
        ids.append(response.json()["id"])
    return ids


def my_data(client: httpx.Client, who: Attendee) -> dict[str, Any]:
    response = client.get("/api/me", headers=who.auth)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_no_operation_takes_an_identifier(client: httpx.Client) -> None:
    """Nothing in the contract names a user, session or command: there is no other user's id to pass.

    The only parameters are the browser step's: the user code typed by the attendee, and what GitHub
    hands back (code, state, error), none of which names anyone.
    """
    document = client.get("/api/openapi.json").json()
    browser_step = {
        "/api/auth/verify": {"user_code"},
        "/api/auth/callback": {"code", "state", "error"},
    }
    for path, operations in document["paths"].items():
        assert "{" not in path, path
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert names == browser_step.get(path, set()), (method, path)
            assert all(p["in"] == "query" for p in operation.get("parameters", [])), (method, path)
    schemas = document["components"]["schemas"]
    request_bodies = {
        ref["$ref"].rsplit("/", 1)[1]
        for operations in document["paths"].values()
        for operation in operations.values()
        for content in operation.get("requestBody", {}).get("content", {}).values()
        for ref in [content["schema"]]
        if "$ref" in ref
    }
    oauth = {"TokenRequestForm", "TokenRequestJson", "DeviceAuthorizationForm", "DeviceAuthorizationJson"}
    assert request_bodies == {"LightCommand", *oauth}
    fields = {"pattern", "color", "device_code", "refresh_token", "grant_type", "client_id"}
    for name in request_bodies:
        for shape in schemas[name].get("oneOf", [schemas[name]]):
            assert set(shape["properties"]) <= fields, name
            # client_id names the one public client, never a person.
            if "client_id" in shape["properties"]:
                assert set(shape["properties"]["client_id"]["enum"]) <= {"eventstack-attendee", ""}
            if name in oauth:
                # RFC 6749 section 3.2: unknown parameters are ignored; they are short strings, never stored.
                assert shape["additionalProperties"]["type"] == "string" and shape["maxProperties"] <= 5
            else:
                assert shape.get("additionalProperties") is False
    # The sign-in confirmation form: the typed user code and the page's CSRF token, nothing else.
    confirmation = document["paths"]["/api/auth/github"]["post"]["requestBody"]["content"]
    assert set(confirmation["application/x-www-form-urlencoded"]["schema"]["properties"]) == {"user_code", "csrf"}


def test_each_token_sees_and_erases_only_its_own_data(
    client: httpx.Client, attendee: Callable[[], Attendee], tables: TableServiceClient
) -> None:
    alice, bob = attendee(), attendee()
    alice_ids, bob_ids = send_lights(client, alice), send_lights(client, bob)
    alice_data, bob_data = my_data(client, alice), my_data(client, bob)
    assert alice_data["commands_sent"] == len(alice_ids)
    assert bob_data["commands_sent"] == len(bob_ids)
    assert alice_data["attendee"]["key"] != bob_data["attendee"]["key"]
    assert bob_data["attendee"]["key"] not in str(alice_data)

    # Smuggling Bob's identifiers into Alice's requests changes nothing.
    bob_key = bob_data["attendee"]["key"]
    for query in ({"id": bob_ids[0]}, {"attendee": bob_key}, {"sub": bob.session_id}, {"user": str(bob.user.id)}):
        smuggled = client.get("/api/me", params=query, headers=alice.auth)
        assert smuggled.status_code == 200
        assert smuggled.json() == alice_data
    for path in (f"/api/me/{bob_key}", f"/api/lights/{bob_ids[0]}", f"/api/me/{bob.session_id}"):
        for method in ("GET", "DELETE"):
            assert client.request(method, path, headers=alice.auth).status_code in (404, 405)
    erase_with_body = client.request(
        "DELETE", "/api/me", headers={**alice.auth, "Content-Type": "application/json"}, json={"attendee": bob_key}
    )
    assert erase_with_body.status_code in (204, 422)
    if erase_with_body.status_code == 422:
        assert client.delete("/api/me", headers=alice.auth).status_code == 204

    # Alice is gone; Bob, his session and every one of his commands are untouched.
    assert client.get("/api/me", headers=alice.auth).status_code == 401
    assert my_data(client, bob) == bob_data
    assert rows_about(tables, {bob_key, bob.session_id, *bob_ids})
    sent = client.post("/api/lights", headers=bob.auth, json={"pattern": "solid", "color": "123456"})
    assert sent.status_code == 202


def test_ids_are_random_not_sequential(client: httpx.Client, attendee: Callable[[], Attendee]) -> None:
    sender = attendee()
    ids = send_lights(client, sender, 24)
    sessions = [attendee().session_id for _ in range(12)]
    for values in (ids, sessions):
        assert len(set(values)) == len(values)
        assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in values)
        numbers = [int(value, 16) for value in values]
        steps = {b - a for a, b in itertools.pairwise(numbers)}
        # No constant step, no ordering, no shared prefix: nothing to count through.
        assert len(steps) == len(numbers) - 1
        assert numbers != sorted(numbers) and numbers != sorted(numbers, reverse=True)
        assert len({value[:6] for value in values}) == len(values)
        # 128 random bits: consecutive ids differ in about half of them.
        distances = [bin(a ^ b).count("1") for a, b in itertools.pairwise(numbers)]
        assert 40 <= sum(distances) / len(distances) <= 88


def test_the_public_wall_shows_no_identity(client: httpx.Client, attendee: Callable[[], Attendee]) -> None:
    sender = attendee()
    ids = send_lights(client, sender)
    secrets_of_sender = {
        sender.token,
        sender.session_id,
        str(sender.user.id),
        sender.user.login,
        my_data(client, sender)["attendee"]["key"],
        *ids,
    }
    wall = client.get("/api/lights")  # no credentials: public
    assert wall.status_code == 200
    assert set(wall.json()) == {"lights"}
    assert wall.json()["lights"], "the wall shows the commands just sent"
    for entry in wall.json()["lights"]:
        assert set(entry) == {"pattern", "color", "time"}
    for value in secrets_of_sender:
        assert value not in wall.text
    # Even with the sender's token, the wall says nothing more.
    assert client.get("/api/lights", headers=sender.auth).json().keys() == {"lights"}


def rows_about(tables: TableServiceClient, values: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every row in any table whose keys or values contain one of `values`."""
    return [(name, row) for name, row in all_rows(tables) if any(value in row_text(row) for value in values)]


def test_erasure_leaves_no_row_about_the_caller(
    client: httpx.Client,
    github: GitHubStandIn,
    attendee: Callable[[], Attendee],
    tables: TableServiceClient,
    api: RunningApi,
) -> None:
    caller, bystander = attendee(), attendee()
    # Two sessions, commands from both, quota counters for both.
    second = sign_in(client, github, caller.user)
    from_second = client.post("/api/lights", headers=bearer(second), json={"pattern": "pulse", "color": "abcdef"})
    ids = [*send_lights(client, caller), from_second.json()["id"]]
    send_lights(client, bystander)
    data = my_data(client, caller)
    pseudonym = data["attendee"]["key"]
    # The pseudonym is the keyed hash of the GitHub id: recomputed here to search for it independently.
    assert pseudonym == api.services.keyed_hash.digest("github-id", str(caller.user.id))
    second_session = str(decode_part(second.split(".")[1])["sub"])
    about_caller = {pseudonym, caller.session_id, second_session}
    found_before = {name for name, _ in rows_about(tables, about_caller)}
    # One session for both sign-ins; the commands themselves are stored with no link to anyone.
    assert second_session == caller.session_id
    assert found_before == {"attendees", "sessions"}
    assert {name for name, _ in rows_about(tables, set(ids))} == {"lights"}
    bystander_rows = rows_about(tables, {bystander.session_id})

    assert client.delete("/api/me", headers=caller.auth).status_code == 204

    assert rows_about(tables, about_caller) == []
    assert rows_about(tables, {bystander.session_id}) == bystander_rows
    for token in (caller.token, second):
        assert client.get("/api/me", headers=bearer(token)).status_code == 401
    # Erasing again is refused (no session), not an error.
    assert client.delete("/api/me", headers=caller.auth).status_code == 401


def test_github_identity_never_reaches_tables_or_logs(
    client: httpx.Client,
    attendee: Callable[[], Attendee],
    tables: TableServiceClient,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    people = [attendee() for _ in range(3)]
    for who in people:
        send_lights(client, who, 1)
        my_data(client, who)
    # Failures log too: an unknown device code, a bad body, a bad token.
    client.post("/api/auth/token", json={"device_code": "b" * 40})
    client.post("/api/lights", headers=people[0].auth, json={"pattern": "nope", "color": "zzzzzz"})
    client.get("/api/me", headers=bearer(people[0].token + "x"))
    client.delete("/api/me", headers=people[1].auth)

    identities = {str(who.user.id) for who in people} | {who.user.login for who in people}
    rows = list(all_rows(tables))
    assert rows, "the tables hold the sessions and commands just made"
    for _, row in rows:
        text = row_text(row)
        assert not any(identity in text for identity in identities), row
    captured = capfd.readouterr()
    log_output = caplog.text + captured.out + captured.err
    assert caplog.records, "logging was captured (the check below is not vacuous)"
    for identity in identities:
        assert identity not in log_output
    for who in people:
        assert who.token not in log_output
