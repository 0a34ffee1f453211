"""One-setting changes to a resource's inputs, each of which one policy must refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dev.offline import SUBSCRIPTION_ID, ProgramRun, RegisteredResource

Inputs = dict[str, Any]
Mutation = Callable[[Inputs], None]
Picker = Callable[[ProgramRun], RegisteredResource]


def _walk(inputs: Inputs, parts: list[str]) -> Any:
    node: Any = inputs
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    return node


def set_(path: str, value: Any) -> Mutation:
    """Set the input at a dotted path (list items by index), creating maps on the way."""

    def mutate(inputs: Inputs) -> None:
        *parents, last = path.split(".")
        node = _walk(inputs, parents)
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def drop(path: str) -> Mutation:
    """Remove the input at a dotted path; the path must exist, or the case proves nothing."""

    def mutate(inputs: Inputs) -> None:
        *parents, last = path.split(".")
        node = _walk(inputs, parents)
        assert last in node, f"{path} is not set, so removing it changes nothing"
        del node[last]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    """Apply the mutations in order."""

    def mutate(inputs: Inputs) -> None:
        for mutation in mutations:
            mutation(inputs)

    return mutate


def append(path: str, item: Any) -> Mutation:
    """Append an item to the list at a dotted path."""

    def mutate(inputs: Inputs) -> None:
        *parents, last = path.split(".")
        node = _walk(inputs, parents)
        node.setdefault(last, []).append(item)

    return mutate


# One value per property Flex refuses (ARM error 51021), as a program or the SDK would send it;
# the last is null: Azure refuses the property even then.
FLEX_REJECTED_EXAMPLES: tuple[tuple[str, Any], ...] = (
    ("ftpsState", "Disabled"),
    ("use32BitWorkerProcess", False),
    ("netFrameworkVersion", "v4.6"),
    ("functionsRuntimeScaleMonitoringEnabled", False),
    ("linuxFxVersion", "PYTHON|3.11"),
    ("windowsFxVersion", ""),
    ("alwaysOn", False),
    ("ftpsState", None),
)


def carries_app_settings(resource: RegisteredResource) -> bool:
    """The resource that owns the app's settings: the site itself or its settings resource."""
    if resource.type == "azure-native:web:WebAppApplicationSettings":
        return True
    return resource.type == "azure-native:web:WebApp" and resource.get("siteConfig.appSettings") is not None


def settings_carrier(run: ProgramRun) -> RegisteredResource:
    found = [r for r in run.resources if carries_app_settings(r)]
    assert len(found) == 1, f"expected one owner of the app settings, found {[r.urn for r in found]}"
    return found[0]


def put_setting(name: str, value: str) -> Mutation:
    """Add or replace one app setting, in whichever form its owner holds them."""

    def mutate(inputs: Inputs) -> None:
        if isinstance(inputs.get("properties"), dict) and "siteConfig" not in inputs:
            inputs["properties"][name] = value
            return
        pairs = inputs["siteConfig"]["appSettings"]
        pairs[:] = [p for p in pairs if p.get("name") != name] + [{"name": name, "value": value}]

    return mutate


def remove_setting(name: str) -> Mutation:
    def mutate(inputs: Inputs) -> None:
        if isinstance(inputs.get("properties"), dict) and "siteConfig" not in inputs:
            assert name in inputs["properties"], f"{name} is not set"
            del inputs["properties"][name]
            return
        pairs = inputs["siteConfig"]["appSettings"]
        assert any(p.get("name") == name for p in pairs), f"{name} is not set"
        pairs[:] = [p for p in pairs if p.get("name") != name]

    return mutate


def route_all_off(inputs: Inputs) -> None:
    """Turn off routing all outbound traffic through the VNet, in every form the site may use."""
    inputs.setdefault("siteConfig", {})["vnetRouteAllEnabled"] = False
    if isinstance(inputs.get("outboundVnetRouting"), dict):
        for key in ("allTraffic", "applicationTraffic"):
            inputs["outboundVnetRouting"][key] = False


def first(type_name: str, name_contains: str = "") -> Picker:
    """The first resource of a type (whose logical name contains `name_contains`)."""

    def pick(run: ProgramRun) -> RegisteredResource:
        found = [r for r in run.of_type(type_name) if name_contains in r.name]
        assert found, f"the dev stack registers no {type_name} named *{name_contains}*"
        return found[0]

    return pick


@dataclass(frozen=True)
class Case:
    """Policy `policy` must refuse the resource `pick` finds once `mutation` is applied."""

    policy: str
    pick: Picker
    what: str
    mutation: Mutation

    @property
    def id(self) -> str:
        return f"{self.policy}: {self.what}"


STORAGE = first("azure-native:storage:StorageAccount")
VAULT = first("azure-native:keyvault:Vault")
SITE = first("azure-native:web:WebApp")
ROLE_ASSIGNMENT = first("azure-native:authorization:RoleAssignment")
NSG = first("azure-native:network:NetworkSecurityGroup")
SUBNET = first("azure-native:network:Subnet")
RESOURCE_GROUP = first("azure-native:resources:ResourceGroup")
IDENTITY = first("azure-native:managedidentity:UserAssignedIdentity")
DNS_ZONE = first("azure-native:privatedns:PrivateZone")
APP_INSIGHTS = first("azure-native:applicationinsights:Component")
WAF = first("azure-native:frontdoor:Policy")
PLAN = first("azure-native:web:AppServicePlan")


def key_named(fragment: str) -> Picker:
    """The vault key whose name contains `fragment`."""

    def pick(run: ProgramRun) -> RegisteredResource:
        [key] = [k for k in run.of_type("azure-native:keyvault:Key") if fragment in k.inputs["keyName"]]
        return key

    return pick


SIGNING_KEY = key_named("sign")
STORAGE_KEY = key_named("storage")

ROLE_DEFINITIONS = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions"
STORAGE_ACCOUNT_ID = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/eventstack-rg/providers/Microsoft.Storage/storageAccounts/st1"
)
HOST_STORAGE_GRANT = first("azure-native:authorization:RoleAssignment", "host-storage")
DEPLOYMENT_PACKAGE_GRANT = first("azure-native:authorization:RoleAssignment", "deployment-package")
OPEN_INBOUND_RULE = {
    "name": "allow-https-from-anywhere",
    "access": "Allow",
    "direction": "Inbound",
    "protocol": "Tcp",
    "priority": 200,
    "sourcePortRange": "*",
    "destinationPortRange": "443",
    "destinationAddressPrefix": "*",
}

CASES: list[Case] = [
    Case("storage-shared-key-access-disabled", STORAGE, "shared keys on", set_("allowSharedKeyAccess", True)),
    Case("storage-shared-key-access-disabled", STORAGE, "left to the default", drop("allowSharedKeyAccess")),
    Case("storage-public-network-access-disabled", STORAGE, "public", set_("publicNetworkAccess", "Enabled")),
    Case("storage-blob-public-access-disabled", STORAGE, "public blobs", set_("allowBlobPublicAccess", True)),
    Case("storage-minimum-tls-1-2", STORAGE, "TLS 1.0", set_("minimumTlsVersion", "TLS1_0")),
    Case("storage-https-only", STORAGE, "plain HTTP", set_("enableHttpsTrafficOnly", False)),
    Case(
        "storage-infrastructure-encryption",
        STORAGE,
        "single encryption",
        set_("encryption.requireInfrastructureEncryption", False),
    ),
    Case(
        "storage-customer-managed-key",
        STORAGE,
        "Microsoft-managed key",
        set_("encryption.keySource", "Microsoft.Storage"),
    ),
    Case("storage-customer-managed-key", STORAGE, "no vault key", drop("encryption.keyVaultProperties")),
    Case(
        "storage-customer-managed-key",
        STORAGE,
        "tables on a service key",
        set_("encryption.services.table.keyType", "Service"),
    ),
    Case("storage-network-default-deny", STORAGE, "default allow", set_("networkRuleSet.defaultAction", "Allow")),
    Case("storage-network-default-deny", STORAGE, "no network rules", drop("networkRuleSet")),
    Case(
        "storage-no-cross-tenant-replication",
        STORAGE,
        "cross-tenant replication on",
        set_("allowCrossTenantReplication", True),
    ),
    Case("vault-rbac-authorization", VAULT, "RBAC off", set_("properties.enableRbacAuthorization", False)),
    Case(
        "vault-rbac-authorization",
        VAULT,
        "an access policy",
        append(
            "properties.accessPolicies",
            {"objectId": "x", "tenantId": "y", "permissions": {"keys": ["all"]}},
        ),
    ),
    Case("vault-purge-protection", VAULT, "purge protection off", drop("properties.enablePurgeProtection")),
    Case(
        "vault-public-network-access-disabled",
        VAULT,
        "public",
        set_("properties.publicNetworkAccess", "Enabled"),
    ),
    Case("vault-network-default-deny", VAULT, "default allow", set_("properties.networkAcls.defaultAction", "Allow")),
    Case("function-app-https-only", SITE, "plain HTTP", set_("httpsOnly", False)),
    Case("function-app-minimum-tls-1-2", SITE, "site on TLS 1.0", set_("siteConfig.minTlsVersion", "1.0")),
    Case("function-app-minimum-tls-1-2", SITE, "SCM site on TLS 1.1", set_("siteConfig.scmMinTlsVersion", "1.1")),
    Case("function-app-ftps-disabled", SITE, "a site off Flex with FTP at its default", drop("functionAppConfig")),
    Case(
        "function-app-ftps-disabled",
        SITE,
        "a site off Flex with FTP allowed",
        both(drop("functionAppConfig"), set_("siteConfig.ftpsState", "AllAllowed")),
    ),
    *(
        Case("function-app-flex-site-config", SITE, f"{name} sent as {value!r}", set_(f"siteConfig.{name}", value))
        for name, value in FLEX_REJECTED_EXAMPLES
    ),
    Case(
        "function-app-remote-debugging-disabled",
        SITE,
        "remote debugging on",
        set_("siteConfig.remoteDebuggingEnabled", True),
    ),
    Case(
        "function-app-basic-auth-publishing-disabled",
        first("azure-native:web:WebAppFtpAllowed"),
        "FTP basic auth on",
        set_("allow", True),
    ),
    Case(
        "function-app-basic-auth-publishing-disabled",
        first("azure-native:web:WebAppScmAllowed"),
        "SCM basic auth on",
        set_("allow", True),
    ),
    Case("function-app-vnet-route-all", SITE, "no VNet integration", drop("virtualNetworkSubnetId")),
    Case("function-app-vnet-route-all", SITE, "route-all off", route_all_off),
    Case(
        "function-app-vnet-route-all",
        SITE,
        "outbound routing off, legacy switch on",
        set_("outboundVnetRouting", {"allTraffic": False}),
    ),
    Case(
        "function-app-vnet-route-all",
        SITE,
        "legacy switch off",
        set_("siteConfig.vnetRouteAllEnabled", False),
    ),
    Case(
        "function-app-scale-caps",
        SITE,
        "5000 instances",
        set_("functionAppConfig.scaleAndConcurrency.maximumInstanceCount", 5000),
    ),
    Case(
        "function-app-scale-caps",
        SITE,
        "1000 requests per instance",
        set_("functionAppConfig.scaleAndConcurrency.triggers.http.perInstanceConcurrency", 1000),
    ),
    Case("function-app-scale-caps", SITE, "no scale settings", drop("functionAppConfig.scaleAndConcurrency")),
    Case(
        "function-app-no-secret-settings",
        settings_carrier,
        "storage connection string with a key",
        put_setting("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=bm90LWEta2V5"),
    ),
    Case(
        "function-app-no-secret-settings",
        settings_carrier,
        "SAS URL under an innocent name",
        put_setting("EVENTSTACK_EXPORT_URL", "https://st.blob.core.windows.net/x?sv=2024-08-04&sr=c&sig=c2lnbmF0dXJl"),
    ),
    Case("function-app-no-secret-settings", settings_carrier, "a password", put_setting("ADMIN_PASSWORD", "hunter2")),
    Case(
        "function-app-no-secret-settings",
        settings_carrier,
        "a client secret",
        put_setting("GITHUB_CLIENT_SECRET", "0123456789abcdef"),
    ),
    Case(
        "function-app-no-secret-settings",
        settings_carrier,
        "the local-only storage connection string",
        put_setting("EVENTSTACK_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"),
    ),
    Case(
        "function-app-no-debug-logging",
        settings_carrier,
        "the worker's debug logging (logs response bodies)",
        put_setting("PYTHON_ENABLE_DEBUG_LOGGING", "1"),
    ),
    Case(
        "function-app-throttle-settings",
        settings_carrier,
        "concurrency over the bound",
        put_setting("EVENTSTACK_MAX_CONCURRENT_REQUESTS", "1000"),
    ),
    Case(
        "function-app-throttle-settings",
        settings_carrier,
        "outstanding requests over the bound",
        put_setting("EVENTSTACK_MAX_OUTSTANDING_REQUESTS", "5000"),
    ),
    Case(
        "function-app-throttle-settings",
        settings_carrier,
        "outstanding below concurrent",
        put_setting("EVENTSTACK_MAX_OUTSTANDING_REQUESTS", "1"),
    ),
    Case(
        "function-app-throttle-settings",
        settings_carrier,
        "concurrency not a number",
        put_setting("EVENTSTACK_MAX_CONCURRENT_REQUESTS", "unlimited"),
    ),
    Case(
        "function-app-throttle-settings",
        settings_carrier,
        "concurrency unset",
        remove_setting("EVENTSTACK_MAX_CONCURRENT_REQUESTS"),
    ),
    Case(
        "role-assignment-no-privileged-role",
        ROLE_ASSIGNMENT,
        "Owner",
        set_("roleDefinitionId", f"{ROLE_DEFINITIONS}/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ),
    Case(
        "role-assignment-no-privileged-role",
        ROLE_ASSIGNMENT,
        "Contributor, upper case",
        set_("roleDefinitionId", f"{ROLE_DEFINITIONS}/B24988AC-6180-42A0-AB88-20F7382DD24C"),
    ),
    Case(
        "role-assignment-no-privileged-role",
        ROLE_ASSIGNMENT,
        "User Access Administrator",
        set_("roleDefinitionId", f"{ROLE_DEFINITIONS}/18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
    ),
    Case(
        "role-assignment-no-privileged-role",
        ROLE_ASSIGNMENT,
        "RBAC Administrator, tenant-level id",
        set_(
            "roleDefinitionId",
            "/providers/Microsoft.Authorization/roleDefinitions/f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        ),
    ),
    Case(
        "role-assignment-blob-roles-on-containers",
        HOST_STORAGE_GRANT,
        "host storage on the whole account (the old grant)",
        set_("scope", STORAGE_ACCOUNT_ID),
    ),
    Case(
        "role-assignment-blob-roles-on-containers",
        DEPLOYMENT_PACKAGE_GRANT,
        "deployment package on the account's blob service",
        set_("scope", f"{STORAGE_ACCOUNT_ID}/blobServices/default"),
    ),
    Case(
        "role-assignment-blob-roles-on-containers",
        DEPLOYMENT_PACKAGE_GRANT,
        "Storage Blob Data Reader on the account",
        lambda inputs: inputs.update(
            roleDefinitionId=f"{ROLE_DEFINITIONS}/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", scope=STORAGE_ACCOUNT_ID
        ),
    ),
    Case(
        "role-assignment-resource-scope",
        ROLE_ASSIGNMENT,
        "subscription",
        set_("scope", f"/subscriptions/{SUBSCRIPTION_ID}"),
    ),
    Case(
        "role-assignment-resource-scope",
        ROLE_ASSIGNMENT,
        "resource group",
        set_("scope", f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/eventstack-rg/"),
    ),
    Case(
        "role-assignment-resource-scope",
        ROLE_ASSIGNMENT,
        "management group",
        set_("scope", "/providers/Microsoft.Management/managementGroups/root"),
    ),
    Case("allowed-eu-location", RESOURCE_GROUP, "US region", set_("location", "eastus")),
    Case("allowed-eu-location", STORAGE, "UK region, display form", set_("location", "UK South")),
    Case("allowed-eu-location", SITE, "'global' for a regional resource", set_("location", "global")),
    Case("allowed-eu-location", DNS_ZONE, "a region outside the EU", set_("location", "westus")),
    Case("required-stack-tags", RESOURCE_GROUP, "no owner tag", drop("tags.owner")),
    Case("required-stack-tags", VAULT, "no tags at all", drop("tags")),
    Case("data-delete-by-tag", IDENTITY, "no data-delete-by tag", drop("tags.data-delete-by")),
    Case("data-delete-by-tag", STORAGE, "not a date", set_("tags.data-delete-by", "after the event")),
    Case("data-delete-by-tag", VAULT, "no time zone", set_("tags.data-delete-by", "2027-06-07T18:00:00")),
    Case("data-delete-by-tag", SITE, "not UTC", set_("tags.data-delete-by", "2027-06-07T20:00:00+02:00")),
    Case(
        "nsg-no-internet-inbound",
        NSG,
        "inbound from Internet",
        append("securityRules", {**OPEN_INBOUND_RULE, "sourceAddressPrefix": "Internet"}),
    ),
    Case(
        "nsg-no-internet-inbound",
        NSG,
        "inbound from *",
        append("securityRules", {**OPEN_INBOUND_RULE, "sourceAddressPrefix": "*"}),
    ),
    Case(
        "nsg-no-internet-inbound",
        NSG,
        "inbound from 0.0.0.0/0 in a prefix list",
        append("securityRules", {**OPEN_INBOUND_RULE, "sourceAddressPrefixes": ["10.0.0.0/8", "0.0.0.0/0"]}),
    ),
    Case("subnet-no-default-outbound-access", SUBNET, "implicit outbound on", set_("defaultOutboundAccess", True)),
    Case("subnet-no-default-outbound-access", SUBNET, "left to the default", drop("defaultOutboundAccess")),
    Case("app-insights-local-auth-disabled", APP_INSIGHTS, "local auth on", set_("disableLocalAuth", False)),
    Case("app-insights-local-auth-disabled", APP_INSIGHTS, "left to the default", drop("disableLocalAuth")),
    # the edge and availability
    Case("waf-prevention-with-rate-limit", WAF, "detection only", set_("policySettings.mode", "Detection")),
    Case("waf-prevention-with-rate-limit", WAF, "policy disabled", set_("policySettings.enabledState", "Disabled")),
    Case(
        "waf-prevention-with-rate-limit",
        WAF,
        "no rate-limit rule",
        lambda inputs: inputs["customRules"].update(
            rules=[r for r in inputs["customRules"]["rules"] if r["ruleType"] != "RateLimitRule"]
        ),
    ),
    Case(
        "function-app-origin-locked-to-edge",
        SITE,
        "open to everyone behind the edge",
        set_("siteConfig.ipSecurityRestrictionsDefaultAction", "Allow"),
    ),
    Case(
        "function-app-origin-locked-to-edge",
        SITE,
        "any Front Door, not ours",
        drop("siteConfig.ipSecurityRestrictions.0.headers"),
    ),
    Case(
        "function-app-origin-locked-to-edge",
        SITE,
        "an extra address allowed",
        append(
            "siteConfig.ipSecurityRestrictions",
            {"name": "office", "action": "Allow", "ipAddress": "203.0.113.0/24", "priority": 300},
        ),
    ),
    Case("vault-keys-hsm-backed", SIGNING_KEY, "software EC signing key", set_("properties.kty", "EC")),
    Case("vault-keys-hsm-backed", STORAGE_KEY, "software RSA storage key", set_("properties.kty", "RSA")),
    Case("function-plan-zone-redundant", PLAN, "single zone", set_("zoneRedundant", False)),
    Case("function-plan-zone-redundant", PLAN, "left to the default", drop("zoneRedundant")),
    Case("storage-zone-redundant", STORAGE, "locally redundant", set_("sku.name", "Standard_LRS")),
    Case("storage-zone-redundant", STORAGE, "geo- but not zone-redundant", set_("sku.name", "Standard_GRS")),
]
