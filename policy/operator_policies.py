"""What the pack must know about the operator's resources: the alert rules and the action group.

Alert rules and action groups take tags like every other resource, so the tag rules ask them for
the stack's tags. Action groups and metric alerts are global resources: Azure accepts no region
for them, so the location rule lets them say `global` (log alerts stay in the stack's region).
A budget takes neither tags nor a location.
"""

from __future__ import annotations

ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"

OPERATOR_TAGGABLE_TYPES: frozenset[str] = frozenset({ACTION_GROUP, METRIC_ALERT, SCHEDULED_QUERY_RULE})
OPERATOR_GLOBAL_LOCATION_TYPES: frozenset[str] = frozenset({ACTION_GROUP, METRIC_ALERT})
