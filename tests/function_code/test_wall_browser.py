"""The light wall in a real browser: headless Chromium (tests/function_code/chromium.py).

The page is served by the local API (uvicorn, Azurite behind it) on a clock of its own, so its
hour on the wall holds exactly what this test puts there. Commands are sent the way an attendee
sends them (sign-in through the device flow, then POST /api/lights); one more row is written
straight into table storage with markup where the color should be, as a stored value that got
past the API would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventapi.storage.lights import LightStore
from eventapi.storage.tables import Tables
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from dev.offline import ROOT
from tests.function_code.chromium import PROJECTOR, contrast, open_chromium, text_styles
from tests.function_code.conftest import FakeClock, RunningApi, User, bearer, make_api, sign_in

pytestmark = [pytest.mark.azurite, pytest.mark.slow(seconds=4)]

WINDOW = PROJECTOR
# Committed as docs/wall.png after a run; CI keeps it as an artifact.
SCREENSHOT = ROOT / "build" / "test-artifacts" / "wall.png"
# An hour no other test writes lights into.
WALL_HOUR = datetime(2034, 12, 1, 20, 0, 0, tzinfo=UTC)

# Oldest first, as sent; the wall must show them newest first.
COMMANDS = [
    ("solid", "3aa0ff"),
    ("blink", "ff4f6d"),
    ("pulse", "ffb000"),
    ("rainbow", "ff3df2"),
    ("chase", "3ee08f"),
    ("sparkle", "fff3c4"),
    ("pulse", "7c5cff"),
    ("chase", "ff7a1a"),
    ("solid", "00e5ff"),
    ("blink", "b46bff"),
    ("rainbow", "3ee0d0"),
]
# Readable from the back of a hall at 1920x1080: no text under this (CSS px), WCAG AA contrast or better.
MIN_WALL_TEXT_PX = 24
MIN_CONTRAST = 4.5
# The QR code, big enough to scan from rows away (CSS px at 1920x1080).
MIN_QR_PX = 300
# A single light's bulb at 1920x1080 (CSS px); a dozen get about a third of that each.
LONE_BULB_PX = 150
STORED_MARKUP = '<img src="/api/health" id="injected">'


@dataclass
class WallApi:
    """An API on the test's own clock."""

    running: RunningApi
    clock: FakeClock


@pytest.fixture
def wall_api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[WallApi]:
    clock = FakeClock(WALL_HOUR)
    running = make_api(azurite, github, state_dir, clock=clock, EVENTSTACK_COMMANDS_PER_MINUTE="600")
    yield WallApi(running, clock)
    running.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = open_chromium(WINDOW)
    yield driver
    driver.quit()


def _shown(driver: webdriver.Chrome) -> list[tuple[str, str]]:
    """(pattern, color) of every light on the page, top to bottom, read from its text."""
    shown = []
    for light in driver.find_elements(By.CSS_SELECTOR, "#lights > li.light"):
        # The text as written, shown or not: a crowded wall hides colour and time before shrinking text.
        pattern = (light.find_element(By.CSS_SELECTOR, ".light-pattern").get_attribute("textContent") or "").strip()
        color = (light.find_element(By.CSS_SELECTOR, ".light-color").get_attribute("textContent") or "").strip()
        shown.append((pattern.lower(), color))
    return shown


def _poll_seconds(driver: webdriver.Chrome) -> float:
    value: Any = driver.execute_script("return Number.parseInt(document.body.dataset.pollMs, 10);")
    return float(value) / 1000


def test_the_wall_shows_every_command_newest_first_as_text_under_its_policy(
    wall_api: WallApi, browser: webdriver.Chrome, github: GitHubStandIn, store: Tables
) -> None:
    api, clock = wall_api.running, wall_api.clock
    # A stored value with markup in it, older than every command below.
    LightStore(store).add("solid", STORED_MARKUP, clock())
    clock.advance(timedelta(seconds=1))

    browser.get(f"{api.url}/api/wall")
    interval = _poll_seconds(browser)
    WebDriverWait(browser, 2 * interval).until(lambda d: _shown(d) == [("solid", "unknown")])

    client = api.client()
    sender = User(7_000_000_140, "wallsender")
    token = sign_in(client, github, sender)
    for pattern, color in COMMANDS:
        clock.advance(timedelta(seconds=1))
        response = client.post("/api/lights", json={"pattern": pattern, "color": color}, headers=bearer(token))
        assert response.status_code == 202, response.text

    expected = [(pattern, f"#{color}") for pattern, color in reversed(COMMANDS)] + [("solid", "unknown")]
    WebDriverWait(browser, 2 * interval, poll_frequency=0.1).until(lambda d: _shown(d) == expected)

    # Each light carries its pattern's animation class and its own color.
    first = browser.find_element(By.CSS_SELECTOR, "#lights > li.light")
    assert f"pattern-{COMMANDS[-1][0]}" in (first.get_attribute("class") or "").split()
    bulb = first.find_element(By.CSS_SELECTOR, ".bulb")
    light = browser.execute_script("return getComputedStyle(arguments[0]).getPropertyValue('--light');", bulb)
    assert str(light).strip() == f"#{COMMANDS[-1][1]}"
    blinking = browser.find_element(By.CSS_SELECTOR, "#lights > li.pattern-blink .bulb")
    assert blinking.value_of_css_property("animation-name") == "blink"

    # The stored markup stayed text that was never even shown: no element came from it.
    assert browser.find_elements(By.ID, "injected") == []
    assert browser.find_elements(By.CSS_SELECTOR, "#lights img") == []
    page_text = browser.find_element(By.TAG_NAME, "body").text
    assert STORED_MARKUP not in page_text
    # Never who sent a command.
    assert sender.login not in page_text
    assert str(sender.id) not in page_text

    # How to join, with this deployment's own URLs.
    assert browser.find_element(By.ID, "join-url").text == f"{api.url}/api/join"
    assert browser.find_element(By.ID, "privacy-link").get_attribute("href") == f"{api.url}/api/privacy"

    # The newest light is shown at full strength from its first frame; nothing fades the wall's edges.
    newest = browser.find_element(By.CSS_SELECTOR, "#lights > li.light")
    assert browser.execute_script("return getComputedStyle(arguments[0]).opacity;", newest) == "1"
    wall_box = browser.find_element(By.ID, "wall")
    assert browser.execute_script("return getComputedStyle(arguments[0]).maskImage;", wall_box) == "none"
    # The lights fill the screen: together their cards cover most of the wall's box.
    covered = browser.execute_script(
        """const wall = arguments[0].getBoundingClientRect();
        let area = 0;
        for (const light of document.querySelectorAll("#lights > li.light")) {
          const box = light.getBoundingClientRect();
          area += box.width * box.height;
        }
        return area / (wall.width * wall.height);""",
        wall_box,
    )
    assert float(covered) > 0.6, covered
    assert browser.find_element(By.ID, "count").text == f"{len(expected)} lights in the last 5 minutes"

    # Every text on the wall and its join panel is large enough and contrasts enough, as computed.
    styles = text_styles(browser)
    assert {"join-title", "join-url", "count"} <= {style["id"] for style in styles}
    small = [style for style in styles if style["size"] < MIN_WALL_TEXT_PX]
    assert small == []
    faint = [style for style in styles if contrast(style["colour"], style["background"]) < MIN_CONTRAST]
    assert faint == []
    code = browser.find_element(By.ID, "join-code")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", code)
    assert code.size["width"] >= MIN_QR_PX

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))

    violations = browser.execute_script("return window.cspViolations;")
    assert violations == []
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_nothing_moves_when_the_viewer_asks_for_reduced_motion(wall_api: WallApi, browser: webdriver.Chrome) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )
    # A day later than the other test's lights: this light is alone on the wall.
    wall_api.clock.advance(timedelta(days=1))
    wall_api.running.services.lights.add("blink", "ff4f6d", wall_api.clock())
    browser.get(f"{wall_api.running.url}/api/wall")
    interval = _poll_seconds(browser)
    WebDriverWait(browser, 2 * interval).until(lambda d: _shown(d) == [("blink", "#ff4f6d")])
    bulb = browser.find_element(By.CSS_SELECTOR, "#lights > li.pattern-blink .bulb")
    assert bulb.value_of_css_property("animation-name") == "none"
    # One light alone is drawn large: the lights scale with how many there are.
    assert bulb.size["width"] >= LONE_BULB_PX
    assert browser.execute_script("return window.cspViolations;") == []
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
