"""The in-process guards: concurrency limits (429 when full) and the body guard, on a bare ASGI app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest
from eventapi.guard import BodyGuard, ConcurrencyGuard, Message, Receive, Scope, Send


class HeldApp:
    """Answers 200 only when released, so requests pile up deterministically."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.peak = 0
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message: Message = await receive()
        self.bodies.append(message.get("body", b""))
        self.running += 1
        self.peak = max(self.peak, self.running)
        await self.release.wait()
        self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _run(scenario: Coroutine[Any, Any, None]) -> None:
    # A private loop: asyncio.run would also clear the thread's current loop for later tests.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scenario)
    finally:
        loop.close()


async def _until(condition: object, app: HeldApp) -> None:
    for _ in range(1000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def test_concurrency_guard_runs_at_most_max_concurrent_and_refuses_past_outstanding() -> None:
    async def scenario() -> None:
        inner = HeldApp()
        guard = ConcurrencyGuard(inner, max_concurrent=2, max_outstanding=3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://t") as client:
            held = [asyncio.create_task(client.get("/api/health")) for _ in range(3)]
            await _until(lambda: guard.outstanding == 3 and inner.running == 2, inner)
            # A generous bound that only turns a hang (a request queued instead of refused) into a failure.
            refused = await asyncio.wait_for(client.get("/api/health"), timeout=10)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "1"
            assert refused.json() == {"error": "too_many_requests"}
            inner.release.set()
            answers = await asyncio.gather(*held)
            assert [a.status_code for a in answers] == [200, 200, 200]
            assert inner.peak == 2
            # Capacity comes back once requests finish.
            assert (await client.get("/api/health")).status_code == 200

    _run(scenario())


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"content-type": "application/json"}, b'{"a": 1}', 200),
        ({"content-type": "application/json; charset=utf-8"}, b"{}", 200),
        ({}, b"", 200),
        ({"content-type": "text/plain"}, b"{}", 415),
        ({}, b"{}", 415),
        ({"content-type": "application/json"}, b"x" * 1025, 413),
        ({"content-type": "application/json", "content-length": "99999"}, b"{}", 413),
    ],
)
def test_body_guard_refuses_large_or_non_json_bodies_before_the_app(
    headers: dict[str, str], body: bytes, status: int
) -> None:
    async def scenario() -> None:
        inner = HeldApp()
        inner.release.set()
        guard = BodyGuard(inner, max_bytes=1024)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://t") as client:
            response = await client.post("/api/lights", content=body, headers=headers)
        assert response.status_code == status
        if status == 200:
            assert inner.bodies == [body]
        else:
            assert inner.bodies == []
            assert set(json.loads(response.content)) == {"error"}

    _run(scenario())
