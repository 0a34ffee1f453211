"""Behind the edge the per-IP limits count the address Front Door reports, and only that.

A caller writes X-Forwarded-For, X-Azure-ClientIP and even its own X-Azure-SocketIP; none of them
may choose whose counter a request spends. Locally the tests play the edge: they add the
X-Azure-SocketIP value Front Door would add, after whatever the caller sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from eventapi.deps import UNKNOWN_CLIENT, edge_client_ip
from eventapi.settings import SettingsError, load_settings

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import UTC_2030, FakeClock, RunningApi, make_api

pytestmark = pytest.mark.azurite

LIMIT = 3
ATTENDEE = "198.51.100.20"  # the address whose counter an attacker would like to spend
ATTACKER = "203.0.113.66"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(UTC_2030 + timedelta(minutes=secrets.randbelow(10**6), seconds=20))


def _edge_api(
    azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock, behind: str
) -> RunningApi:
    return make_api(
        azurite,
        github,
        state_dir,
        clock,
        EVENTSTACK_AUTH_REQUESTS_PER_MINUTE=str(LIMIT),
        EVENTSTACK_BEHIND_EDGE=behind,
    )


@pytest.fixture
def edge_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    running = _edge_api(azurite, github, state_dir, clock, "true")
    yield running
    running.stop()


@pytest.fixture
def open_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    running = _edge_api(azurite, github, state_dir, clock, "false")
    yield running
    running.stop()


def _via_edge(client: httpx.Client, socket_ip: str, forged: dict[str, str] | None = None) -> int:
    """POST /api/auth/device as Front Door forwards it: the caller's headers, then the edge's own."""
    headers = [(name, value) for name, value in (forged or {}).items()]
    headers.append(("X-Azure-SocketIP", socket_ip))
    return client.post("/api/auth/device", headers=headers).status_code


def _forged(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "X-Azure-ClientIP": address, "X-Azure-SocketIP": address}


def test_forged_headers_do_not_spend_someone_elses_counter(edge_api: RunningApi) -> None:
    client = edge_api.client()
    assert _via_edge(client, ATTENDEE) == 200
    # The attacker names the attendee in every header it can write; the edge reports the attacker.
    statuses = [_via_edge(client, ATTACKER, _forged(ATTENDEE)) for _ in range(LIMIT + 2)]
    assert statuses == [200] * LIMIT + [429, 429]
    # The attendee's own counter is untouched: two more requests still fit.
    assert [_via_edge(client, ATTENDEE) for _ in range(LIMIT - 1)] == [200] * (LIMIT - 1)
    assert _via_edge(client, ATTENDEE) == 429


def test_forged_headers_do_not_escape_the_callers_own_counter(edge_api: RunningApi, clock: FakeClock) -> None:
    client = edge_api.client()
    # A fresh forged address on every request: a counter per request would never fill.
    statuses = [_via_edge(client, ATTACKER, _forged(f"192.0.2.{n}")) for n in range(LIMIT + 1)]
    assert statuses == [200] * LIMIT + [429]
    clock.advance(timedelta(minutes=1))
    assert _via_edge(client, ATTACKER, _forged("192.0.2.99")) == 200


def test_without_the_edges_header_every_request_shares_one_counter(edge_api: RunningApi) -> None:
    client = edge_api.client()
    statuses = [
        client.post("/api/auth/device", headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses == [200] * LIMIT + [429]


def test_without_the_edge_locally_the_socket_peer_counts_not_the_headers(open_api: RunningApi) -> None:
    client = open_api.client()
    statuses = [client.post("/api/auth/device", headers=_forged(f"192.0.2.{n}")).status_code for n in range(LIMIT + 1)]
    assert statuses == [200] * LIMIT + [429]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["198.51.100.20"], "198.51.100.20"),
        (["203.0.113.66", "198.51.100.20"], "198.51.100.20"),  # a caller's copy comes first
        (["203.0.113.66, 198.51.100.20"], "198.51.100.20"),
        (["198.51.100.20:51234"], "198.51.100.20"),
        (["[2001:db8::1]:443"], "2001:db8::1"),
        (["2001:db8::1"], "2001:db8::1"),
        ([], UNKNOWN_CLIENT),
        (["not-an-address"], UNKNOWN_CLIENT),
        (["198.51.100.20, junk"], UNKNOWN_CLIENT),
    ],
)
def test_the_edge_address_is_the_last_value_front_door_added(values: list[str], expected: str) -> None:
    assert edge_client_ip(values) == expected


def test_the_behind_edge_setting_is_true_or_false(tmp_path: Path) -> None:
    from dev.local import api_environment, new_client_secret

    env = api_environment(7071, "http://127.0.0.1:7072", AzuritePorts(1, 2, 3), tmp_path, new_client_secret())
    assert load_settings(env).behind_edge is False
    assert load_settings({**env, "EVENTSTACK_BEHIND_EDGE": "true"}).behind_edge is True
    with pytest.raises(SettingsError, match="EVENTSTACK_BEHIND_EDGE"):
        load_settings({**env, "EVENTSTACK_BEHIND_EDGE": "yes"})
