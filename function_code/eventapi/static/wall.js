// The light wall: polls GET /api/lights and renders each command as a light, newest first.
// Everything shown is set as text or through the CSS object model, never parsed as markup:
// a stored value cannot inject anything, whatever the API's own validation lets through.
"use strict";

(() => {
  const PATTERNS = new Set(["solid", "blink", "pulse", "rainbow", "chase", "sparkle"]);
  const COLOR = /^[0-9a-fA-F]{6}$/;
  const DEFAULT_POLL_MS = 2000;
  const DEFAULT_COUNT_MINUTES = 5;
  const MAX_BACKOFF_MS = 30000;

  // GET /api/lights returns at most this many (eventapi.settings.WALL_SIZE).
  const API_WALL_SIZE = 50;
  // A light's card is this much taller than wide (bulb and three lines of text).
  const CELL_ASPECT = 1.25;
  // Matches the grid's gap in wall.css.
  const GAP_PX = 16;
  // A single light is not drawn bigger than this; below DENSE_BELOW_REM cells show the pattern only.
  const MAX_CELL_REM = 16;
  const DENSE_BELOW_REM = 9;

  const api = `${window.location.origin}/api`;
  const wall = document.getElementById("wall");
  const list = document.getElementById("lights");
  const count = document.getElementById("count");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const pollMs = Number.parseInt(document.body.dataset.pollMs, 10) || DEFAULT_POLL_MS;
  const countMinutes = Number.parseInt(document.body.dataset.countMinutes, 10) || DEFAULT_COUNT_MINUTES;

  function showJoin() {
    // The same address the QR code holds (drawn by the server from its own settings).
    // A line may break between the host and the path, never inside either.
    const address = document.getElementById("join-url");
    address.replaceChildren(window.location.origin, document.createElement("wbr"), "/api/join");
    document.getElementById("docs-link").href = `${api}/docs`;
    document.getElementById("privacy-link").href = `${api}/privacy`;
  }

  // The layout that gives `count` lights the biggest bulbs in the wall's box; the cards then stretch
  // to fill the box, so a few lights fill the screen and many still fit on it.
  function layout() {
    const count = Math.max(list.children.length, 1);
    const box = wall.getBoundingClientRect();
    const rem = Number.parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    let best = { cols: 1, cell: 0, width: 0, height: 0 };
    for (let cols = 1; cols <= count; cols += 1) {
      const rows = Math.ceil(count / cols);
      const width = Math.floor((box.width - (cols - 1) * GAP_PX) / cols);
      const height = Math.floor((box.height - (rows - 1) * GAP_PX) / rows);
      const cell = Math.floor(Math.min(width, height / CELL_ASPECT, MAX_CELL_REM * rem));
      if (cell > best.cell) {
        best = { cols, cell, width, height };
      }
    }
    list.style.setProperty("--cols", String(best.cols));
    list.style.setProperty("--cell", `${best.cell}px`);
    list.style.setProperty("--cell-width", `${Math.max(best.width, best.cell)}px`);
    list.style.setProperty("--cell-height", `${Math.max(best.height, best.cell * CELL_ASPECT)}px`);
    list.classList.toggle("dense", best.cell < DENSE_BELOW_REM * rem);
  }

  // Lights whose time is within the last COUNT_MINUTES of now (or of the newest light, if the
  // screen's clock is behind the API's). The API returns at most its wall's worth: "or more" then.
  function showCount(lights) {
    const times = lights.map((light) => Date.parse(light.time)).filter((time) => !Number.isNaN(time));
    const now = Math.max(Date.now(), ...times);
    const recent = times.filter((time) => now - time <= countMinutes * 60000).length;
    const more = recent > 0 && recent === lights.length && lights.length >= API_WALL_SIZE ? "+" : "";
    const noun = recent === 1 && !more ? "light" : "lights";
    count.textContent = `${recent}${more} ${noun} in the last ${countMinutes} minutes`;
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
    layout();
    showCount(lights);
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

  showJoin();
  new ResizeObserver(layout).observe(wall);
  poll(pollMs);
})();
