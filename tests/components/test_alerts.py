"""Alerts and the budget: everything pages the owner, thresholds come from config, WAF alert only with an edge."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pulumi
import pytest

from components.alerts import (
    PURGE_FUNCTION_NAME,
    Alerts,
    AlertsArgs,
    action_group_short_name,
    budget_name,
    budget_period,
    month_start,
    next_month,
)
from components.config import parse_config
from dev.offline import ROOT, SUBSCRIPTION_ID, ProgramRun, RecordingMonitor, RegisteredResource
from tests.components.test_config import dev_values
from tests.conftest import run_with

ALERTS = "eventstack:azure:Alerts"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
BUDGET = "azure-native:consumption:Budget"
WORKSPACE = "azure-native:operationalinsights:Workspace"
PROFILE_ID = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Cdn/profiles/afd-x"


def _log_alerts(run: ProgramRun) -> dict[str, RegisteredResource]:
    return {r.name.rsplit("-alerts-", 1)[-1]: r for r in run.of_type(LOG_ALERT)}


def _condition(rule: RegisteredResource) -> dict[str, Any]:
    (condition,) = rule.get("criteria.allOf")
    return dict(condition)


def test_one_action_group_mails_the_owner(dev_stack: ProgramRun) -> None:
    group = dev_stack.one(ACTION_GROUP)
    assert group.inputs["location"] == "global"
    assert group.inputs["enabled"] is True
    (receiver,) = group.inputs["emailReceivers"]
    assert receiver["emailAddress"] == "conference-team@example.org"
    assert len(group.inputs["groupShortName"]) <= 12


def test_every_alert_rule_pages_the_action_group_and_queries_the_workspace(dev_stack: ProgramRun) -> None:
    group_id = dev_stack.one(ACTION_GROUP).id
    workspace_id = dev_stack.one(WORKSPACE).id
    rules = _log_alerts(dev_stack)
    assert sorted(rules) == ["http-429", "http-5xx", "keyvault-failures", "purge-missed"]
    for rule in rules.values():
        assert rule.get("actions.actionGroups") == [group_id], rule.urn
        assert rule.inputs["scopes"] == [workspace_id], rule.urn
        assert rule.inputs["enabled"] is True, rule.urn
        assert rule.inputs["location"] == "westeurope", rule.urn


def test_the_5xx_alert_measures_the_share_of_failed_requests(dev_stack: ProgramRun) -> None:
    condition = _condition(_log_alerts(dev_stack)["http-5xx"])
    assert condition["threshold"] == 5
    assert condition["operator"] == "GreaterThan"
    # The column the rule reads is the one the query computes.
    assert f"project {condition['metricMeasureColumn']} =" in condition["query"]
    assert ">= 500" in condition["query"]


def test_the_429_alert_wants_it_sustained(dev_stack: ProgramRun) -> None:
    rule = _log_alerts(dev_stack)["http-429"]
    condition = _condition(rule)
    assert '"429"' in condition["query"]
    assert condition["threshold"] == 60 * 5  # per minute, over a 5-minute window
    assert rule.inputs["windowSize"] == "PT5M"
    assert condition["failingPeriods"] == {"numberOfEvaluationPeriods": 3, "minFailingPeriodsToAlert": 3}


def test_the_key_vault_alert_counts_throttling_and_failures_but_not_the_401_challenge(dev_stack: ProgramRun) -> None:
    query = _condition(_log_alerts(dev_stack)["keyvault-failures"])["query"]
    assert "AZKVAuditLogs" in query
    assert "HttpStatusCode == 429" in query
    assert "HttpStatusCode != 401" in query


def test_the_purge_alert_fires_when_no_run_completed(dev_stack: ProgramRun) -> None:
    rule = _log_alerts(dev_stack)["purge-missed"]
    condition = _condition(rule)
    assert condition["operator"] == "LessThan"
    assert condition["threshold"] == 1
    assert f'Name == "{PURGE_FUNCTION_NAME}"' in condition["query"]
    assert rule.inputs["windowSize"] == "PT1H"


def test_the_purge_alert_names_the_timer_the_app_really_has() -> None:
    source = (ROOT / "function_code" / "function_app.py").read_text()
    assert re.search(rf"@app\.timer_trigger\(.*\)\s*\ndef {PURGE_FUNCTION_NAME}\(", source)


def test_thresholds_come_from_config() -> None:
    run = run_with(
        alertHttp5xxPercent=12,
        alertHttp429PerMinute=7,
        alertKeyVaultFailuresPer5Minutes=33,
        alertPurgeMissedHours=6,
        budgetAmount=250,
    )
    rules = _log_alerts(run)
    assert _condition(rules["http-5xx"])["threshold"] == 12
    assert _condition(rules["http-429"])["threshold"] == 35
    assert _condition(rules["keyvault-failures"])["threshold"] == 33
    assert rules["purge-missed"].inputs["windowSize"] == "PT6H"
    assert _log_alerts(run_with(alertPurgeMissedHours=48))["purge-missed"].inputs["windowSize"] == "P2D"
    assert run.one(BUDGET).inputs["amount"] == 250


def test_the_budget_watches_the_resource_group_and_mails_the_owner_at_50_80_100(dev_stack: ProgramRun) -> None:
    budget = dev_stack.one(BUDGET)
    group = dev_stack.one("azure-native:resources:ResourceGroup")
    assert budget.inputs["scope"] == group.id
    assert budget.inputs["amount"] == 500
    assert budget.inputs["timeGrain"] == "Monthly"
    notifications = budget.inputs["notifications"]
    assert sorted(n["threshold"] for n in notifications.values()) == [50, 80, 100]
    for notification in notifications.values():
        assert notification["enabled"] is True
        assert notification["contactEmails"] == ["conference-team@example.org"]
        assert notification["contactGroups"] == [dev_stack.one(ACTION_GROUP).id]


def test_the_budget_starts_on_the_first_of_a_month_and_outlives_the_data(dev_stack: ProgramRun) -> None:
    period = dev_stack.one(BUDGET).inputs["timePeriod"]
    start = datetime.fromisoformat(period["startDate"])
    end = datetime.fromisoformat(period["endDate"])
    assert start.day == 1
    assert end.day == 1
    assert end > datetime(2027, 6, 7, 18, tzinfo=UTC)  # the dev stack's data-delete-by


@pytest.mark.parametrize(
    ("start", "delete_by", "expected_end"),
    [
        (date(2027, 5, 1), datetime(2027, 6, 7, 18, tzinfo=UTC), date(2027, 7, 1)),
        (date(2027, 12, 1), datetime(2027, 12, 30, tzinfo=UTC), date(2028, 1, 1)),
        # Data already due: the period still covers one month.
        (date(2027, 9, 1), datetime(2027, 6, 7, tzinfo=UTC), date(2027, 10, 1)),
    ],
)
def test_budget_period(start: date, delete_by: datetime, expected_end: date) -> None:
    assert budget_period(start, delete_by) == (start, expected_end)


def test_month_arithmetic_and_names() -> None:
    assert month_start(datetime(2027, 3, 31, 23, tzinfo=UTC)) == date(2027, 3, 1)
    assert next_month(date(2027, 12, 1)) == date(2028, 1, 1)
    assert action_group_short_name("a-very-long-event") == "a-very-long-"
    assert budget_name("confdemo", "team.prod/eu") == "confdemo-team-prod-eu"
    assert len(budget_name("confdemo", "x" * 100)) == 63


def test_everything_is_a_child_of_the_alerts_component(dev_stack: ProgramRun) -> None:
    component = dev_stack.one(ALERTS)
    assert component.parent_type == "eventstack:index:EventStack"
    for type_name in (ACTION_GROUP, LOG_ALERT, BUDGET):
        for resource in dev_stack.of_type(type_name):
            assert resource.parent == component.urn, resource.urn


def test_without_an_edge_there_is_no_waf_alert() -> None:
    assert run_with(edge="none").of_type(METRIC_ALERT) == []


def test_with_the_edge_the_stack_watches_its_waf(dev_stack: ProgramRun) -> None:
    (alert,) = dev_stack.of_type(METRIC_ALERT)
    assert alert.inputs["scopes"] == [dev_stack.one("azure-native:cdn:Profile").id]


# --- the component on its own: with and without a Front Door profile ---------------------------


def _build(monitor: RecordingMonitor, profile_id: str | None) -> dict[str, RegisteredResource]:
    config = parse_config(dev_values(alertWafBlocksPer5Minutes="250"), "dev")

    def program() -> pulumi.Output[str]:
        alerts = Alerts(
            "ops",
            AlertsArgs(
                config=config,
                resource_group_name="rg",
                resource_group_id=f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg",
                workspace_id="/workspace",
                budget_start=date(2027, 5, 1),
                tags={"event": "t"},
                front_door_profile_id=profile_id,
            ),
        )
        return alerts.action_group_id

    pulumi.runtime.test(program)()
    return {r.name: r for r in monitor.registered}


def test_with_a_front_door_profile_the_waf_blocks_page_the_owner(fresh_mocks: RecordingMonitor) -> None:
    recorded = _build(fresh_mocks, PROFILE_ID)
    alert = recorded["ops-waf-blocks"]
    assert alert.type == METRIC_ALERT
    assert alert.inputs["scopes"] == [PROFILE_ID]
    assert alert.inputs["location"] == "global"
    assert alert.inputs["actions"] == [{"actionGroupId": recorded["ops-owner"].id}]
    (criterion,) = alert.get("criteria.allOf")
    assert criterion["metricName"] == "WebApplicationFirewallRequestCount"
    assert criterion["dimensions"] == [{"name": "Action", "operator": "Include", "values": ["Block"]}]
    assert criterion["threshold"] == 250
    assert recorded["ops-budget"].get("timePeriod.startDate") == "2027-05-01T00:00:00Z"
    assert recorded["ops-budget"].get("timePeriod.endDate") == "2027-07-01T00:00:00Z"


def test_without_a_front_door_profile_the_rest_is_the_same(fresh_mocks: RecordingMonitor) -> None:
    recorded = _build(fresh_mocks, None)
    assert not [r for r in recorded.values() if r.type == METRIC_ALERT]
    assert sorted(r.name for r in recorded.values() if r.type == LOG_ALERT) == [
        "ops-http-429",
        "ops-http-5xx",
        "ops-keyvault-failures",
        "ops-purge-missed",
    ]


# --- every query reads what the configured telemetry writes ------------------------------------

# Columns of the workspace tables the queries read (Azure Monitor Logs reference, "AppRequests"
# and "AZKVAuditLogs"). Workspace-based Application Insights writes AppRequests, with PascalCase
# columns: the classic `requests` table's `itemCount`/`resultCode` do not exist here.
TABLE_COLUMNS: dict[str, frozenset[str]] = {
    "AppRequests": frozenset(
        {
            "TimeGenerated", "Id", "Source", "Name", "Url", "Success", "ResultCode", "DurationMs",
            "PerformanceBucket", "Properties", "Measurements", "OperationName", "OperationId", "ParentId",
            "AppRoleName", "AppRoleInstance", "AppVersion", "ClientIP", "ClientType", "ItemCount",
            "SDKVersion", "ResourceGUID", "IKey", "SyntheticSource", "_ResourceId", "Type",
        }
    ),
    "AZKVAuditLogs": frozenset(
        {
            "TimeGenerated", "OperationName", "OperationVersion", "ResultType", "ResultSignature",
            "ResultDescription", "DurationMs", "CallerIpAddress", "CorrelationId", "Identity", "Properties",
            "Id", "HttpStatusCode", "RequestUri", "ClientInfo", "_ResourceId", "Type",
        }
    ),
}  # fmt: skip
# KQL operators, functions and literals the queries may use; any other name must be a column.
KQL_WORDS = frozenset(
    {
        "where", "summarize", "project", "extend", "by", "and", "or", "not", "true", "false",
        "count", "countif", "sum", "sumif", "toint", "tolong", "todouble", "coalesce", "isempty",
    }
)  # fmt: skip
APP_INSIGHTS = "azure-native:applicationinsights:Component"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
KEY_VAULT = "azure-native:keyvault:Vault"


def written_tables(run: ProgramRun) -> set[str]:
    """The workspace tables the program's telemetry configuration fills."""
    workspace = run.one(WORKSPACE).id
    tables: set[str] = set()
    for component in run.of_type(APP_INSIGHTS):
        if component.inputs.get("workspaceResourceId") == workspace and component.inputs.get("ingestionMode") == (
            "LogAnalytics"
        ):
            tables.add("AppRequests")
    vault = run.one(KEY_VAULT).id
    for setting in run.of_type(DIAGNOSTIC_SETTING):
        groups = {log.get("categoryGroup") for log in setting.inputs.get("logs", []) if log.get("enabled")}
        categories = {log.get("category") for log in setting.inputs.get("logs", []) if log.get("enabled")}
        if (
            setting.inputs.get("resourceUri") == vault
            and setting.inputs.get("workspaceId") == workspace
            # Dedicated: resource-specific tables; otherwise Key Vault writes AzureDiagnostics.
            and setting.inputs.get("logAnalyticsDestinationType") == "Dedicated"
            and (groups & {"audit", "allLogs"} or "AuditEvent" in categories)
        ):
            tables.add("AZKVAuditLogs")
    return tables


def read_names(query: str) -> tuple[str, set[str]]:
    """The table a query starts from, and every other name it reads (not the ones it defines)."""
    table, _, rest = query.partition("\n")
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', rest)
    defined = set(re.findall(r"\b([A-Za-z_]\w*)\s*=(?!=)", code))
    names = set(re.findall(r"\b[A-Za-z_]\w*\b", code)) - KQL_WORDS - defined
    return table.strip(), names


def test_every_alert_query_reads_columns_the_configured_telemetry_writes(dev_stack: ProgramRun) -> None:
    tables = written_tables(dev_stack)
    assert tables == {"AppRequests", "AZKVAuditLogs"}
    for suffix, rule in _log_alerts(dev_stack).items():
        condition = _condition(rule)
        table, names = read_names(condition["query"])
        assert table in tables, f"{suffix} reads {table}, which nothing configured writes"
        assert names <= TABLE_COLUMNS[table], f"{suffix} reads {sorted(names - TABLE_COLUMNS[table])}"
        measure = condition.get("metricMeasureColumn")
        if measure:
            # The rule reads a column the query itself computes.
            assert re.search(rf"\b{measure}\s*=(?!=)", condition["query"]), suffix


def test_request_counts_sum_item_count_rather_than_count_rows(dev_stack: ProgramRun) -> None:
    """A sampled row stands for ItemCount requests: counting rows undercounts."""
    for suffix, rule in _log_alerts(dev_stack).items():
        condition = _condition(rule)
        if not condition["query"].startswith("AppRequests"):
            continue
        assert "count()" not in condition["query"] and "countif(" not in condition["query"], suffix
        assert "sum(ItemCount)" in condition["query"], suffix
        # Row counting ("Count") would count summaries, not requests.
        assert condition["timeAggregation"] in {"Total", "Maximum"}, suffix
        assert condition.get("metricMeasureColumn"), suffix


def test_the_name_check_sees_a_misspelt_column() -> None:
    table, names = read_names('AppRequests\n| where resultCode == "429"\n| summarize n = sum(itemCount)')
    assert table == "AppRequests"
    assert names - TABLE_COLUMNS[table] == {"resultCode", "itemCount"}
