"""Private endpoints: every private account and vault is reachable from the VNet, with private DNS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, StackValidationPolicy

from .assembly import stack_policy
from .links import child_of, identifies, label, of_type
from .props import prop, sequence
from .resource_types import KEY_VAULT, PRIVATE_DNS_ZONE_GROUP, PRIVATE_ENDPOINT, STORAGE_ACCOUNT

# Private endpoint sub-resources (groupIds) every account and vault is reached through.
STORAGE_PRIVATE_LINK_GROUPS: tuple[str, ...] = ("blob", "table", "queue")
VAULT_PRIVATE_LINK_GROUP = "vault"


def _endpoint_groups(endpoint: PolicyResource, target: PolicyResource) -> set[str]:
    """The sub-resources (`blob`, `vault`) through which `endpoint` reaches `target`."""
    groups: set[str] = set()
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        for connection in sequence(prop(endpoint.props, key)):
            if not isinstance(connection, Mapping):
                continue
            # Inputs are flat; a read from Azure may wrap them in `properties`.
            envelope = connection.get("properties")
            body: Mapping[str, Any] = envelope if isinstance(envelope, Mapping) else connection
            if identifies(body.get("privateLinkServiceId"), target):
                groups |= {g.lower() for g in sequence(body.get("groupIds")) if isinstance(g, str)}
    return groups


def _has_dns_zone_group(endpoint: PolicyResource, resources: Sequence[PolicyResource]) -> bool:
    for group in of_type(resources, PRIVATE_DNS_ZONE_GROUP):
        if child_of(group, endpoint, "privateEndpointName") and sequence(prop(group.props, "privateDnsZoneConfigs")):
            return True
    return False


def _private_endpoints_for(
    target: PolicyResource, groups: Sequence[str], resources: Sequence[PolicyResource]
) -> Iterator[tuple[str, str | None]]:
    endpoints = of_type(resources, PRIVATE_ENDPOINT)
    for group in groups:
        reaching = [e for e in endpoints if group in _endpoint_groups(e, target)]
        if not reaching:
            yield (
                f"{label(target)} has no private endpoint for '{group}': with public access off nothing in "
                "the VNet reaches it, and turning public access on to compensate exposes it",
                target.urn,
            )
        elif not any(_has_dns_zone_group(e, resources) for e in reaching):
            yield (
                f"{label(target)}: the '{group}' private endpoint has no private DNS zone group, so its host "
                "name still resolves to the public address",
                target.urn,
            )


def _storage_private_endpoints(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for account in of_type(resources, STORAGE_ACCOUNT):
        yield from _private_endpoints_for(account, STORAGE_PRIVATE_LINK_GROUPS, resources)


def _vault_private_endpoint(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for vault in of_type(resources, KEY_VAULT):
        yield from _private_endpoints_for(vault, (VAULT_PRIVATE_LINK_GROUP,), resources)


STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "storage-private-endpoints-present",
        "Every storage account has private endpoints, with private DNS, for blob, table and queue.",
        _storage_private_endpoints,
    ),
    stack_policy(
        "vault-private-endpoint-present",
        "Every key vault has a private endpoint with private DNS.",
        _vault_private_endpoint,
    ),
]
