"""What a request costs in storage round trips and entities read, counted on the SDK's own pipeline."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.data.tables import TableServiceClient
from eventapi.storage.tables import Tables

from dev.github_standin import GitHubStandIn
from dev.local import AzuritePorts
from tests.function_code.conftest import (
    RunningApi,
    User,
    approve,
    bearer,
    make_api,
    rows_mentioning,
    sign_in_pair,
    start_sign_in,
)

pytestmark = pytest.mark.azurite

# Other attendees in the tables when the caller reads or erases its data.
CROWD = 300


@dataclass
class StorageMeter:
    """Counts every request the tables SDK sends (each retry too: the SDK's hooks run per try) and the
    entities its answers carry."""

    requests: list[str] = field(default_factory=list)
    entities: int = 0
    counting: bool = False

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if self.counting:
            self.requests.append(f"{request.http_request.method} {request.http_request.url.split('?')[0]}")

    def on_response(self, response: PipelineResponse[Any, Any]) -> None:
        if not self.counting:
            return
        try:
            body = json.loads(response.http_response.body() or b"{}")
        except ValueError:
            return
        if isinstance(body, dict):
            self.entities += len(body["value"]) if isinstance(body.get("value"), list) else 1

    def start(self) -> None:
        self.requests.clear()
        self.entities = 0
        self.counting = True


@pytest.fixture
def metered(azurite: AzuritePorts, github: GitHubStandIn, state_dir: Path) -> Iterator[tuple[RunningApi, StorageMeter]]:
    meter = StorageMeter()
    tables = Tables.for_azurite(
        azurite.connection_string, raw_request_hook=meter.on_request, raw_response_hook=meter.on_response
    )
    running = make_api(azurite, github, state_dir, tables=tables, EVENTSTACK_COMMANDS_PER_MINUTE="600")
    yield running, meter
    running.stop()


def test_an_accepted_command_costs_at_most_two_round_trips(
    metered: tuple[RunningApi, StorageMeter], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, meter = metered
    client = api.client()
    token = sign_in_pair(client, github, new_user())["access_token"]
    for n in range(5):
        meter.start()
        sent = client.post("/api/lights", json={"pattern": "pulse", "color": f"00ff0{n}"}, headers=bearer(token))
        assert sent.status_code == 202
        # One conditional write of the session row (the attendee's counter, and the proof the session
        # still exists), one insert of the wall row.
        assert 1 <= len(meter.requests) <= 2, meter.requests


def test_access_and_erasure_read_only_the_callers_partitions(
    metered: tuple[RunningApi, StorageMeter],
    github: GitHubStandIn,
    new_user: Callable[[], User],
    store: Tables,
) -> None:
    api, meter = metered
    client = api.client()
    # Hundreds of other attendees' rows (sessions, devices) besides whatever earlier tests left:
    # a scan would read at least CROWD entities, fifty times the bound below.
    crowd = SessionsCrowd(store)
    crowd.fill(CROWD)
    pair = sign_in_pair(client, github, new_user())
    meter.start()
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    read_by_access = meter.entities
    meter.start()
    assert client.delete("/api/me", headers=bearer(pair["access_token"])).status_code == 204
    read_by_erasure = meter.entities
    # The caller has a handful of rows: a scan of the tables would read hundreds.
    assert 1 <= read_by_access <= 6, read_by_access
    assert 1 <= read_by_erasure <= 6, read_by_erasure


@dataclass
class SessionsCrowd:
    """Other attendees' rows, written straight into the tables."""

    tables: Tables

    def fill(self, attendees: int) -> None:
        from datetime import UTC, datetime, timedelta

        from eventapi.storage.sessions import SessionStore, new_id

        sessions = SessionStore(self.tables)
        now = datetime.now(UTC)

        def one(_: int) -> None:
            sessions.sign_in(
                secrets.token_hex(32),
                "k",
                now=now,
                expires_at=now + timedelta(hours=1),
                family_id=new_id(),
                token_hash="h",
                max_families=5,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(one, range(attendees)))


def test_erasure_racing_commands_from_other_devices_leaves_nothing(
    api: RunningApi, github: GitHubStandIn, new_user: Callable[[], User], tables: TableServiceClient
) -> None:
    client = api.client()
    user = new_user()
    devices = [sign_in_pair(client, github, user)["access_token"] for _ in range(3)]
    key = client.get("/api/me", headers=bearer(devices[0])).json()["attendee"]["key"]

    def hammer(token: str) -> list[int]:
        return [
            client.post("/api/lights", json={"pattern": "blink", "color": "123456"}, headers=bearer(token)).status_code
            for _ in range(25)
        ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        racing = [pool.submit(hammer, token) for token in devices[1:]]
        erased = pool.submit(lambda: client.delete("/api/me", headers=bearer(devices[0])).status_code)
        statuses = [s for future in racing for s in future.result()]
    assert erased.result() == 204
    assert set(statuses) <= {202, 401}
    session_id = jwt.decode(devices[0], options={"verify_signature": False})["sub"]
    assert rows_mentioning(tables, {key, session_id}) == []


def test_a_browser_step_reads_its_device_grant_once_per_request(
    metered: tuple[RunningApi, StorageMeter], github: GitHubStandIn, new_user: Callable[[], User]
) -> None:
    api, meter = metered
    client = api.client()
    started = start_sign_in(client)
    meter.start()
    approve(github, started["user_code"], new_user())
    grant_reads = [r for r in meter.requests if r.startswith("GET ") and "RowKey='device'" in r]
    # The verification page, the confirmation and GitHub's callback each read the grant once; its
    # changes are written on the copy just read (conditional on its ETag), not read again.
    assert len(grant_reads) == 3, meter.requests
    assert len(meter.requests) <= 14, meter.requests
