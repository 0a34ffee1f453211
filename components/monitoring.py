"""Monitoring: a Log Analytics workspace, workspace-based Application Insights, diagnostic settings.

Public network access stays on for ingestion and query. Turning it off needs an Azure Monitor
Private Link Scope, which takes over name resolution of every Azure Monitor endpoint for the whole
VNet and is shared per DNS zone; for a short-lived stack that is more moving parts than it buys.
Instead nothing accepts anonymous traffic: Application Insights has local (instrumentation key)
authentication off, so ingestion needs an Entra ID token of the app's identity, and the workspace
has local (shared key) authentication off, so queries need Entra ID and Azure RBAC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

WORKSPACE_SKU = "PerGB2018"
PUBLIC_NETWORK_ACCESS = "Enabled"
# `audit` is what an incident review reads first; `allLogs` adds the rest (data-plane reads and
# writes). Both are category groups, so new categories Azure adds later are collected too.
LOG_CATEGORY_GROUPS: tuple[str, ...] = ("audit", "allLogs")
METRIC_CATEGORIES: tuple[str, ...] = ("AllMetrics",)


@dataclass(frozen=True)
class MonitoringArgs:
    """What the Monitoring component needs."""

    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    location: str
    """Azure region of the workspace and Application Insights."""
    log_retention_days: int
    """Workspace retention (validated in config: 30-90 days)."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""


class Monitoring(pulumi.ComponentResource):
    """Log Analytics + Application Insights (local auth off), and diagnostic settings into them."""

    workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]
    app_insights_name: pulumi.Output[str]
    app_insights_connection_string: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": WORKSPACE_SKU},
            retention_in_days=args.log_retention_days,
            features={
                "disable_local_auth": True,
                # Readers of one resource's logs need rights on that resource, not the workspace.
                "enable_log_access_using_only_resource_permissions": True,
            },
            public_network_access_for_ingestion=PUBLIC_NETWORK_ACCESS,
            public_network_access_for_query=PUBLIC_NETWORK_ACCESS,
            tags=tags,
            opts=child,
        )
        app_insights = applicationinsights.Component(
            f"{name}-appi",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            workspace_resource_id=workspace.id,
            ingestion_mode="LogAnalytics",
            disable_local_auth=True,
            # Client IPs are personal data: keep Application Insights' masking on.
            disable_ip_masking=False,
            public_network_access_for_ingestion=PUBLIC_NETWORK_ACCESS,
            public_network_access_for_query=PUBLIC_NETWORK_ACCESS,
            tags=tags,
            opts=child,
        )

        self.workspace_id = workspace.id
        self.app_insights_id = app_insights.id
        self.app_insights_name = app_insights.name
        # Not a credential with local auth off, but it names the ingestion target: keep it out of
        # plain-text state anyway.
        self.app_insights_connection_string = pulumi.Output.secret(app_insights.connection_string)
        self.register_outputs(
            {
                "workspace_id": self.workspace_id,
                "app_insights_id": self.app_insights_id,
                "app_insights_name": self.app_insights_name,
                "app_insights_connection_string": self.app_insights_connection_string,
            }
        )

    def diagnostics(
        self,
        name: str,
        resource_id: pulumi.Input[str],
        parent: pulumi.Resource,
        *,
        log_category_groups: Sequence[str] = LOG_CATEGORY_GROUPS,
        metric_categories: Sequence[str] = METRIC_CATEGORIES,
        log_categories: Sequence[str] = (),
    ) -> monitor.DiagnosticSetting:
        """Send `resource_id`'s audit and all other logs, and its metrics, to the workspace.

        The setting is parented to `parent` (the component that owns the resource). Resource types
        differ: a storage account itself has no logs and only the `Transaction` metric (pass
        `log_category_groups=()`); its logs live on `<account id>/blobServices/default` and the
        table and queue services. `log_categories` names single categories (e.g. `StorageRead`) for
        resources where the named categories are what must be shown to be on.
        """
        return monitor.DiagnosticSetting(
            name,
            name=name,
            resource_uri=resource_id,
            workspace_id=self.workspace_id,
            # Resource-specific tables rather than the shared AzureDiagnostics table.
            log_analytics_destination_type="Dedicated",
            logs=[
                *(
                    monitor.DiagnosticsLogSettingsArgs(category_group=group, enabled=True)
                    for group in log_category_groups
                ),
                *(monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in log_categories),
            ],
            metrics=[{"category": category, "enabled": True} for category in metric_categories],
            opts=pulumi.ResourceOptions(parent=parent),
        )
