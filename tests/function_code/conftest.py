"""Fixtures for the event API: a real Azurite, the GitHub stand-in and the API under uvicorn on free ports."""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from azure.data.tables import TableServiceClient
from eventapi.app import create_app
from eventapi.services import Services, build_services, utc_now
from eventapi.settings import load_settings
from eventapi.storage.tables import TABLES, Tables

from dev.github_standin import GitHubStandIn, OAuthApp, read_page
from dev.http import http_client
from dev.local import AzuritePorts, api_environment, free_port, new_client_secret, serve_in_thread, start_azurite

pytestmark = pytest.mark.azurite


@pytest.fixture(autouse=True)
def fresh_mocks() -> None:
    """The API tests run no Pulumi program: the repository-wide mock reset is not needed here."""


def _fail_on_server_error(response: httpx.Response) -> None:
    # No request in any suite may produce a 5xx: every client the tests use enforces it.
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    )


def api_client(base_url: str) -> httpx.Client:
    """An HTTP client for the API that fails the test on any 5xx."""
    return http_client(base_url=base_url, timeout=10, event_hooks={"response": [_fail_on_server_error]})


class FakeClock:
    """A settable clock shared by the app's token service, quotas and store writes."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


@dataclass
class RunningApi:
    """An API served by uvicorn on 127.0.0.1, with the services behind it."""

    url: str
    services: Services
    server: uvicorn.Server
    thread: threading.Thread
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        created = api_client(self.url)
        self.clients.append(created)
        return created

    def stop(self) -> None:
        for created in self.clients:
            created.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(services: Services, port: int) -> RunningApi:
    """Run the app under uvicorn in a thread and wait until it accepts requests."""
    server, thread = serve_in_thread(create_app(services), port)
    return RunningApi(f"http://127.0.0.1:{port}", services, server, thread)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuritePorts]:
    """A real Azurite, in memory, on free ports, for the whole session."""
    ports = AzuritePorts(free_port(), free_port(), free_port())
    process = start_azurite(ports, tmp_path_factory.mktemp("azurite"))
    yield ports
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubStandIn]:
    """The GitHub stand-in (web flow, with GitHub's hourly limits enforced), serving from a thread."""
    server = GitHubStandIn(port=0)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def make_api(
    azurite: AzuritePorts,
    github: GitHubStandIn,
    state_dir: Path,
    clock: Callable[[], datetime] | None = None,
    tables: Tables | None = None,
    **overrides: str,
) -> RunningApi:
    """Settings exactly as dev/local.py builds them (plus overrides), registered with the stand-in, then serve."""
    port = free_port()
    # The event is on while the test's clock runs, unless the test says otherwise.
    now = clock() if clock else datetime.now(UTC)
    ends_at = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    overrides = {"EVENTSTACK_GITHUB_CLIENT_ID": f"Iv1.test{port}", "EVENTSTACK_EVENT_ENDS_AT": ends_at, **overrides}
    env = api_environment(port, github.url, azurite, state_dir, new_client_secret(), overrides=overrides)
    settings = load_settings(env)
    github.register(
        OAuthApp(settings.github_client_id, env["EVENTSTACK_GITHUB_CLIENT_SECRET"], settings.github_callback_url)
    )
    services = build_services(settings, clock or utc_now, tables)
    return serve(services, port)


@pytest.fixture(scope="session")
def api(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[RunningApi]:
    """The API with generous limits: tests that exercise quotas use their own server."""
    running = make_api(
        azurite,
        github,
        state_dir,
        EVENTSTACK_AUTH_REQUESTS_PER_MINUTE="6000",
        EVENTSTACK_COMMANDS_PER_MINUTE="600",
        EVENTSTACK_SIGN_INS_PER_MINUTE="600",
    )
    yield running
    running.stop()


@pytest.fixture
def client(api: RunningApi) -> httpx.Client:
    return api.client()


@pytest.fixture(scope="session")
def tables(azurite: AzuritePorts) -> TableServiceClient:
    """Direct access to Azurite, to check what the API really stored."""
    return TableServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture(scope="session")
def store(azurite: AzuritePorts) -> Tables:
    return Tables.for_azurite(azurite.connection_string)


_user_ids = itertools.count(secrets.randbelow(10**9) + 10**6)


@dataclass(frozen=True)
class User:
    """A fresh GitHub identity for one test."""

    id: int
    login: str


@pytest.fixture
def new_user() -> Callable[[], User]:
    """Makes users no other test has seen."""

    def make() -> User:
        user_id = next(_user_ids)
        return User(user_id, f"attendee{user_id}")

    return make


def start_sign_in(client: httpx.Client) -> dict[str, object]:
    response = client.post("/api/auth/device")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def approve(github: GitHubStandIn, user_code: object, user: User, expected: int = 200) -> None:
    """The attendee's browser step, played by the stand-in: verification page, GitHub, callback."""
    with http_client(timeout=30) as http:
        response = http.post(f"{github.url}/approve", json={"user_code": user_code, "login": user.login, "id": user.id})
    assert response.status_code == expected, response.text


def confirm(browser: httpx.Client, user_code: object) -> httpx.Response:
    """A browser's verification step: open the page for `user_code` (keeping its cookie) and post its form.

    Returns the app's answer to the confirmation (303 on to GitHub when all is well).
    """
    page = browser.get("/api/auth/verify", params={"user_code": str(user_code)})
    assert page.status_code == 200, page.status_code
    form = read_page(page.text)
    if form.form_action is None:
        # A page without a form offers a link on, and a person would follow it.
        return browser.get(next(link for link in form.links if link.startswith("/api/auth/github")))
    return browser.post(form.form_action, data=form.fields)


def sign_in_pair(client: httpx.Client, github: GitHubStandIn, user: User) -> dict[str, str]:
    """The whole sign-in through the API; returns the token response (access and refresh token)."""
    started = start_sign_in(client)
    approve(github, started["user_code"], user)
    response = client.post("/api/auth/token", json={"device_code": started["device_code"]})
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


def sign_in(client: httpx.Client, github: GitHubStandIn, user: User) -> str:
    """The whole sign-in through the API; returns the API's bearer token."""
    return sign_in_pair(client, github, user)["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rows_mentioning(tables: TableServiceClient, values: set[str]) -> list[tuple[str, dict[str, object]]]:
    """Every row in the app's tables whose keys or properties contain one of `values`."""
    found = []
    for name in TABLES:
        for row in tables.get_table_client(name).list_entities():
            text = " ".join(str(v) for v in [*row.values(), row.get("PartitionKey"), row.get("RowKey")])
            if any(value in text for value in values):
                found.append((name, dict(row)))
    return found


UTC_2030 = datetime(2030, 1, 1, tzinfo=UTC)
