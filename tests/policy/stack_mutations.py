"""Changes to the whole stack (a resource removed, or a link broken), each of which one stack policy must refuse.

A stack policy sees resources' outputs, so the changes apply to outputs: links by id (`id`, a
reference's target) and by name (`accountName`, `resourceUri`) are both edited where a case means
to break a link, since the policy accepts either.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dev.offline import SUBSCRIPTION_ID, RegisteredResource
from tests.policy.mutations import Mutation, drop, set_

Stack = list[RegisteredResource]
StackMutation = Callable[[Stack], Stack]

FOREIGN_GROUP = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/someone-elses-rg"
FOREIGN_ACCOUNT = f"{FOREIGN_GROUP}/providers/Microsoft.Storage/storageAccounts/stsomeoneelse"
FOREIGN_VAULT = f"{FOREIGN_GROUP}/providers/Microsoft.KeyVault/vaults/kv-someone-else"
FOREIGN_WORKSPACE = f"{FOREIGN_GROUP}/providers/Microsoft.OperationalInsights/workspaces/log-someone-else"
FOREIGN_NAT = f"{FOREIGN_GROUP}/providers/Microsoft.Network/natGateways/nat-someone-else"
FOREIGN_NSG = f"{FOREIGN_GROUP}/providers/Microsoft.Network/networkSecurityGroups/nsg-someone-else"
FOREIGN_SUBNET = f"{FOREIGN_GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-someone-else/subnets/snet-other"


def _matches(resource: RegisteredResource, type_name: str, name_contains: str) -> bool:
    return resource.type == type_name and name_contains in resource.name


def _require_match(stack: Stack, type_name: str, name_contains: str) -> None:
    assert any(_matches(r, type_name, name_contains) for r in stack), (
        f"the dev stack registers no {type_name} named *{name_contains}*, so the case proves nothing"
    )


def remove(type_name: str, name_contains: str = "") -> StackMutation:
    """Leave out every resource of a type (whose logical name contains `name_contains`)."""

    def mutate(stack: Stack) -> Stack:
        _require_match(stack, type_name, name_contains)
        return [r for r in stack if not _matches(r, type_name, name_contains)]

    return mutate


def _edited(resource: RegisteredResource, mutations: tuple[Mutation, ...]) -> RegisteredResource:
    outputs = copy.deepcopy(resource.outputs)
    for mutation in mutations:
        mutation(outputs)
    return replace(resource, outputs=outputs)


def edit(type_name: str, name_contains: str, *mutations: Mutation) -> StackMutation:
    """Apply `mutations` to the outputs of every resource of a type whose name contains `name_contains`."""

    def mutate(stack: Stack) -> Stack:
        _require_match(stack, type_name, name_contains)
        return [_edited(r, mutations) if _matches(r, type_name, name_contains) else r for r in stack]

    return mutate


def reparented(parent_name_input: str, foreign_parent_id: str) -> Mutation:
    """Move a child resource under another parent on both links a policy reads: name input and id."""

    def mutate(outputs: dict[str, Any]) -> None:
        own_parent = str(outputs[parent_name_input])
        outputs[parent_name_input] = foreign_parent_id.rsplit("/", 1)[-1]
        child_id = str(outputs.get("id", ""))
        at = child_id.lower().find(f"/{own_parent.lower()}/")
        if at >= 0:
            outputs["id"] = foreign_parent_id + child_id[at + len(own_parent) + 1 :]

    return mutate


@dataclass(frozen=True)
class StackCase:
    """Stack policy `policy` must refuse the dev stack once `mutation` is applied to it."""

    policy: str
    what: str
    mutation: StackMutation

    @property
    def id(self) -> str:
        return f"{self.policy}: {self.what}"


WEB_APP = "azure-native:web:WebApp"
FTP_POLICY = "azure-native:web:WebAppFtpAllowed"
SCM_POLICY = "azure-native:web:WebAppScmAllowed"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
LIFECYCLE = "azure-native:storage:ManagementPolicy"
NAT = "azure-native:network:NatGateway"
NSG = "azure-native:network:NetworkSecurityGroup"
SUBNET = "azure-native:network:Subnet"
SECURITY_POLICY = "azure-native:cdn:SecurityPolicy"
FRONT_DOOR_ROUTE = "azure-native:cdn:Route"
FRONT_DOOR_PROFILE = "azure-native:cdn:Profile"
WAF_POLICY = "azure-native:frontdoor:Policy"
FOREIGN_WAF = f"{FOREIGN_GROUP}/providers/Microsoft.Network/frontDoorWebApplicationFirewallPolicies/wafsomeoneelse"
FOREIGN_SITE = f"{FOREIGN_GROUP}/providers/Microsoft.Web/sites/func-someone-else"
CONNECTION = "privateLinkServiceConnections.0"

STACK_CASES: list[StackCase] = [
    StackCase("function-app-publishing-policies-present", "no FTP policy", remove(FTP_POLICY)),
    StackCase("function-app-publishing-policies-present", "no SCM policy", remove(SCM_POLICY)),
    StackCase(
        "function-app-publishing-policies-present",
        "SCM policy on another site",
        edit(SCM_POLICY, "", reparented("name", FOREIGN_SITE)),
    ),
    StackCase("storage-private-endpoints-present", "no table endpoint", remove(PRIVATE_ENDPOINT, "storage-table-pe")),
    StackCase(
        "storage-private-endpoints-present",
        "blob endpoint to another account",
        edit(PRIVATE_ENDPOINT, "storage-blob-pe", set_(f"{CONNECTION}.privateLinkServiceId", FOREIGN_ACCOUNT)),
    ),
    StackCase(
        "storage-private-endpoints-present",
        "queue endpoint for the file service",
        edit(PRIVATE_ENDPOINT, "storage-queue-pe", set_(f"{CONNECTION}.groupIds", ["file"])),
    ),
    StackCase(
        "storage-private-endpoints-present", "queue endpoint without DNS", remove(DNS_ZONE_GROUP, "storage-queue-pe")
    ),
    StackCase(
        "storage-private-endpoints-present",
        "blob DNS on another endpoint",
        edit(DNS_ZONE_GROUP, "storage-blob-pe", reparented("privateEndpointName", f"{FOREIGN_GROUP}/pe-other")),
    ),
    StackCase("vault-private-endpoint-present", "no vault endpoint", remove(PRIVATE_ENDPOINT, "keyvault-pe")),
    StackCase(
        "vault-private-endpoint-present",
        "endpoint to another vault",
        edit(PRIVATE_ENDPOINT, "keyvault-pe", set_(f"{CONNECTION}.privateLinkServiceId", FOREIGN_VAULT)),
    ),
    StackCase("vault-private-endpoint-present", "vault endpoint without DNS", remove(DNS_ZONE_GROUP, "keyvault-pe")),
    StackCase("vault-audit-logs-to-workspace", "no vault diagnostics", remove(DIAGNOSTICS, "keyvault-diagnostics")),
    StackCase(
        "vault-audit-logs-to-workspace",
        "diagnostics on another vault",
        edit(DIAGNOSTICS, "keyvault-diagnostics", set_("resourceUri", FOREIGN_VAULT)),
    ),
    StackCase(
        "vault-audit-logs-to-workspace",
        "to another workspace",
        edit(DIAGNOSTICS, "keyvault-diagnostics", set_("workspaceId", FOREIGN_WORKSPACE)),
    ),
    StackCase(
        "vault-audit-logs-to-workspace",
        "metrics only",
        edit(DIAGNOSTICS, "keyvault-diagnostics", set_("logs", [])),
    ),
    StackCase("storage-logs-to-workspace", "no account metrics", remove(DIAGNOSTICS, "storage-diagnostics")),
    StackCase("storage-logs-to-workspace", "no table logs", remove(DIAGNOSTICS, "storage-tableServices-diagnostics")),
    StackCase(
        "storage-logs-to-workspace",
        "blob logs off",
        edit(
            DIAGNOSTICS,
            "storage-blobServices-diagnostics",
            set_("logs.0.enabled", False),
            set_("logs.1.enabled", False),
            set_("logs.2.enabled", False),
        ),
    ),
    StackCase(
        "storage-logs-to-workspace",
        "queue logs to another workspace",
        edit(DIAGNOSTICS, "storage-queueServices-diagnostics", set_("workspaceId", FOREIGN_WORKSPACE)),
    ),
    StackCase("storage-lifecycle-policy-present", "no lifecycle policy", remove(LIFECYCLE)),
    StackCase(
        "storage-lifecycle-policy-present",
        "not named default",
        edit(LIFECYCLE, "", set_("managementPolicyName", "retention"), set_("name", "retention")),
    ),
    StackCase(
        "storage-lifecycle-policy-present",
        "on another account",
        edit(LIFECYCLE, "", reparented("accountName", FOREIGN_ACCOUNT)),
    ),
    StackCase("storage-lifecycle-policy-present", "no rules", edit(LIFECYCLE, "", set_("policy.rules", []))),
    StackCase(
        "storage-lifecycle-policy-present", "rule disabled", edit(LIFECYCLE, "", set_("policy.rules.0.enabled", False))
    ),
    StackCase("integration-subnet-nat-gateway", "no NAT gateway", remove(NAT)),
    StackCase(
        "integration-subnet-nat-gateway",
        "integration subnet without NAT",
        edit(SUBNET, "integration", drop("natGateway")),
    ),
    StackCase(
        "integration-subnet-nat-gateway",
        "NAT gateway of another stack",
        edit(SUBNET, "integration", set_("natGateway", {"id": FOREIGN_NAT})),
    ),
    StackCase(
        "integration-subnet-nat-gateway",
        "app in a subnet outside the stack",
        edit(WEB_APP, "", set_("virtualNetworkSubnetId", FOREIGN_SUBNET)),
    ),
    StackCase("subnets-have-network-security-group", "no NSG at all", remove(NSG)),
    StackCase(
        "subnets-have-network-security-group",
        "endpoint subnet without NSG",
        edit(SUBNET, "private-endpoints", drop("networkSecurityGroup")),
    ),
    StackCase(
        "subnets-have-network-security-group",
        "integration subnet on another stack's NSG",
        edit(SUBNET, "integration", set_("networkSecurityGroup", {"id": FOREIGN_NSG})),
    ),
    # Operator: the owner is paged, the cost is watched (policy/eventstack_policies/operator.py).
    StackCase("owner-is-paged", "no action group", remove("azure-native:monitor:ActionGroup")),
    StackCase(
        "owner-is-paged",
        "action group mails nobody",
        edit("azure-native:monitor:ActionGroup", "", set_("emailReceivers", [])),
    ),
    StackCase(
        "owner-is-paged",
        "action group disabled",
        edit("azure-native:monitor:ActionGroup", "", set_("enabled", False)),
    ),
    StackCase("owner-is-paged", "no log alerts", remove("azure-native:monitor:ScheduledQueryRule")),
    StackCase(
        "owner-is-paged",
        "5xx alert pages another stack's group",
        edit(
            "azure-native:monitor:ScheduledQueryRule",
            "http-5xx",
            set_("actions.actionGroups", [f"{FOREIGN_GROUP}/providers/Microsoft.Insights/actionGroups/ag-other"]),
        ),
    ),
    StackCase(
        "owner-is-paged",
        "purge alert disabled",
        edit("azure-native:monitor:ScheduledQueryRule", "purge-missed", set_("enabled", False)),
    ),
    StackCase("budget-notifies-at-50-80-100", "no budget", remove("azure-native:consumption:Budget")),
    StackCase(
        "budget-notifies-at-50-80-100",
        "no notice at 100 %",
        edit("azure-native:consumption:Budget", "", drop("notifications.actual-100")),
    ),
    StackCase(
        "budget-notifies-at-50-80-100",
        "notice at 80 % reaches nobody",
        edit(
            "azure-native:consumption:Budget",
            "",
            set_("notifications.actual-80.contactEmails", []),
            set_("notifications.actual-80.contactGroups", []),
        ),
    ),
    StackCase(
        "storage-logs-to-workspace",
        "table deletes not logged",
        edit(DIAGNOSTICS, "storage-tableServices-diagnostics", set_("logs.2.enabled", False)),
    ),
    StackCase("edge-present", "WAF not tied to the endpoint", remove(SECURITY_POLICY)),
    StackCase("edge-present", "no route", remove(FRONT_DOOR_ROUTE)),
    StackCase("edge-present", "no WAF policy", remove(WAF_POLICY)),
    StackCase(
        "edge-present",
        "security policy points at another WAF",
        edit(SECURITY_POLICY, "", set_("parameters.wafPolicy", {"id": FOREIGN_WAF})),
    ),
    StackCase(
        "edge-present",
        "site admits another customer's Front Door",
        edit(WEB_APP, "", set_("siteConfig.ipSecurityRestrictions.0.headers", {"x-azure-fdid": ["someone-else"]})),
    ),
    StackCase(
        "edge-present",
        "site waits for a Front Door the stack does not have",
        lambda stack: [r for r in stack if not r.type.startswith(("azure-native:cdn:", "azure-native:frontdoor:"))],
    ),
]
