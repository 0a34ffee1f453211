"""Headless Chromium for the page tests (Debian's `chromium` + `chromium-driver`, `make browser`), and what it reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The screens the pages are made for: the venue's projector and a common phone's viewport (CSS px).
PROJECTOR = (1920, 1080)
PHONE = (390, 844)

# Runs before the page's own code (DevTools injects it; the page's policy does not apply to it).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""

# Every visible element with text of its own: its text, size and colours as the browser computed them.
# The background is the nearest ancestor's (or its own) opaque background colour.
READ_TEXT_STYLES = r"""
const found = [];
for (const element of document.querySelectorAll(arguments[0] + " *")) {
  const own = Array.from(element.childNodes)
    .filter((node) => node.nodeType === Node.TEXT_NODE)
    .map((node) => node.textContent.trim())
    .join(" ")
    .trim();
  const box = element.getBoundingClientRect();
  if (!own || box.width === 0 || box.height === 0 || element.closest("[hidden]")) {
    continue;
  }
  const style = getComputedStyle(element);
  if (style.visibility !== "visible" || style.display === "none") {
    continue;
  }
  let background = "rgba(0, 0, 0, 0)";
  for (let node = element; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    // Transparent is rgba(..., 0); rgb(...) is opaque whatever its last channel.
    if (!/^rgba\(.*, 0\)$/.test(colour)) {
      background = colour;
      break;
    }
  }
  found.push({
    text: own.slice(0, 40),
    tag: element.tagName.toLowerCase(),
    id: element.id,
    size: Number.parseFloat(style.fontSize),
    colour: style.color,
    background,
  });
}
return found;
"""


def open_chromium(size: tuple[int, int], mobile: bool = False) -> webdriver.Chrome:
    """A headless Chromium whose viewport is `size` CSS pixels; records CSP violations and network events."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    assert not missing, f"{missing} not installed: run `make browser`"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        # CI runs as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={size[0]},{size[1]}",
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
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
        # The window's size includes the browser's own frame; the screen is the page's viewport.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile},
        )
        if mobile:
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    except Exception:
        driver.quit()
        raise
    return driver


@dataclass(frozen=True)
class Sent:
    """A request the page sent, as the browser's network layer saw it."""

    method: str
    url: str
    headers: dict[str, str]


def requests_sent(driver: webdriver.Chrome) -> list[Sent]:
    """The requests sent since the last call (DevTools' Network.requestWillBeSent events)."""
    sent = []
    for entry in driver.get_log("performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            headers = {name.lower(): str(value) for name, value in request.get("headers", {}).items()}
            sent.append(Sent(request["method"], request["url"], headers))
    return sent


_RGB = re.compile(r"rgba?\((\d+), (\d+), (\d+)")


def _luminance(colour: str) -> float:
    match = _RGB.match(colour)
    assert match, colour
    channels = []
    for value in match.groups():
        c = int(value) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two computed colours (`rgb(...)`)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_styles(driver: webdriver.Chrome, scope: str = "body") -> list[dict[str, Any]]:
    """Every visible text under `scope` (a CSS selector) with its computed size, colour and background."""
    found: list[dict[str, Any]] = driver.execute_script(READ_TEXT_STYLES, scope)
    return found


def severe_console_entries(driver: webdriver.Chrome, expected_statuses: frozenset[int] = frozenset()) -> list[str]:
    """Console errors, except the network layer reporting a status the test provoked on purpose."""
    entries = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = str(entry["message"])
        provoked = entry.get("source") == "network" and any(
            f"status of {status} " in message for status in expected_statuses
        )
        if not provoked:
            entries.append(message)
    return entries
