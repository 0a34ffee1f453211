"""Quotas: 429 with Retry-After once a window is full, and recovery in the next window (injected clock)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from eventapi.quotas import QuotaExceeded, Quotas
from eventapi.storage.counters import CounterStore
from eventapi.storage.sessions import SessionStore
from eventapi.storage.tables import QUOTAS, Conflict, Tables, etag_of

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import UTC_2030, FakeClock, RunningApi, User, bearer, make_api, sign_in

pytestmark = pytest.mark.azurite


@pytest.fixture
def clock() -> FakeClock:
    # A minute no other test uses, 20 s into it, so the first window has 40 s left.
    return FakeClock(UTC_2030 + timedelta(minutes=secrets.randbelow(10**6), seconds=20))


@pytest.fixture
def tight_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    running = make_api(
        azurite,
        github,
        state_dir,
        clock,
        EVENTSTACK_COMMANDS_PER_MINUTE="3",
        EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="4",
        EVENTSTACK_SIGN_INS_PER_MINUTE="3",
    )
    yield running
    running.stop()


def test_commands_per_attendee_are_limited_and_recover(
    tight_api: RunningApi, github: GitHubStandIn, clock: FakeClock, new_user: Callable[[], User]
) -> None:
    client = tight_api.client()
    token = sign_in(client, github, new_user())
    command = {"pattern": "solid", "color": "ff0000"}
    statuses = [client.post("/api/lights", json=command, headers=bearer(token)).status_code for _ in range(3)]
    assert statuses == [202, 202, 202]
    refused = client.post("/api/lights", json=command, headers=bearer(token))
    assert (refused.status_code, refused.json()) == (429, {"error": "too_many_requests"})
    assert refused.headers["retry-after"] == "40"
    clock.advance(timedelta(seconds=40))
    # The refused command was not counted as sent.
    assert client.get("/api/me", headers=bearer(token)).json()["commands_sent"] == 3
    assert client.post("/api/lights", json=command, headers=bearer(token)).status_code == 202


def test_more_sign_ins_do_not_raise_an_attendees_command_quota(
    tight_api: RunningApi, github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    client = tight_api.client()
    user = new_user()
    # Three devices of one attendee: one session, one counter for all of them.
    tokens = [sign_in(client, github, user) for _ in range(3)]
    command = {"pattern": "blink", "color": "00ff00"}
    statuses = [client.post("/api/lights", json=command, headers=bearer(t)).status_code for t in tokens]
    assert statuses == [202, 202, 202]
    for token in tokens:
        assert client.post("/api/lights", json=command, headers=bearer(token)).status_code == 429


def test_sign_in_starts_per_client_ip_are_limited_and_polls_are_not(tight_api: RunningApi, clock: FakeClock) -> None:
    client = tight_api.client()
    statuses = [client.post("/api/auth/device").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
    refused = client.post("/api/auth/device")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 40
    # Polling is paced per device code, never charged to the address: a crowd behind one NAT
    # polling its codes does not lock each other out.
    polled = client.post("/api/auth/token", json={"device_code": "a" * 43})
    assert (polled.status_code, polled.json()["error"]) == (400, "invalid_grant")
    clock.advance(timedelta(minutes=1))
    assert client.post("/api/auth/device").status_code == 200


def test_the_app_wide_github_budget_stops_the_browser_step_not_the_devices(
    tight_api: RunningApi, github: GitHubStandIn, clock: FakeClock
) -> None:
    client = tight_api.client()
    codes = [client.post("/api/auth/device").json()["user_code"] for _ in range(4)]
    sent = [client.get("/api/auth/github", params={"user_code": c}).status_code for c in codes]
    # EVENTSTACK_SIGN_INS_PER_MINUTE=3: the fourth trip to GitHub waits for the next minute.
    assert sent == [303, 303, 303, 429]
    clock.advance(timedelta(minutes=1))
    assert client.get("/api/auth/github", params={"user_code": codes[3]}).status_code == 303


def test_counter_update_loses_a_race_instead_of_double_counting(store: Tables) -> None:
    subject, window = f"test-{secrets.token_hex(8)}", "000000000001"
    counters = CounterStore(store)
    assert counters.take(subject, window, 5, UTC_2030)
    stale = store.get(QUOTAS, subject, window)
    assert stale is not None
    store.replace(QUOTAS, {"PartitionKey": subject, "RowKey": window, "count": 2}, etag_of(stale))
    with pytest.raises(Conflict):
        store.replace(QUOTAS, {"PartitionKey": subject, "RowKey": window, "count": 2}, etag_of(stale))
    with pytest.raises(Conflict):
        store.create(QUOTAS, {"PartitionKey": subject, "RowKey": window, "count": 1})
    row = store.get(QUOTAS, subject, window)
    assert row is not None and row["count"] == 2


def test_quotas_count_across_instances_sharing_the_table(store: Tables, clock: FakeClock) -> None:
    # Two Quotas objects (fresh stores: no shared memory) stand for two app instances.
    first = Quotas(CounterStore(store), SessionStore(store), clock)
    second = Quotas(CounterStore(store), SessionStore(store), clock)
    subject = f"ip-{secrets.token_hex(16)}"
    first.take(subject, 3)
    second.take(subject, 3)
    first.take(subject, 3)
    with pytest.raises(QuotaExceeded) as raised:
        second.take(subject, 3)
    assert raised.value.retry_after == 40


def test_attendee_command_quota_holds_across_instances(store: Tables, clock: FakeClock) -> None:
    sessions_a, sessions_b = SessionStore(store), SessionStore(store)
    session = sessions_a.sign_in(
        secrets.token_hex(32),
        "k",
        now=clock(),
        expires_at=clock() + timedelta(hours=1),
        family_id="f" * 32,
        token_hash="h",
        max_families=5,
    )
    first, second = Quotas(CounterStore(store), sessions_a, clock), Quotas(CounterStore(store), sessions_b, clock)
    first.take_command(session.session_id, 3)
    second.take_command(session.session_id, 3)
    # `first` still holds the ETag it wrote: its conditional write fails, it re-reads, and counts 3.
    first.take_command(session.session_id, 3)
    with pytest.raises(QuotaExceeded):
        second.take_command(session.session_id, 3)
    with pytest.raises(QuotaExceeded):
        first.take_command(session.session_id, 3)


def test_access_and_erasure_count_against_the_attendees_quota_but_are_not_commands(
    tight_api: RunningApi, github: GitHubStandIn, clock: FakeClock, new_user: Callable[[], User]
) -> None:
    client = tight_api.client()
    token = sign_in(client, github, new_user())
    answers = [client.get("/api/me", headers=bearer(token)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert {a.json()["commands_sent"] for a in answers[:3]} == {0}
    assert client.delete("/api/me", headers=bearer(token)).status_code == 429
    clock.advance(timedelta(minutes=1))
    assert client.delete("/api/me", headers=bearer(token)).status_code == 204
