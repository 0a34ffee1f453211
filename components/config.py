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
INSTANCE_MEMORY_MB: tuple[int, ...] = (512, 2048, 4096)
KEY_VAULT_SKUS: tuple[str, ...] = ("standard", "premium")
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
    "sealed",
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
    """After the event: the storage key's and the pepper's grants are withdrawn (README, "After the event")."""

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

    return StackConfig(
        stack=stack,
        location=_choice(values, "location", EU_LOCATIONS),
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
        github_client_secret=_client_secret(values, "githubClientSecret"),
        sign_ins_per_minute=_int(values, "signInsPerMinute", SIGN_INS_PER_MINUTE),
        session_hours=_int(values, "sessionHours", SESSION_HOURS),
        sessions_per_attendee=_int(values, "sessionsPerAttendee", SESSIONS_PER_ATTENDEE),
        sign_in=cast(Literal["allowlist", "open"], _choice(values, "signIn", SIGN_IN_MODES)),
        allowed_github_logins=_logins(values, "allowedGitHubLogins"),
        sign_in_grace_minutes=_int(values, "signInGraceMinutes", SIGN_IN_GRACE_MINUTES),
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
    return parse_config({k: v for k, v in values.items() if v is not None}, pulumi.get_stack(), secret)
