"""Quotas: 429 with Retry-After once a window is full, and recovery in the next window (injected clock)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from eventapi.quotas import QuotaExceeded, Quotas
from eventapi.store import Counter, TableStore

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
    )
    yield running
    running.stop()


def test_commands_per_session_are_limited_and_recover(
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
    # The refused command was not stored.
    assert len(client.get("/api/me", headers=bearer(token)).json()["lights"]) == 3

    clock.advance(timedelta(seconds=40))
    assert client.post("/api/lights", json=command, headers=bearer(token)).status_code == 202


def test_sign_in_requests_per_client_ip_are_limited_and_recover(tight_api: RunningApi, clock: FakeClock) -> None:
    client = tight_api.client()
    statuses = [client.post("/api/auth/device").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
    refused = client.post("/api/auth/token", json={"device_code": "a" * 40})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 40
    assert client.post("/api/auth/device").status_code == 429
    clock.advance(timedelta(minutes=1))
    assert client.post("/api/auth/device").status_code == 200


def test_counter_update_loses_a_race_instead_of_double_counting(store: TableStore) -> None:
    subject, window = f"test-{secrets.token_hex(8)}", "000000000001"
    store.write_counter(subject, window, Counter(0, None), UTC_2030)
    stale = store.read_counter(subject, window)
    store.write_counter(subject, window, stale, UTC_2030)
    from eventapi.store import Conflict

    with pytest.raises(Conflict):
        store.write_counter(subject, window, stale, UTC_2030)
    with pytest.raises(Conflict):
        store.write_counter(subject, window, Counter(0, None), UTC_2030)
    assert store.read_counter(subject, window).count == 2


def test_quotas_count_across_instances_sharing_the_table(store: TableStore, clock: FakeClock) -> None:
    # Two Quotas objects stand for two app instances: the limit holds across both.
    first, second = Quotas(store, clock), Quotas(store, clock)
    subject = f"session-{secrets.token_hex(16)}"
    first.take(subject, 3)
    second.take(subject, 3)
    first.take(subject, 3)
    with pytest.raises(QuotaExceeded) as raised:
        second.take(subject, 3)
    assert raised.value.retry_after == 40
