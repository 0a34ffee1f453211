"""The join page on a phone, in a real browser, with the wall on a second one (tests/function_code/chromium.py).

An attendee opens the join page at 390x844, starts the sign-in, and the GitHub stand-in plays the
browser step for the user code the page shows (as the attendee would, in the tab the page's button
opens). Everything after that is the page's own doing: polling, the token, the light, renewing the
token once the API's clock has moved past its expiry, the API's refusal when the quota is spent,
and erasure. The calls it shows are run as printed with curl and must give the same answers.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dev.github_standin import GitHubStandIn
from dev.http import serve_in_background
from dev.local import AzuritePorts
from dev.offline import ROOT
from tests.function_code.chromium import (
    PHONE,
    PROJECTOR,
    contrast,
    open_chromium,
    requests_sent,
    severe_console_entries,
    text_styles,
)
from tests.function_code.conftest import FakeClock, RunningApi, User, approve, make_api, sign_in

pytestmark = pytest.mark.azurite

# Committed as docs/join.png and docs/join-calls.png after a run; CI keeps them as artifacts.
ARTIFACTS = ROOT / "build" / "test-artifacts"
# An hour no other test writes lights into.
JOIN_HOUR = datetime(2035, 3, 1, 9, 0, 0, tzinfo=UTC)
# Four calls a minute that count (lights and /api/me): the fifth shows the API's refusal.
COMMANDS_PER_MINUTE = 4
# Longer than any token lives (settings.MAX_TOKEN_TTL), shorter than a session.
PAST_TOKEN_EXPIRY = timedelta(minutes=16)
# On a phone: body text at least this (CSS px), touch targets at least this tall (WCAG 2.5.5: 44).
MIN_PHONE_TEXT_PX = 15
MIN_TARGET_PX = 44
MIN_CONTRAST = 4.5


class TickingClock(FakeClock):
    """The test's hour, running at the speed of real time, and advanced at will on top.

    The API judges the page's polling by its own clock (RFC 8628 slow_down): it must move.
    """

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return super().__call__() + timedelta(seconds=time.monotonic() - self._started)


@pytest.fixture
def join_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[tuple[RunningApi, FakeClock]]:
    clock = TickingClock(JOIN_HOUR)
    running = make_api(azurite, github, state_dir, clock=clock, EVENTSTACK_COMMANDS_PER_MINUTE=str(COMMANDS_PER_MINUTE))
    yield running, clock
    running.stop()


@pytest.fixture
def phone() -> Iterator[webdriver.Chrome]:
    driver = open_chromium(PHONE, mobile=True)
    yield driver
    driver.quit()


@pytest.fixture
def wall() -> Iterator[webdriver.Chrome]:
    driver = open_chromium(PROJECTOR)
    yield driver
    driver.quit()


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """A page on another local origin (its own port), as an attendee's playground would be."""
    (tmp_path / "index.html").write_text("<!doctype html><title>playground</title><p>elsewhere</p>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serve_in_background(server)
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def _calls(driver: webdriver.Chrome) -> list[dict[str, str]]:
    """The calls the page shows, newest first: method, path, status, and the three blocks' text."""
    found: list[dict[str, str]] = driver.execute_script(
        """return Array.from(document.querySelectorAll("#calls > li.call")).map((item) => ({
          method: item.dataset.method, path: item.dataset.path, status: item.dataset.status,
          answer: item.querySelector(".answer code").textContent,
          curl: item.querySelector(".curl code").textContent,
          fetch: item.querySelector(".fetch code").textContent,
        }));"""
    )
    return found


def _latest(driver: webdriver.Chrome, method: str, path: str) -> dict[str, str]:
    return next(call for call in _calls(driver) if call["method"] == method and call["path"] == path)


def _statuses(driver: webdriver.Chrome) -> list[tuple[str, str, str]]:
    return [(call["method"], call["path"], call["status"]) for call in _calls(driver)]


def _answer_body(answer: str) -> Any:
    """The JSON body in an answer block (after the status line and headers)."""
    _, _, body = answer.partition("\n\n")
    return json.loads(body)


def _run_curl(command: str, token: str) -> str:
    """The command exactly as the page printed it, in a shell where TOKEN holds the access token."""
    result = subprocess.run(
        ["/bin/bash", "-c", command],
        env={"PATH": os.environ["PATH"], "TOKEN": token},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def _bearer_tokens(driver: webdriver.Chrome) -> list[str]:
    """The access tokens the page sent, read off the network layer (the page never shows them)."""
    return [
        sent.headers["authorization"].removeprefix("Bearer ")
        for sent in requests_sent(driver)
        if "authorization" in sent.headers
    ]


def _shown_lights(driver: webdriver.Chrome) -> list[tuple[str, str]]:
    found: list[list[str]] = driver.execute_script(
        """return Array.from(document.querySelectorAll("#lights > li.light")).map((item) => [
          item.querySelector(".light-pattern").textContent.trim().toLowerCase(),
          item.querySelector(".light-color").textContent.trim(),
        ]);"""
    )
    return [(pattern, color) for pattern, color in found]


def _choose(driver: webdriver.Chrome, pattern: str, colour: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'input[name="pattern"][value="{pattern}"]').click()
    # A colour input opens the system's picker on a phone; the test sets its value as the picker does.
    driver.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        driver.find_element(By.ID, "colour"),
        f"#{colour}",
    )


def _send_state(driver: webdriver.Chrome, sends: int) -> str:
    """Click send and wait for the page to report the outcome of this (the `sends`-th) send."""
    driver.find_element(By.ID, "send-light").click()
    WebDriverWait(driver, 20).until(
        lambda d: sum(1 for c in _calls(d) if c["path"] == "/lights" and c["status"] != "401") == sends
    )
    return str(driver.find_element(By.ID, "send-state").text)


def _check_readable(driver: webdriver.Chrome) -> None:
    """Sizes and contrast of everything shown, and the touch targets' heights, as the browser computed them."""
    styles = text_styles(driver)
    assert {"user-code", "sign-in-title", "send-title"} & {style["id"] for style in styles}
    assert [style for style in styles if style["size"] < MIN_PHONE_TEXT_PX] == []
    assert [style for style in styles if contrast(style["colour"], style["background"]) < MIN_CONTRAST] == []
    targets = driver.find_elements(By.CSS_SELECTOR, "button:not([hidden]), a.button, .patterns label, .colour")
    assert targets
    short = [t.text for t in targets if t.is_displayed() and t.size["height"] < MIN_TARGET_PX]
    assert short == []
    # Nothing wider than the phone: no sideways scrolling.
    assert driver.execute_script("return document.documentElement.scrollWidth;") <= PHONE[0]


@pytest.mark.slow(seconds=20)
def test_an_attendee_joins_from_a_phone_and_the_wall_shows_the_light(
    join_api: tuple[RunningApi, FakeClock],
    phone: webdriver.Chrome,
    wall: webdriver.Chrome,
    github: GitHubStandIn,
    new_user: Any,
) -> None:
    api, clock = join_api
    attendee: User = new_user()
    wall.get(f"{api.url}/api/wall")
    poll_seconds = float(wall.execute_script("return Number.parseInt(document.body.dataset.pollMs, 10);")) / 1000

    # 1. Sign in: the page starts the device flow and shows the code and the way to the verification page.
    phone.get(f"{api.url}/api/join")
    phone.find_element(By.ID, "start").click()
    WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "user-code").text.strip())
    user_code = phone.find_element(By.ID, "user-code").text.strip()
    started = _answer_body(_latest(phone, "POST", "/auth/device")["answer"])
    assert started["user_code"] == user_code
    # The device code is a secret for ten minutes: the page names it, never shows it.
    assert started["device_code"] == "(kept in this page's memory as DEVICE_CODE)"
    link = phone.find_element(By.ID, "verify-link")
    assert link.get_attribute("href") == started["verification_uri_complete"]
    assert link.get_attribute("target") == "_blank"
    assert link.size["height"] >= MIN_TARGET_PX

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert phone.save_screenshot(str(ARTIFACTS / "join.png"))
    _check_readable(phone)

    # The page polls at the interval the API gave: pending until the attendee approves, then signed in.
    interval = int(started["interval"])
    WebDriverWait(phone, 2 * interval + 5).until(lambda d: "authorization_pending" in _calls(d)[0]["answer"])
    approve(github, user_code, attendee)
    WebDriverWait(phone, 3 * interval + 5).until(lambda d: d.find_element(By.ID, "send-light").is_enabled())
    token_calls = [c for c in _calls(phone) if c["path"] == "/auth/token"]
    assert token_calls[0]["status"] == "200"
    # Never faster than the interval: the API would have answered slow_down (RFC 8628 section 3.5).
    assert [c["answer"] for c in token_calls if "slow_down" in c["answer"]] == []
    issued = _answer_body(token_calls[0]["answer"])
    assert issued["access_token"] == "(kept in this page's memory as TOKEN)"
    assert issued["refresh_token"] == "(kept in this page's memory as REFRESH_TOKEN)"
    assert "$DEVICE_CODE" in token_calls[0]["curl"]

    # 2. A light, and the wall shows it within two of its polls.
    _choose(phone, "sparkle", "12ab34")
    assert _send_state(phone, 1) == "On its way to the wall."
    WebDriverWait(wall, 2 * poll_seconds, poll_frequency=0.1).until(
        lambda d: _shown_lights(d)[:1] == [("sparkle", "#12ab34")]
    )
    sent = _latest(phone, "POST", "/lights")
    assert sent["status"] == "202"
    assert '"Authorization: Bearer $TOKEN"' in sent["curl"]
    assert "Authorization: `Bearer ${TOKEN}`" in sent["fetch"]
    phone.execute_script("document.getElementById('calls-title').scrollIntoView();")
    assert phone.save_screenshot(str(ARTIFACTS / "join-calls.png"))
    _check_readable(phone)
    token = _bearer_tokens(phone)[-1]
    page_text = phone.find_element(By.TAG_NAME, "body").text
    assert token not in page_text
    assert not phone.execute_script("return window.localStorage.length + window.sessionStorage.length;")
    assert phone.get_cookies() == []

    # The curl command as printed, with the token filled in: the same answer (a new light, same shape).
    by_curl = json.loads(_run_curl(sent["curl"], token))
    by_page = _answer_body(sent["answer"])
    assert by_curl.keys() == by_page.keys() == {"id"}
    assert by_curl["id"] != by_page["id"]
    WebDriverWait(wall, 2 * poll_seconds, poll_frequency=0.1).until(
        lambda d: _shown_lights(d)[:2] == [("sparkle", "#12ab34")] * 2
    )

    # 3. What is stored: the page's answer and curl's are the same document.
    phone.find_element(By.ID, "show-me").click()
    WebDriverWait(phone, 10).until(lambda d: any(c["path"] == "/me" for c in _calls(d)))
    mine = _latest(phone, "GET", "/me")
    assert mine["status"] == "200"
    assert json.loads(_run_curl(mine["curl"], token)) == _answer_body(mine["answer"])

    # 4. The API's clock passes the token's expiry: the page renews the pair and the light still goes out.
    # To the start of a quota minute, so that this send and the next four share one.
    clock.advance(PAST_TOKEN_EXPIRY + timedelta(seconds=60 - clock().second))
    _choose(phone, "chase", "ff00aa")
    assert _send_state(phone, 2) == "On its way to the wall."
    assert _statuses(phone)[:3] == [
        ("POST", "/lights", "202"),
        ("POST", "/auth/token", "200"),
        ("POST", "/lights", "401"),
    ]
    renewal = _latest(phone, "POST", "/auth/token")
    assert "$REFRESH_TOKEN" in renewal["curl"]
    assert "${REFRESH_TOKEN}" in renewal["fetch"]
    renewed = _bearer_tokens(phone)[-1]
    assert renewed != token

    # 5. The quota spent, the page shows the refusal as the API worded it.
    # The renewed send was the first of this minute; three more spend the quota, the next is refused.
    for sends in (3, 4, 5, 6):
        state = _send_state(phone, sends)
    refused = _latest(phone, "POST", "/lights")
    assert refused["status"] == "429"
    assert _answer_body(refused["answer"]) == {"error": "too_many_requests"}
    assert "retry-after: " in refused["answer"]
    assert state == "The API answered 429: too_many_requests."

    # 6. Erase (a minute later: erasure counts against the same quota): the page forgets its tokens,
    # and the token it held no longer works anywhere.
    clock.advance(timedelta(minutes=1))
    phone.find_element(By.ID, "erase-me").click()
    phone.switch_to.alert.accept()
    WebDriverWait(phone, 10).until(lambda d: ("DELETE", "/me", "204") in _statuses(d))
    assert not phone.find_element(By.ID, "send-light").is_enabled()
    after = api.client().get("/api/me", headers={"Authorization": f"Bearer {renewed}"})
    assert after.status_code == 401
    assert json.loads(_run_curl(mine["curl"], renewed)) == after.json()
    assert phone.find_element(By.ID, "privacy-link").get_attribute("href") == f"{api.url}/api/privacy"

    for driver in (phone, wall):
        assert driver.execute_script("return window.cspViolations;") == []
    # The 400s (authorization_pending), the 401 and the 429 were provoked; the browser reports such
    # answers as network errors. Nothing else may be reported.
    assert severe_console_entries(phone, frozenset({400, 401, 429})) == []
    assert severe_console_entries(wall) == []
    # Never who sent a light.
    wall_text = wall.find_element(By.TAG_NAME, "body").text
    assert attendee.login not in wall_text
    assert str(attendee.id) not in wall_text


def test_a_page_elsewhere_may_call_the_data_endpoints_but_not_the_sign_in_pages(
    api: RunningApi, github: GitHubStandIn, other_origin: str, new_user: Any
) -> None:
    """From another local origin, in a real browser: the browser itself enforces the API's answers."""
    token = sign_in(api.client(), github, new_user())
    browser = open_chromium(PROJECTOR)
    try:
        browser.get(other_origin)
        outcomes = browser.execute_async_script(
            """const [api, token, done] = arguments;
            const attempt = (path, options) => fetch(api + path, options).then(
              async (response) => `${response.status} ${await response.text()}`,
              (error) => `refused: ${error.name}`,
            );
            Promise.all([
              attempt("/api/lights", {}),
              attempt("/api/lights", {
                method: "POST",
                headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
                body: JSON.stringify({ pattern: "pulse", color: "00ff88" }),
              }),
              attempt("/api/me", { headers: { Authorization: "Bearer not-a-token" } }),
              attempt("/api/auth/verify", {}),
              attempt("/api/auth/verify?user_code=BCDF-GHJK", { credentials: "include" }),
              attempt("/api/join", {}),
            ]).then(done);""",
            api.url,
            token,
        )
        wall, sent, unauthorised, verify, verify_with_cookies, join = outcomes
        assert wall.startswith("200 {")
        assert sent.startswith('202 {"id":')
        # An error is readable too, as the API worded it.
        assert unauthorised.startswith("401 {")
        assert verify == verify_with_cookies == join == "refused: TypeError"
        assert browser.execute_script("return window.location.origin;") != api.url
    finally:
        browser.quit()
