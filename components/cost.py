"""The stack's worst-case cost (the denial-of-wallet bound), computed from the caps in config.

The deploy guide's table (docs/deploy.md) is this computation for `Pulumi.yaml`'s defaults; a test keeps the two equal.
Prices are US dollar pay-as-you-go list prices, read on `PRICES_READ_ON` (sources in docs/deploy.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import StackConfig

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

    @property
    def total(self) -> float:
        return self.flex_compute + self.flex_executions + self.always_ready + self.front_door + self.key_vault


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
        front_door=FRONT_DOOR_PREMIUM_PER_MONTH / HOURS_PER_MONTH if edge_on else 0.0,
        key_vault=key_operations_per_hour / 10_000 * KEY_VAULT_ADVANCED_KEY_PER_10K_OPERATIONS,
    )


def worst_case_per_event(config: StackConfig, edge_on: bool = True, hours: int = EVENT_HOURS) -> float:
    """The hourly bound over the stack's life around one event."""
    return worst_case_per_hour(config, edge_on).total * hours
