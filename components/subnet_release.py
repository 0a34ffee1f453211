"""`pulumi destroy` waits for Flex to let go of its integration subnet before the subnet is deleted.

A Flex Consumption app joins its subnet through a service association link (`legionservicelink`)
that Azure removes some time after the app is deleted (Azure/Azure-Functions#2605; the subnet then
answers a delete with `InUseSubnetCannotBeDeleted`). The Azure provider does not retry that, so a
single `pulumi destroy` would fail on the subnet and the VNet.

This resource sits between the two: it depends on the subnet, and the site reads the subnet's id
through it, so on destroy Pulumi deletes the site, then this (which polls the subnet, bounded,
until no service association link is left), then the subnet. If the link outlives the bound, the
error says so, and a second `pulumi destroy` later finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from components.deploy import ARM_TOKEN_SCOPE, TokenCredentialLike

ARM_ENDPOINT = "https://management.azure.com"
# The Network API version pulumi-azure-native 3.x uses for subnets.
NETWORK_API_VERSION = "2024-05-01"
RELEASE_TIMEOUT_SECONDS = 30 * 60
RELEASE_POLL_INTERVAL_SECONDS = 30.0
NOT_FOUND = 404


class SubnetStillLinkedError(RuntimeError):
    """The subnet still carries a service association link after the bound."""


@dataclass(frozen=True)
class SubnetReleaseArgs:
    """The subnet a Flex app is integrated with."""

    subnet_id: pulumi.Input[str]
    """ARM id of the integration subnet."""


def association_links(subnet: dict[str, Any]) -> list[str]:
    """The ids (or names) of the service association links a subnet GET reports."""
    links = (subnet.get("properties") or {}).get("serviceAssociationLinks") or []
    return [str(link.get("id") or link.get("name") or "") for link in links]


class SubnetReleaseProvider(pulumi.dynamic.ResourceProvider):
    """Create passes the subnet id through; delete waits until the subnet has no association link.

    `arm_endpoint`, `credential`, `clock` and `sleep` exist for tests. Everything the methods need
    is imported inside them: Pulumi pickles this class into the state.
    """

    serialize_as_secret_always = False

    def __init__(
        self,
        *,
        arm_endpoint: str = ARM_ENDPOINT,
        credential: TokenCredentialLike | None = None,
        timeout_seconds: float = RELEASE_TIMEOUT_SECONDS,
        poll_interval_seconds: float = RELEASE_POLL_INTERVAL_SECONDS,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.arm_endpoint = arm_endpoint
        self.credential = credential
        self.timeout_seconds = timeout_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.clock = clock
        self.sleep = sleep

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"release:{props['subnet_id']}", outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        replaced = olds.get("subnet_id") != news.get("subnet_id")
        return pulumi.dynamic.DiffResult(
            changes=replaced, replaces=["subnet_id"] if replaced else [], delete_before_replace=False
        )

    def _subnet(self, subnet_id: str, token: str) -> dict[str, Any] | None:
        import json
        import urllib.error
        import urllib.request

        url = f"{self.arm_endpoint.rstrip('/')}{subnet_id}?api-version={NETWORK_API_VERSION}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - ARM, or a test's stand-in
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as failure:
            if failure.code == NOT_FOUND:
                return None
            raise

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Poll the subnet until Azure has removed every service association link, within the bound."""
        import time

        credential = self.credential
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        now = self.clock or time.monotonic
        wait = self.sleep or time.sleep
        subnet_id = str(props["subnet_id"])
        deadline = now() + self.timeout_seconds
        while True:
            subnet = self._subnet(subnet_id, credential.get_token(ARM_TOKEN_SCOPE).token)
            links = association_links(subnet) if subnet is not None else []
            if not links:
                return
            if now() + self.poll_interval_seconds > deadline:
                raise SubnetStillLinkedError(
                    f"{subnet_id} still has {', '.join(links)} {self.timeout_seconds / 60:.0f} minutes after the "
                    "Function App was deleted: Azure removes a Flex app's link some time later "
                    "(Azure/Azure-Functions#2605). Run `pulumi destroy` again later to delete the subnet and the VNet."
                )
            wait(self.poll_interval_seconds)


class SubnetRelease(pulumi.dynamic.Resource, module="eventstack", name="SubnetRelease"):
    """The integration subnet's id, as the site must read it so that destroy waits for the link."""

    subnet_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: SubnetReleaseArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: SubnetReleaseProvider | None = None,
    ) -> None:
        super().__init__(provider or SubnetReleaseProvider(), name, {"subnet_id": args.subnet_id}, opts)
