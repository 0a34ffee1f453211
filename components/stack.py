"""EventStack: the whole deployment, composed from one component per concern."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import resources

from components.alerts import Alerts, AlertsArgs, budget_start_now
from components.config import StackConfig
from components.edge import Edge, EdgeArgs, waf_policy_name
from components.function_app import EdgeAccess, FunctionApp, FunctionAppArgs, default_host_name, function_app_name
from components.identity import Identities, IdentitiesArgs
from components.keyvault import KeyVault, KeyVaultArgs
from components.lifecycle import KeyExpiries
from components.monitoring import Monitoring, MonitoringArgs
from components.naming import StackNames, stack_tags
from components.network import Network, NetworkArgs
from components.package import BundleArgs, HostHttpSettings, build_bundle
from components.storage import Storage, StorageArgs


class EventStack(pulumi.ComponentResource):
    """Everything one event needs, inside one dedicated resource group: the blast radius."""

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    egress_ip: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    key_vault_name: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str]
    function_app_name: pulumi.Output[str]
    app_url: pulumi.Output[str]
    jwks_url: pulumi.Output[str]
    wall_url: pulumi.Output[str]
    join_url: pulumi.Output[str]
    github_callback_url: pulumi.Output[str]
    # The edge's Front Door profile, when the stack builds one: it turns the WAF alert on.
    front_door_profile_id: pulumi.Output[str] | None = None

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:index:EventStack", name, None, opts)
        tags = stack_tags(config)
        self.names = StackNames(f"{name}-names", config, opts=pulumi.ResourceOptions(parent=self))

        group = resources.ResourceGroup(
            f"{name}-rg",
            location=config.location,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.resource_group_name = group.name
        self.resource_group_id = group.id

        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                resource_group_name=group.name,
                location=config.location,
                vnet_name=self.names.vnet,
                address_space=config.vnet_address_space,
                integration_subnet=config.integration_subnet,
                private_endpoint_subnet=config.private_endpoint_subnet,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.egress_ip = self.network.egress_ip

        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                resource_group_name=group.name,
                location=config.location,
                log_retention_days=config.log_retention_days,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.identities = Identities(
            f"{name}-identities",
            IdentitiesArgs(
                resource_group_name=group.name,
                location=config.location,
                app_insights_id=self.monitoring.app_insights_id,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.key_vault = KeyVault(
            f"{name}-keyvault",
            KeyVaultArgs(
                resource_group_name=group.name,
                location=config.location,
                vault_name=self.names.key_vault,
                sku=config.key_vault_sku,
                signing_key_rotation_days=config.signing_key_rotation_days,
                app_principal_id=self.identities.app_principal_id,
                network=self.network,
                monitoring=self.monitoring,
                tags=tags,
                expiries=KeyExpiries.from_config(config),
                sealed=config.sealed,
                github_client_secret=config.github_client_secret,
                allowed_github_logins=config.allowed_github_logins,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_vault_name = self.key_vault.vault_name
        self.key_vault_uri = self.key_vault.vault_uri

        self.storage = Storage(
            f"{name}-storage",
            StorageArgs(
                resource_group_name=group.name,
                location=config.location,
                account_name=self.names.storage_account,
                retention_hours=config.retention_hours,
                blob_soft_delete_days=config.blob_soft_delete_days,
                key_vault_uri=self.key_vault.vault_uri,
                encryption_key_name=self.key_vault.storage_key_name,
                encryption_key_id=self.key_vault.storage_key_id,
                encryption_identity_id=self.identities.encryption_identity_id,
                encryption_principal_id=self.identities.encryption_principal_id,
                app_principal_id=self.identities.app_principal_id,
                network=self.network,
                monitoring=self.monitoring,
                tags=tags,
                sealed=config.sealed,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.storage_account_name = self.storage.account_name

        app_name = self.names.suffix.apply(lambda suffix: function_app_name(config.event_name, suffix))
        # The edge comes first: the site admits only its Front Door id, and the edge's origin is the
        # site's host name, which is known from the site's name before the site exists.
        self.edge: Edge | None = None
        edge_access: EdgeAccess | None = None
        if config.edge_enabled:
            self.edge = Edge(
                f"{name}-edge",
                EdgeArgs(
                    config=config,
                    resource_group_name=group.name,
                    origin_host=app_name.apply(default_host_name),
                    waf_policy_name=self.names.suffix.apply(lambda suffix: waf_policy_name(config.event_name, suffix)),
                    monitoring=self.monitoring,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            edge_access = EdgeAccess(front_door_id=self.edge.front_door_id, public_host=self.edge.host_name)
            # The WAF's blocks are metrics of the profile: the alerts watch them when the edge is on.
            self.front_door_profile_id = self.edge.profile_id

        # Built while the program runs, so that `pulumi preview` already shows a code change.
        bundle = build_bundle(BundleArgs(http=HostHttpSettings.from_config(config)))
        self.function_app = FunctionApp(
            f"{name}-functions",
            FunctionAppArgs(
                config=config,
                resource_group_name=group.name,
                app_name=app_name,
                integration_subnet_id=self.network.integration_subnet_id,
                app_identity_id=self.identities.app_identity_id,
                app_client_id=self.identities.app_client_id,
                storage_account_name=self.storage.account_name,
                table_endpoint=self.storage.table_endpoint,
                deployment_container_url=self.storage.deployment_container_url,
                key_vault_uri=self.key_vault.vault_uri,
                signing_key_name=self.key_vault.signing_key_name,
                pepper_secret_name=self.key_vault.pepper_secret_name,
                github_secret_name=self.key_vault.github_secret_name,
                login_digests=self.key_vault.login_digests,
                app_insights_connection_string=self.monitoring.app_insights_connection_string,
                bundle=bundle,
                tags=tags,
                # The storage component holds the identity's grant on the deployment container,
                # which the platform needs to write the package into it.
                deployment_depends_on=[self.storage],
                edge=edge_access,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function_app_name = self.function_app.app_name
        self.app_url = self.function_app.app_url
        self.jwks_url = self.function_app.jwks_url
        self.wall_url = self.function_app.wall_url
        self.join_url = self.function_app.join_url
        self.github_callback_url = self.function_app.github_callback_url

        self.alerts = Alerts(
            f"{name}-alerts",
            AlertsArgs(
                config=config,
                resource_group_name=group.name,
                resource_group_id=group.id,
                workspace_id=self.monitoring.workspace_id,
                budget_start=budget_start_now(),
                tags=tags,
                front_door_profile_id=self.front_door_profile_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "resource_group_id": self.resource_group_id,
                "egress_ip": self.egress_ip,
                "storage_account_name": self.storage_account_name,
                "key_vault_name": self.key_vault_name,
                "key_vault_uri": self.key_vault_uri,
                "function_app_name": self.function_app_name,
                "app_url": self.app_url,
                "jwks_url": self.jwks_url,
                "wall_url": self.wall_url,
                "join_url": self.join_url,
                "github_callback_url": self.github_callback_url,
            }
        )
