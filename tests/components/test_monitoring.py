"""Monitoring: short, stated log retention; Application Insights without local auth; diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from components.monitoring import Monitoring, MonitoringArgs
from dev.offline import SUBSCRIPTION_ID, ProgramRun, RecordingMonitor, RegisteredResource
from tests.conftest import run_with

MONITORING = "eventstack:azure:Monitoring"
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"

VAULT_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"


def test_the_workspace_is_pay_per_gb_with_the_configured_retention(dev_stack: ProgramRun) -> None:
    workspace = dev_stack.one(WORKSPACE)
    assert workspace.get("sku.name") == "PerGB2018"
    assert workspace.inputs["retentionInDays"] == 30
    assert workspace.get("features.disableLocalAuth") is True


def test_a_config_change_moves_the_retention() -> None:
    assert run_with(logRetentionDays=45).one(WORKSPACE).inputs["retentionInDays"] == 45


def test_app_insights_is_workspace_based_with_local_auth_off(dev_stack: ProgramRun) -> None:
    component = dev_stack.one(APP_INSIGHTS)
    assert component.inputs["disableLocalAuth"] is True
    assert component.inputs["workspaceResourceId"] == dev_stack.one(WORKSPACE).id
    assert component.inputs["ingestionMode"] == "LogAnalytics"
    assert component.inputs["disableIpMasking"] is False


def test_public_access_is_stated_rather_than_left_to_defaults(dev_stack: ProgramRun) -> None:
    """On, on purpose (see components/monitoring.py): no private link scope, Entra ID only."""
    for resource in (dev_stack.one(WORKSPACE), dev_stack.one(APP_INSIGHTS)):
        assert resource.inputs["publicNetworkAccessForIngestion"] == "Enabled", resource.urn
        assert resource.inputs["publicNetworkAccessForQuery"] == "Enabled", resource.urn


def test_both_carry_the_stack_tags(dev_stack: ProgramRun) -> None:
    expected = dev_stack.one("azure-native:resources:ResourceGroup").inputs["tags"]
    assert {"event", "stack", "data-delete-by"} <= set(expected)
    for resource in (dev_stack.one(WORKSPACE), dev_stack.one(APP_INSIGHTS)):
        assert resource.inputs["tags"] == expected, resource.urn
        assert resource.inputs["tags"]["data-delete-by"] == "2027-06-07T18:00:00Z"


def test_both_are_children_of_the_component(dev_stack: ProgramRun) -> None:
    component = dev_stack.one(MONITORING)
    children = sorted(r.type for r in dev_stack.resources if r.parent == component.urn)
    assert children == [APP_INSIGHTS, WORKSPACE]
    assert component.parent_type == "eventstack:index:EventStack"


# --- the component on its own, under the test's fresh mocks ---------------------------------------


class Consumer(pulumi.ComponentResource):
    """Stands in for the Key Vault or storage component whose resource is monitored."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Consumer", name)
        self.register_outputs({})


def _args() -> MonitoringArgs:
    return MonitoringArgs(resource_group_name="rg", location="westeurope", log_retention_days=31, tags={"event": "t"})


def _built(monitor: RecordingMonitor, program: Callable[[], pulumi.Output[Any]]) -> dict[str, RegisteredResource]:
    """Run `program` under the test's mocks; every registration is done once it returns."""
    pulumi.runtime.test(program)()
    return {r.name: r for r in monitor.registered}


def test_diagnostics_send_audit_and_all_logs_and_metrics_to_the_workspace(fresh_mocks: RecordingMonitor) -> None:
    def program() -> pulumi.Output[str]:
        monitoring = Monitoring("mon", _args())
        return monitoring.diagnostics("kv-diagnostics", VAULT_ID, parent=Consumer("owner")).id

    recorded = _built(fresh_mocks, program)
    setting = recorded["kv-diagnostics"]
    assert setting.type == DIAGNOSTIC_SETTING
    assert setting.parent == recorded["owner"].urn
    assert setting.inputs["resourceUri"] == VAULT_ID
    assert setting.inputs["workspaceId"] == recorded["mon-logs"].id
    assert {(log["categoryGroup"], log["enabled"]) for log in setting.inputs["logs"]} == {
        ("audit", True),
        ("allLogs", True),
    }
    assert [(m["category"], m["enabled"]) for m in setting.inputs["metrics"]] == [("AllMetrics", True)]
    assert recorded["mon-logs"].inputs["retentionInDays"] == 31


def test_diagnostics_for_a_resource_without_logs_send_its_metrics_only(fresh_mocks: RecordingMonitor) -> None:
    def program() -> pulumi.Output[str]:
        monitoring = Monitoring("mon", _args())
        return monitoring.diagnostics(
            "st-diagnostics", VAULT_ID, parent=monitoring, log_category_groups=(), metric_categories=("Transaction",)
        ).id

    setting = _built(fresh_mocks, program)["st-diagnostics"]
    assert setting.inputs.get("logs", []) == []
    assert [m["category"] for m in setting.inputs["metrics"]] == ["Transaction"]


def test_the_connection_string_is_a_secret_output(fresh_mocks: RecordingMonitor) -> None:
    seen: list[bool] = []

    def program() -> pulumi.Output[None]:
        connection_string = Monitoring("mon", _args()).app_insights_connection_string
        return pulumi.Output.from_input(connection_string.is_secret()).apply(seen.append)

    _built(fresh_mocks, program)
    assert seen == [True]
