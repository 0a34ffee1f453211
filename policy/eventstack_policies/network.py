"""The network: nothing in from the internet, egress only through the stack's NAT gateway, NSGs everywhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationPolicy, StackValidationPolicy

from .assembly import resource_policy, stack_policy
from .links import arm_id, identifies, label, normalized_id, of_type, text
from .props import MISSING, prop, sequence, shown
from .resource_types import NAT_GATEWAY, NETWORK_SECURITY_GROUP, SECURITY_RULE, SUBNET, VIRTUAL_NETWORK, WEB_APPS

# Source prefixes that mean "anyone on the internet".
INTERNET_SOURCES: frozenset[str] = frozenset({"*", "internet", "0.0.0.0/0", "any", "::/0"})


def _open_to_internet(rule: Mapping[str, Any]) -> bool:
    # Subnet/NSG rules arrive flat in azure-native; a `properties` envelope is accepted too.
    envelope = rule.get("properties")
    body: Mapping[str, Any] = envelope if isinstance(envelope, Mapping) else rule
    if str(body.get("direction", "")).lower() != "inbound" or str(body.get("access", "")).lower() != "allow":
        return False
    sources = [body.get("sourceAddressPrefix"), *sequence(body.get("sourceAddressPrefixes"))]
    return any(isinstance(s, str) and s.strip().lower() in INTERNET_SOURCES for s in sources)


def _nsg_rules(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    rules = [props] if resource_type == SECURITY_RULE else list(sequence(prop(props, "securityRules")))
    for rule in rules:
        if isinstance(rule, Mapping) and _open_to_internet(rule):
            name = rule.get("name") or "(unnamed)"
            yield f"security rule {name} allows inbound traffic from the internet"


def _subnet_outbound(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    subnets = [props] if resource_type == SUBNET else list(sequence(prop(props, "subnets")))
    for subnet in subnets:
        if isinstance(subnet, Mapping):
            value = subnet.get("defaultOutboundAccess", MISSING)
            if value is not False:
                name = subnet.get("name") or subnet.get("subnetName") or "(unnamed)"
                yield (
                    f"subnet {name}: defaultOutboundAccess must be false (egress only through the NAT gateway); "
                    f"found {shown(value)}"
                )


# Subnet delegations that make a subnet a Function App's outbound (integration) subnet.
INTEGRATION_DELEGATIONS: frozenset[str] = frozenset({"microsoft.app/environments", "microsoft.web/serverfarms"})


@dataclass(frozen=True)
class _Subnet:
    """A subnet of the stack, declared on its own or inline in its virtual network."""

    label: str
    urn: str
    props: Mapping[str, Any]
    id: str | None
    name: str | None


def _subnets(resources: Sequence[PolicyResource]) -> list[_Subnet]:
    subnets = [
        _Subnet(label(s), s.urn, s.props, arm_id(s), text(s.props, "subnetName") or text(s.props, "name"))
        for s in of_type(resources, SUBNET)
    ]
    for network in of_type(resources, VIRTUAL_NETWORK):
        network_id = arm_id(network)
        for inline in sequence(prop(network.props, "subnets")):
            if isinstance(inline, Mapping):
                name = text(inline, "name")
                inline_id = text(inline, "id") or (f"{network_id}/subnets/{name}" if network_id and name else None)
                subnets.append(_Subnet(f"{label(network)} subnet {name}", network.urn, inline, inline_id, name))
    return subnets


def _subnet_named_by(reference: str, subnet: _Subnet) -> bool:
    if subnet.id is not None:
        return normalized_id(reference) == normalized_id(subnet.id)
    return subnet.name is not None and normalized_id(reference).endswith(f"/subnets/{subnet.name.lower()}")


def _delegated_for_integration(subnet: _Subnet) -> bool:
    for delegation in sequence(subnet.props.get("delegations")):
        if isinstance(delegation, Mapping):
            service = delegation.get("serviceName") or prop(delegation, "properties.serviceName")
            if isinstance(service, str) and service.lower() in INTEGRATION_DELEGATIONS:
                return True
    return False


def _integration_subnet_nat(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    subnets = _subnets(resources)
    integration = [s for s in subnets if _delegated_for_integration(s)]
    for site in of_type(resources, *WEB_APPS):
        reference = text(site.props, "virtualNetworkSubnetId")
        if reference is None:
            continue
        used = [s for s in subnets if _subnet_named_by(reference, s)]
        if not used:
            yield (
                f"{label(site)} sends its traffic into subnet {reference}, which is not part of this stack: its "
                "egress path cannot be held to the NAT gateway",
                site.urn,
            )
        integration += [s for s in used if s not in integration]
    gateways = of_type(resources, NAT_GATEWAY)
    for subnet in integration:
        nat = prop(subnet.props, "natGateway")
        if not any(identifies(nat, gateway) for gateway in gateways):
            yield (
                f"{subnet.label}: the integration subnet has no NAT gateway of this stack, so the app's egress has "
                "no fixed, accountable path (default outbound access is off)",
                subnet.urn,
            )


def _network_security_groups(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    groups = of_type(resources, NETWORK_SECURITY_GROUP)
    if not groups:
        yield "the stack has no network security group: nothing filters traffic inside the VNet", None
    for subnet in _subnets(resources):
        nsg = prop(subnet.props, "networkSecurityGroup")
        if not any(identifies(nsg, group) for group in groups):
            yield f"{subnet.label} is not guarded by a network security group of this stack", subnet.urn


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy(
        "nsg-no-internet-inbound",
        "No network security rule allows inbound traffic from the internet.",
        _nsg_rules,
        frozenset({NETWORK_SECURITY_GROUP, SECURITY_RULE}),
    ),
    resource_policy(
        "subnet-no-default-outbound-access",
        "Subnets have default outbound access off.",
        _subnet_outbound,
        frozenset({SUBNET, VIRTUAL_NETWORK}),
    ),
]
STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "integration-subnet-nat-gateway",
        "The Function App's integration subnet is in the stack and goes out through the stack's NAT gateway.",
        _integration_subnet_nat,
    ),
    stack_policy(
        "subnets-have-network-security-group",
        "The stack has network security groups, and every subnet is guarded by one of them.",
        _network_security_groups,
    ),
]
