"""What a request costs in trips to the thread pool: each one a hand-over between threads (the event
loop wakes twice), so the hot paths take one, for their storage calls, and pure answers none."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import pytest

from dev.github_standin import GitHubStandIn
from tests.function_code.conftest import RunningApi, User, bearer, sign_in

pytestmark = pytest.mark.azurite


@dataclass
class TripMeter:
    """Names what each trip to anyio's thread pool ran (Starlette and FastAPI go through it)."""

    trips: list[str] = field(default_factory=list)

    def wrap(self, run_sync: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(run_sync)
        async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            inner = func.func if isinstance(func, functools.partial) else func
            self.trips.append(getattr(inner, "__qualname__", repr(inner)))
            return await run_sync(func, *args, **kwargs)

        return counted


@pytest.fixture
def meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[TripMeter]:
    trips = TripMeter()
    monkeypatch.setattr(anyio.to_thread, "run_sync", trips.wrap(anyio.to_thread.run_sync))
    yield trips


def test_an_accepted_command_takes_one_trip_for_its_two_writes(
    api: RunningApi, github: GitHubStandIn, new_user: Callable[[], User], meter: TripMeter
) -> None:
    client = api.client()
    token = sign_in(client, github, new_user())
    for n in range(3):
        meter.trips.clear()
        sent = client.post("/api/lights", json={"pattern": "pulse", "color": f"00aa0{n}"}, headers=bearer(token))
        assert sent.status_code == 202
        # The token and the session this instance holds decide on the event loop.
        assert meter.trips == ["_count_and_store"]


def test_the_wall_takes_one_trip_and_pure_answers_none(api: RunningApi, meter: TripMeter) -> None:
    client = api.client()
    assert client.get("/api/lights").status_code == 200
    assert len(meter.trips) == 1, meter.trips
    for path in ("/api/health", "/api/privacy", "/.well-known/oauth-authorization-server", "/api/join", "/api/wall"):
        meter.trips.clear()
        assert client.get(path).status_code == 200, path
        assert meter.trips == [], (path, meter.trips)


def test_a_session_this_instance_does_not_hold_is_read_off_the_event_loop(
    api: RunningApi, github: GitHubStandIn, new_user: Callable[[], User], meter: TripMeter
) -> None:
    client = api.client()
    token = sign_in(client, github, new_user())
    session_id = api.services.tokens.verify(token)
    api.services.sessions._forget(session_id)  # as a newly started instance holds none
    meter.trips.clear()
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    assert meter.trips[0] == "SessionStore.session", meter.trips
