// The light wall: polls GET /api/lights and renders each command as a light, newest first.
// Everything shown is set as text or through the CSS object model, never parsed as markup:
// a stored value cannot inject anything, whatever the API's own validation lets through.
"use strict";

(() => {
  const PATTERNS = new Set(["solid", "blink", "pulse", "rainbow", "chase", "sparkle"]);
  const COLOR = /^[0-9a-fA-F]{6}$/;
  const DEFAULT_POLL_MS = 2000;
  const MAX_BACKOFF_MS = 30000;

  const api = `${window.location.origin}/api`;
  const list = document.getElementById("lights");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const pollMs = Number.parseInt(document.body.dataset.pollMs, 10) || DEFAULT_POLL_MS;

  function showJoinSteps() {
    const continued = (...lines) => lines.join(" \\\n  ");
    document.getElementById("step-device").textContent = continued("curl -X POST", `${api}/auth/device`);
    document.getElementById("step-token").textContent = continued(
      "curl -X POST",
      `${api}/auth/token`,
      "-H 'content-type: application/json'",
      `-d '{"device_code": "<device_code>"}'`,
    );
    document.getElementById("step-light").textContent = continued(
      "curl -X POST",
      `${api}/lights`,
      `-H "authorization: Bearer $TOKEN"`,
      "-H 'content-type: application/json'",
      `-d '{"pattern": "pulse", "color": "ff6a00"}'`,
    );
    document.getElementById("docs-link").href = `${api}/docs`;
    document.getElementById("privacy-link").href = `${api}/privacy`;
  }

  function keyOf(light) {
    return `${light.time}|${light.pattern}|${light.color}`;
  }

  function clockTime(value) {
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) {
      return "";
    }
    return time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  }

  function makeLight(light, key) {
    const pattern = PATTERNS.has(light.pattern) ? light.pattern : "solid";
    const color = typeof light.color === "string" && COLOR.test(light.color) ? `#${light.color.toLowerCase()}` : "";

    const item = document.createElement("li");
    item.className = `light pattern-${pattern}`;
    item.dataset.key = key;

    const bulb = document.createElement("span");
    bulb.className = "bulb";
    bulb.setAttribute("aria-hidden", "true");
    if (color) {
      // CSSOM, not a style attribute: allowed under style-src 'self' and never parsed as CSS text.
      bulb.style.setProperty("--light", color);
    }

    const name = document.createElement("span");
    name.className = "light-pattern";
    name.textContent = pattern;

    const hex = document.createElement("span");
    hex.className = "light-color";
    hex.textContent = color || "unknown";

    const time = document.createElement("time");
    time.className = "light-time";
    time.textContent = clockTime(light.time);
    if (typeof light.time === "string") {
      time.dateTime = light.time;
    }

    item.append(bulb, name, hex, time);
    return item;
  }

  // Keeps the nodes of lights already shown, so their animations run on undisturbed.
  function render(lights) {
    const wanted = lights.map(keyOf);
    const keep = new Set(wanted);
    for (const node of Array.from(list.children)) {
      if (!keep.has(node.dataset.key)) {
        node.remove();
      }
    }
    let cursor = list.firstElementChild;
    lights.forEach((light, index) => {
      if (cursor && cursor.dataset.key === wanted[index]) {
        cursor = cursor.nextElementSibling;
      } else {
        list.insertBefore(makeLight(light, wanted[index]), cursor);
      }
    });
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    empty.hidden = lights.length > 0;
  }

  async function poll(delay) {
    let next = pollMs;
    try {
      const response = await fetch(`${api}/lights`, { headers: { accept: "application/json" }, cache: "no-store" });
      if (!response.ok) {
        throw new Error(`status ${response.status}`);
      }
      const body = await response.json();
      render(Array.isArray(body.lights) ? body.lights : []);
      status.textContent = `live \u00b7 ${clockTime(new Date().toISOString())}`;
      status.classList.remove("offline");
    } catch {
      // Back off while the API is away; the wall keeps what it last showed.
      next = Math.min(delay * 2, MAX_BACKOFF_MS);
      status.textContent = "reconnecting\u2026";
      status.classList.add("offline");
    }
    window.setTimeout(() => poll(next), next);
  }

  showJoinSteps();
  poll(pollMs);
})();
