// The join page: the device flow, a light, and the attendee's data, each call shown as curl and fetch.
// Tokens live in this closure only (never in storage, cookies or the URL) and never reach the page's
// text: the calls shown name them as shell or JavaScript variables instead. Everything shown is set as
// text, never parsed as markup.
"use strict";

(() => {
  const api = `${window.location.origin}/api`;
  // Renew the access token this long before it expires (and never sooner than MIN_REFRESH_MS).
  const REFRESH_MARGIN_MS = 60000;
  const MIN_REFRESH_MS = 5000;
  // RFC 8628 section 3.5: "slow_down" adds 5 seconds to the polling interval.
  const SLOW_DOWN_STEP_S = 5;
  const DEFAULT_INTERVAL_S = 5;
  const MAX_CALLS_SHOWN = 12;
  // How a secret appears in the calls shown: as the variable a terminal or script would hold it in.
  const SECRET_NAMES = { access_token: "TOKEN", refresh_token: "REFRESH_TOKEN", device_code: "DEVICE_CODE" };
  const byId = (id) => document.getElementById(id);

  const tokens = { access: null, refresh: null, expiresAt: 0 };
  let refreshTimer = null;
  let pollTimer = null;
  let renewal = null;

  function shellQuote(text) {
    return `'${text.replaceAll("'", "'\\''")}'`;
  }

  // The body as shown: secrets replaced by the name of the variable that would hold them.
  function elided(body, inShell) {
    const shown = {};
    for (const [key, value] of Object.entries(body)) {
      const name = SECRET_NAMES[key];
      shown[key] = name ? (inShell ? `$${name}` : `\${${name}}`) : value;
    }
    return JSON.stringify(shown);
  }

  function asCurl(method, path, body, auth) {
    const parts = [method === "GET" ? `curl -sS ${api}${path}` : `curl -sS -X ${method} ${api}${path}`];
    if (auth) {
      parts.push('-H "Authorization: Bearer $TOKEN"');
    }
    if (body) {
      parts.push("-H 'Content-Type: application/json'");
      const json = elided(body, true);
      // Double quotes only when a variable must expand inside the body.
      parts.push(json.includes("$") ? `-d "${json.replaceAll('"', '\\"')}"` : `-d ${shellQuote(json)}`);
    }
    return parts.join(" \\\n  ");
  }

  function asFetch(method, path, body, auth) {
    const options = [`method: "${method}"`];
    const headers = [];
    if (auth) {
      headers.push("Authorization: `Bearer ${TOKEN}`");
    }
    if (body) {
      headers.push('"Content-Type": "application/json"');
    }
    if (headers.length) {
      options.push(`headers: { ${headers.join(", ")} }`);
    }
    if (body) {
      const json = elided(body, false);
      options.push(json.includes("${") ? `body: \`${json}\`` : `body: JSON.stringify(${json})`);
    }
    return `await fetch("${api}${path}", {\n  ${options.join(",\n  ")},\n});`;
  }

  // What the API answered, as it worded it: status line, the headers a client acts on, the body.
  function answerText(response, text) {
    const lines = [`HTTP ${response.status} ${response.statusText}`.trim()];
    for (const name of ["www-authenticate", "retry-after"]) {
      const value = response.headers.get(name);
      if (value) {
        lines.push(`${name}: ${value}`);
      }
    }
    if (text) {
      let shown = text;
      try {
        const parsed = JSON.parse(text);
        shown = JSON.stringify(parsed && typeof parsed === "object" && !Array.isArray(parsed) ? redact(parsed) : parsed, null, 2);
      } catch {
        // Not JSON: shown as it came.
      }
      lines.push("", shown);
    }
    return lines.join("\n");
  }

  function redact(body) {
    const shown = { ...body };
    for (const key of Object.keys(SECRET_NAMES)) {
      if (typeof shown[key] === "string") {
        shown[key] = `(kept in this page's memory as ${SECRET_NAMES[key]})`;
      }
    }
    return shown;
  }

  function block(className, label, text) {
    const figure = document.createElement("figure");
    figure.className = className;
    const caption = document.createElement("figcaption");
    caption.textContent = label;
    const pre = document.createElement("pre");
    const code = document.createElement("code");
    code.textContent = text;
    pre.append(code);
    figure.append(caption, pre);
    return figure;
  }

  function showCall(method, path, body, auth, response, text) {
    const item = document.createElement("li");
    item.className = "call";
    item.dataset.method = method;
    item.dataset.path = path;
    item.dataset.status = String(response ? response.status : 0);
    const title = document.createElement("h3");
    title.textContent = `${method} /api${path}`;
    const answer = response ? answerText(response, text) : `No answer: ${text}`;
    item.append(
      title,
      block("answer", "The answer", answer),
      block("curl", "curl", asCurl(method, path, body, auth)),
      block("fetch", "fetch", asFetch(method, path, body, auth)),
    );
    const list = byId("calls");
    list.prepend(item);
    while (list.children.length > MAX_CALLS_SHOWN) {
      list.lastElementChild.remove();
    }
  }

  // One call to the API, shown as it is made. Returns { response, text, json } (response null if unreachable).
  async function call(method, path, { body = null, auth = false } = {}) {
    const headers = { accept: "application/json" };
    if (auth) {
      headers.authorization = `Bearer ${tokens.access}`;
    }
    if (body) {
      headers["content-type"] = "application/json";
    }
    try {
      const response = await fetch(`${api}${path}`, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        cache: "no-store",
        credentials: "omit",
      });
      const text = await response.text();
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      showCall(method, path, body, auth, response, text);
      return { response, text, json };
    } catch (error) {
      showCall(method, path, body, auth, null, String(error));
      return { response: null, text: String(error), json: null };
    }
  }

  function apiWords(result) {
    if (!result.response) {
      return "The API could not be reached.";
    }
    const word = result.json && typeof result.json.error === "string" ? result.json.error : result.text;
    return `The API answered ${result.response.status}${word ? `: ${word}` : ""}.`;
  }

  function setSignedIn(signedIn) {
    for (const id of ["send-light", "show-me", "erase-me"]) {
      byId(id).disabled = !signedIn;
    }
    byId("start").hidden = signedIn;
    byId("send-state").textContent = signedIn ? "Ready." : "Sign in first.";
  }

  function forget() {
    tokens.access = null;
    tokens.refresh = null;
    tokens.expiresAt = 0;
    window.clearTimeout(refreshTimer);
    window.clearTimeout(pollTimer);
    setSignedIn(false);
    byId("start").hidden = false;
    byId("start").disabled = false;
  }

  function keep(pair) {
    tokens.access = pair.access_token;
    tokens.refresh = pair.refresh_token;
    const lifetimeMs = Number(pair.expires_in) * 1000;
    tokens.expiresAt = Date.now() + lifetimeMs;
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refresh, Math.max(lifetimeMs - REFRESH_MARGIN_MS, MIN_REFRESH_MS));
  }

  // Rotates the pair, one renewal at a time: a refresh token works once, and presenting it twice
  // (the timer and a click racing) would end the session on every device. False when it is over.
  function refresh() {
    if (!renewal) {
      renewal = renew().finally(() => {
        renewal = null;
      });
    }
    return renewal;
  }

  async function renew() {
    if (!tokens.refresh) {
      return false;
    }
    const result = await call("POST", "/auth/token", { body: { refresh_token: tokens.refresh } });
    if (result.response && result.response.ok && result.json) {
      keep(result.json);
      byId("sign-in-state").textContent = "Signed in (token renewed).";
      return true;
    }
    forget();
    byId("sign-in-state").textContent = `Signed out. ${apiWords(result)} Sign in again.`;
    return false;
  }

  // A call with the access token, renewed first when it is about to expire, and once more on a 401.
  async function authorised(method, path, body = null) {
    if (tokens.expiresAt - Date.now() < REFRESH_MARGIN_MS && !(await refresh())) {
      return null;
    }
    let result = await call(method, path, { body, auth: true });
    if (result.response && result.response.status === 401 && (await refresh())) {
      result = await call(method, path, { body, auth: true });
    }
    return result;
  }

  async function poll(deviceCode, intervalS, deadline) {
    if (Date.now() > deadline) {
      byId("sign-in-state").textContent = "The code expired: start again.";
      byId("pending").hidden = true;
      byId("start").hidden = false;
      byId("start").disabled = false;
      return;
    }
    const result = await call("POST", "/auth/token", { body: { device_code: deviceCode } });
    const error = result.json && typeof result.json.error === "string" ? result.json.error : "";
    if (result.response && result.response.ok && result.json) {
      keep(result.json);
      byId("pending").hidden = true;
      byId("sign-in-state").textContent = "Signed in. The token lives in this page only.";
      setSignedIn(true);
      return;
    }
    if (error === "authorization_pending" || error === "slow_down") {
      const next = error === "slow_down" ? intervalS + SLOW_DOWN_STEP_S : intervalS;
      byId("sign-in-state").textContent = `Waiting for you to approve the code (checking every ${next} s)\u2026`;
      pollTimer = window.setTimeout(() => poll(deviceCode, next, deadline), next * 1000);
      return;
    }
    byId("pending").hidden = true;
    byId("start").hidden = false;
    byId("start").disabled = false;
    byId("sign-in-state").textContent = `${apiWords(result)} Start again.`;
  }

  async function start() {
    byId("start").disabled = true;
    const result = await call("POST", "/auth/device");
    const started = result.json;
    if (!result.response || !result.response.ok || !started || typeof started.device_code !== "string") {
      byId("start").disabled = false;
      byId("sign-in-state").textContent = apiWords(result);
      return;
    }
    byId("user-code").textContent = started.user_code;
    // The address the API gave: whatever its verification step becomes, this page follows it.
    const link = byId("verify-link");
    link.href = started.verification_uri_complete || started.verification_uri;
    byId("pending").hidden = false;
    byId("start").hidden = true;
    const intervalS = Number(started.interval) || DEFAULT_INTERVAL_S;
    const deadline = Date.now() + Number(started.expires_in) * 1000;
    byId("sign-in-state").textContent = `Waiting for you to approve the code (checking every ${intervalS} s)\u2026`;
    pollTimer = window.setTimeout(() => poll(started.device_code, intervalS, deadline), intervalS * 1000);
  }

  function chosenPattern() {
    const checked = document.querySelector('input[name="pattern"]:checked');
    return checked ? checked.value : "solid";
  }

  async function sendLight() {
    const color = byId("colour").value.replace(/^#/, "").toLowerCase();
    const result = await authorised("POST", "/lights", { pattern: chosenPattern(), color });
    if (result) {
      byId("send-state").textContent =
        result.response && result.response.status === 202 ? "On its way to the wall." : apiWords(result);
    }
  }

  async function showMe() {
    const result = await authorised("GET", "/me");
    if (result) {
      byId("data-state").textContent = result.response && result.response.ok ? "Shown below, in the calls." : apiWords(result);
    }
  }

  async function eraseMe() {
    if (!window.confirm("Erase everything the API stores about you, and sign out on every device?")) {
      return;
    }
    const result = await authorised("DELETE", "/me");
    if (result && result.response && result.response.status === 204) {
      forget();
      byId("sign-in-state").textContent = "";
      byId("data-state").textContent = "Erased. Your tokens no longer work.";
    } else if (result) {
      byId("data-state").textContent = apiWords(result);
    }
  }

  byId("start").addEventListener("click", start);
  byId("send-light").addEventListener("click", sendLight);
  byId("show-me").addEventListener("click", showMe);
  byId("erase-me").addEventListener("click", eraseMe);
  byId("privacy-link").href = `${api}/privacy`;
  byId("docs-link").href = `${api}/docs`;
})();
