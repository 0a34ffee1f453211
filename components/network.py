"""Network isolation: the stack's VNet, its two subnets and their NSGs, explicit egress, private DNS.

The Function App reaches storage and Key Vault only through private endpoints in this VNet; the
only way out to the internet is HTTPS through a NAT gateway with a static, allowlistable address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import pulumi
from pulumi_azure_native import network, privatedns

from components.subnet_release import SubnetRelease, SubnetReleaseArgs

# Flex Consumption VNet integration requires this delegation on its subnet.
FLEX_INTEGRATION_DELEGATION = "Microsoft.App/environments"

# Subnet names live inside the per-stack VNet, so fixed names cannot clash between stacks.
INTEGRATION_SUBNET_NAME = "snet-integration"
PRIVATE_ENDPOINT_SUBNET_NAME = "snet-private-endpoints"

# Private Link resolves `<account>.blob.core.windows.net` through these exact zone names, keyed by
# the private-link group id of the target sub-resource. Azure fixes the names, so one resource
# group holds one Network.
PRIVATE_DNS_ZONES: Mapping[str, str] = {
    "blob": "privatelink.blob.core.windows.net",
    "table": "privatelink.table.core.windows.net",
    "queue": "privatelink.queue.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}

HTTPS_PORT = "443"
ANY = "*"
INTERNET = "Internet"
VIRTUAL_NETWORK = "VirtualNetwork"
# The lowest precedence a custom rule can take: a deny here overrides Azure's default allow rules
# (AllowVnetInBound, AllowAzureLoadBalancerInBound, AllowInternetOutBound at 65000+) and leaves
# room above it for every explicit allow.
DENY_ALL_PRIORITY = 4096


@dataclass(frozen=True)
class SecurityRule:
    """One NSG rule as data; `to_args` turns it into the provider's input shape."""

    name: str
    priority: int
    direction: str  # "Inbound" | "Outbound"
    access: str  # "Allow" | "Deny"
    protocol: str  # "Tcp" | "Udp" | "*"
    source: str
    destination: str
    port: str

    def to_args(self) -> network.SecurityRuleArgsDict:
        return {
            "name": self.name,
            "priority": self.priority,
            "direction": self.direction,
            "access": self.access,
            "protocol": self.protocol,
            "source_address_prefix": self.source,
            "source_port_range": ANY,
            "destination_address_prefix": self.destination,
            "destination_port_range": self.port,
        }


def _deny_everything_else() -> tuple[SecurityRule, SecurityRule]:
    return (
        SecurityRule("deny-all-inbound", DENY_ALL_PRIORITY, "Inbound", "Deny", ANY, ANY, ANY, ANY),
        SecurityRule("deny-all-outbound", DENY_ALL_PRIORITY, "Outbound", "Deny", ANY, ANY, ANY, ANY),
    )


def integration_subnet_rules(integration: ipaddress.IPv4Network) -> tuple[SecurityRule, ...]:
    """The app's subnet: nothing inbound (integration is outbound-only); out only HTTPS.

    HTTPS to the VNet reaches the private endpoints; HTTPS to the internet reaches GitHub's OAuth
    endpoints, Entra ID and Application Insights ingestion. Azure's platform DNS (168.63.129.16)
    is not filtered by NSGs, so name resolution keeps working under the deny-all.
    """
    cidr = str(integration)
    return (
        SecurityRule("allow-https-to-vnet", 100, "Outbound", "Allow", "Tcp", cidr, VIRTUAL_NETWORK, HTTPS_PORT),
        SecurityRule("allow-https-to-internet", 110, "Outbound", "Allow", "Tcp", cidr, INTERNET, HTTPS_PORT),
        *_deny_everything_else(),
    )


def private_endpoint_subnet_rules(
    integration: ipaddress.IPv4Network, private_endpoints: ipaddress.IPv4Network
) -> tuple[SecurityRule, ...]:
    """The endpoints' subnet: HTTPS in from the app's subnet only; nothing out.

    Private endpoints never open connections, and NSGs are stateful, so replies pass the
    outbound deny.
    """
    return (
        SecurityRule(
            "allow-https-from-integration",
            100,
            "Inbound",
            "Allow",
            "Tcp",
            str(integration),
            str(private_endpoints),
            HTTPS_PORT,
        ),
        *_deny_everything_else(),
    )


@dataclass(frozen=True)
class NetworkArgs:
    """What the Network component needs: where it lives and its address layout (validated in config)."""

    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    location: str
    """Azure region of the VNet, NSGs, NAT gateway and public IP."""
    vnet_name: pulumi.Input[str]
    """Per-stack VNet name: a deleted Flex app leaves a service link on its subnet for a while."""
    address_space: ipaddress.IPv4Network
    """The VNet's address space."""
    integration_subnet: ipaddress.IPv4Network
    """The Function App's VNet integration subnet, inside `address_space`."""
    private_endpoint_subnet: ipaddress.IPv4Network
    """The subnet for storage and Key Vault private endpoints, inside `address_space`."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""


# What the SDK's NAT gateway and public IP SKUs allow today; the zone-redundant StandardV2 is
# adopted once these include it (tests/components/test_network.py watches for it).
NAT_SKU_NAMES_IN_SDK: frozenset[str] = frozenset(sku.value for sku in network.NatGatewaySkuName)
ZONE_REDUNDANT_NAT_SKU = "StandardV2"


class Network(pulumi.ComponentResource):
    """VNet, subnets with NSGs, NAT egress, private DNS zones, and a private endpoint builder."""

    vnet_id: pulumi.Output[str]
    integration_subnet_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    egress_ip: pulumi.Output[str]
    dns_zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:Network", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.vnet_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space={"address_prefixes": [str(args.address_space)]},
            tags=tags,
            # Subnets are separate resources so that each carries its own NSG, NAT gateway and
            # delegation with explicit dependencies. A VNet PUT without `subnets` would otherwise
            # try to drop them; the provider preserves unmanaged subnets, and ignoring the
            # property keeps a refresh from writing them back into the VNet's desired state.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )

        # The one way out is zonal, and stays so with this SDK: a Standard NAT gateway lives in one
        # zone (with none given, Azure picks one; "NAT gateway and availability zones"), and the
        # zone-redundant SKU, StandardV2 with StandardV2 public IPs, is not in the Network API
        # version pulumi-azure-native 3.x pins (2024-05-01 knows only Standard; see
        # NAT_SKU_NAMES_IN_SDK and its test). Losing that zone stops the app's egress (GitHub
        # sign-in) until Azure recovers it; the private endpoints and the edge do not depend on it.
        egress_ip = network.PublicIPAddress(
            f"{name}-egress-ip",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            tags=tags,
            opts=child,
        )
        nat = network.NatGateway(
            f"{name}-nat",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "Standard"},
            public_ip_addresses=[{"id": egress_ip.id}],
            tags=tags,
            opts=child,
        )

        integration_nsg = self._security_group(
            f"{name}-integration-nsg", integration_subnet_rules(args.integration_subnet)
        )
        endpoints_nsg = self._security_group(
            f"{name}-private-endpoints-nsg",
            private_endpoint_subnet_rules(args.integration_subnet, args.private_endpoint_subnet),
        )

        integration = network.Subnet(
            f"{name}-integration-subnet",
            subnet_name=INTEGRATION_SUBNET_NAME,
            virtual_network_name=vnet.name,
            resource_group_name=args.resource_group_name,
            address_prefix=str(args.integration_subnet),
            delegations=[{"name": "flex-consumption", "service_name": FLEX_INTEGRATION_DELEGATION}],
            network_security_group={"id": integration_nsg.id},
            nat_gateway={"id": nat.id},
            # No implicit outbound IP: the NAT gateway is the only way out.
            default_outbound_access=False,
            opts=child,
        )
        private_endpoints = network.Subnet(
            f"{name}-private-endpoints-subnet",
            subnet_name=PRIVATE_ENDPOINT_SUBNET_NAME,
            virtual_network_name=vnet.name,
            resource_group_name=args.resource_group_name,
            address_prefix=str(args.private_endpoint_subnet),
            network_security_group={"id": endpoints_nsg.id},
            # Without this, NSG rules do not apply to private endpoint traffic.
            private_endpoint_network_policies="Enabled",
            default_outbound_access=False,
            # Azure refuses concurrent writes to subnets of one VNet (AnotherOperationInProgress).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]),
        )

        self._zones: dict[str, privatedns.PrivateZone] = {}
        for group_id, zone_name in PRIVATE_DNS_ZONES.items():
            zone = privatedns.PrivateZone(
                f"{name}-{group_id}-zone",
                private_zone_name=zone_name,
                resource_group_name=args.resource_group_name,
                location="global",
                tags=tags,
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{name}-{group_id}-zone-link",
                private_zone_name=zone.name,
                resource_group_name=args.resource_group_name,
                location="global",
                virtual_network={"id": vnet.id},
                # The zone holds only private endpoint records; nothing in the VNet registers itself.
                registration_enabled=False,
                tags=tags,
                opts=child,
            )
            self._zones[group_id] = zone

        self._private_endpoint_subnet = private_endpoints
        self.vnet_id = vnet.id
        # The site reads the subnet through this, so `pulumi destroy` deletes the site, waits for
        # Azure to drop the Flex link, then deletes the subnet (components/subnet_release.py).
        release = SubnetRelease(
            f"{name}-integration-release",
            SubnetReleaseArgs(subnet_id=integration.id),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]),
        )
        self.integration_subnet_id = release.subnet_id
        self.private_endpoint_subnet_id = private_endpoints.id
        self.egress_ip = cast(pulumi.Output[str], egress_ip.ip_address)
        self.dns_zone_ids = {group_id: zone.id for group_id, zone in self._zones.items()}
        self.register_outputs(
            {
                "vnet_id": self.vnet_id,
                "integration_subnet_id": self.integration_subnet_id,
                "private_endpoint_subnet_id": self.private_endpoint_subnet_id,
                "egress_ip": self.egress_ip,
                "dns_zone_ids": self.dns_zone_ids,
            }
        )

    def _security_group(self, name: str, rules: tuple[SecurityRule, ...]) -> network.NetworkSecurityGroup:
        return network.NetworkSecurityGroup(
            name,
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            security_rules=[rule.to_args() for rule in rules],
            tags=dict(self._args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def private_endpoint(
        self, name: str, target_id: pulumi.Input[str], group_id: str, parent: pulumi.Resource
    ) -> network.PrivateEndpoint:
        """A private endpoint to `target_id`'s `group_id` sub-resource, with its DNS zone group.

        Both are parented to `parent` (the component that owns the target) and named from `name`.
        """
        zone = self._zones.get(group_id)
        if zone is None:
            raise ValueError(f"no private DNS zone for group id {group_id!r}; known: {', '.join(PRIVATE_DNS_ZONES)}")
        endpoint = network.PrivateEndpoint(
            name,
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            subnet={"id": self._private_endpoint_subnet.id},
            private_link_service_connections=[
                {"name": name, "private_link_service_id": target_id, "group_ids": [group_id]}
            ],
            tags=dict(self._args.tags),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        network.PrivateDnsZoneGroup(
            f"{name}-dns",
            private_endpoint_name=endpoint.name,
            private_dns_zone_group_name="default",
            resource_group_name=self._args.resource_group_name,
            private_dns_zone_configs=[{"name": group_id, "private_dns_zone_id": zone.id}],
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return endpoint
