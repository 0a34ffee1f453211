"""The threat model as mandatory CrossGuard rules: one policy per setting that carries a mitigation.

Each policy checks the inputs the engine sends for one resource (camelCase, as Azure names them)
and reports what is wrong. The bounds and the region list live here, not in the program: a guard
that read its limits from what it guards would move with it.

The engine hands a policy its resource's inputs through read-only proxies (`Mapping` and
`Sequence`, not `dict` and `list`), and every number as a float. Inputs not yet known during
`pulumi preview` raise inside the proxy; the runtime reports those as advisory and checks them
again, for real, during `pulumi up`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


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


POLICIES: list[ResourceValidationPolicy] = [
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
