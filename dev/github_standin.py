"""A local stand-in for GitHub as an OAuth identity provider; never shipped in the function bundle.

GitHub's web application flow: GET /login/oauth/authorize (a consent form for a person),
POST /login/oauth/access_token (code + client secret + PKCE verifier), GET /user. And for tests and
scripts, POST /approve {"user_code", "login", "id"} (or /deny {"user_code"}): it plays the attendee's
browser as a browser would: it opens the app's verification page (keeping its cookie), posts the
confirmation form with its CSRF token, consents at "GitHub", follows the redirect to the app's
callback with the cookie, and waits on the app's queue page as its meta refresh says.

`latency` (seconds, or a function returning them; `--latency-ms`) holds every answer of the token
and user endpoints, as GitHub's come over the internet: a slow GitHub is reproduced with it (GitHub
publishes no figure; the rehearsed conference day assumes 300 ms).

It can enforce GitHub's published limits for OAuth apps (docs.github.com, "Rate limits for OAuth
apps"): 2,000 access-token requests per hour per app, and a user signed in 10 times within an hour
must re-authorize the app (here: the 11th authorization in an hour is refused).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from dev.http import http_client, serve_in_background

DEFAULT_PORT = 7072
# GitHub's published limits (see the module docstring).
TOKEN_REQUESTS_PER_APP_PER_HOUR = 2000
SIGN_INS_PER_USER_PER_HOUR = 10
CODE_LIFETIME_SECONDS = 600
_HOUR = 3600.0
# The browser that /approve plays announces itself as one (the app tells callers apart by it).
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) GitHubStandInBrowser/1.0"
# A browser gives up on a page that keeps refreshing after this many times.
MAX_REFRESHES = 30
Latency = float | Callable[[], float]


class _PageReader(HTMLParser):
    """The parts of an HTML page a browser acts on here: form fields and a meta refresh."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.form_action: str | None = None
        self.links: list[str] = []
        self.refresh: tuple[float, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and values.get("method", "get").lower() == "post":
            self.form_action = values.get("action", "")
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"])
        elif tag == "input" and self.form_action is not None and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            delay, _, target = values.get("content", "").partition(";")
            self.refresh = (float(delay), target.strip().removeprefix("url=").removeprefix("URL="))


def read_page(text: str) -> _PageReader:
    """Parse a page as a browser would for forms and refreshes."""
    reader = _PageReader()
    reader.feed(text)
    return reader


@dataclass(frozen=True)
class OAuthApp:
    """A registered OAuth app: its secret and the one callback URL GitHub redirects to."""

    client_id: str
    client_secret: str
    callback_url: str


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    user: dict[str, Any]
    expires_at: float


@dataclass
class StandInState:
    """Apps, codes and tokens, and the counters behind GitHub's limits."""

    clock: Callable[[], float]
    enforce_limits: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    apps: dict[str, OAuthApp] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    sign_ins: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    authorizations: int = 0

    def within(self, times: deque[float], limit: int) -> bool:
        """Count one event now unless `limit` already happened in the last hour."""
        now = self.clock()
        while times and times[0] <= now - _HOUR:
            times.popleft()
        if self.enforce_limits and len(times) >= limit:
            return False
        times.append(now)
        return True


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    server: GitHubStandIn

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the walkthrough's output stays readable

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            loaded = json.loads(raw or "{}")
            return loaded if isinstance(loaded, dict) else {}
        return {key: values[0] for key, values in parse_qs(raw).items()}

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        try:
            body = self._body()
        except ValueError:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "bad_request"})
            return
        path = urlsplit(self.path).path
        if path == "/login/oauth/access_token":
            self._access_token(body)
        elif path == "/login/oauth/authorize":
            self._consent_form_submitted(body)
        elif path in ("/approve", "/deny"):
            self._play_browser(body, approve=path == "/approve")
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not_found"})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/user":
            self._user()
        elif parts.path == "/login/oauth/authorize":
            self._consent_form({k: v[0] for k, v in parse_qs(parts.query).items()})
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not_found"})

    # GitHub's endpoints --------------------------------------------------------------------

    def _consent_form(self, query: dict[str, str]) -> None:
        """What a person sees: sign in as whom (the stand-in has no accounts, so you type one)."""
        problem = self.server.check_authorize(query)
        if problem:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": problem})
            return
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items()
        )
        page = f"""<!doctype html><title>GitHub stand-in</title><h1>Authorize (local stand-in)</h1>
<form method="post" action="/login/oauth/authorize">{hidden}
<label>login <input name="login" value="octocat"></label> <label>id <input name="id" value="583231"></label>
<button type="submit">Authorize</button></form>"""
        self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

    def _consent_form_submitted(self, form: dict[str, Any]) -> None:
        try:
            user = {"login": str(form["login"]), "id": int(form["id"])}
        except (KeyError, ValueError):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "login and id required"})
            return
        outcome = self.server.authorize(form, user)
        if isinstance(outcome, tuple):
            self._reply(outcome[0], {"error": outcome[1]})
            return
        self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": outcome})

    def _access_token(self, body: dict[str, Any]) -> None:
        self.server.wait_like_github()
        state = self.server.state
        with state.lock:
            app = state.apps.get(str(body.get("client_id", "")))
            if app is None or not secrets.compare_digest(app.client_secret, str(body.get("client_secret", ""))):
                self._reply(HTTPStatus.OK, {"error": "incorrect_client_credentials"})
                return
            if not state.within(state.token_requests[app.client_id], TOKEN_REQUESTS_PER_APP_PER_HOUR):
                self._reply(HTTPStatus.TOO_MANY_REQUESTS, {"error": "rate_limited"})
                return
            code = state.codes.pop(str(body.get("code", "")), None)
            if (
                code is None
                or code.client_id != app.client_id
                or code.expires_at <= state.clock()
                or code.redirect_uri != body.get("redirect_uri")
                or code.challenge != _challenge(str(body.get("code_verifier", "")))
            ):
                self._reply(HTTPStatus.OK, {"error": "bad_verification_code"})
                return
            token = "gho_" + secrets.token_hex(18)
            state.tokens[token] = code.user
        self._reply(HTTPStatus.OK, {"access_token": token, "token_type": "bearer", "scope": ""})

    def _user(self) -> None:
        self.server.wait_like_github()
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        with self.server.state.lock:
            user = self.server.state.tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if user is None:
            self._reply(HTTPStatus.UNAUTHORIZED, {"message": "Bad credentials"})
            return
        self._reply(HTTPStatus.OK, {**user, "type": "User"})

    # The attendee's browser, for tests and scripts -----------------------------------------

    def _play_browser(self, body: dict[str, Any], approve: bool) -> None:
        user_code = body.get("user_code")
        if not isinstance(user_code, str):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "user_code (str) required"})
            return
        user: dict[str, Any] | None = None
        if approve:
            if not isinstance(body.get("id"), int) or not isinstance(body.get("login"), str):
                self._reply(HTTPStatus.BAD_REQUEST, {"error": "id (int) and login (str) required"})
                return
            user = {"id": body["id"], "login": body["login"]}
        status, answer = self.server.play_browser(user_code, user)
        self._reply(status, answer)


class GitHubStandIn(ThreadingHTTPServer):
    """The stand-in server. `enforce_limits` applies GitHub's hourly limits; `clock` is seconds since the epoch."""

    daemon_threads = True
    # socketserver's default backlog is 5: a hall's browser steps arriving together were reset (seen
    # in the rehearsed conference day), and at 128 a hundred simultaneous browser steps, with the app's
    # calls for their tokens and users, still overflowed it. GitHub does not refuse connections like that.
    request_queue_size = 1024

    def __init__(
        self,
        port: int = 0,
        enforce_limits: bool = True,
        clock: Callable[[], float] = time.time,
        latency: Latency = 0.0,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = StandInState(clock=clock, enforce_limits=enforce_limits)
        self.latency = latency
        # How the played browser waits out a meta refresh (tests may compress time).
        self.wait = wait

    def wait_like_github(self) -> None:
        """GitHub's token and user endpoints answer over the internet: hold each answer (no lock held)."""
        latency = self.latency
        delay = float(latency() if callable(latency) else latency)
        if delay > 0:
            time.sleep(delay)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def register(self, app: OAuthApp) -> None:
        """Register an OAuth app, as its owner does on GitHub's settings page."""
        with self.state.lock:
            self.state.apps[app.client_id] = app

    def check_authorize(self, query: dict[str, str]) -> str:
        """Why GitHub would refuse this authorize request, or "" if it would not."""
        with self.state.lock:
            app = self.state.apps.get(query.get("client_id", ""))
        if app is None:
            return "unknown client_id"
        if query.get("redirect_uri") != app.callback_url:
            return "redirect_uri_mismatch"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge") or not query.get("state"):
            return "state and an S256 code_challenge are required"
        return ""

    def authorize(self, query: dict[str, Any], user: dict[str, Any]) -> str | tuple[int, str]:
        """The user consents: the callback URL with a fresh code, or (status, error)."""
        problem = self.check_authorize({k: str(v) for k, v in query.items()})
        if problem:
            return HTTPStatus.BAD_REQUEST, problem
        state = self.state
        with state.lock:
            if not state.within(state.sign_ins[int(user["id"])], SIGN_INS_PER_USER_PER_HOUR):
                return HTTPStatus.TOO_MANY_REQUESTS, "reauthorization_required"
            code = secrets.token_hex(10)
            state.codes[code] = _Code(
                str(query["client_id"]),
                str(query["redirect_uri"]),
                str(query["code_challenge"]),
                dict(user),
                state.clock() + CODE_LIFETIME_SECONDS,
            )
            state.authorizations += 1
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def play_browser(self, user_code: str, user: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        """Open the app's verification page for `user_code`, confirm, consent (or not) at GitHub, come back.

        One browser (one cookie jar) throughout, as a person's would be. Returns the status of the
        app's last page, and how many times its queue page made the browser wait. Holds no lock
        while it talks to the app, which calls this stand-in back for the token and the user.
        """
        with self.state.lock:
            apps = list(self.state.apps.values())
        headers = {"User-Agent": BROWSER_USER_AGENT}
        with http_client(timeout=30, follow_redirects=False, headers=headers) as browser:
            for app in reversed(apps):
                origin = "{0.scheme}://{0.netloc}".format(urlsplit(app.callback_url))
                try:
                    page = browser.get(f"{origin}/api/auth/verify", params={"user_code": user_code})
                except httpx.HTTPError:
                    continue
                if page.status_code == HTTPStatus.NOT_FOUND:
                    continue  # not this app's code
                if page.status_code != HTTPStatus.OK:
                    return page.status_code, {"error": "the verification page refused", "app_status": page.status_code}
                onward = self._continue(browser, origin, read_page(page.text))
                if onward is None:
                    return HTTPStatus.BAD_GATEWAY, {"error": "the verification page has no way on"}
                if onward.status_code != HTTPStatus.SEE_OTHER:
                    return onward.status_code, {"error": "the app did not send the browser to GitHub"}
                query = {k: v[0] for k, v in parse_qs(urlsplit(onward.headers["location"]).query).items()}
                if user is None:
                    refusal = urlencode({"error": "access_denied", "state": query.get("state", "")})
                    back = f"{query.get('redirect_uri')}?{refusal}"
                else:
                    consented = self.authorize(query, user)
                    if isinstance(consented, tuple):
                        return consented[0], {"error": consented[1]}
                    back = consented
                return self._come_back(browser, origin, back)
        return HTTPStatus.NOT_FOUND, {"error": "unknown_user_code"}

    @staticmethod
    def _continue(browser: httpx.Client, origin: str, page: _PageReader) -> httpx.Response | None:
        """What a person does on the verification page: submit its form, or else follow its link on."""
        if page.form_action:
            return browser.post(f"{origin}{page.form_action}", data=page.fields)
        onward = [link for link in page.links if "/api/auth/" in link and "verify" not in link]
        return browser.get(f"{origin}{onward[0]}") if onward else None

    def _come_back(self, browser: httpx.Client, origin: str, url: str) -> tuple[int, dict[str, Any]]:
        """Follow GitHub's redirect to the callback, and the app's meta refreshes while it queues."""
        done = browser.get(url)
        # When each queue page came (epoch seconds): a load test holds them to the app's budget.
        queued_at: list[float] = []
        refresh = read_page(done.text).refresh if done.status_code == HTTPStatus.OK else None
        while refresh is not None and len(queued_at) < MAX_REFRESHES:
            queued_at.append(time.time())
            self.wait(refresh[0])
            done = browser.get(f"{origin}{refresh[1]}" if refresh[1].startswith("/") else refresh[1])
            refresh = read_page(done.text).refresh if done.status_code == HTTPStatus.OK else None
        return done.status_code, {"app_status": done.status_code, "waits": len(queued_at), "queued_at": queued_at}

    def start_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests); stop with shutdown()."""
        return serve_in_background(self, "github-standin")


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=os.environ.get("EVENTSTACK_GITHUB_CLIENT_SECRET", ""))
    parser.add_argument("--callback-url", required=True)
    parser.add_argument("--no-limits", action="store_true", help="do not enforce GitHub's hourly limits")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="hold each token and user answer this long, as GitHub's do"
    )
    args = parser.parse_args()
    if not args.client_secret:
        parser.error("set EVENTSTACK_GITHUB_CLIENT_SECRET (or --client-secret)")
    server = GitHubStandIn(args.port, enforce_limits=not args.no_limits, latency=args.latency_ms / 1000)
    server.register(OAuthApp(args.client_id, args.client_secret, args.callback_url))
    print(f"GitHub stand-in on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
