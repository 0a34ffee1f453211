"""Bounded bursts against the live local server, well over the per-session and per-IP quotas and the
concurrency limits: refusals are 429 with Retry-After, nothing is a 5xx, the server stays up, and
every accepted command is stored. Loopback only; counts are bounded and nothing is timed.

The server runs on a fixed clock (FakeClock) so each burst falls in one quota window: the quota
arithmetic is then exact, whatever the machine's speed.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import FakeClock, RunningApi, User, bearer, make_api, sign_in

COMMANDS_PER_MINUTE = 10
AUTH_REQUESTS_PER_MINUTE = 20
MAX_CONCURRENT = 4
MAX_OUTSTANDING = 8
SESSIONS = 4
COMMANDS_PER_SESSION = 40  # four times the quota
AUTH_BURST = 60  # three times the per-IP quota
WORKERS = 32
# The clock sits 15 s into a minute: a quota refusal says to come back in the other 45.
SECONDS_INTO_WINDOW = 15
QUOTA_RETRY_AFTER = str(60 - SECONDS_INTO_WINDOW)
# Bounded waiting for the server to see (or drop) held connections; not a pass/fail timing.
POLL_ATTEMPTS = 60
POLL_PAUSE_SECONDS = 0.05
PROBE_TIMEOUT_SECONDS = 0.5
ADMISSION_ATTEMPTS = 400
# What the in-process concurrency guard answers with, as opposed to the quotas.
GUARD_RETRY_AFTER = "1"


@dataclass
class LoadTarget:
    """A server with low limits on a fixed clock; each test moves the clock to a fresh window."""

    api: RunningApi
    clock: FakeClock
    github: GitHubStandIn

    def fresh_window(self) -> None:
        """Jump to SECONDS_INTO_WINDOW past a minute no earlier test has used."""
        now = self.clock() + timedelta(minutes=10)
        self.clock.now = now.replace(second=SECONDS_INTO_WINDOW, microsecond=0)


@pytest.fixture(scope="module")
def target(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[LoadTarget]:
    clock = FakeClock(datetime(2031, 3, 4, 9, 0, SECONDS_INTO_WINDOW, tzinfo=UTC))
    running = make_api(
        azurite,
        github,
        state_dir,
        clock,
        EVENTSTACK_COMMANDS_PER_MINUTE=str(COMMANDS_PER_MINUTE),
        EVENTSTACK_AUTH_REQUESTS_PER_MINUTE=str(AUTH_REQUESTS_PER_MINUTE),
        EVENTSTACK_MAX_CONCURRENT_REQUESTS=str(MAX_CONCURRENT),
        EVENTSTACK_MAX_OUTSTANDING_REQUESTS=str(MAX_OUTSTANDING),
    )
    yield LoadTarget(running, clock, github)
    running.stop()


def _no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, response.request.url.path, response.status_code)


@pytest.fixture
def burst_client(target: LoadTarget) -> Iterator[httpx.Client]:
    """A client with a connection per worker that fails the test on any 5xx."""
    with httpx.Client(
        base_url=target.api.url,
        timeout=30,
        limits=httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS),
        event_hooks={"response": [_no_server_error]},
    ) as client:
        yield client


def until_admitted(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, int]:
    """Call until the concurrency guard lets the request in (its 429s say Retry-After: 1, and a
    well-behaved client retries); returns the final answer and how many times the guard refused."""
    refused = 0
    for _ in range(ADMISSION_ATTEMPTS):
        response = call()
        if not (response.status_code == 429 and response.headers.get("retry-after") == GUARD_RETRY_AFTER):
            return response, refused
        assert_throttled(response)
        refused += 1
        time.sleep(POLL_PAUSE_SECONDS)
    return response, refused


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.json()["error"] == "too_many_requests"
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, retry_after


def test_a_command_burst_over_the_session_quota_loses_nothing_accepted(
    target: LoadTarget, burst_client: httpx.Client, new_user: Callable[[], User]
) -> None:
    target.fresh_window()
    client = burst_client
    tokens = [sign_in(client, target.github, new_user()) for _ in range(SESSIONS)]
    colors = [f"{n:06x}" for n in range(SESSIONS * COMMANDS_PER_SESSION)]
    jobs = [(tokens[n % SESSIONS], color) for n, color in enumerate(colors)]

    def send(job: tuple[str, str]) -> tuple[str, httpx.Response, int]:
        token, color = job
        body = {"pattern": "chase", "color": color}
        response, refused = until_admitted(lambda: client.post("/api/lights", headers=bearer(token), json=body))
        return token, response, refused

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(send, jobs))

    statuses = Counter(response.status_code for _, response, _ in results)
    assert set(statuses) <= {202, 429}, statuses
    for _, response, _ in results:
        if response.status_code == 429:
            assert_throttled(response)
            # Past the guard, every refusal is the quota's, saying when the window reopens.
            assert response.headers["retry-after"] == QUOTA_RETRY_AFTER

    assert client.get("/api/health").status_code == 200
    # Reading one's data counts against the same quota: it waits for the next window too.
    target.clock.advance(timedelta(minutes=1))
    for token in tokens:
        accepted = {r.json()["id"] for t, r, _ in results if t == token and r.status_code == 202}
        assert 1 <= len(accepted) <= COMMANDS_PER_MINUTE
        mine = client.get("/api/me", headers=bearer(token))
        assert mine.status_code == 200
        # Every 202 is counted, and nothing refused was.
        assert mine.json()["commands_sent"] == len(accepted)
    wall = client.get("/api/lights").json()["lights"]
    accepted_colors = {job[1] for job, (_, r, _) in zip(jobs, results, strict=True) if r.status_code == 202}
    assert len(wall) == len(accepted_colors) == statuses[202]
    assert {entry["color"] for entry in wall} == accepted_colors

    # The new window lets each attendee in again.
    for token in tokens:
        again = client.post("/api/lights", headers=bearer(token), json={"pattern": "solid", "color": "00ff00"})
        assert again.status_code == 202


def test_a_sign_in_burst_over_the_per_ip_quota_is_throttled(target: LoadTarget, burst_client: httpx.Client) -> None:
    target.fresh_window()
    client = burst_client
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(lambda _: until_admitted(lambda: client.post("/api/auth/device")), range(AUTH_BURST)))
    responses = [response for response, _ in outcomes]
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 429}, statuses
    assert 1 <= statuses[200] <= AUTH_REQUESTS_PER_MINUTE
    for response in responses:
        if response.status_code == 429:
            assert_throttled(response)
            assert response.headers["retry-after"] == QUOTA_RETRY_AFTER
    # Polls are paced per device code, not charged to the address: the crowd behind one NAT who
    # already hold codes keep polling while new starts wait for the next window.
    exchange = client.post("/api/auth/token", json={"device_code": "a" * 43})
    assert (exchange.status_code, exchange.json()["error"]) == (400, "invalid_grant")
    assert client.get("/api/health").status_code == 200
    target.clock.advance(timedelta(minutes=1))
    assert client.post("/api/auth/device").status_code == 200


def _hold_request(port: int) -> socket.socket:
    """A slow client: a POST whose headers promise a body that never arrives."""
    held = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.sendall(
        b"POST /api/lights HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 200\r\n\r\n{"pattern": '
    )
    return held


def _probe(client: httpx.Client) -> httpx.Response | None:
    try:
        return client.get("/api/health", timeout=PROBE_TIMEOUT_SECONDS)
    except httpx.TimeoutException:
        return None  # queued behind the held requests: it counts as outstanding too


def _poll(client: httpx.Client, wanted: int) -> httpx.Response | None:
    for _ in range(POLL_ATTEMPTS):
        response = _probe(client)
        if response is not None and response.status_code == wanted:
            return response
        time.sleep(POLL_PAUSE_SECONDS)
    return None


def test_slow_clients_over_the_concurrency_limit_get_429_and_the_server_recovers(target: LoadTarget) -> None:
    client = target.api.client()
    port = int(target.api.url.rsplit(":", 1)[1])
    assert client.get("/api/health").status_code == 200
    # More requests in flight than the guard lets wait: the next caller is turned away at once.
    held = [_hold_request(port) for _ in range(MAX_OUTSTANDING + 1)]
    try:
        refused = _poll(client, 429)
        assert refused is not None, "the concurrency guard never refused"
        assert_throttled(refused)
        assert refused.headers["retry-after"] == GUARD_RETRY_AFTER
        light = client.post("/api/lights", json={"pattern": "solid", "color": "ffffff"}, timeout=PROBE_TIMEOUT_SECONDS)
        assert_throttled(light)
    finally:
        for connection in held:
            connection.close()
    recovered = _poll(client, 200)
    assert recovered is not None and recovered.json() == {"status": "ok"}
    assert client.get("/api/lights").status_code == 200
