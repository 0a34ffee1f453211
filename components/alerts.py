"""Alerts and a cost ceiling for the days of the event: everything pages the stack's owner.

One action group mails `owner`. Log alerts read the Log Analytics workspace that Application
Insights and the Key Vault diagnostic settings write to: the app's 5xx share, a sustained 429
rate, Key Vault throttling or failures, and a retention purge that has stopped completing. With
the edge on, a metric alert watches the Front Door WAF's blocks. A budget on the resource group
mails the owner at 50, 80 and 100 % of the monthly amount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pulumi
from pulumi_azure_native import consumption, monitor

from components.config import StackConfig

# Action groups and metric alerts are global resources: Azure accepts no region for them.
GLOBAL_LOCATION = "global"
ACTION_GROUP_SHORT_NAME_MAX = 12
# Sev 1 (error) pages at once; sev 2 (warning) is worth a look within the hour.
SEVERITY_ERROR = 1
SEVERITY_WARNING = 2
FIVE_MINUTES = "PT5M"
FIFTEEN_MINUTES = "PT15M"
# "Sustained": three 5-minute windows in a row over the threshold.
SUSTAINED_PERIODS = 3
# Below this many requests in 5 minutes a percentage is noise (1 of 2 failing is 50 %).
MIN_REQUESTS_FOR_A_RATE = 20
# The timer trigger in function_code/function_app.py; Application Insights logs each run under it.
PURGE_FUNCTION_NAME = "retention_purge"
# Front Door Standard/Premium reports WAF decisions on the profile (Microsoft.Cdn/profiles).
WAF_METRIC_NAMESPACE = "Microsoft.Cdn/profiles"
WAF_METRIC_NAME = "WebApplicationFirewallRequestCount"
WAF_BLOCK_ACTION = "Block"
BUDGET_THRESHOLDS_PERCENT: tuple[int, ...] = (50, 80, 100)
BUDGET_TIME_GRAIN = "Monthly"
BUDGET_NAME_MAX = 63

# Log queries over the workspace's resource-specific tables. Every HTTP answer reaches AppRequests
# with its status in ResultCode (function_code/host.json: Host.Results at Information, extended
# HTTP info on, requests never sampled); a sampled row would stand for ItemCount requests, so the
# queries sum ItemCount rather than count rows ("Configure monitoring for Azure Functions";
# "Sampling in Application Insights"). Key Vault SDK clients send each first request without a
# token and get a 401 challenge: that is protocol, not failure. Resource logs are never sampled.
HTTP_5XX_QUERY = f"""AppRequests
| where Name != "{PURGE_FUNCTION_NAME}"
| summarize total = sum(ItemCount), failed = sumif(ItemCount, toint(ResultCode) >= 500)
| where total >= {MIN_REQUESTS_FOR_A_RATE}
| project percent = 100.0 * failed / total"""
HTTP_429_QUERY = """AppRequests
| where ResultCode == "429"
| summarize answers = sum(ItemCount)"""
KEY_VAULT_FAILURE_QUERY = """AZKVAuditLogs
| where HttpStatusCode == 429 or (HttpStatusCode >= 400 and HttpStatusCode != 401)"""
# No row at all is the alarm: the sum over nothing is made 0, so "fewer than 1" can fire.
PURGE_COMPLETED_QUERY = f"""AppRequests
| where Name == "{PURGE_FUNCTION_NAME}" and Success == true
| summarize runs = sum(ItemCount)
| project runs = coalesce(runs, tolong(0))"""


@dataclass(frozen=True)
class AlertsArgs:
    """What the Alerts component needs."""

    config: StackConfig
    """Owner, location, thresholds and budget amount."""
    resource_group_name: pulumi.Input[str]
    """The stack's resource group: home of the alert rules."""
    resource_group_id: pulumi.Input[str]
    """The budget's scope."""
    workspace_id: pulumi.Input[str]
    """The Log Analytics workspace the log alerts query."""
    budget_start: date
    """First day of the budget (the first of a month: Azure refuses any other day)."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""
    front_door_profile_id: pulumi.Input[str] | None = None
    """The edge's Front Door profile (Microsoft.Cdn/profiles); None when the edge is off."""


def month_start(moment: datetime | date) -> date:
    """The first day of `moment`'s month."""
    return date(moment.year, moment.month, 1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def budget_period(start: date, data_delete_by: datetime) -> tuple[date, date]:
    """From `start` until the month after the data must be gone: the stack's whole life."""
    end = next_month(month_start(data_delete_by))
    return start, max(end, next_month(start))


def budget_start_now() -> date:
    """This month, in UTC: a budget may not start in an earlier month."""
    return month_start(datetime.now(UTC))


def window_of_hours(hours: int) -> str:
    """An ISO 8601 window Azure accepts for a log alert: PT1H-PT6H, P1D or P2D."""
    return f"P{hours // 24}D" if hours % 24 == 0 else f"PT{hours}H"


def budget_name(event_name: str, stack: str) -> str:
    """`<event>-<stack>` in the characters and length a budget name allows (letters, digits, - and _; 63)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{event_name}-{stack}")[:BUDGET_NAME_MAX]


def action_group_short_name(event_name: str) -> str:
    """The name Azure shows in alert mails and texts (at most 12 characters)."""
    return event_name[:ACTION_GROUP_SHORT_NAME_MAX]


class Alerts(pulumi.ComponentResource):
    """An action group mailing the owner, the event's alert rules, and a budget."""

    action_group_id: pulumi.Output[str]
    budget_name: pulumi.Output[str]

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:Alerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        tags = dict(args.tags)

        group = monitor.ActionGroup(
            f"{name}-owner",
            resource_group_name=args.resource_group_name,
            location=GLOBAL_LOCATION,
            group_short_name=action_group_short_name(config.event_name),
            enabled=True,
            email_receivers=[{"name": "owner", "email_address": config.owner, "use_common_alert_schema": True}],
            tags=tags,
            opts=child,
        )
        self.action_group_id = group.id

        def log_alert(
            suffix: str,
            description: str,
            query: str,
            threshold: float,
            *,
            operator: str = "GreaterThan",
            measure: str | None = None,
            aggregation: str = "Maximum",
            window: str = FIVE_MINUTES,
            frequency: str = FIVE_MINUTES,
            periods: int = 1,
            severity: int = SEVERITY_ERROR,
        ) -> monitor.ScheduledQueryRule:
            condition = monitor.ConditionArgs(
                query=query,
                time_aggregation=aggregation if measure else "Count",
                metric_measure_column=measure,
                operator=operator,
                threshold=threshold,
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=periods, min_failing_periods_to_alert=periods
                ),
            )
            return monitor.ScheduledQueryRule(
                f"{name}-{suffix}",
                resource_group_name=args.resource_group_name,
                location=config.location,
                kind="LogAlert",
                description=description,
                severity=severity,
                enabled=True,
                scopes=[args.workspace_id],
                evaluation_frequency=frequency,
                window_size=window,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[condition]),
                actions=monitor.ActionsArgs(action_groups=[group.id]),
                auto_mitigate=True,
                # Tables such as AZKVAuditLogs appear in a new workspace only with their first row;
                # validating the query at creation would fail the first `pulumi up`.
                skip_query_validation=True,
                tags=tags,
                opts=child,
            )

        log_alert(
            "http-5xx",
            f"More than {config.alert_http_5xx_percent}% of requests ended in a 5xx in 5 minutes.",
            HTTP_5XX_QUERY,
            config.alert_http_5xx_percent,
            measure="percent",
        )
        log_alert(
            "http-429",
            f"More than {config.alert_http_429_per_minute} answers of 429 per minute for 15 minutes: "
            "someone is hammering the API.",
            HTTP_429_QUERY,
            config.alert_http_429_per_minute * 5,
            measure="answers",
            aggregation="Total",
            periods=SUSTAINED_PERIODS,
            severity=SEVERITY_WARNING,
        )
        log_alert(
            "keyvault-failures",
            f"Key Vault throttled or failed more than {config.alert_key_vault_failures_per_5_minutes} requests "
            "in 5 minutes: sign-in stops when signing does.",
            KEY_VAULT_FAILURE_QUERY,
            config.alert_key_vault_failures_per_5_minutes,
        )
        log_alert(
            "purge-missed",
            f"The retention purge has not completed for {config.alert_purge_missed_hours} h: "
            "personal data may outlive its deadline.",
            PURGE_COMPLETED_QUERY,
            1,
            measure="runs",
            aggregation="Total",
            operator="LessThan",
            window=window_of_hours(config.alert_purge_missed_hours),
            frequency=FIFTEEN_MINUTES,
        )

        if args.front_door_profile_id is not None:
            monitor.MetricAlert(
                f"{name}-waf-blocks",
                resource_group_name=args.resource_group_name,
                location=GLOBAL_LOCATION,
                description=f"The WAF blocked more than {config.alert_waf_blocks_per_5_minutes} requests in 5 minutes.",
                severity=SEVERITY_WARNING,
                enabled=True,
                scopes=[args.front_door_profile_id],
                evaluation_frequency="PT1M",
                window_size=FIVE_MINUTES,
                # A union-typed input: only the typed Args classes get Azure's property names.
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name="waf-blocks",
                            metric_namespace=WAF_METRIC_NAMESPACE,
                            metric_name=WAF_METRIC_NAME,
                            dimensions=[
                                monitor.MetricDimensionArgs(
                                    name="Action", operator="Include", values=[WAF_BLOCK_ACTION]
                                )
                            ],
                            operator="GreaterThan",
                            threshold=config.alert_waf_blocks_per_5_minutes,
                            time_aggregation="Total",
                        )
                    ],
                ),
                actions=[{"action_group_id": group.id}],
                auto_mitigate=True,
                tags=tags,
                opts=child,
            )

        start, end = budget_period(args.budget_start, config.data_delete_by)
        budget = consumption.Budget(
            f"{name}-budget",
            budget_name=budget_name(config.event_name, config.stack),
            scope=args.resource_group_id,
            amount=config.budget_amount,
            category="Cost",
            time_grain=BUDGET_TIME_GRAIN,
            time_period={"start_date": f"{start.isoformat()}T00:00:00Z", "end_date": f"{end.isoformat()}T00:00:00Z"},
            notifications={
                f"actual-{percent}": {
                    "enabled": True,
                    "operator": "GreaterThanOrEqualTo",
                    "threshold": percent,
                    "threshold_type": "Actual",
                    "contact_emails": [config.owner],
                    "contact_groups": [group.id],
                }
                for percent in BUDGET_THRESHOLDS_PERCENT
            },
            # The start is the month of the first `pulumi up`; a later run in another month must
            # not move it (Azure refuses a start date in an earlier month).
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["timePeriod.startDate"]),
        )
        self.budget_name = budget.name

        self.register_outputs({"action_group_id": self.action_group_id, "budget_name": self.budget_name})
