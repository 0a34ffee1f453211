"""Network isolation: subnets, NSG rules, NAT egress, private DNS, and the private endpoint builder."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pytest

from components.network import (
    NAT_SKU_NAMES_IN_SDK,
    PRIVATE_DNS_ZONES,
    ZONE_REDUNDANT_NAT_SKU,
    Network,
    NetworkArgs,
)
from dev.offline import SUBSCRIPTION_ID, ProgramRun, RecordingMonitor, RegisteredResource, StackMocks, run_program
from tests.conftest import run_with

NETWORK = "eventstack:azure:Network"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
NAT = "azure-native:network:NatGateway"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
SUBNET_RELEASE = "pulumi-python:dynamic/eventstack:SubnetRelease"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"

# Sources that would let anyone on the internet in.
OPEN_SOURCES = {"*", "internet", "0.0.0.0/0", "any"}

INTEGRATION = "10.42.1.0/24"
PRIVATE_ENDPOINTS = "10.42.2.0/24"


def _subnet(run: ProgramRun, address_prefix: str) -> RegisteredResource:
    found = [r for r in run.of_type(SUBNET) if r.inputs["addressPrefix"] == address_prefix]
    assert len(found) == 1, [r.urn for r in run.of_type(SUBNET)]
    return found[0]


def _nsg_of(run: ProgramRun, subnet: RegisteredResource) -> RegisteredResource:
    nsg = run.by_id(subnet.get("networkSecurityGroup.id"))
    assert nsg is not None and nsg.type == NSG, f"{subnet.urn} has no NSG of this program"
    return nsg


def _prefix_matches(rule_prefix: str, address: str) -> bool:
    if rule_prefix == "*":
        return True
    try:
        return ipaddress.ip_network(address).subnet_of(ipaddress.ip_network(rule_prefix))  # type: ignore[arg-type]
    except ValueError:
        return rule_prefix.lower() == address.lower()


def _port_matches(rule_port: str, port: int) -> bool:
    if rule_port == "*":
        return True
    low, _, high = rule_port.partition("-")
    return int(low) <= port <= int(high or low)


def verdict(nsg: RegisteredResource, direction: str, source: str, destination: str, *, protocol: str, port: int) -> str:
    """What the NSG does with one flow: the first matching rule by priority wins, as in Azure.

    Flows no custom rule matches fall to Azure's defaults, which allow VNet traffic and outbound
    internet: report those as "Allow (default)" so that a missing deny shows up.
    """
    rules = sorted(nsg.inputs["securityRules"], key=lambda rule: rule["priority"])
    for rule in rules:
        if (
            rule["direction"] == direction
            and rule["protocol"] in ("*", protocol)
            and _prefix_matches(rule["sourceAddressPrefix"], source)
            and _prefix_matches(rule["destinationAddressPrefix"], destination)
            and _port_matches(rule["destinationPortRange"], port)
        ):
            return str(rule["access"])
    return "Allow (default)"


def test_the_vnet_takes_its_per_stack_name_and_address_space_from_config(dev_stack: ProgramRun) -> None:
    vnet = dev_stack.one(VNET)
    assert vnet.inputs["virtualNetworkName"].startswith("vnet-confdemo-dev-")
    assert vnet.get("addressSpace.addressPrefixes") == ["10.42.0.0/16"]
    assert "subnets" not in vnet.inputs


def test_the_integration_subnet_is_delegated_to_flex_consumption(dev_stack: ProgramRun) -> None:
    integration = _subnet(dev_stack, INTEGRATION)
    assert [d["serviceName"] for d in integration.inputs["delegations"]] == ["Microsoft.App/environments"]
    assert integration.inputs["virtualNetworkName"] == dev_stack.one(VNET).outputs["name"]
    assert "delegations" not in _subnet(dev_stack, PRIVATE_ENDPOINTS).inputs


def test_private_endpoint_network_policies_are_on_so_the_nsg_applies(dev_stack: ProgramRun) -> None:
    assert _subnet(dev_stack, PRIVATE_ENDPOINTS).inputs["privateEndpointNetworkPolicies"] == "Enabled"


def test_each_subnet_has_its_own_nsg(dev_stack: ProgramRun) -> None:
    subnets = dev_stack.of_type(SUBNET)
    assert len(subnets) == 2
    nsgs = {_nsg_of(dev_stack, subnet).urn for subnet in subnets}
    assert nsgs == {nsg.urn for nsg in dev_stack.of_type(NSG)}
    assert len(nsgs) == 2


def test_default_outbound_access_is_off_on_every_subnet(dev_stack: ProgramRun) -> None:
    for subnet in dev_stack.of_type(SUBNET):
        assert subnet.inputs.get("defaultOutboundAccess") is False, subnet.urn


def test_the_integration_subnet_leaves_through_a_nat_gateway_with_a_static_ip(dev_stack: ProgramRun) -> None:
    nat = dev_stack.one(NAT)
    assert _subnet(dev_stack, INTEGRATION).get("natGateway.id") == nat.id
    assert "natGateway" not in _subnet(dev_stack, PRIVATE_ENDPOINTS).inputs
    assert nat.get("sku.name") == "Standard"

    ip = dev_stack.one(PUBLIC_IP)
    assert [entry["id"] for entry in nat.inputs["publicIpAddresses"]] == [ip.id]
    assert ip.inputs["publicIPAllocationMethod"] == "Static"
    assert ip.get("sku.name") == "Standard"
    assert dev_stack.outputs["egressIp"] == ip.outputs["ipAddress"]


def test_no_rule_allows_inbound_from_the_internet(dev_stack: ProgramRun) -> None:
    for nsg in dev_stack.of_type(NSG):
        for rule in nsg.inputs["securityRules"]:
            if rule["direction"] == "Inbound" and rule["access"] == "Allow":
                sources = [rule.get("sourceAddressPrefix", ""), *(rule.get("sourceAddressPrefixes") or [])]
                assert not {s.lower() for s in sources} & OPEN_SOURCES, f"{nsg.urn}: {rule['name']}"


@pytest.mark.parametrize("subnet_prefix", [INTEGRATION, PRIVATE_ENDPOINTS])
def test_both_nsgs_end_in_explicit_deny_all_rules(dev_stack: ProgramRun, subnet_prefix: str) -> None:
    nsg = _nsg_of(dev_stack, _subnet(dev_stack, subnet_prefix))
    rules = nsg.inputs["securityRules"]
    for direction in ("Inbound", "Outbound"):
        denies = [
            r
            for r in rules
            if r["direction"] == direction
            and r["access"] == "Deny"
            and r["sourceAddressPrefix"] == r["destinationAddressPrefix"] == r["destinationPortRange"] == "*"
            and r["protocol"] == "*"
        ]
        assert len(denies) == 1, f"{nsg.urn}: no deny-all {direction} rule"
        allows = [r for r in rules if r["direction"] == direction and r["access"] == "Allow"]
        assert all(r["priority"] < denies[0]["priority"] for r in allows)


@pytest.mark.parametrize("subnet_prefix", [INTEGRATION, PRIVATE_ENDPOINTS])
@pytest.mark.parametrize("port", [443, 22, 3389, 80])
@pytest.mark.parametrize("source", ["Internet", "203.0.113.7/32", "10.99.0.0/24"])
def test_nothing_from_outside_the_vnet_gets_in(
    dev_stack: ProgramRun, subnet_prefix: str, port: int, source: str
) -> None:
    nsg = _nsg_of(dev_stack, _subnet(dev_stack, subnet_prefix))
    assert verdict(nsg, "Inbound", source, subnet_prefix, protocol="Tcp", port=port) == "Deny"


def test_the_app_reaches_its_private_endpoints_over_https_only(dev_stack: ProgramRun) -> None:
    endpoints_nsg = _nsg_of(dev_stack, _subnet(dev_stack, PRIVATE_ENDPOINTS))
    assert verdict(endpoints_nsg, "Inbound", INTEGRATION, PRIVATE_ENDPOINTS, protocol="Tcp", port=443) == "Allow"
    assert verdict(endpoints_nsg, "Inbound", INTEGRATION, PRIVATE_ENDPOINTS, protocol="Tcp", port=445) == "Deny"
    assert verdict(endpoints_nsg, "Inbound", "VirtualNetwork", PRIVATE_ENDPOINTS, protocol="Tcp", port=443) == "Deny"
    assert verdict(endpoints_nsg, "Outbound", PRIVATE_ENDPOINTS, "Internet", protocol="Tcp", port=443) == "Deny"


@pytest.mark.parametrize(
    ("destination", "protocol", "port", "expected"),
    [
        ("Internet", "Tcp", 443, "Allow"),
        ("VirtualNetwork", "Tcp", 443, "Allow"),
        ("Internet", "Tcp", 80, "Deny"),
        ("Internet", "Tcp", 22, "Deny"),
        ("Internet", "Udp", 443, "Deny"),
        ("Internet", "Udp", 53, "Deny"),
        ("VirtualNetwork", "Tcp", 1433, "Deny"),
        ("VirtualNetwork", "Tcp", 445, "Deny"),
    ],
)
def test_the_integration_subnet_goes_out_on_https_only(
    dev_stack: ProgramRun, destination: str, protocol: str, port: int, expected: str
) -> None:
    nsg = _nsg_of(dev_stack, _subnet(dev_stack, INTEGRATION))
    assert verdict(nsg, "Outbound", INTEGRATION, destination, protocol=protocol, port=port) == expected


def test_the_nsg_rules_follow_the_configured_layout() -> None:
    run = run_with(
        vnetAddressSpace="10.60.0.0/20", integrationSubnet="10.60.4.0/26", privateEndpointSubnet="10.60.8.0/27"
    )
    assert run.one(VNET).get("addressSpace.addressPrefixes") == ["10.60.0.0/20"]
    endpoints_nsg = _nsg_of(run, _subnet(run, "10.60.8.0/27"))
    assert verdict(endpoints_nsg, "Inbound", "10.60.4.0/26", "10.60.8.0/27", protocol="Tcp", port=443) == "Allow"
    assert verdict(endpoints_nsg, "Inbound", INTEGRATION, "10.60.8.0/27", protocol="Tcp", port=443) == "Deny"
    _subnet(run, "10.60.4.0/26")


def test_every_private_dns_zone_is_linked_to_the_vnet_without_registration(dev_stack: ProgramRun) -> None:
    zones = dev_stack.of_type(ZONE)
    assert sorted(z.inputs["privateZoneName"] for z in zones) == sorted(
        [
            "privatelink.blob.core.windows.net",
            "privatelink.table.core.windows.net",
            "privatelink.queue.core.windows.net",
            "privatelink.vaultcore.azure.net",
        ]
    )
    vnet = dev_stack.one(VNET)
    links = dev_stack.of_type(ZONE_LINK)
    for zone in zones:
        assert zone.inputs["location"] == "global"
        linked = [link for link in links if link.inputs["privateZoneName"] == zone.outputs["name"]]
        assert len(linked) == 1, f"{zone.urn} has {len(linked)} VNet links"
        assert linked[0].inputs["registrationEnabled"] is False
        assert linked[0].get("virtualNetwork.id") == vnet.id


def test_every_network_resource_is_a_child_of_the_component(dev_stack: ProgramRun) -> None:
    component = dev_stack.one(NETWORK)
    children = [r for r in dev_stack.resources if r.parent == component.urn]
    counts: dict[str, int] = {}
    for child in children:
        counts[child.type] = counts.get(child.type, 0) + 1
    assert counts == {VNET: 1, SUBNET: 2, NSG: 2, NAT: 1, PUBLIC_IP: 1, ZONE: 4, ZONE_LINK: 4, SUBNET_RELEASE: 1}
    for type_name in counts:
        for resource in dev_stack.of_type(type_name):
            assert resource.parent == component.urn, resource.urn
    assert component.parent_type == "eventstack:index:EventStack"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("integrationSubnet", "10.43.1.0/24"),  # outside the VNet
        ("privateEndpointSubnet", "10.42.1.128/25"),  # overlaps the integration subnet
        ("privateEndpointSubnet", "10.42.0.0/16"),  # is the whole VNet
    ],
)
def test_a_layout_that_does_not_fit_is_refused_before_anything_is_registered(key: str, value: str) -> None:
    monitor = RecordingMonitor(StackMocks())
    with pytest.raises(pulumi.RunError, match=f"eventstack:{key}"):
        run_program("dev", {key: value}, monitor=monitor)
    assert monitor.registered == []


# --- the component on its own, under the test's fresh mocks ---------------------------------------


def _args(group: str, vnet: str) -> NetworkArgs:
    return NetworkArgs(
        resource_group_name=group,
        location="westeurope",
        vnet_name=vnet,
        address_space=ipaddress.IPv4Network("10.42.0.0/16"),
        integration_subnet=ipaddress.IPv4Network(INTEGRATION),
        private_endpoint_subnet=ipaddress.IPv4Network(PRIVATE_ENDPOINTS),
        tags={"event": "test"},
    )


class Consumer(pulumi.ComponentResource):
    """Stands in for the storage or Key Vault component that owns an endpoint."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Consumer", name)
        self.register_outputs({})


TARGETS: Mapping[str, str] = {
    "blob": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
    "table": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
    "queue": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
    "vault": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1",
}


def _built(monitor: RecordingMonitor, program: Callable[[], pulumi.Output[Any]]) -> dict[str, RegisteredResource]:
    """Run `program` under the test's mocks; every registration is done once it returns."""
    pulumi.runtime.test(program)()
    return {r.name: r for r in monitor.registered}


@pytest.mark.parametrize("group_id", sorted(PRIVATE_DNS_ZONES))
def test_the_builder_puts_an_endpoint_in_the_endpoint_subnet_with_its_zone(
    fresh_mocks: RecordingMonitor, group_id: str
) -> None:
    def program() -> pulumi.Output[str]:
        net = Network("net", _args("rg", "vnet-test"))
        owner = Consumer("owner")
        return net.private_endpoint(f"owner-{group_id}-pe", TARGETS[group_id], group_id, parent=owner).id

    recorded = _built(fresh_mocks, program)
    owner_urn = recorded["owner"].urn
    pe = recorded[f"owner-{group_id}-pe"]
    assert pe.type == ENDPOINT
    assert pe.parent == owner_urn
    assert pe.get("subnet.id") == recorded["net-private-endpoints-subnet"].id
    (connection,) = pe.inputs["privateLinkServiceConnections"]
    assert connection["groupIds"] == [group_id]
    assert connection["privateLinkServiceId"] == TARGETS[group_id]

    zone_group = recorded[f"owner-{group_id}-pe-dns"]
    assert zone_group.type == ZONE_GROUP
    assert zone_group.parent == owner_urn
    assert zone_group.inputs["privateEndpointName"] == pe.outputs["name"]
    (config,) = zone_group.inputs["privateDnsZoneConfigs"]
    assert config["privateDnsZoneId"] == recorded[f"net-{group_id}-zone"].id
    assert recorded[f"net-{group_id}-zone"].inputs["privateZoneName"] == PRIVATE_DNS_ZONES[group_id]


def test_the_builder_refuses_a_group_id_without_a_zone(fresh_mocks: RecordingMonitor) -> None:
    def program() -> pulumi.Output[str]:
        net = Network("net", _args("rg", "vnet-test"))
        with pytest.raises(ValueError, match="'file'"):
            net.private_endpoint("pe", TARGETS["blob"], "file", parent=net)
        return net.vnet_id

    recorded = _built(fresh_mocks, program)
    assert not [r for r in recorded.values() if r.type == ENDPOINT]


def test_the_exposed_zone_ids_are_keyed_by_group_id(fresh_mocks: RecordingMonitor) -> None:
    resolved: dict[str, str] = {}

    def program() -> pulumi.Output[None]:
        net = Network("net", _args("rg", "vnet-test"))
        groups = sorted(net.dns_zone_ids)
        return pulumi.Output.all(*(net.dns_zone_ids[g] for g in groups)).apply(
            lambda ids: resolved.update(zip(groups, ids, strict=True))
        )

    _built(fresh_mocks, program)
    assert sorted(resolved) == ["blob", "queue", "table", "vault"]
    for group_id, zone_id in resolved.items():
        zone = next(r for r in fresh_mocks.registered if r.id == zone_id)
        assert zone.inputs["privateZoneName"] == PRIVATE_DNS_ZONES[group_id]


def test_two_networks_in_one_program_do_not_collide(fresh_mocks: RecordingMonitor) -> None:
    def program() -> pulumi.Output[str]:
        blue = Network("blue", _args("rg-blue", "vnet-blue"))
        green = Network("green", _args("rg-green", "vnet-green"))
        blue.private_endpoint("blue-pe", TARGETS["vault"], "vault", parent=blue)
        green.private_endpoint("green-pe", TARGETS["vault"], "vault", parent=green)
        return blue.vnet_id

    _built(fresh_mocks, program)
    urns = [r.urn for r in fresh_mocks.registered]
    assert len(urns) == len(set(urns))
    custom = [r for r in fresh_mocks.registered if r.custom]
    # 17 Azure resources and the subnet release (components/subnet_release.py) per network.
    assert len(custom) == 2 * 18
    # The mocks build ARM ids from resource group, parent and Azure names, as Azure does.
    ids = [r.id for r in custom]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_in_one_resource_group_only_the_zone_names_azure_fixes_are_shared(fresh_mocks: RecordingMonitor) -> None:
    """Every name is derived from the component's name, except the private link zones Azure names.

    That is why each stack gets its own resource group, and a resource group one Network.
    """

    def program() -> pulumi.Output[str]:
        Network("blue", _args("rg", "vnet-blue"))
        return Network("green", _args("rg", "vnet-green")).vnet_id

    _built(fresh_mocks, program)
    ids = [r.id for r in fresh_mocks.registered if r.custom]
    shared = {i for i in ids if ids.count(i) > 1}
    zone_ids = {r.id for r in fresh_mocks.registered if r.type == ZONE}
    assert shared == zone_ids
    assert len(zone_ids) == len(PRIVATE_DNS_ZONES)


def test_the_pinned_sdk_still_has_no_zone_redundant_nat_gateway() -> None:
    """When this fails, pulumi-azure-native can send StandardV2: switch the NAT gateway and its IP to it."""
    assert ZONE_REDUNDANT_NAT_SKU not in NAT_SKU_NAMES_IN_SDK
    assert {"Standard"} == NAT_SKU_NAMES_IN_SDK
