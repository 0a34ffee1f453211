"""Run the event API on this machine: Azurite, the GitHub stand-in and uvicorn, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
# The emulator's account name. Its key is made fresh for every run (AZURITE_ACCOUNTS) rather
# than the published development key, so no storage key is written anywhere in this repository.
AZURITE_ACCOUNT = "devstoreaccount1"
LOCAL_GITHUB_CLIENT_ID = "Iv1.localstandin"
START_TIMEOUT_SECONDS = 60.0


def _fresh_account_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


@dataclass(frozen=True)
class AzuritePorts:
    """The three emulator ports, and the account key of this run's emulator."""

    blob: int = 10000
    queue: int = 10001
    table: int = 10002
    account_key: str = field(default_factory=_fresh_account_key, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AzuritePorts:
        return cls(
            int(env.get("EVENTSTACK_AZURITE_BLOB_PORT", "10000")),
            int(env.get("EVENTSTACK_AZURITE_QUEUE_PORT", "10001")),
            int(env.get("EVENTSTACK_AZURITE_TABLE_PORT", "10002")),
        )

    @property
    def connection_string(self) -> str:
        base = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={self.account_key};"
            f"BlobEndpoint={base}:{self.blob}/{AZURITE_ACCOUNT};QueueEndpoint={base}:{self.queue}/{AZURITE_ACCOUNT};"
            f"TableEndpoint={base}:{self.table}/{AZURITE_ACCOUNT};"
        )


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = START_TIMEOUT_SECONDS
) -> None:
    """Block until something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


def start_azurite(ports: AzuritePorts, workdir: Path) -> subprocess.Popen[bytes]:
    """Azurite in memory, bound to 127.0.0.1, without telemetry; waits until the table port answers.

    `workdir` is its working folder (Azurite writes a debug log there only when asked)."""
    if not AZURITE.exists():
        raise FileNotFoundError(f"{AZURITE} is missing: run `npm ci`")
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(ports.blob),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(ports.queue),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(ports.table),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ],
        cwd=workdir,
        env={**os.environ, "AZURITE_ACCOUNTS": f"{AZURITE_ACCOUNT}:{ports.account_key}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(ports.table, process)
    return process


def new_client_secret() -> str:
    """A GitHub OAuth client secret for one local run (GitHub's are 40 hex characters too)."""
    return secrets.token_hex(20)


def api_environment(
    api_port: int,
    github_url: str,
    ports: AzuritePorts,
    state_dir: Path,
    client_secret: str,
    *,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The settings the API runs with locally (the Function App sets the Azure equivalents).

    `overrides` win over every default here, so any setting or phase of the event can be tried.
    """
    origin = f"http://127.0.0.1:{api_port}"
    ends_at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = {
        "EVENTSTACK_TOKEN_ISSUER": origin,
        "EVENTSTACK_TOKEN_AUDIENCE": f"{origin}/api",
        "EVENTSTACK_TOKEN_TTL_MINUTES": "10",
        "EVENTSTACK_RETENTION_HOURS": "48",
        "EVENTSTACK_EVENT_ENDS_AT": ends_at,
        "EVENTSTACK_COMMANDS_PER_MINUTE": "30",
        "EVENTSTACK_AUTH_REQUESTS_PER_MINUTE": "600",
        "EVENTSTACK_SIGN_INS_PER_MINUTE": "30",
        "EVENTSTACK_SESSION_HOURS": "48",
        "EVENTSTACK_SESSIONS_PER_ATTENDEE": "5",
        "EVENTSTACK_SIGN_IN_MODE": "open",
        "EVENTSTACK_CONTROLLER_NAME": "whoever runs this local copy",
        "EVENTSTACK_CONTROLLER_CONTACT": "the person at this machine's keyboard",
        "EVENTSTACK_SIGN_IN_GRACE_MINUTES": "0",
        "EVENTSTACK_ALLOWED_LOGIN_DIGESTS": "",
        "EVENTSTACK_MAX_CONCURRENT_REQUESTS": "20",
        "EVENTSTACK_MAX_OUTSTANDING_REQUESTS": "100",
        # Any page may call the bearer-token endpoints, as in Azure by default (corsOrigins).
        "EVENTSTACK_CORS_ORIGINS": "*",
        "EVENTSTACK_GITHUB_CLIENT_ID": LOCAL_GITHUB_CLIENT_ID,
        "EVENTSTACK_GITHUB_BASE_URL": github_url,
        "EVENTSTACK_GITHUB_API_URL": github_url,
        "EVENTSTACK_GITHUB_CLIENT_SECRET": client_secret,
        "EVENTSTACK_STORAGE_CONNECTION_STRING": ports.connection_string,
        "EVENTSTACK_LOCAL_STATE_DIR": str(state_dir),
    }
    env.update(overrides or {})
    return env


def walkthrough(api: str, github: str, mode: str) -> str:
    """The curl commands that show the whole API."""
    sys.path.insert(0, str(ROOT / "function_code"))
    from eventapi.auth.oauth import PUBLIC_CLIENT_ID
    from eventapi.models import GrantType

    client_id, device_grant = PUBLIC_CLIENT_ID, GrantType.DEVICE_CODE.value
    admitted = (
        "only the logins in EVENTSTACK_ALLOWED_GITHUB_LOGINS may sign in (others get access_denied)"
        if mode == "allowlist"
        else "sign-in is open to every GitHub login (set EVENTSTACK_ALLOWED_GITHUB_LOGINS=a,b to allow only those)"
    )
    return f"""
The event API runs on {api}/api  (docs: {api}/api/docs); {admitted}.

  The wall, for the big screen:   {api}/api/wall
  The join page, for phones:      {api}/api/join   (its sign-in button leads to the GitHub stand-in)

The quickest try: an attendee example signs in, sends a light, refreshes and sends another
(approve its code in a browser, or with the stand-in's /approve line below):

  node examples/device_flow.mjs {api}          # or: python examples/device_flow.py {api}

Or step by step with curl (form-encoded, as OAuth 2.0 clients send it; JSON works too):

  curl -s {api}/.well-known/oauth-authorization-server     # endpoints and the public client id
  # 1. start a sign-in on your "device": note device_code and user_code
  curl -s {api}/api/auth/device -d client_id={client_id}
  # 2. the attendee's browser step: open verification_uri_complete in a browser (the GitHub stand-in
  #    asks which login to be), or let the stand-in play the browser as a test user:
  curl -s -X POST {github}/approve -H 'Content-Type: application/json' \\
       -d '{{"user_code": "<user_code>", "login": "octocat", "id": 583231}}'
  # 3. the device exchanges its code for a short-lived access token and a refresh token
  curl -s {api}/api/auth/token -d grant_type={device_grant} \\
       -d device_code=<device_code> -d client_id={client_id}
  TOKEN=<access_token>; REFRESH=<refresh_token>
  # 4. send a command to the wall, then look at the wall (public)
  curl -s -X POST {api}/api/lights -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"pattern": "pulse", "color": "ff8800"}}'
  curl -s {api}/api/lights
  # 5. before the access token expires, renew the pair (each refresh token works once); a 401
  #    says in error_description whether to refresh or to sign in again
  curl -s {api}/api/auth/token -d grant_type=refresh_token -d "refresh_token=$REFRESH" -d client_id={client_id}
  # 6. what is stored about you; then erase it (the same token gets 401 afterwards)
  curl -s {api}/api/me -H "Authorization: Bearer $TOKEN"
  curl -s -X DELETE {api}/api/me -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{{http_code}}\\n'
  curl -s {api}/api/me -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{{http_code}}\\n'
  # retention purge, as the timer runs it in Azure:  (cd function_code && python -m eventapi.retention)

Ctrl-C stops everything.
"""


def login_digests(state_dir: Path, logins: str) -> str:
    """The allowlist as the program hands it to the app in Azure: HMACs of lower-cased logins, never logins."""
    sys.path.insert(0, str(ROOT / "function_code"))
    from eventapi.auth.admission import LOGIN_PURPOSE
    from eventapi.pepper import KeyedHash, local_pepper

    keyed_hash = KeyedHash(local_pepper(state_dir))
    wanted = [login.strip().lower() for login in logins.split(",") if login.strip()]
    return ",".join(keyed_hash.digest(LOGIN_PURPOSE, login) for login in wanted)


def caller_overrides(env: Mapping[str, str], state_dir: Path) -> dict[str, str]:
    """Every EVENTSTACK_* variable of the caller's environment, and the allowlist made into digests."""
    overrides = {key: value for key, value in env.items() if key.startswith("EVENTSTACK_")}
    logins = overrides.pop("EVENTSTACK_ALLOWED_GITHUB_LOGINS", "")
    if logins.strip():
        overrides["EVENTSTACK_SIGN_IN_MODE"] = "allowlist"
        overrides["EVENTSTACK_ALLOWED_LOGIN_DIGESTS"] = login_digests(state_dir, logins)
    return overrides


def serve_in_thread(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:`port` from a daemon thread, once it accepts requests.

    Stop it with `server.should_exit = True` and join the thread.
    """
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    return server, thread


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in reversed(processes):
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    """Start the three processes, print the walkthrough, stop them all on Ctrl-C or SIGTERM."""
    env = os.environ
    ports = AzuritePorts.from_env(env)
    api_port = int(env.get("EVENTSTACK_API_PORT", "7071"))
    github_port = int(env.get("EVENTSTACK_GITHUB_PORT", "7072"))
    state_dir = ROOT / ".local"
    processes: list[subprocess.Popen[bytes]] = []

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        processes.append(start_azurite(ports, state_dir / "azurite"))
        github_url = f"http://127.0.0.1:{github_port}"
        overrides = caller_overrides(env, state_dir)
        settings = api_environment(api_port, github_url, ports, state_dir, new_client_secret(), overrides=overrides)
        github = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dev.github_standin",
                "--port",
                str(github_port),
                "--client-id",
                settings["EVENTSTACK_GITHUB_CLIENT_ID"],
                "--callback-url",
                f"{settings['EVENTSTACK_TOKEN_ISSUER']}/api/auth/callback",
            ],
            cwd=ROOT,
            # The secret travels in the environment, not on a command line others can list.
            env={**env, "EVENTSTACK_GITHUB_CLIENT_SECRET": settings["EVENTSTACK_GITHUB_CLIENT_SECRET"]},
        )
        processes.append(github)
        wait_for_port(github_port, github)
        api_env = {**env, **settings}
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "eventapi.app:create_app_from_environment",
                "--factory",
                "--app-dir",
                str(ROOT / "function_code"),
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--no-proxy-headers",
                "--no-server-header",
                # Request lines carry user codes and GitHub's one-time codes in their queries.
                "--no-access-log",
            ],
            cwd=ROOT,
            env=api_env,
        )
        processes.append(api)
        wait_for_port(api_port, api)
        print(walkthrough(f"http://127.0.0.1:{api_port}", github_url, settings["EVENTSTACK_SIGN_IN_MODE"]), flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        print("a process stopped; shutting down", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(processes)


if __name__ == "__main__":
    main()
