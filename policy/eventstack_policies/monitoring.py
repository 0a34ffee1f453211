"""Monitoring: Entra ID-only telemetry, the vault's audit trail and the storage logs in the stack's workspace."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationPolicy, StackValidationPolicy

from .assembly import ignoring_type, resource_policy, stack_policy
from .links import arm_id, identifies, label, lies_under, names, normalized_id, of_type, text
from .props import prop, require, sequence
from .resource_types import APP_INSIGHTS, DIAGNOSTIC_SETTINGS, KEY_VAULT, LOG_ANALYTICS_WORKSPACE, STORAGE_ACCOUNT
from .storage import STORAGE_LOGGED_SERVICES


def _app_insights_local_auth(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "disableLocalAuth", True, "telemetry is ingested with Azure AD only")


# Every read, write and delete of attendee data, by category; the `allLogs` group covers them too.
STORAGE_DATA_LOG_CATEGORIES: frozenset[str] = frozenset({"storageread", "storagewrite", "storagedelete"})
ALL_LOGS_GROUP = "alllogs"
# Log categories (or category groups) that carry the vault's audit trail.
VAULT_AUDIT_LOG_CATEGORIES: frozenset[str] = frozenset({"audit", "alllogs", "auditevent"})


DIAGNOSTIC_SETTING_INFIX = "/providers/microsoft.insights/diagnosticsettings/"


def _aimed_at(setting: PolicyResource, target: PolicyResource, sub_path: str) -> bool:
    """Whether a diagnostic setting is on `target` (or its `sub_path`, a service such as
    `blobServices/default`): its `resourceUri` names it, or else its own id lies under it."""
    suffix = f"/{sub_path}".lower() if sub_path else ""
    target_id = arm_id(target)
    full_id = f"{normalized_id(target_id)}{suffix}" if target_id else None
    uri = text(setting.props, "resourceUri")
    if uri is None:
        return lies_under(setting, full_id, DIAGNOSTIC_SETTING_INFIX)
    if full_id is not None:
        return normalized_id(uri) == full_id
    # Before Azure assigns the target's id, only its name ties the two together.
    return any(normalized_id(uri).endswith(f"/{name}{suffix}") for name in names(target))


def _diagnostics_to_workspace(
    resources: Sequence[PolicyResource], target: PolicyResource, sub_path: str = ""
) -> list[PolicyResource]:
    """The diagnostic settings on a target that deliver to the stack's own Log Analytics workspace."""
    workspaces = of_type(resources, LOG_ANALYTICS_WORKSPACE)
    return [
        setting
        for setting in of_type(resources, *DIAGNOSTIC_SETTINGS)
        if _aimed_at(setting, target, sub_path)
        and any(identifies(prop(setting.props, "workspaceId"), workspace) for workspace in workspaces)
    ]


def _enabled_entries(setting: PolicyResource, key: str) -> list[Mapping[str, Any]]:
    return [e for e in sequence(prop(setting.props, key)) if isinstance(e, Mapping) and e.get("enabled") is True]


def _log_categories(entry: Mapping[str, Any]) -> set[str]:
    return {str(entry.get(k)).lower() for k in ("category", "categoryGroup") if isinstance(entry.get(k), str)}


def _vault_audit_logs(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for vault in of_type(resources, KEY_VAULT):
        settings = _diagnostics_to_workspace(resources, vault)
        if not any(
            _log_categories(entry) & VAULT_AUDIT_LOG_CATEGORIES
            for setting in settings
            for entry in _enabled_entries(setting, "logs")
        ):
            yield (
                f"{label(vault)} sends no audit logs to the stack's Log Analytics workspace: every use of the "
                "signing key would go unrecorded",
                vault.urn,
            )


def _storage_logs(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for account in of_type(resources, STORAGE_ACCOUNT):
        to_workspace = _diagnostics_to_workspace(resources, account)
        if not any(_enabled_entries(s, "metrics") or _enabled_entries(s, "logs") for s in to_workspace):
            yield f"{label(account)} sends no metrics to the stack's Log Analytics workspace", account.urn
        for service in STORAGE_LOGGED_SERVICES:
            # Each service is its own diagnostic target; the account-level setting does not cover it.
            settings = _diagnostics_to_workspace(resources, account, f"{service}/default")
            logged = {c for s in settings for entry in _enabled_entries(s, "logs") for c in _log_categories(entry)}
            missing = set() if ALL_LOGS_GROUP in logged else STORAGE_DATA_LOG_CATEGORIES - logged
            if missing:
                yield (
                    f"{label(account)}: {service} does not send {', '.join(sorted(missing))} logs to the stack's "
                    "Log Analytics workspace, so reads, writes and deletes of attendee data go unrecorded",
                    account.urn,
                )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy(
        "app-insights-local-auth-disabled",
        "Application Insights accepts Azure AD-authenticated telemetry only.",
        ignoring_type(_app_insights_local_auth),
        frozenset({APP_INSIGHTS}),
    ),
]
STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "vault-audit-logs-to-workspace",
        "Every key vault sends its audit logs to the stack's Log Analytics workspace.",
        _vault_audit_logs,
    ),
    stack_policy(
        "storage-logs-to-workspace",
        "Every storage account sends metrics, and blob, table and queue logs, to the stack's workspace.",
        _storage_logs,
    ),
]
