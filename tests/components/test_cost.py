"""The worst-case cost: computed from the caps, and the deploy guide's table is that computation."""

from __future__ import annotations

import re

import pytest

from components.config import parse_config
from components.cost import (
    EVENT_HOURS,
    PRICES_READ_ON,
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
        "Front Door Premium base": cost.front_door,
        "Key Vault at the token quota": cost.key_vault,
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
