"""The light wall in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`, `make browser`).

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
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from dev.offline import ROOT
from tests.function_code.conftest import FakeClock, RunningApi, User, bearer, make_api, sign_in

pytestmark = pytest.mark.azurite

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# A big screen, as at the venue.
WINDOW = (1920, 1080)
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
]
STORED_MARKUP = '<img src="/api/health" id="injected">'

# Runs before the page's own code (DevTools injects it; the page's policy does not apply to it).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


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
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    assert not missing, f"{missing} not installed: run `make browser`"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        # CI runs as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        # Nothing but the page under test: no updates, sync or first-run traffic.
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--force-color-profile=srgb",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
        # The window's size includes the browser's own frame; the screen is the page's viewport.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
        )
        yield driver
    finally:
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
    assert "pattern-solid" in (first.get_attribute("class") or "").split()
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
    wall_api.running.services.lights.add("blink", "ff4f6d", wall_api.clock())
    browser.get(f"{wall_api.running.url}/api/wall")
    interval = _poll_seconds(browser)
    WebDriverWait(browser, 2 * interval).until(lambda d: ("blink", "#ff4f6d") in _shown(d))
    bulb = browser.find_element(By.CSS_SELECTOR, "#lights > li.pattern-blink .bulb")
    assert bulb.value_of_css_property("animation-name") == "none"
    assert browser.execute_script("return window.cspViolations;") == []
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
