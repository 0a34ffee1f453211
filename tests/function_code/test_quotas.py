"""Quotas: 429 with Retry-After once a window is full, and recovery in the next window (injected clock)."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from eventapi.auth.sign_in import QUEUE_SPREAD_SECONDS, queue_wait
from eventapi.quotas import QuotaExceeded, Quotas
from eventapi.storage.counters import HOT_SHARDS, CounterStore
from eventapi.storage.sessions import SessionStore
from eventapi.storage.tables import QUOTAS, Conflict, Tables, etag_of

from dev.github_standin import GitHubStandIn, read_page
from dev.local import AzuritePorts
from tests.function_code.conftest import (
    UTC_2030,
    FakeClock,
    RunningApi,
    User,
    api_client,
    bearer,
    confirm,
    make_api,
    sign_in,
)

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


def test_a_spent_github_budget_queues_the_browser_step_and_the_device_keeps_polling(
    tight_api: RunningApi, github: GitHubStandIn, clock: FakeClock, new_user: Callable[[], User]
) -> None:
    client = tight_api.client()
    codes = [client.post("/api/auth/device").json() for _ in range(4)]
    landed = []
    for started in codes:
        browser = api_client(tight_api.url)
        onward = confirm(browser, started["user_code"])
        # Confirming is charged to the user code, not to the app-wide GitHub budget.
        assert onward.status_code == 303
        user = new_user()
        query = dict(httpx.URL(onward.headers["location"]).params)
        back = github.authorize(query, {"id": user.id, "login": user.login})
        assert isinstance(back, str)
        landed.append((browser, browser.get(back)))
    # EVENTSTACK_SIGN_INS_PER_MINUTE=3: the fourth exchange waits for the next minute on a page that
    # retries by itself; it is not an error.
    assert [page.status_code for _, page in landed] == [200] * 4
    browser, waiting = landed[3]
    refresh = read_page(waiting.text).refresh
    assert refresh is not None, waiting.text
    # The budget renews in 40 s; each queued browser then waits its share of the spread.
    assert 40 <= refresh[0] <= 40 + QUEUE_SPREAD_SECONDS
    assert waiting.headers["retry-after"] == str(int(refresh[0]))
    assert "<script" not in waiting.text
    polled = client.post("/api/auth/token", json={"device_code": codes[3]["device_code"]})
    assert polled.json()["error"] == "authorization_pending"
    clock.advance(timedelta(seconds=refresh[0]))
    again = browser.get(refresh[1])
    assert again.status_code == 200 and "Signed in" in again.text
    assert "access_token" in client.post("/api/auth/token", json={"device_code": codes[3]["device_code"]}).json()


def test_queued_browsers_come_back_spread_over_half_a_window() -> None:
    waits = [queue_wait(40) for _ in range(2000)]
    assert min(waits) >= 40 and max(waits) <= 40 + QUEUE_SPREAD_SECONDS
    # Spread, not bunched: each third of the spread gets a good share of two thousand browsers.
    thirds = Counter((wait - 40) * 3 // (QUEUE_SPREAD_SECONDS + 1) for wait in waits)
    assert sorted(thirds) == [0, 1, 2] and min(thirds.values()) > 500, thirds
    assert QUEUE_SPREAD_SECONDS <= 30  # half a window: the whole budget stays with the queue


def test_counter_update_loses_a_race_instead_of_double_counting(store: Tables) -> None:
    subject, window = f"test-{secrets.token_hex(8)}", "000000000001"
    row_key = f"{window}-00"  # the only shard of an unsharded counter
    counters = CounterStore(store)
    assert counters.take(subject, window, 5, UTC_2030)
    stale = store.get(QUOTAS, subject, row_key)
    assert stale is not None
    store.replace(QUOTAS, {"PartitionKey": subject, "RowKey": row_key, "count": 2}, etag_of(stale))
    with pytest.raises(Conflict):
        store.replace(QUOTAS, {"PartitionKey": subject, "RowKey": row_key, "count": 2}, etag_of(stale))
    with pytest.raises(Conflict):
        store.create(QUOTAS, {"PartitionKey": subject, "RowKey": row_key, "count": 1})
    row = store.get(QUOTAS, subject, row_key)
    assert row is not None and row["count"] == 2


@pytest.mark.parametrize("shards", [1, HOT_SHARDS])
def test_racing_takes_count_exactly_the_limit_and_contention_is_never_full(store: Tables, shards: int) -> None:
    counters = CounterStore(store)
    subject, window = f"test-{secrets.token_hex(8)}", "000000000001"
    with ThreadPoolExecutor(max_workers=16) as pool:
        under = list(pool.map(lambda _: counters.take(subject, window, 100, UTC_2030, shards=shards), range(80)))
        # Sixteen racers, eighty takes under a limit of 100: every one is counted, none refused.
        assert under == [True] * 80
        assert not counters.spent(subject, window, 100, shards=shards)
        over = list(pool.map(lambda _: counters.take(subject, window, 100, UTC_2030, shards=shards), range(40)))
    assert over.count(True) == 20 and counters.spent(subject, window, 100, shards=shards)


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
