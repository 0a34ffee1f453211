"""The bill: a typical event and the worst case, computed from the config; the deploy guide states both."""

from __future__ import annotations

import re

import pytest

from components import cost as bill
from components.config import parse_config
from components.cost import (
    EVENT_HOURS,
    PRICES_READ_ON,
    TypicalEvent,
    event_total,
    typical_event,
    worst_case_per_event,
    worst_case_per_hour,
)
from dev.offline import ROOT, ProgramRun
from tests.components.test_config import dev_values

DEPLOY_GUIDE = (ROOT / "docs" / "deploy.md").read_text()


def test_the_bound_for_the_defaults() -> None:
    cost = worst_case_per_hour(parse_config(dev_values(), "dev"))
    assert cost.flex_compute == pytest.approx(40 * 2 * 3600 * 0.000026)
    assert cost.flex_executions == pytest.approx(40 * 8 / 0.05 * 3600 / 1e6 * 0.40)
    assert cost.always_ready == pytest.approx(2 * 2 * 3600 * 0.000004)
    assert cost.front_door == pytest.approx(330 / 730)
    assert cost.key_vault == pytest.approx(400 * 3600 / 10_000 * 0.15)


def test_the_bound_moves_with_the_caps() -> None:
    small = worst_case_per_hour(parse_config(dev_values(instanceMemoryMb="512"), "dev"))
    large = worst_case_per_hour(parse_config(dev_values(maxInstances="80"), "dev"))
    default = worst_case_per_hour(parse_config(dev_values(), "dev"))
    assert small.flex_compute == pytest.approx(default.flex_compute / 4)
    assert large.flex_compute == pytest.approx(default.flex_compute * 2)
    assert large.flex_executions == pytest.approx(default.flex_executions * 2)
    assert worst_case_per_hour(parse_config(dev_values(), "dev"), edge_on=False).front_door == 0


def _money(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_deploy_guide_states_this_computation() -> None:
    config = parse_config(dev_values(), "dev")
    cost = worst_case_per_hour(config)
    section = DEPLOY_GUIDE[DEPLOY_GUIDE.index("## Worst-case cost") :]
    section = section[: section.index("\n## ")]
    assert PRICES_READ_ON in section
    rows = {
        "Flex compute": cost.flex_compute,
        "Flex executions": cost.flex_executions,
        "always-ready baseline": cost.always_ready,
        "Front Door base": cost.front_door,
        "Key Vault at the token quota": cost.key_vault,
        "fixed infrastructure": cost.infrastructure,
    }
    for label, value in rows.items():
        line = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
        assert line.rstrip(" |").endswith(f"${value:,.2f}"), line
    assert f"**≈ ${cost.total:,.2f}**" in section
    per_event = re.search(r"\((?:[^)]*?)(\d+) h\): \*\*≈ \$([\d,]+)\*\*", section)
    assert per_event, "the per-event figure is missing"
    assert int(per_event.group(1)) == EVENT_HOURS
    assert _money(per_event.group(2)) == pytest.approx(worst_case_per_event(config), abs=5)


def test_the_bound_counts_the_always_ready_instances_the_stack_deploys(dev_stack: ProgramRun) -> None:
    app = dev_stack.one("azure-native:web:WebApp")
    (http,) = app.get("functionAppConfig.scaleAndConcurrency.alwaysReady")
    config = parse_config(dev_values(), "dev")
    assert int(http["instanceCount"]) == config.always_ready_instances
    assert worst_case_per_hour(config).always_ready > 0


# --- the typical event, and the whole bill -------------------------------------------------------


def test_every_resource_type_the_program_creates_is_priced_or_known_free(dev_stack: ProgramRun) -> None:
    created = {r.type for r in dev_stack.custom_resources()}
    unpriced = created - set(bill.BILLED_TYPES) - bill.UNBILLED_TYPES
    assert unpriced == set(), f"price these in components/cost.py (or list them as unbilled): {sorted(unpriced)}"
    items = {line.item for line in typical_event(parse_config(dev_values(), "dev"))}
    for type_name in created & set(bill.BILLED_TYPES):
        assert bill.BILLED_TYPES[type_name] in items, type_name


def test_the_counts_priced_are_what_the_program_creates(dev_stack: ProgramRun) -> None:
    def count(type_name: str) -> int:
        return len(dev_stack.of_type(type_name))

    assert count("azure-native:network:NatGateway") == bill.NAT_GATEWAYS
    assert count("azure-native:network:PublicIPAddress") == bill.PUBLIC_IPS
    assert count("azure-native:network:PrivateEndpoint") == bill.PRIVATE_ENDPOINTS
    assert count("azure-native:privatedns:PrivateZone") == bill.PRIVATE_DNS_ZONES
    assert count("azure-native:monitor:ScheduledQueryRule") == bill.LOG_ALERT_RULES
    assert count("azure-native:monitor:MetricAlert") == bill.METRIC_ALERT_RULES
    kinds = sorted(key.get("properties.kty") for key in dev_stack.of_type("azure-native:keyvault:Key"))
    assert kinds == sorted(["EC-HSM"] * bill.HSM_ADVANCED_KEYS + ["RSA-HSM"] * bill.HSM_RSA_KEYS)


def test_the_typical_bill_moves_with_its_assumptions_and_the_config() -> None:
    config = parse_config(dev_values(), "dev")
    base = event_total(typical_event(config))
    assert event_total(typical_event(config, TypicalEvent(attendees=3000))) > base
    no_edge = typical_event(parse_config(dev_values(edge="none"), "dev"))
    assert not any(line.item.startswith("Front Door") for line in no_edge)
    standard = {
        line.item: line.dollars
        for line in typical_event(parse_config(dev_values(frontDoorSku="Standard_AzureFrontDoor"), "dev"))
    }
    assert standard["Front Door base"] == pytest.approx(35 / 730 * EVENT_HOURS)
    # Always-ready instances bill around the clock, traffic or not.
    zero = {
        line.item: line.dollars
        for line in typical_event(parse_config(dev_values(zoneRedundant="false", alwaysReadyInstances="0"), "dev"))
    }
    assert zero["Flex always-ready baseline"] == 0


def test_the_deploy_guide_states_the_typical_bill() -> None:
    config = parse_config(dev_values(), "dev")
    section = DEPLOY_GUIDE[DEPLOY_GUIDE.index("## Cost of a typical event") :]
    section = section[: section.index("\n## ")]
    assert PRICES_READ_ON in section
    event = TypicalEvent()
    assert f"{event.attendees} attendees" in section
    lines = typical_event(config, event)
    for line in lines:
        row = next((row for row in section.splitlines() if row.startswith(f"| {line.item} |")), None)
        assert row, f"no row for {line.item}"
        assert row.rstrip(" |").endswith(f"${line.dollars:,.2f}"), row
    assert f"**≈ ${event_total(lines):,.2f}**" in section


def test_python_m_components_cost_prints_both_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert bill.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    config = parse_config(dev_values(), "dev")
    assert "Typical event" in out and "Worst case per hour" in out
    assert f"${event_total(typical_event(config)):>9,.2f}" in out
    assert f"${worst_case_per_hour(config).total:>9,.2f}" in out
    assert bill.main(["--stack", "dev", "--set", "edge=none"]) == 0
    assert "Front Door base" not in capsys.readouterr().out.split("Worst case")[0]
