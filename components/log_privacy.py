"""Which resource logs carry attendees' personal data, and whether a destination keeps them too long.

A diagnostic setting may send a category that carries a client's IP address (or a request URI with
its query) only to a destination that deletes every record by `dataDeleteBy`, or through a
transformation that removes those fields. Log Analytics keeps a record at least 4 days in any
table (30 days at workspace level for PerGB2018) and the `AzureDiagnostics` table, where Front
Door's logs land, takes no ingestion-time transformation ("Supported logs for
Microsoft.Cdn/profiles", "Manage data retention in a Log Analytics workspace", learn.microsoft.com).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HOURS_PER_DAY = 24
# Resource-log categories holding a client's IP address or full request URI, by ARM resource type.
# Front Door: `clientIp`, `socketIp` and `requestUri` in the access log, `clientIP` and `requestUri`
# in the WAF log. App Service HTTP and IP-security audit logs: `CIp` and `CsUriQuery`.
PERSONAL_LOG_CATEGORIES: Mapping[str, frozenset[str]] = {
    "microsoft.cdn/profiles": frozenset({"frontdooraccesslog", "frontdoorwebapplicationfirewalllog"}),
    "microsoft.web/sites": frozenset({"appservicehttplogs", "appserviceipsecauditlogs"}),
}
# A category group stands for every category of the resource, including future ones.
CATEGORY_GROUPS: frozenset[str] = frozenset({"alllogs", "audit"})
_ARM_TYPE = re.compile(r"/providers/([^/]+/[^/]+)/[^/]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Destination:
    """Where a diagnostic setting sends logs, and how long it keeps a record (None: no stated end)."""

    label: str
    retention_hours: float | None
    removes_personal_fields: bool = False


def arm_type(resource_id: str) -> str:
    """The lower-cased ARM type (`microsoft.cdn/profiles`) of a top-level resource id."""
    match = _ARM_TYPE.search(resource_id.rstrip("/"))
    return match.group(1).lower() if match else ""


def personal_categories_sent(resource_id: str, logs: Iterable[Mapping[str, Any]]) -> set[str]:
    """The enabled log categories of a diagnostic setting that carry personal data."""
    personal = PERSONAL_LOG_CATEGORIES.get(arm_type(resource_id), frozenset())
    sent: set[str] = set()
    for entry in logs:
        if entry.get("enabled") is not True:
            continue
        name = str(entry.get("category") or entry.get("categoryGroup") or "").lower()
        if name in CATEGORY_GROUPS:
            sent |= personal
        elif name in personal:
            sent.add(name)
    return sent


def outlives_deletion(destination: Destination, retention_hours: int) -> bool:
    """Whether a record logged at the event's end would still be kept after `dataDeleteBy`."""
    if destination.removes_personal_fields:
        return False
    return destination.retention_hours is None or destination.retention_hours > retention_hours


def workspace_destination(label: str, retention_in_days: int | None) -> Destination:
    """A Log Analytics workspace: its records live `retention_in_days` (30 when unset)."""
    return Destination(label, (retention_in_days or 30) * HOURS_PER_DAY)
