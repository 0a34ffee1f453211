"""A conference's worth of sign-ins against GitHub's real limits: 500 attendees, two hours, one GitHub trip each.

GitHub's device flow allowed 50 approvals an hour per app; with our own device flow on GitHub's web
flow, each attendee authorizes once and then lives on refresh tokens. The stand-in enforces GitHub's
web-flow limits (2,000 token requests per app per hour, 10 sign-ins per user per hour) on the same
simulated clock as the app.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from eventapi.auth.sign_in import QUEUE_SPREAD_SECONDS

from dev.github_standin import TOKEN_REQUESTS_PER_APP_PER_HOUR, GitHubStandIn, read_page
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
    sign_in_pair,
)

ATTENDEES = 500
# A crowd arriving: this many sign-ins a minute, under the app-wide cap below.
ARRIVALS_PER_MINUTE = 25
SIGN_INS_PER_MINUTE = 30
TOKEN_MINUTES = 10
EVENT_HOURS = 2
# Each attendee comes back to send a command this often: their access token has expired every time,
# so every visit is a refresh, then a command (six visits over the two hours).
VISIT_EVERY_MINUTES = 2 * TOKEN_MINUTES
VISITS = EVENT_HOURS * 60 // VISIT_EVERY_MINUTES
WORKERS = 8


@pytest.fixture
def clock() -> FakeClock:
    # A stretch of time no other test uses: counters are keyed by minute and shared through the tables.
    return FakeClock(UTC_2030 + timedelta(minutes=secrets.randbelow(10**7)))


@pytest.fixture
def standin(clock: FakeClock) -> Iterator[GitHubStandIn]:
    server = GitHubStandIn(port=0, enforce_limits=True, clock=lambda: clock().timestamp())
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def venue(azurite: AzuritePorts, standin: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    # The deployed defaults for the limits that matter here; every attendee comes from one address.
    running = make_api(
        azurite,
        standin,
        state_dir,
        clock,
        EVENTSTACK_SIGN_INS_PER_MINUTE=str(SIGN_INS_PER_MINUTE),
        EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="120",
        EVENTSTACK_COMMANDS_PER_MINUTE="30",
        EVENTSTACK_TOKEN_TTL_MINUTES=str(TOKEN_MINUTES),
        EVENTSTACK_MAX_CONCURRENT_REQUESTS="20",
        EVENTSTACK_MAX_OUTSTANDING_REQUESTS="200",
    )
    yield running
    running.stop()


@pytest.mark.slow(seconds=130)
def test_five_hundred_attendees_sign_in_once_and_last_two_hours(
    venue: RunningApi, standin: GitHubStandIn, clock: FakeClock
) -> None:
    client = venue.client()
    users = [User(900_000_000 + n, f"attendee-{n}") for n in range(ATTENDEES)]
    pairs: dict[int, dict[str, str]] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for start in range(0, ATTENDEES, ARRIVALS_PER_MINUTE):
            arriving = users[start : start + ARRIVALS_PER_MINUTE]
            for user, pair in zip(
                arriving, pool.map(lambda u: sign_in_pair(client, standin, u), arriving), strict=True
            ):
                pairs[user.id] = pair
            clock.advance(timedelta(minutes=1))
        assert standin.state.authorizations == ATTENDEES

        def stay(pair: dict[str, str]) -> tuple[dict[str, str], int]:
            renewed = client.post("/api/auth/token", json={"refresh_token": pair["refresh_token"]})
            assert renewed.status_code == 200, renewed.text
            fresh: dict[str, str] = renewed.json()
            sent = client.post(
                "/api/lights", headers=bearer(fresh["access_token"]), json={"pattern": "pulse", "color": "00ff88"}
            )
            return fresh, sent.status_code

        statuses: Counter[int] = Counter()
        for _ in range(VISITS):
            clock.advance(timedelta(minutes=VISIT_EVERY_MINUTES))
            # The token an attendee kept since the last visit no longer opens the API; the refresh does.
            stale = next(iter(pairs.values()))["access_token"]
            assert client.get("/api/me", headers=bearer(stale)).status_code == 401
            results = list(pool.map(stay, pairs.values()))
            pairs = {user_id: fresh for user_id, (fresh, _) in zip(pairs, results, strict=True)}
            statuses.update(status for _, status in results)

    # Every attendee kept going on refresh tokens alone: not one more trip to GitHub.
    assert standin.state.authorizations == ATTENDEES
    assert statuses == Counter({202: ATTENDEES * VISITS})
    token_requests = sum(len(times) for times in standin.state.token_requests.values())
    assert token_requests == ATTENDEES < TOKEN_REQUESTS_PER_APP_PER_HOUR


def test_twenty_attendees_behind_one_address_sign_in_within_a_minute(venue: RunningApi, standin: GitHubStandIn) -> None:
    client = venue.client()
    users = [User(800_000_000 + n, f"nat-{n}") for n in range(20)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pairs = list(pool.map(lambda u: sign_in_pair(client, standin, u), users))
    assert len({p["access_token"] for p in pairs}) == 20
    for pair in pairs:
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200


def test_past_the_app_wide_cap_sign_ins_wait_and_github_is_not_asked(
    venue: RunningApi, standin: GitHubStandIn, clock: FakeClock
) -> None:
    client = venue.client()
    codes = [client.post("/api/auth/device").json() for _ in range(SIGN_INS_PER_MINUTE + 5)]
    browsers = [api_client(venue.url) for _ in codes]
    onward = [confirm(browser, c["user_code"]) for browser, c in zip(browsers, codes, strict=True)]
    # Confirming costs the app-wide budget nothing: every browser goes on to GitHub.
    assert Counter(r.status_code for r in onward) == Counter({303: SIGN_INS_PER_MINUTE + 5})
    backs = [
        standin.authorize(dict(httpx.URL(r.headers["location"]).params), {"id": 810_000_000 + n, "login": f"cap-{n}"})
        for n, r in enumerate(onward)
    ]
    landed = [browser.get(str(back)) for browser, back in zip(browsers, backs, strict=True)]
    waiting = [page for page in landed if read_page(page.text).refresh is not None]
    assert len(waiting) == 5 and all(page.status_code == 200 for page in landed)
    # Until the budget renews (at most a minute), plus the browser's share of the queue's spread.
    assert 1 <= int(waiting[0].headers["retry-after"]) <= 60 + QUEUE_SPREAD_SECONDS
    # GitHub's token endpoint was asked exactly as often as the budget allows, not once more.
    assert sum(len(times) for times in standin.state.token_requests.values()) == SIGN_INS_PER_MINUTE
    clock.advance(timedelta(minutes=1))
    queued = [(b, p) for b, p in zip(browsers, landed, strict=True) if read_page(p.text).refresh is not None]
    for browser, page in queued:
        refresh = read_page(page.text).refresh
        assert refresh is not None
        assert "Signed in" in browser.get(refresh[1]).text
