"""Sign-in is the door every attendee passes: nobody can switch it off, and it drops nobody on the way.

Each test is an attack (or a crowd) from a review of the browser step, run against the live API on
Azurite with the GitHub stand-in: junk and replays cost the attacker, not the venue; a callback
works only in the browser that started it; busy counters never read as full; a slow GitHub and a
polling device do not lose a consent; erasure wins its race with a sign-in; a keynote wave waits
in a queue instead of failing.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.data.tables import TableServiceClient
from eventapi.storage.sessions import SESSION_ROW, SessionGone, SessionStore
from eventapi.storage.tables import SESSIONS, Tables

from dev.github_standin import GitHubStandIn
from dev.http import http_client
from dev.local import AzuritePorts
from tests.function_code.conftest import (
    UTC_2030,
    FakeClock,
    RunningApi,
    User,
    api_client,
    approve,
    bearer,
    confirm,
    make_api,
    rows_mentioning,
    sign_in_pair,
    start_sign_in,
)

pytestmark = pytest.mark.azurite

VENUE_STARTS_PER_MINUTE = 120
GITHUB_BUDGET = 30


@pytest.fixture
def clock() -> FakeClock:
    # The start of a minute no other test uses: every request of a test falls in one window.
    return FakeClock(UTC_2030 + timedelta(minutes=secrets.randbelow(10**7)))


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    """A stand-in of the test's own, so that its token endpoint's calls are this test's alone."""
    server = GitHubStandIn(port=0)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def _venue(azurite: AzuritePorts, standin: GitHubStandIn, state_dir: Path, clock: FakeClock, **env: str) -> RunningApi:
    settings = {
        "EVENTSTACK_AUTH_REQUESTS_PER_MINUTE": str(VENUE_STARTS_PER_MINUTE),
        "EVENTSTACK_SIGN_INS_PER_MINUTE": str(GITHUB_BUDGET),
        **env,
    }
    return make_api(azurite, standin, state_dir, clock, **settings)


@pytest.fixture
def venue(azurite: AzuritePorts, standin: GitHubStandIn, state_dir: Path, clock: FakeClock) -> Iterator[RunningApi]:
    running = _venue(azurite, standin, state_dir, clock)
    yield running
    running.stop()


def _token_calls(standin: GitHubStandIn, api: RunningApi) -> int:
    """How often the app called the stand-in's token endpoint (GitHub's hourly budget)."""
    with standin.state.lock:
        return len(standin.state.token_requests[api.services.settings.github_client_id])


def _user(n: int) -> User:
    return User(700_000_000 + secrets.randbelow(10**8) * 10 + n % 10, f"door-{n}-{secrets.token_hex(3)}")


def _junk_state() -> str:
    return f"{secrets.token_hex(32)}.{secrets.token_urlsafe(32)}"


def _junk_code() -> str:
    letters = "BCDFGHJKLMNPQRSTVWXZ"
    chars = "".join(random.choice(letters) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


# 1. Junk browser steps spend the prober's budget, not the venue's or GitHub's


def test_junk_browser_steps_from_one_address_leave_an_attendees_sign_in_working(
    venue: RunningApi, standin: GitHubStandIn
) -> None:
    prober = venue.client()
    answers: Counter[int] = Counter()
    for _ in range(60):
        answers[prober.get("/api/auth/github", params={"user_code": _junk_code()}).status_code] += 1
        answers[prober.get("/api/auth/verify", params={"user_code": _junk_code()}).status_code] += 1
        answers[prober.get("/api/auth/callback", params={"code": "junk", "state": _junk_state()}).status_code] += 1
        answers[prober.post("/api/auth/github", data={"user_code": _junk_code(), "csrf": "0" * 64}).status_code] += 1
    # The prober ran out of unknown codes; nothing it sent reached GitHub.
    assert answers[429] > 0, answers
    assert _token_calls(standin, venue) == 0

    # An attendee behind the same address signs in at once.
    client = api_client(venue.url)
    pair = sign_in_pair(client, standin, _user(1))
    assert pair["access_token"]
    assert _token_calls(standin, venue) == 1


# 2. A browser step is used once: replayed callbacks find nothing and never reach GitHub


@pytest.mark.slow(seconds=40)
def test_two_thousand_replayed_callbacks_cause_at_most_one_call_to_githubs_token_endpoint(
    venue: RunningApi, standin: GitHubStandIn
) -> None:
    client = venue.client()
    started = start_sign_in(client)
    browser = api_client(venue.url)  # the attacker's own browser: the cookie is theirs
    onward = confirm(browser, started["user_code"])
    assert onward.status_code == 303
    query = dict(httpx.URL(onward.headers["location"]).params)
    back = httpx.URL(str(standin.authorize(query, {"id": 42, "login": "replayer"})))
    state = back.params["state"]

    first = browser.get("/api/auth/callback", params={"code": "refused-by-github", "state": state})
    assert first.status_code == 400  # GitHub refused the code; the step is over

    def replay(_: int) -> int:
        return browser.get("/api/auth/callback", params={"code": secrets.token_hex(10), "state": state}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(replay, range(2000)))
    assert set(statuses) <= {404, 429}, statuses
    assert _token_calls(standin, venue) <= 1
    assert (
        started["device_code"]
        and client.post("/api/auth/token", json={"device_code": started["device_code"]}).json()["error"]
        == "authorization_pending"
    )

    # The app's GitHub budget is intact: the next attendee signs in.
    assert sign_in_pair(api_client(venue.url), standin, _user(2))["access_token"]


# 3. Login CSRF: an authorize URL completed in someone else's browser approves nothing


def test_the_attackers_authorize_url_completed_in_a_victims_browser_approves_nothing(
    venue: RunningApi, standin: GitHubStandIn
) -> None:
    attacker = venue.client()
    started = start_sign_in(attacker)
    attacker_browser = api_client(venue.url)
    onward = confirm(attacker_browser, started["user_code"])
    assert onward.status_code == 303
    query = dict(httpx.URL(onward.headers["location"]).params)

    # The victim opens the attacker's link; GitHub skips its consent screen for a returning user.
    victim = {"id": 583_231_001, "login": "victim"}
    back = str(standin.authorize(query, victim))
    victim_browser = api_client(venue.url)
    landed = victim_browser.get(back)
    assert landed.status_code == 400
    assert "not started in this browser" in landed.text

    # The victim holding a cookie of a sign-in of their own changes nothing.
    confirm(victim_browser, start_sign_in(api_client(venue.url))["user_code"])
    assert victim_browser.get(str(standin.authorize(query, victim))).status_code in (400, 404)

    polled = attacker.post("/api/auth/token", json={"device_code": started["device_code"]})
    assert polled.json()["error"] == "authorization_pending"
    assert _token_calls(standin, venue) == 0


def test_nothing_but_the_confirmation_form_of_this_browser_starts_githubs_flow(venue: RunningApi) -> None:
    started = start_sign_in(venue.client())
    code = str(started["user_code"])
    # A link (GET) is not a confirmation.
    assert venue.client().get("/api/auth/github", params={"user_code": code}).status_code == 405
    # A cross-site form post carries no cookie of ours, and no valid token.
    stranger = api_client(venue.url)
    assert stranger.post("/api/auth/github", data={"user_code": code, "csrf": "a" * 64}).status_code == 400
    # A token issued to another browser does not work with this browser's cookie.
    one, other = api_client(venue.url), api_client(venue.url)
    page = one.get("/api/auth/verify", params={"user_code": code})
    other.get("/api/auth/verify", params={"user_code": code})
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert other.post("/api/auth/github", data={"user_code": code, "csrf": token}).status_code == 400
    # The page says what is being approved, and its cookie is HttpOnly and SameSite=Lax.
    assert code in page.text and "If someone sent you this code or link" in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie and "domain" not in cookie
    assert one.post("/api/auth/github", data={"user_code": code, "csrf": token}).status_code == 303


# 4. Busy counters are not full counters


def test_sixteen_concurrent_clients_under_the_limit_get_no_429(
    azurite: AzuritePorts, standin: GitHubStandIn, state_dir: Path, clock: FakeClock
) -> None:
    running = _venue(azurite, standin, state_dir, clock, EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="600")
    try:

        def client_starts(n: int) -> list[int]:
            with http_client(base_url=running.url, timeout=30, headers={"User-Agent": f"client-{n}"}) as own:
                return [own.post("/api/auth/device").status_code for _ in range(25)]

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = Counter(s for batch in pool.map(client_starts, range(16)) for s in batch)
        # 400 sign-in starts in one minute under a limit of 600, 16 clients racing on one address.
        assert statuses == Counter({200: 400})
    finally:
        running.stop()


def test_one_client_flooding_sign_in_starts_does_not_starve_twenty_attendees_on_its_address(
    venue: RunningApi, standin: GitHubStandIn
) -> None:
    refused = threading.Event()
    done = threading.Event()
    flood: Counter[int] = Counter()

    def greedy() -> None:
        with http_client(base_url=venue.url, timeout=30, headers={"User-Agent": "greedy-script/1.0"}) as own:
            while not done.is_set():
                status = own.post("/api/auth/device").status_code
                flood[status] += 1
                if status == 429:
                    refused.set()

    flooder = threading.Thread(target=greedy, daemon=True)
    flooder.start()
    try:
        assert refused.wait(timeout=60), "the flood never reached its limit"
        with ThreadPoolExecutor(max_workers=8) as pool:
            pairs = list(pool.map(lambda n: sign_in_pair(api_client(venue.url), standin, _user(n)), range(20)))
    finally:
        done.set()
        flooder.join(timeout=30)
    assert len({p["access_token"] for p in pairs}) == 20
    # The flood went on at full speed the whole time and got only its own share.
    assert flood[429] > 0 and flood[200] <= VENUE_STARTS_PER_MINUTE // 2


# 5. A slow GitHub and a polling device do not lose the attendee's consent


@pytest.mark.slow(seconds=13)
def test_with_a_slow_github_and_devices_polling_at_the_interval_fifty_of_fifty_sign_ins_succeed(
    azurite: AzuritePorts, state_dir: Path
) -> None:
    slow = GitHubStandIn(port=0, latency=lambda: random.uniform(0.5, 2.0))
    slow.start_in_thread()
    running = make_api(
        azurite,
        slow,
        state_dir,
        EVENTSTACK_SIGN_INS_PER_MINUTE="600",
        EVENTSTACK_MAX_CONCURRENT_REQUESTS="100",
        EVENTSTACK_MAX_OUTSTANDING_REQUESTS="1000",
    )
    try:
        # The fifty devices start one after the other (so this test is about the browser step and
        # the polls, not the counters), then all sign in at once.
        starter = api_client(running.url)
        starts = [start_sign_in(starter) for _ in range(50)]

        def attendee(n: int) -> dict[str, Any]:
            # A machine as loaded as this one answers slowly under fifty sign-ins at once: a patient device.
            device = http_client(base_url=running.url, timeout=60)
            started = starts[n]
            browser = threading.Thread(target=approve, args=(slow, started["user_code"], _user(n)), daemon=True)
            browser.start()
            interval = float(str(started["interval"]))
            for _ in range(20):
                answer: dict[str, Any] = device.post(
                    "/api/auth/token", json={"device_code": started["device_code"]}
                ).json()
                if "access_token" in answer or answer.get("error") not in ("authorization_pending", "slow_down"):
                    break
                if answer["error"] == "slow_down":
                    interval += 5
                threading.Event().wait(interval)
            browser.join(timeout=30)
            return answer

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(attendee, range(50)))
    finally:
        running.stop()
        slow.shutdown()
        slow.server_close()
    outcomes = Counter("token" if "access_token" in a else a.get("error") for a in answers)
    assert outcomes == Counter({"token": 50})


# 6. Erasure wins its race with a sign-in


class _EraseAfterRead(Tables):
    """Tables that run `hook` once, right after the sign-in has read the live session row."""

    hook: Callable[[], None] | None = None

    def get(self, table: str, partition: str, row: str) -> Any:
        found = super().get(table, partition, row)
        if table == SESSIONS and row == SESSION_ROW and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return found


def test_an_erasure_between_a_sign_ins_read_and_its_writes_leaves_no_row(
    azurite: AzuritePorts, tables: TableServiceClient
) -> None:
    store = Tables.for_azurite(azurite.connection_string)
    attendee_key = secrets.token_hex(32)
    now = UTC_2030
    first = SessionStore(store).sign_in(
        attendee_key,
        "login",
        now=now,
        expires_at=now + timedelta(hours=1),
        family_id=secrets.token_hex(16),
        token_hash="h1",
        max_families=5,
    )
    racing = _EraseAfterRead.for_azurite(azurite.connection_string)
    assert isinstance(racing, _EraseAfterRead)
    erased = threading.Event()

    def erase() -> None:
        SessionStore(store).erase(first)  # DELETE /api/me answers 204 after this
        erased.set()

    racing.hook = erase
    family = secrets.token_hex(16)
    with pytest.raises(SessionGone):
        SessionStore(racing).sign_in(
            attendee_key,
            "login",
            now=now,
            expires_at=now + timedelta(hours=1),
            family_id=family,
            token_hash="h2",
            max_families=5,
        )
    assert erased.is_set()
    assert rows_mentioning(tables, {attendee_key, first.session_id, family}) == []


# 7. A keynote wave is a queue, not an error


@pytest.mark.slow(seconds=16)
def test_a_hundred_attendees_at_once_with_a_budget_of_thirty_a_minute_all_get_tokens_and_no_error_page(
    azurite: AzuritePorts, state_dir: Path, clock: FakeClock
) -> None:
    attendees = 100
    turn = threading.Condition()
    minutes = [0]
    waiting: Counter[int] = Counter()  # browsers waiting, by the minute they wait in
    finished = [0]

    def wait_for_the_next_minute(_seconds: float) -> None:
        # The queue page said how long; the test's clock moves a minute when every browser waits.
        with turn:
            seen = minutes[0]
            waiting[seen] += 1
            turn.notify_all()
            turn.wait_for(lambda: minutes[0] > seen, timeout=120)
            waiting[seen] -= 1

    wave = GitHubStandIn(port=0, clock=lambda: clock().timestamp(), wait=wait_for_the_next_minute)
    wave.start_in_thread()
    running = make_api(
        azurite,
        wave,
        state_dir,
        clock,
        EVENTSTACK_SIGN_INS_PER_MINUTE=str(GITHUB_BUDGET),
        EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="600",
        EVENTSTACK_MAX_OUTSTANDING_REQUESTS="1000",
    )
    try:

        def attendee(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
            # A hundred at once on a small machine: each answer may take seconds.
            device = http_client(base_url=running.url, timeout=120)
            started = start_sign_in(device)
            with http_client(timeout=180) as http:
                browser = http.post(
                    f"{wave.url}/approve",
                    json={"user_code": started["user_code"], "login": f"wave-{n}", "id": 600_000_000 + n},
                ).json()
            polled = device.post("/api/auth/token", json={"device_code": started["device_code"]}).json()
            return browser, polled

        def one_done(_: Future[Any]) -> None:
            with turn:
                finished[0] += 1
                turn.notify_all()

        with ThreadPoolExecutor(max_workers=attendees) as pool:
            futures = [pool.submit(attendee, n) for n in range(attendees)]
            for future in futures:
                future.add_done_callback(one_done)
            while True:
                with turn:
                    turn.wait_for(lambda: waiting[minutes[0]] + finished[0] == attendees, 300)
                    if finished[0] == attendees:
                        break
                    assert waiting[minutes[0]] + finished[0] == attendees, "a browser neither waits nor finishes"
                    clock.advance(timedelta(minutes=1))
                    minutes[0] += 1
                    turn.notify_all()
            results = [f.result() for f in futures]
    finally:
        running.stop()
        wave.shutdown()
        wave.server_close()

    pages = Counter(browser["app_status"] for browser, _ in results)
    assert pages == Counter({200: attendees}), pages  # the last page each browser showed: "Signed in"
    assert all("access_token" in polled for _, polled in results)
    assert sum(browser["waits"] for browser, _ in results) >= attendees - GITHUB_BUDGET
    # Four minutes for a hundred at thirty a minute, and not one wasted call to GitHub.
    assert minutes[0] == -(-attendees // GITHUB_BUDGET) - 1
    with wave.state.lock:
        assert len(wave.state.token_requests[running.services.settings.github_client_id]) == attendees


def test_the_sign_in_cookie_is_host_prefixed_and_secure_for_an_https_issuer() -> None:
    from eventapi.auth.browser import BrowserCookie
    from fastapi.responses import Response

    for issuer, name, secure in (
        ("https://wall.example.org", "__Host-eventstack-sign-in", True),
        ("https://127.0.0.1:8443", "__Host-eventstack-sign-in", True),
        ("http://127.0.0.1:7071", "eventstack-sign-in", False),
    ):
        cookie = BrowserCookie.for_issuer(issuer)
        response = Response()
        cookie.set(response, "n" * 43)
        header = response.headers["set-cookie"]
        assert header.startswith(f"{name}=") and cookie.name == name
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert {"httponly", "path", "samesite", "max-age"} <= attributes and "domain" not in attributes
        assert ("secure" in attributes) is secure
        assert "samesite=lax" in header.lower() and "path=/" in header.lower()


# 8. The grace period: a late sign-in works until the grace ends


def test_a_sign_in_during_the_grace_period_works_until_the_grace_ends(
    azurite: AzuritePorts, standin: GitHubStandIn, state_dir: Path, clock: FakeClock
) -> None:
    ends_at = (clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    running = make_api(
        azurite, standin, state_dir, clock, EVENTSTACK_EVENT_ENDS_AT=ends_at, EVENTSTACK_SIGN_IN_GRACE_MINUTES="30"
    )
    try:
        client = running.client()
        clock.advance(timedelta(minutes=70))  # the event ended ten minutes ago; sign-in is still open
        pair = sign_in_pair(client, standin, _user(8))
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
        clock.advance(timedelta(minutes=15))
        renewed = client.post("/api/auth/token", json={"refresh_token": pair["refresh_token"]})
        assert renewed.status_code == 200
        assert client.get("/api/me", headers=bearer(renewed.json()["access_token"])).status_code == 200
        clock.advance(timedelta(minutes=6))  # the grace is over: sign-in closes, and the session with it
        assert client.get("/api/me", headers=bearer(renewed.json()["access_token"])).status_code == 401
        gone = client.post("/api/auth/token", json={"refresh_token": renewed.json()["refresh_token"]})
        assert gone.status_code == 410
    finally:
        running.stop()
