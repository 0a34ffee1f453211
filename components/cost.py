"""The stack's bill: a typical event item by item, beside the worst case the caps allow.

The deploy guide's tables (docs/deploy.md) are this computation for `Pulumi.yaml`'s defaults;
tests keep them equal, and check that every billed resource type the program creates is priced
here. Prices are US dollar pay-as-you-go list prices, read on `PRICES_READ_ON` (sources in
docs/deploy.md). `python -m components.cost [--stack dev] [--set key=value ...]` prints both.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from components.config import FRONT_DOOR_PREMIUM, FRONT_DOOR_STANDARD, ConfigError, StackConfig

PRICES_READ_ON = "2026-12-01"
FLEX_ON_DEMAND_PER_GB_SECOND = 0.000026
FLEX_PER_MILLION_EXECUTIONS = 0.40
# Always-ready instances (`alwaysReadyInstances`) bill a baseline per GB-s around the clock, busy
# or not; busy, they bill at most the on-demand rate counted under compute above.
FLEX_ALWAYS_READY_BASELINE_PER_GB_SECOND = 0.000004
FRONT_DOOR_PREMIUM_PER_MONTH = 330.0
HOURS_PER_MONTH = 730
# Signing uses the EC P-256 key: an "advanced" key type, billed above RSA-2048 and secrets.
KEY_VAULT_ADVANCED_KEY_PER_10K_OPERATIONS = 0.15
# Key Vault's throttle for ECC P-256 keys: operations per 10 seconds per vault.
KEY_VAULT_OPERATIONS_PER_10_SECONDS = 4_000
# The shortest a request occupies an instance's slot: bounds executions per second.
MIN_REQUEST_SECONDS = 0.05
# Stood up the day before, two event days, destroyed after.
EVENT_HOURS = 72
SECONDS_PER_HOUR = 3_600


@dataclass(frozen=True)
class HourlyCost:
    """The worst case per hour, item by item, in US dollars."""

    flex_compute: float
    flex_executions: float
    always_ready: float
    front_door: float
    key_vault: float
    infrastructure: float = 0.0
    """What bills by the hour whatever the traffic: `fixed_per_hour`."""

    @property
    def total(self) -> float:
        return (
            self.flex_compute
            + self.flex_executions
            + self.always_ready
            + self.front_door
            + self.key_vault
            + self.infrastructure
        )


def worst_case_per_hour(config: StackConfig, edge_on: bool = True) -> HourlyCost:
    """Every cap at its limit for an hour: all instances busy, every slot turning over, the vault at its throttle."""
    memory_gb = config.instance_memory_mb / 1024
    executions_per_hour = (
        config.max_instances * config.per_instance_concurrency / MIN_REQUEST_SECONDS * SECONDS_PER_HOUR
    )
    key_operations_per_hour = KEY_VAULT_OPERATIONS_PER_10_SECONDS / 10 * SECONDS_PER_HOUR
    return HourlyCost(
        flex_compute=config.max_instances * memory_gb * SECONDS_PER_HOUR * FLEX_ON_DEMAND_PER_GB_SECOND,
        flex_executions=executions_per_hour / 1_000_000 * FLEX_PER_MILLION_EXECUTIONS,
        always_ready=config.always_ready_instances
        * memory_gb
        * SECONDS_PER_HOUR
        * FLEX_ALWAYS_READY_BASELINE_PER_GB_SECOND,
        front_door=FRONT_DOOR_BASE_PER_MONTH[config.front_door_sku] / HOURS_PER_MONTH if edge_on else 0.0,
        key_vault=key_operations_per_hour / 10_000 * KEY_VAULT_ADVANCED_KEY_PER_10K_OPERATIONS,
        infrastructure=sum(fixed_per_hour().values()),
    )


def worst_case_per_event(config: StackConfig, edge_on: bool = True, hours: int = EVENT_HOURS) -> float:
    """The hourly bound over the stack's life around one event."""
    return worst_case_per_hour(config, edge_on).total * hours


# --- what bills whatever the traffic ----------------------------------------------------------
# Counts of what the program creates; tests/components/test_cost.py holds them to a mocked run.
NAT_GATEWAYS = 1
PUBLIC_IPS = 1
PRIVATE_ENDPOINTS = 4
PRIVATE_DNS_ZONES = 4
HSM_ADVANCED_KEYS = 1  # the EC-HSM signing key
HSM_RSA_KEYS = 1  # the RSA-HSM storage encryption key
LOG_ALERT_RULES = 4
METRIC_ALERT_RULES = 1
NAT_GATEWAY_PER_HOUR = 0.045
NAT_PER_GB = 0.045
PUBLIC_IP_PER_HOUR = 0.005
PRIVATE_ENDPOINT_PER_HOUR = 0.01
PRIVATE_ENDPOINT_PER_GB = 0.01
# A zone is billed for the month it exists in: taken whole, the upper bound.
PRIVATE_DNS_ZONE_PER_MONTH = 0.50
# HSM-protected keys bill per key (per version) per month; taken whole for a stack that lives days.
HSM_ADVANCED_KEY_PER_MONTH = 5.00
HSM_RSA_KEY_PER_MONTH = 1.00
# Log search alerts at a 5-minute frequency; metric alerts per monitored time series.
LOG_ALERT_RULE_PER_MONTH = 1.50
METRIC_ALERT_RULE_PER_MONTH = 0.10
DAYS_PER_MONTH = 30


def fixed_per_hour() -> dict[str, float]:
    """What the stack bills per hour while it exists, idle or not; monthly fees spread over one month.

    Monthly fees the stack incurs at all are taken whole over `EVENT_HOURS` in `typical_event`; here
    they are spread over a month, so the hourly bound stays comparable with Azure's own per-hour meters.
    """
    per_month = (
        PRIVATE_DNS_ZONES * PRIVATE_DNS_ZONE_PER_MONTH
        + HSM_ADVANCED_KEYS * HSM_ADVANCED_KEY_PER_MONTH
        + HSM_RSA_KEYS * HSM_RSA_KEY_PER_MONTH
        + LOG_ALERT_RULES * LOG_ALERT_RULE_PER_MONTH
        + METRIC_ALERT_RULES * METRIC_ALERT_RULE_PER_MONTH
    )
    return {
        "NAT gateway": NAT_GATEWAYS * NAT_GATEWAY_PER_HOUR,
        "public IP": PUBLIC_IPS * PUBLIC_IP_PER_HOUR,
        "private endpoints": PRIVATE_ENDPOINTS * PRIVATE_ENDPOINT_PER_HOUR,
        "DNS zones, HSM keys, alert rules": per_month / HOURS_PER_MONTH,
    }


# --- a typical event ------------------------------------------------------------------------
FRONT_DOOR_STANDARD_PER_MONTH = 35.0
FRONT_DOOR_BASE_PER_MONTH: Mapping[str, float] = {
    FRONT_DOOR_PREMIUM: FRONT_DOOR_PREMIUM_PER_MONTH,
    FRONT_DOOR_STANDARD: FRONT_DOOR_STANDARD_PER_MONTH,
}
FRONT_DOOR_PER_10K_REQUESTS: Mapping[str, float] = {FRONT_DOOR_PREMIUM: 0.015, FRONT_DOOR_STANDARD: 0.009}
FRONT_DOOR_EGRESS_PER_GB = 0.083
KEY_VAULT_SECRET_PER_10K_OPERATIONS = 0.03
LOG_ANALYTICS_PER_GB = 2.30
# Table transactions on a ZRS account (the LRS list price plus a quarter, rounded up).
STORAGE_PER_10K_TRANSACTIONS = 0.0005
KB_PER_GB = 1_000_000


@dataclass(frozen=True)
class TypicalEvent:
    """The assumptions behind the typical bill: a one-track conference of a few hundred people."""

    attendees: int = 300
    """People who sign in once each."""
    commands_per_attendee: int = 40
    """Light commands each sends over the event."""
    signed_in_hours: int = 8
    """Hours each keeps a page open, renewing its token every `tokenTtlMinutes`."""
    sign_in_requests: int = 15
    """Requests of one sign-in: device code, verification page, GitHub step, callback, token polls."""
    wall_screens: int = 2
    """Big screens showing the wall, polling every 2 s (wall.js) while the event is open."""
    open_hours: int = 20
    """Two days of 10 hours."""
    wall_poll_seconds: int = 2
    probe_sources: int = 100
    """Front Door locations probing `/api/health` every 30 s for the stack's whole life (an estimate)."""
    probe_seconds: int = 30
    request_seconds: float = 0.1
    """How long one request holds an instance."""
    response_kb: float = 2.0
    storage_transactions_per_request: int = 3
    log_kb_per_record: float = 1.0
    """One storage log, vault audit or health probe log record in the workspace."""
    telemetry_kb_per_request: float = 0.2
    """Application Insights keeps failures and warnings only (host.json), averaged over all requests."""
    github_kb_per_sign_in: float = 20.0
    """GitHub's token exchange and user lookup, the only traffic through the NAT gateway."""
    key_vault_ops_per_instance_hour: int = 6
    """Secret reads (pepper, GitHub secret) and public-key refreshes of one running instance."""


@dataclass(frozen=True)
class BillLine:
    """One item of the bill over the stack's life, with how it was counted."""

    item: str
    basis: str
    dollars: float


# Which line of the typical bill prices each resource type the program creates; the types in
# UNBILLED cost nothing by themselves (their traffic is billed on the lines above). A test fails
# when the program creates a type in neither.
BILLED_TYPES: Mapping[str, str] = {
    "azure-native:web:AppServicePlan": "Flex always-ready baseline",
    "azure-native:web:WebApp": "Flex executions and compute",
    "azure-native:keyvault:Vault": "Key Vault operations",
    "azure-native:keyvault:Secret": "Key Vault operations",
    "azure-native:keyvault:Key": "Key Vault HSM keys",
    "azure-native:storage:StorageAccount": "Storage transactions",
    "azure-native:storage:Table": "Storage transactions",
    "azure-native:network:NatGateway": "NAT gateway + public IP",
    "azure-native:network:PublicIPAddress": "NAT gateway + public IP",
    "azure-native:network:PrivateEndpoint": "Private endpoints",
    "azure-native:privatedns:PrivateZone": "Private DNS zones",
    "azure-native:monitor:ScheduledQueryRule": "Alert rules",
    "azure-native:monitor:MetricAlert": "Alert rules",
    "azure-native:operationalinsights:Workspace": "Log Analytics ingestion",
    "azure-native:monitor:DiagnosticSetting": "Log Analytics ingestion",
    "azure-native:cdn:Profile": "Front Door base",
    "azure-native:cdn:Route": "Front Door requests and egress",
    # Premium includes its WAF policy and managed rule sets in the base fee.
    "azure-native:frontdoor:Policy": "Front Door base",
}
UNBILLED_TYPES: frozenset[str] = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:Subnet",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PrivateDnsZoneGroup",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:authorization:RoleAssignment",
        "azure-native:storage:BlobContainer",
        "azure-native:storage:BlobServiceProperties",
        "azure-native:storage:ManagementPolicy",
        "azure-native:web:WebAppFtpAllowed",
        "azure-native:web:WebAppScmAllowed",
        "azure-native:cdn:AFDEndpoint",
        "azure-native:cdn:AFDOriginGroup",
        "azure-native:cdn:AFDOrigin",
        "azure-native:cdn:SecurityPolicy",
        # Workspace-based: its data is ingested into the workspace and billed there.
        "azure-native:applicationinsights:Component",
        # E-mail notifications: the first 1,000 a month are free.
        "azure-native:monitor:ActionGroup",
        "azure-native:consumption:Budget",
        "pulumi-python:dynamic/eventstack:CodeDeployment",
        # Waits run on the machine running `pulumi up`: no Azure resource behind them.
        "pulumi-python:dynamic/eventstack:GrantPropagation",
        "pulumi-python:dynamic/eventstack:SubnetRelease",
        "random:index/randomPassword:RandomPassword",
        "random:index/randomString:RandomString",
    }
)


def _requests(config: StackConfig, event: TypicalEvent) -> dict[str, float]:
    refreshes = event.signed_in_hours * 60 / config.token_ttl_minutes
    return {
        "attendees": event.attendees * (event.sign_in_requests + event.commands_per_attendee + refreshes),
        "wall": event.wall_screens * event.open_hours * SECONDS_PER_HOUR / event.wall_poll_seconds,
        # Only Front Door probes the app; without the edge nothing does.
        "probes": event.probe_sources * EVENT_HOURS * SECONDS_PER_HOUR / event.probe_seconds
        if config.edge_enabled
        else 0.0,
        "token signs": event.attendees * (1 + refreshes),
    }


def typical_event(
    config: StackConfig, event: TypicalEvent = TypicalEvent(), hours: int = EVENT_HOURS
) -> list[BillLine]:
    """Every billed item for one event under `event`'s assumptions, over the stack's `hours`."""
    counts = _requests(config, event)
    public = counts["attendees"] + counts["wall"]
    executions = public + counts["probes"]
    memory_gb = config.instance_memory_mb / 1024
    transactions = public * event.storage_transactions_per_request
    vault_ops = counts["token signs"] + config.always_ready_instances * hours * event.key_vault_ops_per_instance_hour
    log_gb = (
        (transactions + vault_ops + counts["probes"]) * event.log_kb_per_record
        + executions * event.telemetry_kb_per_request
    ) / KB_PER_GB
    egress_gb = public * event.response_kb / KB_PER_GB
    months = math.ceil(hours / (DAYS_PER_MONTH * 24))
    lines = [
        BillLine(
            "Flex always-ready baseline",
            f"{config.always_ready_instances} × {memory_gb:g} GB × {hours} h",
            config.always_ready_instances
            * memory_gb
            * hours
            * SECONDS_PER_HOUR
            * FLEX_ALWAYS_READY_BASELINE_PER_GB_SECOND,
        ),
        BillLine(
            "Flex executions and compute",
            f"{executions / 1e6:.2f} M requests × {event.request_seconds:g} s × {memory_gb:g} GB",
            executions / 1e6 * FLEX_PER_MILLION_EXECUTIONS
            + executions * event.request_seconds * memory_gb * FLEX_ON_DEMAND_PER_GB_SECOND,
        ),
        BillLine(
            "Key Vault operations",
            f"{vault_ops / 1e3:.0f} k signs and secret reads",
            counts["token signs"] / 10_000 * KEY_VAULT_ADVANCED_KEY_PER_10K_OPERATIONS
            + (vault_ops - counts["token signs"]) / 10_000 * KEY_VAULT_SECRET_PER_10K_OPERATIONS,
        ),
        BillLine(
            "Key Vault HSM keys",
            f"{HSM_ADVANCED_KEYS} EC-HSM + {HSM_RSA_KEYS} RSA-HSM, {months} month",
            months * (HSM_ADVANCED_KEYS * HSM_ADVANCED_KEY_PER_MONTH + HSM_RSA_KEYS * HSM_RSA_KEY_PER_MONTH),
        ),
        BillLine(
            "Storage transactions",
            f"{transactions / 1e3:.0f} k table transactions",
            transactions / 10_000 * STORAGE_PER_10K_TRANSACTIONS,
        ),
        BillLine(
            "NAT gateway + public IP",
            f"{hours} h",
            hours * (NAT_GATEWAYS * NAT_GATEWAY_PER_HOUR + PUBLIC_IPS * PUBLIC_IP_PER_HOUR)
            + event.attendees * event.github_kb_per_sign_in / KB_PER_GB * NAT_PER_GB,
        ),
        BillLine(
            "Private endpoints",
            f"{PRIVATE_ENDPOINTS} × {hours} h",
            PRIVATE_ENDPOINTS * hours * PRIVATE_ENDPOINT_PER_HOUR
            + 2 * transactions * event.response_kb / KB_PER_GB * PRIVATE_ENDPOINT_PER_GB,
        ),
        BillLine(
            "Private DNS zones",
            f"{PRIVATE_DNS_ZONES} zones, {months} month",
            months * PRIVATE_DNS_ZONES * PRIVATE_DNS_ZONE_PER_MONTH,
        ),
        BillLine(
            "Alert rules",
            f"{LOG_ALERT_RULES} log + {METRIC_ALERT_RULES} metric, {months} month",
            months * (LOG_ALERT_RULES * LOG_ALERT_RULE_PER_MONTH + METRIC_ALERT_RULES * METRIC_ALERT_RULE_PER_MONTH),
        ),
        BillLine("Log Analytics ingestion", f"{log_gb:.2f} GB", log_gb * LOG_ANALYTICS_PER_GB),
    ]
    if config.edge_enabled:
        lines += [
            BillLine(
                "Front Door base",
                f"{config.front_door_sku}, {hours} h",
                FRONT_DOOR_BASE_PER_MONTH[config.front_door_sku] / HOURS_PER_MONTH * hours,
            ),
            BillLine(
                "Front Door requests and egress",
                f"{public / 1e6:.2f} M requests, {egress_gb:.2f} GB",
                public / 10_000 * FRONT_DOOR_PER_10K_REQUESTS[config.front_door_sku]
                + egress_gb * FRONT_DOOR_EGRESS_PER_GB,
            ),
        ]
    return lines


def event_total(lines: list[BillLine]) -> float:
    """The sum of a bill's lines."""
    return sum(line.dollars for line in lines)


def render(config: StackConfig, event: TypicalEvent = TypicalEvent()) -> str:
    """Both tables as text: the typical event and the worst case, for the given config."""
    lines = typical_event(config, event)
    worst = worst_case_per_hour(config, config.edge_enabled)
    out = [
        f"Typical event, {EVENT_HOURS} h of stack ({event.attendees} attendees × {event.commands_per_attendee} "
        f"commands, {event.wall_screens} wall screens, {event.open_hours} h open); "
        f"US$, list prices of {PRICES_READ_ON}",
    ]
    out += [f"  {line.item:<32} {line.basis:<52} ${line.dollars:>9,.2f}" for line in lines]
    out.append(f"  {'total':<32} {'':<52} ${event_total(lines):>9,.2f}")
    worst_items: Mapping[str, float] = {
        "Flex compute": worst.flex_compute,
        "Flex executions": worst.flex_executions,
        "always-ready baseline": worst.always_ready,
        "Front Door base": worst.front_door,
        "Key Vault at the token quota": worst.key_vault,
        "fixed infrastructure": worst.infrastructure,
    }
    out += ["", "Worst case per hour (every cap at its limit)"]
    out += [f"  {label:<32} ${value:>9,.2f}" for label, value in worst_items.items()]
    out.append(f"  {'total per hour':<32} ${worst.total:>9,.2f}")
    out.append(f"  {f'total over {EVENT_HOURS} h':<32} ${worst.total * EVENT_HOURS:>9,.2f}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print both tables for a stack's config, read from Pulumi.yaml and Pulumi.<stack>.yaml."""
    from dev.offline import config_overrides, parsed_stack_config

    parser = argparse.ArgumentParser(description="The stack's bill: a typical event and the worst case.")
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read (default: dev)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config value")
    args = parser.parse_args(argv)
    try:
        config = parsed_stack_config(args.stack, config_overrides(args.set, parser.error))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
