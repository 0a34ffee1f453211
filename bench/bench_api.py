"""The event API's costs, measured in one run and reported as ratios against a baseline.

- cold import of function_app.py (fresh interpreter) against a bare azure.functions + ASGI hello-world;
- token verifications per second (local verification against cached public keys);
- authenticated POST /api/lights against unauthenticated GET /api/health on the same local server
  (uvicorn + Azurite + the GitHub stand-in).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench import Measurement
from dev.github_standin import GitHubStandIn, OAuthApp
from dev.local import AzuritePorts, api_environment, free_port, new_client_secret, serve_in_thread, start_azurite

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_CODE = ROOT / "function_code"
IMPORT_RUNS = 5
VERIFICATIONS = 3000
HTTP_REQUESTS = 300

_HELLO_WORLD = """
import azure.functions as func

async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})

app = func.AsgiFunctionApp(app=hello, http_auth_level=func.AuthLevel.ANONYMOUS)
"""

_TIME_IMPORT = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _azure_settings(state_dir: Path) -> dict[str, str]:
    # Azure-shaped settings: importing the app must not touch the network, so none is needed.
    env = api_environment(7071, "https://github.com", AzuritePorts(), state_dir, new_client_secret())
    env.pop("EVENTSTACK_STORAGE_CONNECTION_STRING")
    env.pop("EVENTSTACK_GITHUB_CLIENT_SECRET")
    env.update(
        {
            "EVENTSTACK_KEY_VAULT_URI": "https://kv-bench.vault.azure.net",
            "EVENTSTACK_SIGNING_KEY_NAME": "token-signing",
            "EVENTSTACK_PEPPER_SECRET_NAME": "github-id-pepper",
            "EVENTSTACK_GITHUB_SECRET_NAME": "github-client-secret",
            "EVENTSTACK_TABLE_ENDPOINT": "https://stbench.table.core.windows.net",
            "EVENTSTACK_TOKEN_ISSUER": "https://app-bench.azurewebsites.net",
            "EVENTSTACK_TOKEN_AUDIENCE": "https://app-bench.azurewebsites.net/api",
            "EVENTSTACK_GITHUB_BASE_URL": "https://github.com",
            "EVENTSTACK_GITHUB_API_URL": "https://api.github.com",
        }
    )
    return env


def _cold_import_seconds(module: str, cwd: Path, env: dict[str, str]) -> float:
    times = []
    for _ in range(IMPORT_RUNS):
        result = subprocess.run(
            [sys.executable, "-c", _TIME_IMPORT.format(module=module)],
            cwd=cwd,
            env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "0"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        times.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _verifications_per_second(state_dir: Path) -> float:
    sys.path.insert(0, str(FUNCTION_CODE))
    from eventapi.auth.signer import LocalSigner
    from eventapi.auth.tokens import TokenService
    from eventapi.storage.sessions import new_id as new_session_id

    tokens = TokenService(
        LocalSigner(state_dir), "https://a.test", "https://a.test/api", timedelta(minutes=10), lambda: datetime.now(UTC)
    )
    token = tokens.issue(new_session_id()).token
    started = time.perf_counter()
    for _ in range(VERIFICATIONS):
        tokens.verify(token)
    return VERIFICATIONS / (time.perf_counter() - started)


def _http_rates(state_dir: Path) -> tuple[float, float]:
    sys.path.insert(0, str(FUNCTION_CODE))
    from eventapi.app import create_app
    from eventapi.services import build_services
    from eventapi.settings import load_settings

    ports = AzuritePorts(free_port(), free_port(), free_port())
    azurite = start_azurite(ports, state_dir / "azurite")
    github = GitHubStandIn()
    github.start_in_thread()
    port = free_port()
    env = api_environment(
        port,
        github.url,
        ports,
        state_dir,
        new_client_secret(),
        overrides={"EVENTSTACK_COMMANDS_PER_MINUTE": "600", "EVENTSTACK_MAX_CONCURRENT_REQUESTS": "100"},
    )
    settings = load_settings(env)
    github.register(
        OAuthApp(settings.github_client_id, env["EVENTSTACK_GITHUB_CLIENT_SECRET"], settings.github_callback_url)
    )
    server, thread = serve_in_thread(create_app(build_services(settings)), port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            started = client.post("/api/auth/device").json()
            httpx.post(f"{github.url}/approve", json={"user_code": started["user_code"], "login": "bench", "id": 1})
            token = client.post("/api/auth/token", json={"device_code": started["device_code"]}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            def rate(send: object) -> float:
                assert callable(send)
                send()  # warm-up
                began = time.perf_counter()
                for _ in range(HTTP_REQUESTS):
                    assert send().status_code < 300
                return HTTP_REQUESTS / (time.perf_counter() - began)

            health = rate(lambda: client.get("/api/health"))
            lights = rate(
                lambda: client.post("/api/lights", json={"pattern": "pulse", "color": "00ff88"}, headers=headers)
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        github.shutdown()
        github.server_close()
        azurite.terminate()
        azurite.wait(timeout=10)
    return health, lights


def run() -> list[Measurement]:
    """Measure everything in one run; ratios compare against the baseline measured alongside.

    Requests are sequential from one client; imports are the median of fresh interpreters.
    """
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        (scratch_dir / "hello_app.py").write_text(_HELLO_WORLD)
        env = _azure_settings(scratch_dir / "state")
        app_import = _cold_import_seconds("function_app", FUNCTION_CODE, env)
        hello_import = _cold_import_seconds("hello_app", scratch_dir, {})
        verifications = _verifications_per_second(scratch_dir / "state")
        health, lights = _http_rates(scratch_dir / "http")
    return [
        Measurement("cold import: function_app", app_import, f"s (median of {IMPORT_RUNS})"),
        Measurement("cold import: azure.functions + ASGI hello-world", hello_import, f"s (median of {IMPORT_RUNS})"),
        Measurement("cold import ratio, function_app / hello-world", app_import / hello_import, "x"),
        Measurement("token verifications", verifications, "per s"),
        Measurement("GET /api/health (unauthenticated)", health, "per s"),
        Measurement("POST /api/lights (authenticated)", lights, "per s"),
        Measurement("POST /api/lights / GET /api/health", lights / health, "x"),
    ]


if __name__ == "__main__":
    for measurement in run():
        print(measurement.render())
