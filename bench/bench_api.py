"""The event API's costs, each against a baseline measured alongside it in the same run.

1. cold import of function_app.py (Azure-shaped settings, no network) against a bare
   `import azure.functions, fastapi`, and against an azure.functions ASGI hello-world, in CPU time
   (the wall-clock ratio beside it);
2. time to first response: spawn uvicorn on the app (Azurite-backed, as `make local` runs it) and
   time until its first `GET /api/lights` answers 200; the same for a bare FastAPI app;
3. token verifications per second: TokenService.verify against PyJWT's jwt.decode on the same key
   and token;
4. authenticated POST /api/lights against unauthenticated GET /api/health on the same server
   (a uvicorn process of its own, so that client and server do not share an interpreter);
5. the write path: authenticated POST /api/lights against bench/_bare_write.py, a bare ASGI handler
   that makes the same two table writes after verifying the token and the body, under the same
   uvicorn and against the same Azurite.

Runs of the two sides alternate, so that a neighbour's load lands on both rather than on one.
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
import jwt

from bench import Goal, Measurement
from dev.github_standin import GitHubStandIn, OAuthApp
from dev.local import AzuritePorts, api_environment, free_port, new_client_secret, start_azurite, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_CODE = ROOT / "function_code"
IMPORT_RUNS = 7
FIRST_RESPONSE_RUNS = 3
VERIFY_ROUNDS = 5
VERIFICATIONS_PER_ROUND = 1000
# Even: each side of a pair takes each position equally often (see _alternating_rates).
HTTP_ROUNDS = 8
HTTP_REQUESTS_PER_ROUND = 60
# Commands are limited per attendee (at most 600 a minute): spread them over a few attendees so
# the quota never answers 429 during the run.
ATTENDEES = 4
FIRST_RESPONSE_TIMEOUT_SECONDS = 60.0
APP_FACTORY = "eventapi.app:create_app_from_environment"

IMPORT_GOAL = Goal(1.25, at_most=True)
VERIFY_GOAL = Goal(0.9, at_most=False)
HTTP_GOAL = Goal(0.5, at_most=False)
WRITE_GOAL = Goal(0.8, at_most=False)
BARE_WRITE_FACTORY = "bench._bare_write:create_app"

_HELLO_WORLD = """
import azure.functions as func

async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})

app = func.AsgiFunctionApp(app=hello, http_auth_level=func.AuthLevel.ANONYMOUS)
"""

_BARE_FASTAPI = """
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/lights")
    def lights() -> dict[str, list[str]]:
        return {"lights": []}

    return app
"""

# CPU seconds and wall seconds of the import: on a shared machine the CPU time is what the import
# itself costs, the wall time adds whatever the neighbours take meanwhile.
_TIME_IMPORT = (
    "import time; c, w = time.process_time(), time.perf_counter(); import {modules}; "
    "print(time.process_time() - c, time.perf_counter() - w)"
)


def _base_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


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


def _import_seconds(modules: str, cwd: Path, env: Mapping[str, str]) -> tuple[float, float]:
    """CPU and wall seconds a fresh interpreter spends importing `modules` (start-up not counted)."""
    result = subprocess.run(
        [sys.executable, "-c", _TIME_IMPORT.format(modules=modules)],
        cwd=cwd,
        env={**env, **_base_env()},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cpu, wall = result.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


def _cold_imports(scratch: Path) -> tuple[list[float], list[float]]:
    """Medians of CPU and of wall seconds for function_app, bare azure.functions + fastapi, and the
    hello-world, in that order; runs interleaved."""
    (scratch / "hello_app.py").write_text(_HELLO_WORLD)
    env = _azure_settings(scratch / "import-state")
    sides: list[tuple[str, Path, Mapping[str, str]]] = [
        ("function_app", FUNCTION_CODE, env),
        ("azure.functions, fastapi", scratch, {}),
        ("hello_app", scratch, {}),
    ]
    for modules, cwd, side_env in sides:
        _import_seconds(modules, cwd, side_env)  # compiles and caches bytecode: not what is measured
    times: list[list[tuple[float, float]]] = [[], [], []]
    for _ in range(IMPORT_RUNS):
        for index, (modules, cwd, side_env) in enumerate(sides):
            times[index].append(_import_seconds(modules, cwd, side_env))
    cpu = [statistics.median(cpu for cpu, _ in side) for side in times]
    wall = [statistics.median(wall for _, wall in side) for side in times]
    return cpu, wall


def _spawn_uvicorn(
    target: str, app_dir: Path, port: int, env: Mapping[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """uvicorn on 127.0.0.1:`port` serving the factory `target`, as `make local` starts the API."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--factory",
            "--app-dir",
            str(app_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",
            "--no-server-header",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, **_base_env()},
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: nobody reads a pipe while the server runs, and a full one would block it.
        stderr=log,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _first_response(
    target: str, app_dir: Path, env_for_port: Callable[[int], Mapping[str, str]]
) -> tuple[float, subprocess.Popen[bytes], int]:
    """Spawn a server and poll GET /api/lights; seconds from spawn to the first 200, the process, its port."""
    port = free_port()
    env = env_for_port(port)
    url = f"http://127.0.0.1:{port}/api/lights"
    started = time.perf_counter()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it for as long as it runs
    process = _spawn_uvicorn(target, app_dir, port, env, log)
    deadline = started + FIRST_RESPONSE_TIMEOUT_SECONDS
    with httpx.Client(timeout=10) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                log.seek(0)
                error = log.read().decode(errors="replace")
                raise RuntimeError(f"{target} exited with {process.returncode}: {error[-2000:]}")
            try:
                response = client.get(url)
            except httpx.TransportError:
                time.sleep(0.005)
                continue
            if response.status_code != 200:
                _stop(process)
                raise RuntimeError(f"{target}: first GET /api/lights answered {response.status_code}")
            return time.perf_counter() - started, process, port
    _stop(process)
    raise TimeoutError(f"{target} gave no 200 within {FIRST_RESPONSE_TIMEOUT_SECONDS:.0f} s")


def _first_responses(scratch: Path, app_env_for_port: Callable[[int], Mapping[str, str]]) -> tuple[float, float]:
    """Medians of spawn-to-first-200 for the app and a bare FastAPI app; runs interleaved."""
    (scratch / "bare_fastapi.py").write_text(_BARE_FASTAPI)
    app_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(FIRST_RESPONSE_RUNS):
        seconds, process, _ = _first_response(APP_FACTORY, FUNCTION_CODE, app_env_for_port)
        _stop(process)
        app_times.append(seconds)
        seconds, process, _ = _first_response("bare_fastapi:create_app", scratch, lambda _: {})
        _stop(process)
        bare_times.append(seconds)
    return statistics.median(app_times), statistics.median(bare_times)


def _verification_rates(state_dir: Path) -> tuple[float, float]:
    """Verifications per second: the app's TokenService.verify, and PyJWT's decode alone, same key and token."""
    sys.path.insert(0, str(FUNCTION_CODE))
    from eventapi.auth.signer import LocalSigner
    from eventapi.auth.tokens import TokenService
    from eventapi.storage.sessions import new_id as new_session_id

    issuer, audience = "https://a.test", "https://a.test/api"
    signer = LocalSigner(state_dir)
    tokens = TokenService(signer, issuer, audience, timedelta(minutes=10), lambda: datetime.now(UTC))
    token = tokens.issue(new_session_id()).token
    key = signer.public_keys()[signer.current_kid()]

    def app_verify() -> None:
        tokens.verify(token)

    def raw_decode() -> None:
        jwt.decode(token, key, algorithms=["ES256"], audience=audience, issuer=issuer)

    app_verify()
    raw_decode()
    elapsed = {app_verify: 0.0, raw_decode: 0.0}
    for _ in range(VERIFY_ROUNDS):
        for verify in (app_verify, raw_decode):
            began = time.perf_counter()
            for _ in range(VERIFICATIONS_PER_ROUND):
                verify()
            elapsed[verify] += time.perf_counter() - began
    total = VERIFY_ROUNDS * VERIFICATIONS_PER_ROUND
    return total / elapsed[app_verify], total / elapsed[raw_decode]


def _sign_in(client: httpx.Client, github: GitHubStandIn, user_id: int) -> str:
    """The device flow against the GitHub stand-in, as tests/function_code/conftest.py's sign_in does it."""
    started = client.post("/api/auth/device")
    started.raise_for_status()
    body = started.json()
    approved = httpx.post(
        f"{github.url}/approve",
        json={"user_code": body["user_code"], "login": f"bench{user_id}", "id": user_id},
        timeout=30,
    )
    approved.raise_for_status()
    exchanged = client.post("/api/auth/token", json={"device_code": body["device_code"]})
    exchanged.raise_for_status()
    token: str = exchanged.json()["access_token"]
    return token


def _timed_rate(send: Callable[[], httpx.Response], requests: int) -> float:
    """Seconds for `requests` sequential requests; a redirect or error stops the benchmark."""
    began = time.perf_counter()
    for _ in range(requests):
        response = send()
        if response.status_code >= 300:
            raise RuntimeError(f"{response.request.url} answered {response.status_code}")
    return time.perf_counter() - began


def _alternating_rates(
    first: Callable[[], httpx.Response], second: Callable[[], httpx.Response]
) -> tuple[float, float]:
    """Requests per second of two sides, measured in alternating rounds: first-second, then
    second-first. A side measured right after the other ran a few percent faster than the same side
    measured first (two identical servers compared: 0.91-0.99 with a fixed order), so each side
    takes each position equally often."""
    for send in (first, second):
        send().raise_for_status()  # warm-up
    elapsed = {first: 0.0, second: 0.0}
    for round_number in range(HTTP_ROUNDS):
        order = (first, second) if round_number % 2 == 0 else (second, first)
        for send in order:
            elapsed[send] += _timed_rate(send, HTTP_REQUESTS_PER_ROUND)
    total = HTTP_ROUNDS * HTTP_REQUESTS_PER_ROUND
    return total / elapsed[first], total / elapsed[second]


def _signed_in_headers(client: httpx.Client, github: GitHubStandIn, first_user: int) -> Iterator[dict[str, str]]:
    """Bearer headers of ATTENDEES fresh attendees, in turn (each side its own, so no ETag is shared)."""
    tokens = [_sign_in(client, github, first_user + n) for n in range(ATTENDEES)]
    return itertools.cycle([{"Authorization": f"Bearer {token}"} for token in tokens])


def _http_rates(port: int, bare_port: int, github: GitHubStandIn) -> tuple[float, float, float, float]:
    """Requests per second, sequential from one client: item 4 (GET /api/health against authenticated
    POST /api/lights on the app) and item 5 (that POST on the app against the bare handler), each a
    pair of sides measured in alternation, neither pair sharing rounds with the other."""
    command = {"pattern": "pulse", "color": "00ff88"}
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
        httpx.Client(base_url=f"http://127.0.0.1:{bare_port}", timeout=10) as bare_client,
    ):
        app_headers = _signed_in_headers(client, github, 1_000_000)
        bare_headers = _signed_in_headers(client, github, 2_000_000)

        def health() -> httpx.Response:
            return client.get("/api/health")

        def lights() -> httpx.Response:
            return client.post("/api/lights", json=command, headers=next(app_headers))

        def bare_lights() -> httpx.Response:
            return bare_client.post("/api/lights", json=command, headers=next(bare_headers))

        health_rate, lights_beside_health = _alternating_rates(health, lights)
        lights_rate, bare_rate = _alternating_rates(lights, bare_lights)
    return health_rate, lights_beside_health, lights_rate, bare_rate


def _public_key_pem(state_dir: Path) -> str:
    """The running app's current public key (its local signer keeps the key in `state_dir`)."""
    from cryptography.hazmat.primitives import serialization
    from eventapi.auth.signer import LocalSigner

    signer = LocalSigner(state_dir)
    key = signer.public_keys()[signer.current_kid()]
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _served(scratch: Path) -> tuple[float, float, float, float, float, float]:
    """Azurite and the GitHub stand-in, then items 2, 4 and 5 against app processes that use them."""
    sys.path.insert(0, str(FUNCTION_CODE))
    from eventapi.settings import load_settings

    from bench._bare_write import PUBLIC_KEY_ENV

    ports = AzuritePorts(free_port(), free_port(), free_port())
    azurite = start_azurite(ports, scratch / "azurite")
    github = GitHubStandIn()
    github.start_in_thread()
    client_secret = new_client_secret()
    registered: set[str] = set()

    def app_env(port: int) -> dict[str, str]:
        env = api_environment(
            port,
            github.url,
            ports,
            scratch / "served-state",
            client_secret,
            overrides={
                "EVENTSTACK_GITHUB_CLIENT_ID": f"Iv1.bench{port}",
                "EVENTSTACK_COMMANDS_PER_MINUTE": "600",
                "EVENTSTACK_SIGN_INS_PER_MINUTE": "600",
                "EVENTSTACK_MAX_CONCURRENT_REQUESTS": "100",
            },
        )
        settings = load_settings(env)
        if settings.github_client_id not in registered:
            github.register(OAuthApp(settings.github_client_id, client_secret, settings.github_callback_url))
            registered.add(settings.github_client_id)
        return env

    try:
        app_first, bare_first = _first_responses(scratch, app_env)
        _, server, port = _first_response(APP_FACTORY, FUNCTION_CODE, app_env)
        bare_port = free_port()
        bare_env = {**app_env(port), PUBLIC_KEY_ENV: _public_key_pem(scratch / "served-state")}
        bare_log = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it for as long as it runs
        bare = _spawn_uvicorn(BARE_WRITE_FACTORY, FUNCTION_CODE, bare_port, bare_env, bare_log)
        try:
            wait_for_port(bare_port, bare)
            health, lights_beside_health, lights, bare_lights = _http_rates(port, bare_port, github)
        finally:
            _stop(bare)
            _stop(server)
    finally:
        github.shutdown()
        github.server_close()
        _stop(azurite)
    return app_first, bare_first, health, lights_beside_health, lights, bare_lights


def run() -> list[Measurement]:
    """Measure all five in one run; every ratio compares against a baseline measured alongside."""
    with tempfile.TemporaryDirectory(prefix="eventstack-bench-") as scratch:
        scratch_dir = Path(scratch)
        (app_import, bare_import, hello_import), (app_wall, bare_wall, _) = _cold_imports(scratch_dir)
        app_first, bare_first, health, lights_beside_health, lights, bare_lights = _served(scratch_dir)
        app_verify, raw_verify = _verification_rates(scratch_dir / "verify-state")
    imports = f"s (median of {IMPORT_RUNS})"
    firsts = f"s (median of {FIRST_RESPONSE_RUNS})"
    return [
        Measurement("1. cold import, CPU: function_app (Azure settings)", app_import, imports),
        Measurement("   cold import, CPU: azure.functions, fastapi", bare_import, imports),
        Measurement("   cold import, CPU: azure.functions ASGI hello-world", hello_import, imports),
        Measurement("   ratio function_app / azure.functions+fastapi", app_import / bare_import, "x", IMPORT_GOAL),
        Measurement("   the same ratio in wall-clock time", app_wall / bare_wall, "x"),
        Measurement("   ratio function_app / hello-world", app_import / hello_import, "x"),
        Measurement("2. first response: spawn to GET /api/lights 200", app_first, firsts),
        Measurement("   first response: bare FastAPI, same uvicorn", bare_first, firsts),
        Measurement("   ratio app / bare FastAPI", app_first / bare_first, "x"),
        Measurement("3. TokenService.verify", app_verify, "per s"),
        Measurement("   jwt.decode (PyJWT, same key and token)", raw_verify, "per s"),
        Measurement("   ratio TokenService.verify / jwt.decode", app_verify / raw_verify, "x", VERIFY_GOAL),
        Measurement("4. POST /api/lights (authenticated)", lights_beside_health, "per s"),
        Measurement("   GET /api/health (unauthenticated)", health, "per s"),
        Measurement("   ratio POST /api/lights / GET /api/health", lights_beside_health / health, "x", HTTP_GOAL),
        Measurement("5. write path: POST /api/lights, the app", lights, "per s"),
        Measurement("   POST /api/lights, bare handler (same writes)", bare_lights, "per s"),
        Measurement("   ratio app / bare handler", lights / bare_lights, "x", WRITE_GOAL),
    ]


if __name__ == "__main__":
    for measurement in run():
        print(measurement.render())
