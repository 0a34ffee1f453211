"""The operator's rules: someone is paged when the event goes wrong, and the cost has a watcher.

`OPERATOR_POLICIES` are stack rules (they see every resource at once, as the other stack rules
do): an action group that mails someone, log alert rules that all page it, and a budget that
notifies at 50, 80 and 100 %. Links are matched by ARM id; during a preview of a new stack ids are
unknown and the runtime reports these checks as advisory, then enforces them in `pulumi up`.

The type sets tell the shared rules about these resources: alert rules and action groups take
tags like every other resource; action groups and metric alerts are global (Azure accepts no
region for them), log alerts stay in the stack's region; a budget takes neither tags nor a region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import MISSING, prop, resource_type_token

ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
BUDGET = "azure-native:consumption:Budget"

OPERATOR_TAGGABLE_TYPES: frozenset[str] = frozenset({ACTION_GROUP, METRIC_ALERT, SCHEDULED_QUERY_RULE})
OPERATOR_GLOBAL_LOCATION_TYPES: frozenset[str] = frozenset({ACTION_GROUP, METRIC_ALERT})

# The budget's notification steps, in per cent of its amount (the 50/80/100).
BUDGET_THRESHOLDS_PERCENT: frozenset[int] = frozenset({50, 80, 100})

Finding = tuple[str, str | None]


def _type(resource: PolicyResource) -> str:
    return resource_type_token(resource.resource_type)


def _get(props: Any, path: str) -> Any:
    # None, not MISSING, for an absent value: these rules treat absent and null alike.
    value = prop(props, path)
    return None if value is MISSING else value


def _items(value: Any) -> Sequence[Any]:
    return value if isinstance(value, Sequence) and not isinstance(value, str) else ()


def _of_type(resources: Sequence[PolicyResource], type_name: str) -> list[PolicyResource]:
    return [r for r in resources if _type(r) == type_name]


def _label(resource: PolicyResource) -> str:
    return f"{_type(resource).rsplit(':', 1)[-1]} {resource.name}"


def _mails_someone(group: PolicyResource) -> bool:
    if _get(group.props, "enabled") is False:
        return False
    return any(
        isinstance(_get(receiver, "emailAddress"), str) and _get(receiver, "emailAddress")
        for receiver in _items(_get(group.props, "emailReceivers"))
    )


def _paged_groups(rule: PolicyResource) -> list[str]:
    if _type(rule) == SCHEDULED_QUERY_RULE:
        return [str(ref) for ref in _items(_get(rule.props, "actions.actionGroups"))]
    return [str(_get(action, "actionGroupId")) for action in _items(_get(rule.props, "actions"))]


def _group_reference(group: PolicyResource) -> str:
    """What a reference to the group ends with: its id, or (ids not yet known) its group and name."""
    group_id = _get(group.props, "id")
    if isinstance(group_id, str) and group_id:
        return group_id.lower()
    resource_group = _get(group.props, "resourceGroupName")
    path = f"/resourcegroups/{resource_group}" if isinstance(resource_group, str) else ""
    return f"{path}/providers/microsoft.insights/actiongroups/{_get(group.props, 'name')}".lower()


def _owner_is_paged(resources: Sequence[PolicyResource]) -> Iterator[Finding]:
    mailing = [_group_reference(g) for g in _of_type(resources, ACTION_GROUP) if _mails_someone(g)]
    if not mailing:
        yield "the stack has no enabled action group that mails someone: every alert would page nobody", None
    if not _of_type(resources, SCHEDULED_QUERY_RULE):
        yield "the stack has no log alert rules: 5xx, 429, Key Vault and purge failures would go unnoticed", None
    for rule in _of_type(resources, SCHEDULED_QUERY_RULE) + _of_type(resources, METRIC_ALERT):
        if _get(rule.props, "enabled") is False:
            yield f"{_label(rule)} is disabled", rule.urn
        if not any(ref.lower().endswith(group) for ref in _paged_groups(rule) for group in mailing):
            yield f"{_label(rule)} pages no action group of this stack that mails someone", rule.urn


def _notified_thresholds(budget: PolicyResource) -> set[int]:
    notifications = _get(budget.props, "notifications")
    found: set[int] = set()
    if not isinstance(notifications, Mapping):
        return found
    for notification in notifications.values():
        threshold = _get(notification, "threshold")
        reaches = _items(_get(notification, "contactEmails")) or _items(_get(notification, "contactGroups"))
        if _get(notification, "enabled") is not False and isinstance(threshold, int | float) and reaches:
            found.add(int(threshold))
    return found


def _budget_notifies(resources: Sequence[PolicyResource]) -> Iterator[Finding]:
    budgets = _of_type(resources, BUDGET)
    if not budgets:
        yield "the stack has no budget: nobody hears of the cost before the invoice", None
    for budget in budgets:
        missing = sorted(BUDGET_THRESHOLDS_PERCENT - _notified_thresholds(budget))
        if missing:
            shown = ", ".join(f"{p} %" for p in missing)
            yield f"{_label(budget)} notifies nobody at {shown} of its amount", budget.urn


def _stack_policy(
    name: str, description: str, check: Callable[[Sequence[PolicyResource]], Iterator[Finding]]
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in check(args.resources):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


OPERATOR_POLICIES: list[StackValidationPolicy] = [
    _stack_policy(
        "owner-is-paged",
        "An action group mails someone, and every alert rule (there are log alerts) pages it.",
        _owner_is_paged,
    ),
    _stack_policy(
        "budget-notifies-at-50-80-100",
        "The stack has a budget that notifies someone at 50, 80 and 100 % of its amount.",
        _budget_notifies,
    ),
]
