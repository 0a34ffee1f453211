"""The threat model as mandatory CrossGuard rules: one policy per setting that carries a mitigation.

Each policy checks the inputs the engine sends for one resource (camelCase, as Azure names them)
and reports what is wrong. The bounds and the region list live here, not in the program: a guard
that read its limits from what it guards would move with it.

The engine hands a policy its resource's inputs through read-only proxies (`Mapping` and
`Sequence`, not `dict` and `list`), and every number as a float. Inputs not yet known during
`pulumi preview` raise inside the proxy; the runtime reports those as advisory and checks them
again, for real, during `pulumi up`.

A per-resource rule cannot notice a resource that is missing. The stack policies at the end see
every resource at once (their outputs: during a preview the inputs, after `pulumi up` what Azure
returned) and check that what a mitigation rests on exists and is linked to what it protects:
private endpoints, diagnostic settings, the lifecycle policy, the NAT gateway, the NSGs, the
basic-auth publishing policies. Links are matched by ARM id, or by the parent's name while ids are
not known yet: a child's id lies under its parent's id, and a reference names the target's id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


@dataclass(frozen=True)
class Bound:
    """An inclusive integer range a setting must stay in, with the reason."""

    low: int
    high: int
    why: str


# GDPR: EU member states only, as in the program; a region is added in both places, in review.
ALLOWED_LOCATIONS: frozenset[str] = frozenset(
    {
        "westeurope",
        "northeurope",
        "swedencentral",
        "germanywestcentral",
        "francecentral",
        "italynorth",
        "polandcentral",
        "spaincentral",
    }
)
# Private DNS zones and their links are not regional: Azure requires "global" for them.
GLOBAL_LOCATION_TYPES: frozenset[str] = frozenset(
    {
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:network:PrivateZone",
        "azure-native:network:VirtualNetworkLink",
    }
)
GLOBAL_LOCATION = "global"

# The threat model: a small maxConcurrentRequests and a low maxOutstandingRequests per instance,
# and a cap on how far the app scales out (cost and blast radius of a flood).
MAX_CONCURRENT_REQUESTS = Bound(1, 100, "host throttle per instance: small, per the threat model")
MAX_OUTSTANDING_REQUESTS = Bound(1, 1000, "host throttle per instance: queued plus running requests")
PER_INSTANCE_CONCURRENCY = Bound(1, 100, "HTTP requests the platform sends one instance at once")
MAXIMUM_INSTANCE_COUNT = Bound(40, 1000, "Flex Consumption scale-out cap")

MAX_CONCURRENT_REQUESTS_SETTING = "EVENTSTACK_MAX_CONCURRENT_REQUESTS"
MAX_OUTSTANDING_REQUESTS_SETTING = "EVENTSTACK_MAX_OUTSTANDING_REQUESTS"

STORAGE_TLS_VERSIONS: frozenset[str] = frozenset({"TLS1_2", "TLS1_3"})
SITE_TLS_VERSIONS: frozenset[str] = frozenset({"1.2", "1.3"})

# Built-in roles that can grant access or change anything: never handed to any identity.
PRIVILEGED_ROLE_IDS: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}

TAG_DATA_DELETE_BY = "data-delete-by"
# Who owns a resource, which event and stack it serves, and what manages it.
REQUIRED_STACK_TAGS: frozenset[str] = frozenset({"event", "stack", "owner", "managed-by"})
# Azure resource types that accept tags. Any other resource that sends `tags` is checked too; a
# test holds this list against the SDK's signatures for every type the program registers.
TAGGABLE_TYPES: frozenset[str] = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:NatGateway",
        "azure-native:network:PublicIPAddress",
        "azure-native:network:PrivateEndpoint",
        "azure-native:network:PrivateZone",
        "azure-native:network:VirtualNetworkLink",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Key",
        "azure-native:keyvault:Secret",
        "azure-native:storage:StorageAccount",
        "azure-native:web:AppServicePlan",
        "azure-native:web:WebApp",
        "azure-native:web:WebAppSlot",
    }
)

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
WEB_APPS: frozenset[str] = frozenset({"azure-native:web:WebApp", "azure-native:web:WebAppSlot"})
APP_SETTINGS_RESOURCES: frozenset[str] = frozenset(
    {"azure-native:web:WebAppApplicationSettings", "azure-native:web:WebAppApplicationSettingsSlot"}
)
PUBLISHING_CREDENTIAL_POLICIES: frozenset[str] = frozenset(
    {
        "azure-native:web:WebAppFtpAllowed",
        "azure-native:web:WebAppScmAllowed",
        "azure-native:web:WebAppFtpAllowedSlot",
        "azure-native:web:WebAppScmAllowedSlot",
    }
)
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
NETWORK_SECURITY_GROUP = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
APP_INSIGHTS = "azure-native:applicationinsights:Component"

# Source prefixes that mean "anyone on the internet".
INTERNET_SOURCES: frozenset[str] = frozenset({"*", "internet", "0.0.0.0/0", "any", "::/0"})

# Setting names that announce a credential. The Application Insights connection string only
# names where telemetry goes (local auth is off; ingestion uses Azure AD), so it is exempt by name
# but its value is still searched.
SECRET_SETTING_NAME = re.compile(
    r"password|passwd|pwd|client_?secret|secret_?value|account_?key|access_?key|shared_?access|sas_?token"
    r"|private_?key|connection_?string|^AzureWebJobsStorage$",
    re.IGNORECASE,
)
NON_SECRET_SETTING_NAMES: frozenset[str] = frozenset({"APPLICATIONINSIGHTS_CONNECTION_STRING"})
# Fragments of a value that only a credential carries: storage keys, SAS tokens, passwords.
SECRET_SETTING_VALUE = re.compile(
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature=|(^|[?&;])sig=|(^|;)\s*(password|pwd)=|client_secret="
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----",
    re.IGNORECASE,
)

_MISSING = object()

Check = Callable[[Mapping[str, Any]], Iterator[str]]


def resource_type_token(resource_type: str) -> str:
    """`azure-native:storage/v20230101:StorageAccount` -> `azure-native:storage:StorageAccount`."""
    parts = resource_type.split(":")
    if len(parts) == 3:
        parts[1] = parts[1].split("/", 1)[0]
    return ":".join(parts)


def _get(props: Any, path: str) -> Any:
    node = props
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _shown(value: Any) -> str:
    return "(not set)" if value is _MISSING else repr(value)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, str) and isinstance(actual, str):
        # ARM compares enum values without regard to case.
        return actual.lower() == expected.lower()
    return bool(actual == expected)


def _require(props: Mapping[str, Any], path: str, expected: Any, why: str) -> Iterator[str]:
    actual = _get(props, path)
    if not _same(actual, expected):
        yield f"{path} must be {expected!r} ({why}); found {_shown(actual)}"


def _require_one_of(props: Mapping[str, Any], path: str, allowed: frozenset[str], why: str) -> Iterator[str]:
    actual = _get(props, path)
    if not (isinstance(actual, str) and actual.upper() in {a.upper() for a in allowed}):
        yield f"{path} must be one of {sorted(allowed)} ({why}); found {_shown(actual)}"


def _integer(value: Any) -> int | None:
    """An integer from a number (the engine sends floats) or a decimal string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}\s*", value):
        return int(value)
    return None


def _within(label: str, value: Any, bound: Bound) -> Iterator[str]:
    number = _integer(value)
    if number is None:
        yield f"{label} must be an integer from {bound.low} to {bound.high} ({bound.why}); found {_shown(value)}"
    elif not bound.low <= number <= bound.high:
        yield f"{label} = {number} is outside {bound.low}-{bound.high} ({bound.why})"


def _sequence(value: Any) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value
    return ()


def _is_function_app(props: Mapping[str, Any]) -> bool:
    kind = _get(props, "kind")
    return isinstance(kind, str) and "functionapp" in kind.lower()


def app_settings(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The app settings a resource sets, by name; None when it sets none.

    A site carries them as `siteConfig.appSettings` (a list of name/value pairs); the separate
    settings resource as `properties` (a map).
    """
    if resource_type in APP_SETTINGS_RESOURCES:
        properties = _get(props, "properties")
        return dict(properties) if isinstance(properties, Mapping) else {}
    if resource_type in WEB_APPS:
        pairs = _get(props, "siteConfig.appSettings")
        if pairs is _MISSING:
            return None
        settings: dict[str, Any] = {}
        for pair in _sequence(pairs):
            if isinstance(pair, Mapping) and isinstance(pair.get("name"), str):
                settings[pair["name"]] = pair.get("value")
        return settings
    return None


# --- storage -------------------------------------------------------------------------------


def _storage_shared_keys(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "allowSharedKeyAccess", False, "only Azure AD identities reach the data")


def _storage_public_network(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "publicNetworkAccess", "Disabled", "reachable only through private endpoints")


def _storage_blob_public_access(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "allowBlobPublicAccess", False, "no anonymous reads of attendee data")


def _storage_tls(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require_one_of(props, "minimumTlsVersion", STORAGE_TLS_VERSIONS, "encryption in transit")


def _storage_https_only(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "enableHttpsTrafficOnly", True, "encryption in transit")


def _storage_infrastructure_encryption(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "encryption.requireInfrastructureEncryption", True, "double encryption at rest")


def _storage_customer_managed_key(props: Mapping[str, Any]) -> Iterator[str]:
    why = "encryption at rest with a key the stack holds in its vault"
    yield from _require(props, "encryption.keySource", "Microsoft.Keyvault", why)
    for path in ("encryption.keyVaultProperties.keyName", "encryption.keyVaultProperties.keyVaultUri"):
        value = _get(props, path)
        if not (isinstance(value, str) and value):
            yield f"{path} must name the vault key ({why}); found {_shown(value)}"
    # Tables and queues are covered by the customer-managed key only with account-scoped keys.
    for service in ("table", "queue"):
        yield from _require(props, f"encryption.services.{service}.keyType", "Account", why)


def _storage_network_default_deny(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "networkRuleSet.defaultAction", "Deny", "no network path but the private endpoints")


def _storage_cross_tenant_replication(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "allowCrossTenantReplication", False, "data never replicates out of the tenant")


# --- key vault -----------------------------------------------------------------------------


def _vault_rbac(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "properties.enableRbacAuthorization", True, "least privilege through role assignments")
    if _sequence(_get(props, "properties.accessPolicies")):
        yield "properties.accessPolicies must be empty (access policies bypass role assignments)"


def _vault_purge_protection(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(
        props, "properties.enablePurgeProtection", True, "keys cannot be destroyed early; the storage key needs it"
    )


def _vault_public_network(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "properties.publicNetworkAccess", "Disabled", "reachable only through the VNet")


def _vault_network_default_deny(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(
        props, "properties.networkAcls.defaultAction", "Deny", "no network path but the private endpoint"
    )


# --- function app --------------------------------------------------------------------------


def _app_https_only(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "httpsOnly", True, "encryption in transit")


def _app_tls(props: Mapping[str, Any]) -> Iterator[str]:
    for path in ("siteConfig.minTlsVersion", "siteConfig.scmMinTlsVersion"):
        yield from _require_one_of(props, path, SITE_TLS_VERSIONS, "encryption in transit")


def _app_ftps(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "siteConfig.ftpsState", "Disabled", "no FTP path to the code")


def _app_remote_debugging(props: Mapping[str, Any]) -> Iterator[str]:
    if _get(props, "siteConfig.remoteDebuggingEnabled") is True:
        yield "siteConfig.remoteDebuggingEnabled must be off (a debugger is a way into the running app)"


def _publishing_basic_auth(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "allow", False, "deployments authenticate with Azure AD, never a shared password")


def _app_vnet_route_all(props: Mapping[str, Any]) -> Iterator[str]:
    subnet = _get(props, "virtualNetworkSubnetId")
    if not (isinstance(subnet, str) and subnet):
        yield f"virtualNetworkSubnetId must name the integration subnet (VNet isolation); found {_shown(subnet)}"
    # Two API generations name the same switch; a site that sets either to false is not routed,
    # whatever the other says.
    legacy = _get(props, "siteConfig.vnetRouteAllEnabled")
    routing = _get(props, "outboundVnetRouting")
    current = (
        _get(props, "outboundVnetRouting.allTraffic") is True
        or _get(props, "outboundVnetRouting.applicationTraffic") is True
        if isinstance(routing, Mapping)
        else None
    )
    if legacy is False or current is False or not (legacy is True or current is True):
        yield (
            "siteConfig.vnetRouteAllEnabled and outboundVnetRouting.allTraffic must not be off, and one must be "
            f"on: all outbound traffic goes through the VNet and its NSG; found {_shown(legacy)} and {_shown(routing)}"
        )


def _app_scale_caps(props: Mapping[str, Any]) -> Iterator[str]:
    if not _is_function_app(props):
        return
    scale = "functionAppConfig.scaleAndConcurrency"
    yield from _within(
        f"{scale}.maximumInstanceCount", _get(props, f"{scale}.maximumInstanceCount"), MAXIMUM_INSTANCE_COUNT
    )
    per_instance = _get(props, f"{scale}.triggers.http.perInstanceConcurrency")
    yield from _within(f"{scale}.triggers.http.perInstanceConcurrency", per_instance, PER_INSTANCE_CONCURRENCY)


def _secret_settings(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for name, value in sorted((app_settings(resource_type, props) or {}).items()):
        if SECRET_SETTING_NAME.search(name) and name not in NON_SECRET_SETTING_NAMES:
            yield f"app setting {name} looks like a credential: the app uses its managed identity instead"
        elif isinstance(value, str) and SECRET_SETTING_VALUE.search(value):
            # The value itself is never echoed: it may be the secret.
            yield f"app setting {name} holds a key, SAS or password: the app uses its managed identity instead"


def _throttle_settings(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    settings = app_settings(resource_type, props)
    if settings is None:
        return
    concurrent = settings.get(MAX_CONCURRENT_REQUESTS_SETTING, _MISSING)
    outstanding = settings.get(MAX_OUTSTANDING_REQUESTS_SETTING, _MISSING)
    yield from _within(f"app setting {MAX_CONCURRENT_REQUESTS_SETTING}", concurrent, MAX_CONCURRENT_REQUESTS)
    yield from _within(f"app setting {MAX_OUTSTANDING_REQUESTS_SETTING}", outstanding, MAX_OUTSTANDING_REQUESTS)
    concurrent_number, outstanding_number = _integer(concurrent), _integer(outstanding)
    if concurrent_number is not None and outstanding_number is not None and outstanding_number < concurrent_number:
        yield (
            f"{MAX_OUTSTANDING_REQUESTS_SETTING} ({outstanding_number}) counts running requests too: "
            f"it must be at least {MAX_CONCURRENT_REQUESTS_SETTING} ({concurrent_number})"
        )
    per_instance = _integer(_get(props, "functionAppConfig.scaleAndConcurrency.triggers.http.perInstanceConcurrency"))
    if per_instance is not None and concurrent_number is not None and per_instance > concurrent_number:
        yield (
            f"perInstanceConcurrency ({per_instance}) exceeds {MAX_CONCURRENT_REQUESTS_SETTING} "
            f"({concurrent_number}): the platform would send an instance more than the app admits"
        )


# --- identity and access -------------------------------------------------------------------


def _role_definition_guid(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _no_privileged_role(props: Mapping[str, Any]) -> Iterator[str]:
    role = _get(props, "roleDefinitionId")
    if not isinstance(role, str):
        yield f"roleDefinitionId must name a built-in role; found {_shown(role)}"
        return
    privileged = PRIVILEGED_ROLE_IDS.get(_role_definition_guid(role))
    if privileged:
        yield f"role {privileged} ({role}) is never granted: it can hand out access or change anything"


_SUBSCRIPTION_OR_GROUP_SCOPE = re.compile(r"^/subscriptions/[^/]+(/resourcegroups/[^/]+)?/?$", re.IGNORECASE)
_MANAGEMENT_GROUP_SCOPE = re.compile(r"^/providers/Microsoft\.Management/managementGroups/", re.IGNORECASE)


def _resource_scope(props: Mapping[str, Any]) -> Iterator[str]:
    scope = _get(props, "scope")
    if not isinstance(scope, str) or scope.strip("/") == "":
        yield f"scope must be a resource id; found {_shown(scope)}"
    elif _SUBSCRIPTION_OR_GROUP_SCOPE.match(scope) or _MANAGEMENT_GROUP_SCOPE.match(scope):
        yield f"scope {scope} is above a resource: grant on the narrowest resource that works"
    elif "/providers/" not in scope.lower():
        yield f"scope {scope} is not a resource id"


# --- location and tags ---------------------------------------------------------------------


def _location(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    location = _get(props, "location")
    if location is _MISSING or location is None:
        return
    normalized = location.replace(" ", "").lower() if isinstance(location, str) else location
    if resource_type in GLOBAL_LOCATION_TYPES and normalized == GLOBAL_LOCATION:
        return
    if normalized not in ALLOWED_LOCATIONS:
        allowed = ", ".join(sorted(ALLOWED_LOCATIONS))
        yield f"location {location!r} is not an allowed EU region (GDPR); allowed: {allowed}"


def _tags(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The resource's tags, {} when a taggable resource sends none; None when it takes no tags."""
    tags = _get(props, "tags")
    if isinstance(tags, Mapping):
        return tags
    return {} if resource_type in TAGGABLE_TYPES else None


def _stack_tags(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    tags = _tags(resource_type, props)
    if tags is None:
        return
    missing = sorted(tag for tag in REQUIRED_STACK_TAGS if not (isinstance(tags.get(tag), str) and tags.get(tag)))
    if missing:
        yield f"tags {', '.join(missing)} are missing: every resource names its event, stack, owner and manager"


def parse_delete_by(value: Any) -> datetime | None:
    """The data-delete-by tag as an aware UTC datetime; None when it is not ISO 8601 UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() != timedelta(0):
        return None
    return parsed


def _data_delete_by_tag(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    tags = _tags(resource_type, props)
    if tags is None:
        return
    value = tags.get(TAG_DATA_DELETE_BY, _MISSING)
    if parse_delete_by(value) is None:
        yield (
            f"tag {TAG_DATA_DELETE_BY} must be an ISO 8601 UTC date such as 2027-06-07T18:00:00Z "
            f"(when the data must be gone, GDPR); found {_shown(value)}"
        )


# --- network and monitoring ----------------------------------------------------------------


def _open_to_internet(rule: Mapping[str, Any]) -> bool:
    # Subnet/NSG rules arrive flat in azure-native; a `properties` envelope is accepted too.
    envelope = rule.get("properties")
    body: Mapping[str, Any] = envelope if isinstance(envelope, Mapping) else rule
    if str(body.get("direction", "")).lower() != "inbound" or str(body.get("access", "")).lower() != "allow":
        return False
    sources = [body.get("sourceAddressPrefix"), *_sequence(body.get("sourceAddressPrefixes"))]
    return any(isinstance(s, str) and s.strip().lower() in INTERNET_SOURCES for s in sources)


def _nsg_rules(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    rules = [props] if resource_type == SECURITY_RULE else list(_sequence(_get(props, "securityRules")))
    for rule in rules:
        if isinstance(rule, Mapping) and _open_to_internet(rule):
            name = rule.get("name") or "(unnamed)"
            yield f"security rule {name} allows inbound traffic from the internet"


def _subnet_outbound(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    subnets = [props] if resource_type == SUBNET else list(_sequence(_get(props, "subnets")))
    for subnet in subnets:
        if isinstance(subnet, Mapping):
            value = subnet.get("defaultOutboundAccess", _MISSING)
            if value is not False:
                name = subnet.get("name") or subnet.get("subnetName") or "(unnamed)"
                yield (
                    f"subnet {name}: defaultOutboundAccess must be false (egress only through the NAT gateway); "
                    f"found {_shown(value)}"
                )


def _app_insights_local_auth(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _require(props, "disableLocalAuth", True, "telemetry is ingested with Azure AD only")


# --- assembly ------------------------------------------------------------------------------


TypedCheck = Callable[[str, Mapping[str, Any]], Iterator[str]]


def _ignoring_type(check: Check) -> TypedCheck:
    return lambda _resource_type, props: check(props)


def resource_policy(
    name: str, description: str, check: TypedCheck, types: frozenset[str] | None = None
) -> ResourceValidationPolicy:
    """A mandatory policy that runs `check` on resources of `types` (all resources when None)."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource_type = resource_type_token(args.resource_type)
        if types is not None and resource_type not in types:
            return
        for message in check(resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def _storage(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return resource_policy(name, description, _ignoring_type(check), frozenset({STORAGE_ACCOUNT}))


def _vault(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return resource_policy(name, description, _ignoring_type(check), frozenset({KEY_VAULT}))


def _web_app(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return resource_policy(name, description, _ignoring_type(check), WEB_APPS)


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    _storage("storage-shared-key-access-disabled", "Storage accounts refuse shared keys.", _storage_shared_keys),
    _storage(
        "storage-public-network-access-disabled",
        "Storage accounts are closed to the public network.",
        _storage_public_network,
    ),
    _storage(
        "storage-blob-public-access-disabled", "Storage accounts allow no public blobs.", _storage_blob_public_access
    ),
    _storage("storage-minimum-tls-1-2", "Storage accounts require TLS 1.2 or later.", _storage_tls),
    _storage("storage-https-only", "Storage accounts accept HTTPS only.", _storage_https_only),
    _storage(
        "storage-infrastructure-encryption",
        "Storage accounts encrypt twice at rest (infrastructure encryption).",
        _storage_infrastructure_encryption,
    ),
    _storage(
        "storage-customer-managed-key",
        "Storage accounts encrypt blobs, tables and queues with a customer-managed Key Vault key.",
        _storage_customer_managed_key,
    ),
    _storage("storage-network-default-deny", "Storage network rules deny by default.", _storage_network_default_deny),
    _storage(
        "storage-no-cross-tenant-replication",
        "Storage accounts never replicate to another tenant.",
        _storage_cross_tenant_replication,
    ),
    _vault("vault-rbac-authorization", "Key vaults authorize with Azure RBAC, not access policies.", _vault_rbac),
    _vault("vault-purge-protection", "Key vaults have purge protection on.", _vault_purge_protection),
    _vault(
        "vault-public-network-access-disabled", "Key vaults are closed to the public network.", _vault_public_network
    ),
    _vault("vault-network-default-deny", "Key vault network ACLs deny by default.", _vault_network_default_deny),
    _web_app("function-app-https-only", "The Function App serves HTTPS only.", _app_https_only),
    _web_app("function-app-minimum-tls-1-2", "The Function App and its SCM site require TLS 1.2 or later.", _app_tls),
    _web_app("function-app-ftps-disabled", "The Function App has FTP and FTPS off.", _app_ftps),
    _web_app(
        "function-app-remote-debugging-disabled", "The Function App has remote debugging off.", _app_remote_debugging
    ),
    resource_policy(
        "function-app-basic-auth-publishing-disabled",
        "FTP and SCM basic-auth publishing credentials are off.",
        _ignoring_type(_publishing_basic_auth),
        PUBLISHING_CREDENTIAL_POLICIES,
    ),
    _web_app(
        "function-app-vnet-route-all",
        "The Function App is VNet-integrated and routes all outbound traffic through the VNet.",
        _app_vnet_route_all,
    ),
    _web_app(
        "function-app-scale-caps",
        "The Function App's instance count and per-instance concurrency stay within the bounds.",
        _app_scale_caps,
    ),
    resource_policy(
        "function-app-no-secret-settings",
        "App settings hold no keys, connection strings, SAS tokens or passwords.",
        _secret_settings,
        WEB_APPS | APP_SETTINGS_RESOURCES,
    ),
    resource_policy(
        "function-app-throttle-settings",
        "The app's request throttles are set and within the threat model's bounds.",
        _throttle_settings,
        WEB_APPS | APP_SETTINGS_RESOURCES,
    ),
    resource_policy(
        "role-assignment-no-privileged-role",
        "No identity is granted Owner, Contributor, User Access Administrator or RBAC Administrator.",
        _ignoring_type(_no_privileged_role),
        frozenset({ROLE_ASSIGNMENT}),
    ),
    resource_policy(
        "role-assignment-resource-scope",
        "Role assignments are scoped to a resource, never a subscription or resource group.",
        _ignoring_type(_resource_scope),
        frozenset({ROLE_ASSIGNMENT}),
    ),
    resource_policy("allowed-eu-location", "Every resource with a location is in an allowed EU region.", _location),
    resource_policy("required-stack-tags", "Every taggable resource carries the stack's tags.", _stack_tags),
    resource_policy(
        "data-delete-by-tag",
        "Every taggable resource is tagged with a parseable data-delete-by date.",
        _data_delete_by_tag,
    ),
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
    resource_policy(
        "app-insights-local-auth-disabled",
        "Application Insights accepts Azure AD-authenticated telemetry only.",
        _ignoring_type(_app_insights_local_auth),
        frozenset({APP_INSIGHTS}),
    ),
]


# --- stack: what must exist ----------------------------------------------------------------
#
# Read from outputs, not inputs: after `pulumi up` a resource's path parameters (`accountName`,
# `resourceUri`) are gone and only its ARM `id` ties it to its parent, so every link is tried by id
# first and by name second. A site's app settings are not checked here: Azure never returns them
# when the site is read, so such a rule would fail every deployment after the first.

WEB_APP = "azure-native:web:WebApp"
FTP_PUBLISHING_POLICY = "azure-native:web:WebAppFtpAllowed"
SCM_PUBLISHING_POLICY = "azure-native:web:WebAppScmAllowed"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAGNOSTIC_SETTINGS: frozenset[str] = frozenset(
    {"azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting"}
)
LOG_ANALYTICS_WORKSPACE = "azure-native:operationalinsights:Workspace"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
NAT_GATEWAY = "azure-native:network:NatGateway"

# Azure accepts one lifecycle policy per account, and only under this name.
LIFECYCLE_POLICY_NAME = "default"
# Private endpoint sub-resources (groupIds) every account and vault is reached through.
STORAGE_PRIVATE_LINK_GROUPS: tuple[str, ...] = ("blob", "table", "queue")
VAULT_PRIVATE_LINK_GROUP = "vault"
# The storage services whose data-plane logs the threat model wants: each is its own ARM target.
STORAGE_LOGGED_SERVICES: tuple[str, ...] = ("blobServices", "tableServices", "queueServices")
# Log categories (or category groups) that carry the vault's audit trail.
VAULT_AUDIT_LOG_CATEGORIES: frozenset[str] = frozenset({"audit", "alllogs", "auditevent"})
# Subnet delegations that make a subnet a Function App's outbound (integration) subnet.
INTEGRATION_DELEGATIONS: frozenset[str] = frozenset({"microsoft.app/environments", "microsoft.web/serverfarms"})
# Inputs that name a resource of each type before Azure has assigned its id.
NAME_INPUTS: Mapping[str, str] = {
    STORAGE_ACCOUNT: "accountName",
    KEY_VAULT: "vaultName",
    PRIVATE_ENDPOINT: "privateEndpointName",
    SUBNET: "subnetName",
    NAT_GATEWAY: "natGatewayName",
    NETWORK_SECURITY_GROUP: "networkSecurityGroupName",
    LOG_ANALYTICS_WORKSPACE: "workspaceName",
    VIRTUAL_NETWORK: "virtualNetworkName",
}

StackCheck = Callable[[Sequence[PolicyResource]], Iterator[tuple[str, str | None]]]


def _of_type(resources: Sequence[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if resource_type_token(r.resource_type) in types]


def _text(props: Any, path: str) -> str | None:
    value = _get(props, path)
    return value if isinstance(value, str) and value else None


def _normalized_id(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()


def _arm_id(resource: PolicyResource) -> str | None:
    return _text(resource.props, "id")


def _names(resource: PolicyResource) -> set[str]:
    """What the resource is called in Azure: its name input and, once known, its `name` output."""
    names = set()
    key = NAME_INPUTS.get(resource_type_token(resource.resource_type))
    for path in (key, "name") if key else ("name",):
        value = _text(resource.props, path)
        if value:
            names.add(value.lower())
    return names


def _same_group(a: PolicyResource, b: PolicyResource) -> bool:
    group_a, group_b = _text(a.props, "resourceGroupName"), _text(b.props, "resourceGroupName")
    return group_a is None or group_b is None or group_a.lower() == group_b.lower()


def _identifies(reference: Any, target: PolicyResource) -> bool:
    """Whether an ARM id (or `{"id": ...}`) taken from one resource names `target`."""
    if isinstance(reference, Mapping):
        reference = reference.get("id")
    if not isinstance(reference, str) or not reference:
        return False
    target_id = _arm_id(target)
    if target_id is not None:
        return _normalized_id(reference) == _normalized_id(target_id)
    # Before Azure assigns the id, the reference can only be held against the target's name.
    return _normalized_id(reference).rsplit("/", 1)[-1] in _names(target)


def _lies_under(child: PolicyResource, parent_id: str | None, infix: str = "/") -> bool:
    child_id = _arm_id(child)
    if child_id is None or not parent_id:
        return False
    return _normalized_id(child_id).startswith(_normalized_id(parent_id) + infix.lower())


def _child_of(child: PolicyResource, parent: PolicyResource, parent_name_input: str) -> bool:
    """Whether `child` belongs to `parent`: by id once known, else by the parent name it was given."""
    if _lies_under(child, _arm_id(parent)):
        return True
    given = _text(child.props, parent_name_input)
    return given is not None and given.lower() in _names(parent) and _same_group(child, parent)


def _label(resource: PolicyResource) -> str:
    return f"{resource_type_token(resource.resource_type).rsplit(':', 1)[-1]} {resource.name}"


# --- stack: Function App publishing --------------------------------------------------------


def _publishing_policies_present(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for site in _of_type(resources, WEB_APP):
        for policy_type, channel in ((FTP_PUBLISHING_POLICY, "FTP"), (SCM_PUBLISHING_POLICY, "SCM")):
            # The policy resource names its site with `name`; once created, its id lies under the site's.
            if not any(_child_of(policy, site, "name") for policy in _of_type(resources, policy_type)):
                yield (
                    f"{_label(site)} has no {policy_type.rsplit(':', 1)[-1]} resource: {channel} basic-auth "
                    "publishing stays at the platform default (on) and anyone with the credentials replaces the code",
                    site.urn,
                )


# --- stack: private endpoints --------------------------------------------------------------


def _endpoint_groups(endpoint: PolicyResource, target: PolicyResource) -> set[str]:
    """The sub-resources (`blob`, `vault`) through which `endpoint` reaches `target`."""
    groups: set[str] = set()
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        for connection in _sequence(_get(endpoint.props, key)):
            if not isinstance(connection, Mapping):
                continue
            # Inputs are flat; a read from Azure may wrap them in `properties`.
            envelope = connection.get("properties")
            body: Mapping[str, Any] = envelope if isinstance(envelope, Mapping) else connection
            if _identifies(body.get("privateLinkServiceId"), target):
                groups |= {g.lower() for g in _sequence(body.get("groupIds")) if isinstance(g, str)}
    return groups


def _has_dns_zone_group(endpoint: PolicyResource, resources: Sequence[PolicyResource]) -> bool:
    for group in _of_type(resources, PRIVATE_DNS_ZONE_GROUP):
        if _child_of(group, endpoint, "privateEndpointName") and _sequence(_get(group.props, "privateDnsZoneConfigs")):
            return True
    return False


def _private_endpoints_for(
    target: PolicyResource, groups: Sequence[str], resources: Sequence[PolicyResource]
) -> Iterator[tuple[str, str | None]]:
    endpoints = _of_type(resources, PRIVATE_ENDPOINT)
    for group in groups:
        reaching = [e for e in endpoints if group in _endpoint_groups(e, target)]
        if not reaching:
            yield (
                f"{_label(target)} has no private endpoint for '{group}': with public access off nothing in "
                "the VNet reaches it, and turning public access on to compensate exposes it",
                target.urn,
            )
        elif not any(_has_dns_zone_group(e, resources) for e in reaching):
            yield (
                f"{_label(target)}: the '{group}' private endpoint has no private DNS zone group, so its host "
                "name still resolves to the public address",
                target.urn,
            )


def _storage_private_endpoints(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for account in _of_type(resources, STORAGE_ACCOUNT):
        yield from _private_endpoints_for(account, STORAGE_PRIVATE_LINK_GROUPS, resources)


def _vault_private_endpoint(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for vault in _of_type(resources, KEY_VAULT):
        yield from _private_endpoints_for(vault, (VAULT_PRIVATE_LINK_GROUP,), resources)


# --- stack: diagnostic settings ------------------------------------------------------------


DIAGNOSTIC_SETTING_INFIX = "/providers/microsoft.insights/diagnosticsettings/"


def _aimed_at(setting: PolicyResource, target: PolicyResource, sub_path: str) -> bool:
    """Whether a diagnostic setting is on `target` (or its `sub_path`, a service such as
    `blobServices/default`): its `resourceUri` names it, or else its own id lies under it."""
    suffix = f"/{sub_path}".lower() if sub_path else ""
    target_id = _arm_id(target)
    full_id = f"{_normalized_id(target_id)}{suffix}" if target_id else None
    uri = _text(setting.props, "resourceUri")
    if uri is None:
        return _lies_under(setting, full_id, DIAGNOSTIC_SETTING_INFIX)
    if full_id is not None:
        return _normalized_id(uri) == full_id
    # Before Azure assigns the target's id, only its name ties the two together.
    return any(_normalized_id(uri).endswith(f"/{name}{suffix}") for name in _names(target))


def _diagnostics_to_workspace(
    resources: Sequence[PolicyResource], target: PolicyResource, sub_path: str = ""
) -> list[PolicyResource]:
    """The diagnostic settings on a target that deliver to the stack's own Log Analytics workspace."""
    workspaces = _of_type(resources, LOG_ANALYTICS_WORKSPACE)
    return [
        setting
        for setting in _of_type(resources, *DIAGNOSTIC_SETTINGS)
        if _aimed_at(setting, target, sub_path)
        and any(_identifies(_get(setting.props, "workspaceId"), workspace) for workspace in workspaces)
    ]


def _enabled_entries(setting: PolicyResource, key: str) -> list[Mapping[str, Any]]:
    return [e for e in _sequence(_get(setting.props, key)) if isinstance(e, Mapping) and e.get("enabled") is True]


def _log_categories(entry: Mapping[str, Any]) -> set[str]:
    return {str(entry.get(k)).lower() for k in ("category", "categoryGroup") if isinstance(entry.get(k), str)}


def _vault_audit_logs(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for vault in _of_type(resources, KEY_VAULT):
        settings = _diagnostics_to_workspace(resources, vault)
        if not any(
            _log_categories(entry) & VAULT_AUDIT_LOG_CATEGORIES
            for setting in settings
            for entry in _enabled_entries(setting, "logs")
        ):
            yield (
                f"{_label(vault)} sends no audit logs to the stack's Log Analytics workspace: every use of the "
                "signing key would go unrecorded",
                vault.urn,
            )


def _storage_logs(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for account in _of_type(resources, STORAGE_ACCOUNT):
        to_workspace = _diagnostics_to_workspace(resources, account)
        if not any(_enabled_entries(s, "metrics") or _enabled_entries(s, "logs") for s in to_workspace):
            yield f"{_label(account)} sends no metrics to the stack's Log Analytics workspace", account.urn
        for service in STORAGE_LOGGED_SERVICES:
            # Each service is its own diagnostic target; the account-level setting does not cover it.
            settings = _diagnostics_to_workspace(resources, account, f"{service}/default")
            if not any(_enabled_entries(s, "logs") for s in settings):
                yield (
                    f"{_label(account)}: {service} sends no logs to the stack's Log Analytics workspace, so reads "
                    "and writes of attendee data go unrecorded",
                    account.urn,
                )


# --- stack: retention ----------------------------------------------------------------------


def _deletes_blobs(rule: Any) -> bool:
    return (
        isinstance(rule, Mapping)
        and rule.get("enabled") is not False
        and isinstance(_get(rule, "definition.actions.baseBlob.delete"), Mapping)
    )


def _lifecycle_policy(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for account in _of_type(resources, STORAGE_ACCOUNT):
        policies = [p for p in _of_type(resources, MANAGEMENT_POLICY) if _child_of(p, account, "accountName")]
        named = [
            p
            for p in policies
            if (_text(p.props, "managementPolicyName") or _text(p.props, "name") or "").lower() == LIFECYCLE_POLICY_NAME
        ]
        if not named:
            yield (
                f"{_label(account)} has no lifecycle ManagementPolicy named '{LIFECYCLE_POLICY_NAME}': attendee "
                "blobs outlive the retention window",
                account.urn,
            )
        elif not any(_deletes_blobs(rule) for p in named for rule in _sequence(_get(p.props, "policy.rules"))):
            yield f"{_label(account)}: the lifecycle policy has no enabled rule that deletes blobs", account.urn


# --- stack: network ------------------------------------------------------------------------


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
        _Subnet(_label(s), s.urn, s.props, _arm_id(s), _text(s.props, "subnetName") or _text(s.props, "name"))
        for s in _of_type(resources, SUBNET)
    ]
    for network in _of_type(resources, VIRTUAL_NETWORK):
        network_id = _arm_id(network)
        for inline in _sequence(_get(network.props, "subnets")):
            if isinstance(inline, Mapping):
                name = _text(inline, "name")
                inline_id = _text(inline, "id") or (f"{network_id}/subnets/{name}" if network_id and name else None)
                subnets.append(_Subnet(f"{_label(network)} subnet {name}", network.urn, inline, inline_id, name))
    return subnets


def _subnet_named_by(reference: str, subnet: _Subnet) -> bool:
    if subnet.id is not None:
        return _normalized_id(reference) == _normalized_id(subnet.id)
    return subnet.name is not None and _normalized_id(reference).endswith(f"/subnets/{subnet.name.lower()}")


def _delegated_for_integration(subnet: _Subnet) -> bool:
    for delegation in _sequence(subnet.props.get("delegations")):
        if isinstance(delegation, Mapping):
            service = delegation.get("serviceName") or _get(delegation, "properties.serviceName")
            if isinstance(service, str) and service.lower() in INTEGRATION_DELEGATIONS:
                return True
    return False


def _integration_subnet_nat(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    subnets = _subnets(resources)
    integration = [s for s in subnets if _delegated_for_integration(s)]
    for site in _of_type(resources, *WEB_APPS):
        reference = _text(site.props, "virtualNetworkSubnetId")
        if reference is None:
            continue
        used = [s for s in subnets if _subnet_named_by(reference, s)]
        if not used:
            yield (
                f"{_label(site)} sends its traffic into subnet {reference}, which is not part of this stack: its "
                "egress path cannot be held to the NAT gateway",
                site.urn,
            )
        integration += [s for s in used if s not in integration]
    gateways = _of_type(resources, NAT_GATEWAY)
    for subnet in integration:
        nat = _get(subnet.props, "natGateway")
        if not any(_identifies(nat, gateway) for gateway in gateways):
            yield (
                f"{subnet.label}: the integration subnet has no NAT gateway of this stack, so the app's egress has "
                "no fixed, accountable path (default outbound access is off)",
                subnet.urn,
            )


def _network_security_groups(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    groups = _of_type(resources, NETWORK_SECURITY_GROUP)
    if not groups:
        yield "the stack has no network security group: nothing filters traffic inside the VNet", None
    for subnet in _subnets(resources):
        nsg = _get(subnet.props, "networkSecurityGroup")
        if not any(_identifies(nsg, group) for group in groups):
            yield f"{subnet.label} is not guarded by a network security group of this stack", subnet.urn


# --- stack: assembly -----------------------------------------------------------------------


def stack_policy(name: str, description: str, check: StackCheck) -> StackValidationPolicy:
    """A mandatory policy that runs `check` on every resource of the stack at once."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in check(args.resources):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "function-app-publishing-policies-present",
        "Every site has its FTP and SCM basic-auth publishing policy resources.",
        _publishing_policies_present,
    ),
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
    stack_policy(
        "vault-audit-logs-to-workspace",
        "Every key vault sends its audit logs to the stack's Log Analytics workspace.",
        _vault_audit_logs,
    ),
    stack_policy(
        "storage-logs-to-workspace",
        "Every storage account sends metrics, and blob, table and queue logs, to the stack's workspace.",
        _storage_logs,
    ),
    stack_policy(
        "storage-lifecycle-policy-present",
        "Every storage account has a lifecycle policy named 'default' that deletes blobs.",
        _lifecycle_policy,
    ),
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

# Everything the pack enforces: per-resource rules before each resource is created, stack rules
# once the whole stack is known.
POLICIES: list[Policy] = [*RESOURCE_POLICIES, *STACK_POLICIES]

# The operator's rules and resource types (alerts, action group, budget): policy/operator_policies.py.
from operator_policies import OPERATOR_GLOBAL_LOCATION_TYPES, OPERATOR_POLICIES, OPERATOR_TAGGABLE_TYPES  # noqa: E402

GLOBAL_LOCATION_TYPES = GLOBAL_LOCATION_TYPES | OPERATOR_GLOBAL_LOCATION_TYPES
TAGGABLE_TYPES = TAGGABLE_TYPES | OPERATOR_TAGGABLE_TYPES
STACK_POLICIES = [*STACK_POLICIES, *OPERATOR_POLICIES]
POLICIES = [*RESOURCE_POLICIES, *STACK_POLICIES]
