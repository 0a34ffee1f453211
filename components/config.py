"""The stack's configuration: read once from Pulumi config, validated, handed on as plain values.

Every limit the threat model relies on is named here once. Components never call
`pulumi.Config`; they receive a `StackConfig`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Literal, cast

NAMESPACE = "eventstack"
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# GDPR: data stays in EU member states. Regions outside the EU (UK, Switzerland, Norway) are
# left out on purpose even where adequacy decisions exist; an operator who needs one adds it
# here and in the policy pack, in review.
EU_LOCATIONS: frozenset[str] = frozenset(
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


@dataclass(frozen=True)
class IntRange:
    """An inclusive integer range, with the reason it exists."""

    low: int
    high: int
    why: str

    def describe(self) -> str:
        return f"an integer from {self.low} to {self.high} ({self.why})"


TOKEN_TTL_MINUTES = IntRange(1, 15, "short-lived tokens; RFC 8725 and the threat model")
RETENTION_HOURS = IntRange(1, 168, "personal data is kept at most a week after the event")
# Flex Consumption accepts 40-1000 for maximumInstanceCount; 40 is the tightest cap it allows.
MAX_INSTANCES = IntRange(40, 1000, "Flex Consumption's allowed scale-out cap")
PER_INSTANCE_CONCURRENCY = IntRange(1, 100, "HTTP requests one instance runs at once")
MAX_CONCURRENT_REQUESTS = IntRange(1, 100, "host.json throttle: small, per the threat model")
MAX_OUTSTANDING_REQUESTS = IntRange(1, 1000, "host.json throttle: queued plus running requests")
COMMANDS_PER_MINUTE = IntRange(1, 600, "per-session quota on POST /api/lights")
AUTH_REQUESTS_PER_MINUTE = IntRange(
    1, 6000, "sign-ins started per client address a minute; a venue's NAT puts hundreds behind one address"
)
SIGNING_KEY_ROTATION_DAYS = IntRange(7, 365, "Key Vault rotation policy for the JWT signing key")
# 30 days is the shortest retention a PerGB2018 workspace accepts.
LOG_RETENTION_DAYS = IntRange(30, 90, "Log Analytics retention; logs hold no personal data")
BLOB_SOFT_DELETE_DAYS = IntRange(1, 7, "deleted blobs may hold personal data: keep it short")
# Operator alerts and the budget (components/alerts.py).
ALERT_HTTP_5XX_PERCENT = IntRange(1, 50, "share of requests answered 5xx in 5 minutes that pages the owner")
ALERT_HTTP_429_PER_MINUTE = IntRange(1, 100_000, "429 answers per minute, sustained 15 minutes, that page the owner")
ALERT_KEY_VAULT_FAILURES_PER_5_MINUTES = IntRange(1, 100_000, "throttled or failed Key Vault requests in 5 minutes")
# The purge timer runs every 15 minutes. A log alert's window is one of Azure's aggregation
# granularities: 1-6 hours, 1 day or 2 days.
ALERT_PURGE_MISSED_HOURS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 24, 48)
ALERT_WAF_BLOCKS_PER_5_MINUTES = IntRange(1, 10_000_000, "requests the WAF blocks in 5 minutes before paging")
BUDGET_AMOUNT = IntRange(10, 1_000_000, "monthly cost budget of the resource group, in the billing currency")
INSTANCE_MEMORY_MB: tuple[int, ...] = (512, 2048, 4096)
# Premium only: the signing and storage keys are HSM-backed (EC-HSM, RSA-HSM), and the policy
# pack refuses software keys.
KEY_VAULT_SKUS: tuple[str, ...] = ("premium",)
# Flex Consumption needs at least a /27 for its integration subnet; a private endpoint
# subnet needs a handful of addresses. Azure reserves five addresses in every subnet.
MAX_INTEGRATION_PREFIX = 27
MAX_PRIVATE_ENDPOINT_PREFIX = 28

# GitHub allows an OAuth app 2,000 access-token requests an hour (docs.github.com, "Rate limits for
# OAuth apps"): 33 a minute. The app-wide cap on sign-ins stays below it.
SIGN_INS_PER_MINUTE = IntRange(1, 33, "app-wide GitHub sign-ins a minute, under GitHub's 2,000 an hour per app")
SESSION_HOURS = IntRange(1, 168, "how long a session lives at most; it never outlives eventEndsAt")
SIGN_IN_GRACE_MINUTES = IntRange(0, 1440, "minutes sign-in stays open after eventEndsAt; then 410 Gone")
SESSIONS_PER_ATTENDEE = IntRange(1, 20, "devices one attendee may keep signed in")
SIGN_IN_MODES: tuple[str, ...] = ("allowlist", "open")
# GitHub logins: 1-39 letters, digits or single hyphens, not at either end.
GITHUB_LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# GitHub OAuth app client secrets are 40 hex characters.
GITHUB_CLIENT_SECRET_PATTERN = re.compile(r"^[0-9a-f]{40}$")
EVENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$")
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
# GitHub OAuth app client ids: "Iv1." / "Ov23li" prefixes followed by alphanumerics.
GITHUB_CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9.]{8,40}$")
CORS_ORIGIN_PATTERN = re.compile(
    r"^https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$"
)

# Every key the program reads; Pulumi.yaml declares each with a description and a default.
CONFIG_KEYS: tuple[str, ...] = (
    "location",
    "eventName",
    "owner",
    "eventEndsAt",
    "retentionHours",
    "tokenTtlMinutes",
    "githubClientId",
    "maxInstances",
    "perInstanceConcurrency",
    "instanceMemoryMb",
    "maxConcurrentRequests",
    "maxOutstandingRequests",
    "commandsPerMinute",
    "authRequestsPerMinute",
    "vnetAddressSpace",
    "integrationSubnet",
    "privateEndpointSubnet",
    "corsOrigins",
    "keyVaultSku",
    "signingKeyRotationDays",
    "logRetentionDays",
    "blobSoftDeleteDays",
    "githubClientSecret",
    "signInsPerMinute",
    "sessionHours",
    "sessionsPerAttendee",
    "signIn",
    "allowedGitHubLogins",
    "signInGraceMinutes",
    # Operator: alert thresholds and the budget (components/alerts.py).
    "alertHttp5xxPercent",
    "alertHttp429PerMinute",
    "alertKeyVaultFailuresPer5Minutes",
    "alertPurgeMissedHours",
    "alertWafBlocksPer5Minutes",
    "budgetAmount",
    # The edge (Front Door + WAF), the app's lock-down behind it, and availability.
    "edge",
    "frontDoorSku",
    "edgeSignInRequestsPerMinute",
    "edgeApiRequestsPerMinute",
    "deployFromCidrs",
    "zoneRedundant",
    "alwaysReadyInstances",
    "sealed",
)

# --- the edge and availability --------------------------------------------------------------

EDGE_FRONT_DOOR = "frontDoor"
EDGE_NONE = "none"
EDGE_CHOICES: tuple[str, ...] = (EDGE_FRONT_DOOR, EDGE_NONE)
FRONT_DOOR_PREMIUM = "Premium_AzureFrontDoor"
FRONT_DOOR_STANDARD = "Standard_AzureFrontDoor"
FRONT_DOOR_SKUS: tuple[str, ...] = (FRONT_DOOR_PREMIUM, FRONT_DOOR_STANDARD)
# Front Door counts per client socket address over one minute. A venue NAT puts hundreds of
# attendees behind one address, so these are flood ceilings, not per-person quotas (the app keeps
# those per session); docs/deploy.md explains the sizing.
EDGE_SIGN_IN_REQUESTS_PER_MINUTE = IntRange(10, 10000, "WAF rate limit per client IP on /api/auth")
EDGE_API_REQUESTS_PER_MINUTE = IntRange(10, 100000, "WAF rate limit per client IP on all of /api")
# Flex Consumption zone redundancy is GA in these EU regions (Azure Functions reliability docs,
# read 2026-12-01); elsewhere the plan cannot be zone-redundant and the key must be false.
ZONE_REDUNDANT_LOCATIONS: frozenset[str] = frozenset(
    {"westeurope", "northeurope", "swedencentral", "germanywestcentral", "italynorth", "polandcentral"}
)
ALWAYS_READY_INSTANCES = IntRange(0, 20, "always-ready HTTP instances, billed around the clock")
# A zone-redundant Flex plan keeps at least two always-ready instances per scale group (one per
# zone) whatever is configured; configuring fewer would only hide that baseline from the bill.
ZONE_REDUNDANT_MIN_ALWAYS_READY = 2
MAX_DEPLOY_CIDRS = 10
# Sources that never reach a public endpoint: RFC 1918, shared (CGNAT), loopback, link-local, "this".
NON_PUBLIC_NETWORKS: tuple[ipaddress.IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
    )
)


# Keys whose values must be set with `pulumi config set --secret`: never in clear in a stack file.
SECRET_CONFIG_KEYS: tuple[str, ...] = ("githubClientSecret", "allowedGitHubLogins")


class ConfigError(ValueError):
    """A config value the stack refuses, naming the key, the value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = f"{NAMESPACE}:{key}"
        self.value = value
        self.allowed = allowed
        shown = "(not set)" if value is None else repr(value)
        super().__init__(
            f"{self.key} = {shown} is not allowed: expected {allowed}. "
            f"Set it with `pulumi config set {self.key} <value>`."
        )


@dataclass(frozen=True)
class StackConfig:
    """Validated stack settings; the only thing components learn about configuration."""

    stack: str
    location: str
    event_name: str
    owner: str
    event_ends_at: datetime
    retention_hours: int
    token_ttl_minutes: int
    github_client_id: str
    max_instances: int
    per_instance_concurrency: int
    instance_memory_mb: int
    max_concurrent_requests: int
    max_outstanding_requests: int
    commands_per_minute: int
    auth_requests_per_minute: int
    vnet_address_space: ipaddress.IPv4Network
    integration_subnet: ipaddress.IPv4Network
    private_endpoint_subnet: ipaddress.IPv4Network
    cors_origins: tuple[str, ...]
    key_vault_sku: Literal["standard", "premium"]
    signing_key_rotation_days: int
    log_retention_days: int
    blob_soft_delete_days: int
    alert_http_5xx_percent: int
    alert_http_429_per_minute: int
    alert_key_vault_failures_per_5_minutes: int
    alert_purge_missed_hours: int
    alert_waf_blocks_per_5_minutes: int
    budget_amount: int
    edge: Literal["frontDoor", "none"]
    front_door_sku: str
    edge_sign_in_requests_per_minute: int
    edge_api_requests_per_minute: int
    deploy_from_cidrs: tuple[ipaddress.IPv4Network, ...]
    zone_redundant: bool
    always_ready_instances: int

    @property
    def edge_enabled(self) -> bool:
        """Whether Front Door and its WAF stand in front of the app (and the app admits only them)."""
        return self.edge == EDGE_FRONT_DOOR

    github_client_secret: str = field(repr=False)
    """The OAuth app's client secret (a Pulumi secret); empty only in a mocked run."""
    sign_ins_per_minute: int = 30
    session_hours: int = 48
    sessions_per_attendee: int = 5
    sign_in: Literal["allowlist", "open"] = "allowlist"
    allowed_github_logins: tuple[str, ...] = field(default=(), repr=False)
    sign_in_grace_minutes: int = 0
    """Lower-cased logins allowed in (a Pulumi secret); the app only ever gets their HMACs."""
    sealed: bool = False
    """After the event: the storage key's and the pepper's grants are withdrawn (docs/after-the-event.md)."""

    @property
    def data_delete_by(self) -> datetime:
        """When every attendee's data must be gone: the event's end plus the retention window."""
        return self.event_ends_at + timedelta(hours=self.retention_hours)

    @property
    def data_delete_by_text(self) -> str:
        """`data_delete_by` as ISO 8601 UTC with a `Z`, the form tags, settings and outputs use."""
        return self.data_delete_by.strftime(UTC_FORMAT)


def _require(values: Mapping[str, str | None], key: str) -> str:
    value = values.get(key)
    if value is None or value == "":
        raise ConfigError(key, value, "a value (every key has a default in Pulumi.yaml)")
    return value


def _int(values: Mapping[str, str | None], key: str, allowed: IntRange) -> int:
    raw = _require(values, key)
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(key, raw, allowed.describe()) from None
    if not allowed.low <= number <= allowed.high:
        raise ConfigError(key, raw, allowed.describe())
    return number


def _match(values: Mapping[str, str | None], key: str, pattern: re.Pattern[str], allowed: str) -> str:
    raw = _require(values, key)
    if not pattern.fullmatch(raw):
        raise ConfigError(key, raw, allowed)
    return raw


def _choice(values: Mapping[str, str | None], key: str, choices: tuple[str, ...] | frozenset[str]) -> str:
    raw = _require(values, key)
    if raw not in choices:
        raise ConfigError(key, raw, "one of " + ", ".join(sorted(choices)))
    return raw


def _flag(values: Mapping[str, str | None], key: str) -> bool:
    raw = _require(values, key)
    # The CLI hands booleans to the program as the strings `true` and `false`.
    if raw not in ("true", "false"):
        raise ConfigError(key, raw, "true or false")
    return raw == "true"


def _timestamp(values: Mapping[str, str | None], key: str) -> datetime:
    raw = _require(values, key)
    allowed = "an ISO 8601 UTC timestamp such as 2027-06-05T18:00:00Z"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(key, raw, allowed) from None
    if parsed.utcoffset() != timedelta(0):
        raise ConfigError(key, raw, allowed)
    return parsed.astimezone(UTC)


def _network(values: Mapping[str, str | None], key: str, max_prefix: int) -> ipaddress.IPv4Network:
    raw = _require(values, key)
    allowed = f"a private IPv4 CIDR block (RFC 1918) of /{max_prefix} or larger, e.g. 10.42.0.0/16"
    try:
        network = ipaddress.IPv4Network(raw, strict=True)
    except ValueError:
        raise ConfigError(key, raw, allowed) from None
    if not network.is_private or network.prefixlen > max_prefix:
        raise ConfigError(key, raw, allowed)
    return network


def _origins(values: Mapping[str, str | None], key: str) -> tuple[str, ...]:
    raw = values.get(key) or "[]"
    allowed = 'a JSON list of https origins without paths or wildcards, e.g. ["https://wall.example.org"]'
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(key, raw, allowed) from None
    if not isinstance(parsed, list) or not all(isinstance(o, str) and CORS_ORIGIN_PATTERN.fullmatch(o) for o in parsed):
        raise ConfigError(key, raw, allowed)
    return tuple(parsed)


def _boolean(values: Mapping[str, str | None], key: str) -> bool:
    raw = _require(values, key)
    if raw not in ("true", "false"):
        raise ConfigError(key, raw, "true or false")
    return raw == "true"


def _cidrs(values: Mapping[str, str | None], key: str) -> tuple[ipaddress.IPv4Network, ...]:
    raw = values.get(key) or "[]"
    allowed = (
        f'a JSON list of at most {MAX_DEPLOY_CIDRS} public IPv4 CIDR blocks, e.g. ["203.0.113.0/24"] '
        "(empty: the deployment endpoint admits any caller with an Entra ID token)"
    )
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(key, raw, allowed) from None
    if not isinstance(parsed, list) or len(parsed) > MAX_DEPLOY_CIDRS or not all(isinstance(c, str) for c in parsed):
        raise ConfigError(key, raw, allowed)
    networks = []
    for cidr in parsed:
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            raise ConfigError(key, raw, allowed) from None
        # 0.0.0.0/0 would be "open" spelt as a rule; private ranges never reach a public endpoint.
        if network.prefixlen == 0 or any(network.overlaps(reserved) for reserved in NON_PUBLIC_NETWORKS):
            raise ConfigError(key, raw, allowed)
        networks.append(network)
    return tuple(networks)


def _availability(values: Mapping[str, str | None], location: str) -> tuple[bool, int]:
    zone_redundant = _boolean(values, "zoneRedundant")
    if zone_redundant and location not in ZONE_REDUNDANT_LOCATIONS:
        raise ConfigError(
            "zoneRedundant",
            values["zoneRedundant"],
            f"false in {location}: Flex Consumption zone redundancy is available in "
            + ", ".join(sorted(ZONE_REDUNDANT_LOCATIONS)),
        )
    always_ready = _int(values, "alwaysReadyInstances", ALWAYS_READY_INSTANCES)
    if zone_redundant and always_ready < ZONE_REDUNDANT_MIN_ALWAYS_READY:
        raise ConfigError(
            "alwaysReadyInstances",
            values["alwaysReadyInstances"],
            f"at least {ZONE_REDUNDANT_MIN_ALWAYS_READY} while eventstack:zoneRedundant is true (one "
            "instance per zone; the platform bills two anyway)",
        )
    return zone_redundant, always_ready


def _logins(values: Mapping[str, str | None], key: str) -> tuple[str, ...]:
    raw = values.get(key) or "[]"
    allowed = "a JSON list of GitHub logins (letters, digits, single hyphens; set it with --secret --path)"
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(key, "(secret)", allowed) from None
    if not isinstance(parsed, list) or not all(
        isinstance(x, str) and GITHUB_LOGIN_PATTERN.fullmatch(x) for x in parsed
    ):
        # The list is secret: the message never shows it.
        raise ConfigError(key, "(secret)", allowed)
    # GitHub logins compare case-insensitively.
    return tuple(sorted({login.lower() for login in parsed}))


def _client_secret(values: Mapping[str, str | None], key: str) -> str:
    raw = values.get(key) or ""
    if raw and not GITHUB_CLIENT_SECRET_PATTERN.fullmatch(raw):
        raise ConfigError(key, "(secret)", "the OAuth app's client secret: 40 hex characters, set with --secret")
    return raw


def _check_layout(vnet: ipaddress.IPv4Network, subnets: Mapping[str, ipaddress.IPv4Network]) -> None:
    for key, subnet in subnets.items():
        if not subnet.subnet_of(vnet):
            raise ConfigError(key, str(subnet), f"a block inside eventstack:vnetAddressSpace ({vnet})")
    (first_key, first), (second_key, second) = subnets.items()
    if first.overlaps(second):
        raise ConfigError(second_key, str(second), f"a block that does not overlap eventstack:{first_key} ({first})")


def parse_config(
    values: Mapping[str, str | None], stack: str, secret_keys: frozenset[str] = frozenset(SECRET_CONFIG_KEYS)
) -> StackConfig:
    """Validate raw config strings (as Pulumi stores them) into a `StackConfig`.

    `secret_keys` are the keys the stack holds encrypted; a value of a SECRET_CONFIG_KEYS key set in
    clear is refused, since it would sit readable in the stack file.
    """
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(unknown[0], values[unknown[0]], "a key this program reads: " + ", ".join(CONFIG_KEYS))
    for key in SECRET_CONFIG_KEYS:
        if values.get(key) not in (None, "", "[]") and key not in secret_keys:
            raise ConfigError(key, "(set in clear)", f"a secret: `pulumi config set --secret {NAMESPACE}:{key} ...`")

    max_concurrent = _int(values, "maxConcurrentRequests", MAX_CONCURRENT_REQUESTS)
    max_outstanding = _int(values, "maxOutstandingRequests", MAX_OUTSTANDING_REQUESTS)
    if max_outstanding < max_concurrent:
        raise ConfigError(
            "maxOutstandingRequests",
            values["maxOutstandingRequests"],
            f"at least eventstack:maxConcurrentRequests ({max_concurrent}): it counts running requests too",
        )
    per_instance = _int(values, "perInstanceConcurrency", PER_INSTANCE_CONCURRENCY)
    if per_instance > max_concurrent:
        raise ConfigError(
            "perInstanceConcurrency",
            values["perInstanceConcurrency"],
            f"at most eventstack:maxConcurrentRequests ({max_concurrent}), or the scaler sends "
            "an instance more requests than its host admits",
        )

    vnet = _network(values, "vnetAddressSpace", 24)
    integration = _network(values, "integrationSubnet", MAX_INTEGRATION_PREFIX)
    private_endpoints = _network(values, "privateEndpointSubnet", MAX_PRIVATE_ENDPOINT_PREFIX)
    _check_layout(vnet, {"integrationSubnet": integration, "privateEndpointSubnet": private_endpoints})

    memory_raw = _choice(values, "instanceMemoryMb", tuple(str(m) for m in INSTANCE_MEMORY_MB))
    location = _choice(values, "location", EU_LOCATIONS)
    zone_redundant, always_ready = _availability(values, location)
    sign_in_limit = _int(values, "edgeSignInRequestsPerMinute", EDGE_SIGN_IN_REQUESTS_PER_MINUTE)
    api_limit = _int(values, "edgeApiRequestsPerMinute", EDGE_API_REQUESTS_PER_MINUTE)
    if api_limit < sign_in_limit:
        raise ConfigError(
            "edgeApiRequestsPerMinute",
            values["edgeApiRequestsPerMinute"],
            f"at least eventstack:edgeSignInRequestsPerMinute ({sign_in_limit}): sign-in is the tighter limit",
        )

    return StackConfig(
        stack=stack,
        location=location,
        event_name=_match(
            values,
            "eventName",
            EVENT_NAME_PATTERN,
            "3-16 lowercase letters, digits or hyphens, starting with a letter (it goes into resource names)",
        ),
        owner=_match(values, "owner", OWNER_PATTERN, "the owning team's e-mail address"),
        event_ends_at=_timestamp(values, "eventEndsAt"),
        retention_hours=_int(values, "retentionHours", RETENTION_HOURS),
        token_ttl_minutes=_int(values, "tokenTtlMinutes", TOKEN_TTL_MINUTES),
        github_client_id=_match(
            values,
            "githubClientId",
            GITHUB_CLIENT_ID_PATTERN,
            "the client id of the GitHub OAuth app (8-40 letters, digits or dots)",
        ),
        max_instances=_int(values, "maxInstances", MAX_INSTANCES),
        per_instance_concurrency=per_instance,
        instance_memory_mb=int(memory_raw),
        max_concurrent_requests=max_concurrent,
        max_outstanding_requests=max_outstanding,
        commands_per_minute=_int(values, "commandsPerMinute", COMMANDS_PER_MINUTE),
        auth_requests_per_minute=_int(values, "authRequestsPerMinute", AUTH_REQUESTS_PER_MINUTE),
        vnet_address_space=vnet,
        integration_subnet=integration,
        private_endpoint_subnet=private_endpoints,
        cors_origins=_origins(values, "corsOrigins"),
        key_vault_sku=cast(Literal["standard", "premium"], _choice(values, "keyVaultSku", KEY_VAULT_SKUS)),
        signing_key_rotation_days=_int(values, "signingKeyRotationDays", SIGNING_KEY_ROTATION_DAYS),
        log_retention_days=_int(values, "logRetentionDays", LOG_RETENTION_DAYS),
        blob_soft_delete_days=_int(values, "blobSoftDeleteDays", BLOB_SOFT_DELETE_DAYS),
        edge=cast(Literal["frontDoor", "none"], _choice(values, "edge", EDGE_CHOICES)),
        front_door_sku=_choice(values, "frontDoorSku", FRONT_DOOR_SKUS),
        edge_sign_in_requests_per_minute=sign_in_limit,
        edge_api_requests_per_minute=api_limit,
        deploy_from_cidrs=_cidrs(values, "deployFromCidrs"),
        zone_redundant=zone_redundant,
        always_ready_instances=always_ready,
        github_client_secret=_client_secret(values, "githubClientSecret"),
        sign_ins_per_minute=_int(values, "signInsPerMinute", SIGN_INS_PER_MINUTE),
        session_hours=_int(values, "sessionHours", SESSION_HOURS),
        sessions_per_attendee=_int(values, "sessionsPerAttendee", SESSIONS_PER_ATTENDEE),
        sign_in=cast(Literal["allowlist", "open"], _choice(values, "signIn", SIGN_IN_MODES)),
        allowed_github_logins=_logins(values, "allowedGitHubLogins"),
        sign_in_grace_minutes=_int(values, "signInGraceMinutes", SIGN_IN_GRACE_MINUTES),
        alert_http_5xx_percent=_int(values, "alertHttp5xxPercent", ALERT_HTTP_5XX_PERCENT),
        alert_http_429_per_minute=_int(values, "alertHttp429PerMinute", ALERT_HTTP_429_PER_MINUTE),
        alert_key_vault_failures_per_5_minutes=_int(
            values, "alertKeyVaultFailuresPer5Minutes", ALERT_KEY_VAULT_FAILURES_PER_5_MINUTES
        ),
        alert_purge_missed_hours=int(
            _choice(values, "alertPurgeMissedHours", tuple(str(h) for h in ALERT_PURGE_MISSED_HOURS))
        ),
        alert_waf_blocks_per_5_minutes=_int(values, "alertWafBlocksPer5Minutes", ALERT_WAF_BLOCKS_PER_5_MINUTES),
        budget_amount=_int(values, "budgetAmount", BUDGET_AMOUNT),
        sealed=_flag(values, "sealed"),
    )


def load_config() -> StackConfig:
    """Read the `eventstack` namespace of the current stack once and validate it.

    Keys in the namespace that the program does not know are refused too: a misspelt key
    would otherwise leave its default silently in force.
    """
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = NAMESPACE + ":"
    present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values: dict[str, str | None] = {
        key[len(prefix) :]: runtime_config.get_config(key) for key in present if key.startswith(prefix)
    }
    secret = frozenset(k[len(prefix) :] for k in present if k.startswith(prefix) and runtime_config.is_config_secret(k))
    config = parse_config({k: v for k, v in values.items() if v is not None}, pulumi.get_stack(), secret)
    check_deployable(config, current_run_kind(), datetime.now(UTC))
    return config


# --- what only Azure would refuse, or what would only fail after deployment ------------------
#
# `parse_config` checks shapes, for every run. The checks below need the real world: a GitHub
# OAuth app that exists, a mailbox that receives alerts, an event that has not ended. The dev
# stack's placeholders keep mocked runs (tests, `make preview`, `make diagram`) working, so these
# checks apply only when the program talks to a real Pulumi engine.


class RunKind(Enum):
    """Who is running the program: Pulumi's mocks, or the engine for `pulumi preview` / `pulumi up`."""

    MOCKED = "mocked"
    PREVIEW = "preview"
    DEPLOY = "deploy"


def current_run_kind() -> RunKind:
    """Tell a mocked run from a real one by the resource monitor the runtime was given.

    Only `pulumi.runtime.set_mocks` installs a `MockMonitor`; the engine hands the program a gRPC
    stub. No environment variable or config key is involved, so a real `pulumi up` cannot be
    talked into skipping the checks.
    """
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    if isinstance(settings.get_monitor(), MockMonitor):
        return RunKind.MOCKED
    return RunKind.PREVIEW if settings.is_dry_run() else RunKind.DEPLOY


# RFC 2606 / RFC 6761: names that can never receive mail or serve a site.
RESERVED_DOMAINS: frozenset[str] = frozenset({"example.com", "example.org", "example.net"})
RESERVED_TLDS: frozenset[str] = frozenset({"example", "test", "invalid", "localhost", "local"})
# What GitHub issues: OAuth apps `Ov23li` + 14 characters (older ones: 20 hex digits); GitHub
# Apps `Iv23li` + 14 characters (older ones: `Iv1.` + 16 hex digits).
GITHUB_ISSUED_CLIENT_ID = re.compile(r"^(?:(?:Ov23li|Iv23li)[A-Za-z0-9]{14}|Iv1\.[0-9a-f]{16}|[0-9a-f]{20})$")
PLACEHOLDER_WORDS: tuple[str, ...] = ("placeholder", "example", "changeme", "replace")


def is_reserved_domain(host: str) -> bool:
    """True for example.com/.org/.net and their subdomains, and the reserved TLDs."""
    host = host.lower().rstrip(".")
    if host.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return True
    return any(host == domain or host.endswith("." + domain) for domain in RESERVED_DOMAINS)


def _check_github_client_id(value: str) -> None:
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS) or not GITHUB_ISSUED_CLIENT_ID.fullmatch(value):
        raise ConfigError(
            "githubClientId",
            value,
            "the client id GitHub shows on your OAuth app's page (Ov23li followed by 14 letters or digits); "
            "a placeholder deploys an app that refuses every sign-in",
        )


def _check_owner(value: str) -> None:
    if is_reserved_domain(value.rsplit("@", 1)[-1]):
        raise ConfigError(
            "owner",
            value,
            "a mailbox that receives mail: alerts and budget notices go to it, and example or reserved "
            "domains (RFC 2606) never deliver",
        )


def _check_cors_origins(values: tuple[str, ...]) -> None:
    for origin in values:
        host = origin.removeprefix("https://").split(":", 1)[0]
        if is_reserved_domain(host):
            raise ConfigError(
                "corsOrigins",
                json.dumps(list(values)),
                f"origins a browser can load; {origin} is on a reserved domain (RFC 2606) that never serves a page",
            )


def _check_sign_in(config: StackConfig) -> None:
    if not config.github_client_secret:
        raise ConfigError(
            "githubClientSecret",
            None,
            "the OAuth app's client secret, set with `pulumi config set --secret`: without it no code "
            "exchange with GitHub succeeds, so nobody can sign in",
        )
    if config.sign_in == "allowlist" and not config.allowed_github_logins:
        raise ConfigError(
            "allowedGitHubLogins",
            "[]",
            "at least one GitHub login while eventstack:signIn is allowlist (or signIn open): an empty "
            "allowlist admits nobody",
        )


def _check_event_not_over(config: StackConfig, now: datetime) -> None:
    if config.event_ends_at <= now:
        raise ConfigError(
            "eventEndsAt",
            config.event_ends_at.strftime(UTC_FORMAT),
            f"a time after now ({now.strftime(UTC_FORMAT)}): the event is over and its data is due for "
            "deletion; an ended event needs `pulumi destroy`, not `pulumi up`",
        )


def check_deployable(config: StackConfig, kind: RunKind, now: datetime) -> None:
    """Refuse what parses but cannot work in Azure; a mocked run skips these checks.

    `pulumi preview` gets every check but the event's end, so that a stack can still be previewed
    after its event (before `pulumi destroy`); `pulumi up` gets them all.
    """
    if kind is RunKind.MOCKED:
        return
    _check_github_client_id(config.github_client_id)
    _check_owner(config.owner)
    _check_cors_origins(config.cors_origins)
    _check_sign_in(config)
    if kind is RunKind.DEPLOY:
        _check_event_not_over(config, now)
