"""Destroy waits for Flex's service association link to leave the integration subnet, bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from components.subnet_release import (
    NETWORK_API_VERSION,
    RELEASE_TIMEOUT_SECONDS,
    SubnetReleaseProvider,
    SubnetStillLinkedError,
    association_links,
)
from dev.http import serve_in_background
from dev.offline import ProgramRun
from tests.components.test_deploy import TOKEN, FakeClock, FakeCredential

SUBNET_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/integration"
LINK = f"{SUBNET_ID}/serviceAssociationLinks/legionservicelink"
RELEASE = "pulumi-python:dynamic/eventstack:SubnetRelease"


@dataclass
class ArmStandIn:
    """ARM's subnet GET: the link stays for `linked_reads` reads, then goes (or the subnet is gone)."""

    base_url: str = ""
    linked_reads: int = 0
    gone: bool = False
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def arm() -> Iterator[ArmStandIn]:
    stand_in = ArmStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stand_in.paths.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"error": {"code": "AuthenticationFailed"}})
            elif stand_in.gone:
                self._answer(404, {"error": {"code": "NotFound"}})
            else:
                links = (
                    [{"id": LINK, "name": "legionservicelink"}] if len(stand_in.paths) <= stand_in.linked_reads else []
                )
                self._answer(200, {"id": SUBNET_ID, "properties": {"serviceAssociationLinks": links}})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    serve_in_background(server)
    yield stand_in
    server.shutdown()
    server.server_close()


def _provider(arm: ArmStandIn, clock: FakeClock) -> SubnetReleaseProvider:
    return SubnetReleaseProvider(arm_endpoint=arm.base_url, credential=FakeCredential(), clock=clock, sleep=clock.sleep)


def test_delete_waits_until_the_link_is_gone(arm: ArmStandIn) -> None:
    arm.linked_reads = 4
    clock = FakeClock()
    _provider(arm, clock).delete("id", {"subnet_id": SUBNET_ID})
    assert len(arm.paths) == 5
    assert arm.paths[0] == f"{SUBNET_ID}?api-version={NETWORK_API_VERSION}"
    assert clock.now < RELEASE_TIMEOUT_SECONDS


def test_a_subnet_already_free_or_gone_is_not_waited_for(arm: ArmStandIn) -> None:
    clock = FakeClock()
    _provider(arm, clock).delete("id", {"subnet_id": SUBNET_ID})
    arm.gone = True
    _provider(arm, clock).delete("id", {"subnet_id": SUBNET_ID})
    assert clock.waits == []


def test_a_link_that_outlasts_the_bound_says_to_run_destroy_again(arm: ArmStandIn) -> None:
    arm.linked_reads = 10_000
    clock = FakeClock()
    with pytest.raises(SubnetStillLinkedError) as still:
        _provider(arm, clock).delete("id", {"subnet_id": SUBNET_ID})
    assert LINK in str(still.value)
    assert "Run `pulumi destroy` again later" in str(still.value)
    assert clock.now <= RELEASE_TIMEOUT_SECONDS


def test_links_are_read_from_the_subnet() -> None:
    assert association_links({"properties": {"serviceAssociationLinks": [{"id": LINK}]}}) == [LINK]
    assert association_links({"properties": {}}) == []


def test_the_site_reads_the_subnet_through_the_release_so_destroy_deletes_it_first(dev_stack: ProgramRun) -> None:
    (release,) = dev_stack.of_type(RELEASE)
    subnet = next(r for r in dev_stack.of_type("azure-native:network:Subnet") if r.id == release.inputs["subnet_id"])
    site = dev_stack.one("azure-native:web:WebApp")
    assert site.inputs["virtualNetworkSubnetId"] == subnet.id
    # Destroy runs in reverse dependency order: site, then the release (which waits), then the subnet.
    assert release.urn in site.dependencies
    assert subnet.urn in release.dependencies
