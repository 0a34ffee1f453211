"""No diagnostic setting sends attendees' IP addresses to a place that keeps them past `dataDeleteBy`."""

from __future__ import annotations

import pytest

from components import edge
from components.config import parse_config
from components.log_privacy import (
    Destination,
    outlives_deletion,
    personal_categories_sent,
    workspace_destination,
)
from dev.offline import ProgramRun
from tests.components.test_config import dev_values

DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
PROFILE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/fd1"


def _leaks(run: ProgramRun, retention_hours: int) -> list[str]:
    """Every (setting, category) that sends personal data somewhere that keeps it too long."""
    found = []
    settings = run.of_type(DIAGNOSTIC_SETTING)
    assert settings, "the program creates no diagnostic setting: nothing was checked"
    for setting in settings:
        sent = personal_categories_sent(setting.inputs["resourceUri"], setting.inputs.get("logs", []))
        if not sent:
            continue
        destinations = []
        if setting.inputs.get("workspaceId"):
            workspace = run.by_id(setting.inputs["workspaceId"])
            assert workspace is not None, setting.urn
            destinations.append(workspace_destination(workspace.urn, workspace.inputs.get("retentionInDays")))
        for key in ("storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId"):
            if setting.inputs.get(key):
                destinations.append(Destination(f"{key} {setting.inputs[key]}", None))
        found += [
            f"{setting.urn}: {category} -> {destination.label}"
            for destination in destinations
            if outlives_deletion(destination, retention_hours)
            for category in sorted(sent)
        ]
    return found


def test_no_setting_keeps_client_addresses_past_the_deletion_date(dev_stack: ProgramRun) -> None:
    retention_hours = parse_config(dev_values(), "dev").retention_hours
    assert _leaks(dev_stack, retention_hours) == []


def test_front_door_sends_its_health_probe_log_and_metrics_only(dev_stack: ProgramRun) -> None:
    profile = dev_stack.one("azure-native:cdn:Profile")
    [setting] = [s for s in dev_stack.of_type(DIAGNOSTIC_SETTING) if s.inputs["resourceUri"] == profile.id]
    assert setting.inputs["logs"] == [{"category": "FrontDoorHealthProbeLog", "enabled": True}]
    assert setting.inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def test_the_check_sees_the_old_all_logs_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `allLogs` group the edge used to send would be caught: the check can fail."""
    from tests.conftest import run_with

    monkeypatch.setattr(edge, "EDGE_LOG_CATEGORIES", ("FrontDoorAccessLog",))
    leaks = _leaks(run_with(), 48)
    assert len(leaks) == 1 and "frontdooraccesslog" in leaks[0], leaks


@pytest.mark.parametrize(
    ("logs", "expected"),
    [
        ([{"categoryGroup": "allLogs", "enabled": True}], {"frontdooraccesslog", "frontdoorwebapplicationfirewalllog"}),
        ([{"categoryGroup": "audit", "enabled": True}], {"frontdooraccesslog", "frontdoorwebapplicationfirewalllog"}),
        ([{"category": "FrontDoorWebApplicationFirewallLog", "enabled": True}], {"frontdoorwebapplicationfirewalllog"}),
        ([{"category": "FrontDoorAccessLog", "enabled": False}], set()),
        ([{"category": "FrontDoorHealthProbeLog", "enabled": True}], set()),
    ],
)
def test_categories_and_groups_that_carry_client_addresses(logs: list[dict[str, object]], expected: set[str]) -> None:
    assert personal_categories_sent(PROFILE_ID, logs) == expected


def test_a_workspace_keeps_records_past_any_allowed_retention() -> None:
    # 30 days at the least, and retentionHours is at most a week.
    assert outlives_deletion(workspace_destination("w", None), 168)
    assert outlives_deletion(workspace_destination("w", 30), 168)
    assert not outlives_deletion(Destination("w", 24.0), 48)
    assert not outlives_deletion(Destination("w", None, removes_personal_fields=True), 48)
