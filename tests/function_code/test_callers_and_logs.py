"""Who sign-in requests are charged to (IPv6 per /64), and the Functions adapter's dumps kept out of the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import azure.functions as func
import pytest
from eventapi.callers import address_key
from eventapi.log_filter import AdapterBodyFilter, install_adapter_body_filter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

SECRET = "device-code-that-must-not-be-logged"


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_host_is_counted_as_its_64(ip: str, key: str) -> None:
    assert address_key(ip) == key


def test_every_address_of_one_64_shares_a_key_and_neighbours_do_not() -> None:
    same = {address_key(f"2001:db8:aa:bb:{n:x}::{n:x}") for n in range(1, 200)}
    assert same == {"2001:db8:aa:bb::/64"}
    assert address_key("2001:db8:aa:bc::1") != address_key("2001:db8:aa:bb::1")


async def _secret_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse(SECRET)


@pytest.fixture
def root_filters() -> Iterator[None]:
    root = logging.getLogger()
    before = list(root.filters)
    yield
    root.filters[:] = before


def _served_through_the_adapter(caplog: pytest.LogCaptureFixture) -> str:
    adapter = func.AsgiMiddleware(Starlette(routes=[Route("/api/x", _secret_page)]))
    with caplog.at_level(logging.DEBUG):  # what PYTHON_ENABLE_DEBUG_LOGGING does to the root logger
        response = asyncio.run(adapter.handle_async(func.HttpRequest("GET", "http://localhost/api/x", body=b"")))
    assert response.get_body() == SECRET.encode()
    return "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)


def test_the_adapter_logs_response_bodies_at_debug_without_the_filter(
    caplog: pytest.LogCaptureFixture, root_filters: None
) -> None:
    # The reason for the filter, kept true: if the library stops dumping bodies, this says so.
    logging.getLogger().filters[:] = [f for f in logging.getLogger().filters if not isinstance(f, AdapterBodyFilter)]
    assert SECRET in _served_through_the_adapter(caplog)


def test_the_root_filter_keeps_the_adapters_bodies_out_of_the_logs(
    caplog: pytest.LogCaptureFixture, root_filters: None
) -> None:
    install_adapter_body_filter()
    install_adapter_body_filter()
    assert sum(isinstance(f, AdapterBodyFilter) for f in logging.getLogger().filters) == 1
    assert SECRET not in _served_through_the_adapter(caplog)
    # Everything else at DEBUG still passes.
    with caplog.at_level(logging.DEBUG):
        logging.getLogger().debug("an app event")
    assert "an app event" in caplog.text
