"""A local stand-in for GitHub's device-flow endpoints; never shipped in the function bundle.

Implements POST /login/device/code, POST /login/oauth/access_token and GET /user, plus
POST /approve {"user_code", "login", "id"} (and /deny, /expire) so tests can sign in as anyone.
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_PORT = 7072


@dataclass
class _Grant:
    device_code: str
    user_code: str
    client_id: str
    expires_at: float
    user: dict[str, Any] | None = None
    denied: bool = False
    last_poll: float = 0.0


@dataclass
class StandInState:
    """Grants and issued access tokens, shared by the request handlers."""

    interval: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    grants: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_user_code(self, user_code: str) -> _Grant | None:
        return next((g for g in self.grants.values() if g.user_code == user_code), None)


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
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        state = self.server.state
        try:
            body = self._body()
        except ValueError:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "bad_request"})
            return
        with state.lock:
            if self.path == "/login/device/code":
                self._device_code(state, body)
            elif self.path == "/login/oauth/access_token":
                self._access_token(state, body)
            elif self.path in ("/approve", "/deny", "/expire"):
                self._decide(state, body)
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": "not_found"})

    def _device_code(self, state: StandInState, body: dict[str, Any]) -> None:
        if not body.get("client_id"):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "unauthorized_client"})
            return
        grant = _Grant(
            device_code=secrets.token_hex(20),
            user_code=f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}",
            client_id=str(body["client_id"]),
            expires_at=time.time() + 900,
        )
        state.grants[grant.device_code] = grant
        host, port = self.server.server_address[:2]
        self._reply(
            HTTPStatus.OK,
            {
                "device_code": grant.device_code,
                "user_code": grant.user_code,
                "verification_uri": f"http://{host!s}:{port}/login/device",
                "expires_in": 900,
                "interval": state.interval,
            },
        )

    def _access_token(self, state: StandInState, body: dict[str, Any]) -> None:
        grant = state.grants.get(str(body.get("device_code", "")))
        if body.get("grant_type") != DEVICE_GRANT_TYPE or grant is None or grant.client_id != body.get("client_id"):
            self._reply(HTTPStatus.OK, {"error": "incorrect_device_code"})
            return
        now = time.time()
        too_fast = now - grant.last_poll < state.interval
        grant.last_poll = now
        if now >= grant.expires_at:
            error = "expired_token"
        elif grant.denied:
            error = "access_denied"
        elif too_fast:
            error = "slow_down"
        elif grant.user is None:
            error = "authorization_pending"
        else:
            # Like GitHub, a device code is exchanged once.
            del state.grants[grant.device_code]
            token = "gho_" + secrets.token_hex(18)
            state.tokens[token] = grant.user
            self._reply(HTTPStatus.OK, {"access_token": token, "token_type": "bearer", "scope": ""})
            return
        self._reply(HTTPStatus.OK, {"error": error})

    def _decide(self, state: StandInState, body: dict[str, Any]) -> None:
        grant = state.by_user_code(str(body.get("user_code", "")))
        if grant is None:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown_user_code"})
            return
        if self.path == "/approve":
            if not isinstance(body.get("id"), int) or not isinstance(body.get("login"), str):
                self._reply(HTTPStatus.BAD_REQUEST, {"error": "id (int) and login (str) required"})
                return
            grant.user = {"id": body["id"], "login": body["login"]}
        elif self.path == "/deny":
            grant.denied = True
        else:
            grant.expires_at = 0.0
        self._reply(HTTPStatus.OK, {})

    def do_GET(self) -> None:
        if self.path != "/user":
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not_found"})
            return
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        with self.server.state.lock:
            user = self.server.state.tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if user is None:
            self._reply(HTTPStatus.UNAUTHORIZED, {"message": "Bad credentials"})
            return
        self._reply(HTTPStatus.OK, {**user, "type": "User"})


class GitHubStandIn(ThreadingHTTPServer):
    """The stand-in server; `interval` is the minimum seconds between polls (0 disables slow_down)."""

    daemon_threads = True

    def __init__(self, port: int = 0, interval: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = StandInState(interval=interval)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests); stop with shutdown()."""
        thread = threading.Thread(target=self.serve_forever, name="github-standin", daemon=True)
        thread.start()
        return thread


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--interval", type=int, default=0, help="minimum seconds between polls")
    args = parser.parse_args()
    server = GitHubStandIn(args.port, args.interval)
    print(f"GitHub stand-in on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
