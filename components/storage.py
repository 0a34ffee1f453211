"""The only place attendee data lives: a storage account nobody reaches without an identity.

No shared keys (so no connection strings and no account SAS), no public network, a
customer-managed key from the stack's vault on top of infrastructure encryption, short soft
delete, and a lifecycle rule that deletes attendee blobs once the retention window has passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, storage

from components.identity import grant
from components.monitoring import Monitoring
from components.network import Network
from components.propagation import GrantPropagation, GrantPropagationArgs

# The tables the app reads and writes (function_code/eventapi uses the same names).
ATTENDEES_TABLE = "attendees"
SESSIONS_TABLE = "sessions"
DEVICE_CODES_TABLE = "devicecodes"
LIGHTS_TABLE = "lights"
QUOTAS_TABLE = "quotas"
TABLES: tuple[str, ...] = (ATTENDEES_TABLE, SESSIONS_TABLE, DEVICE_CODES_TABLE, LIGHTS_TABLE, QUOTAS_TABLE)

# Blob containers that may hold personal data. The lifecycle rule covers exactly these: its
# filters can only include by prefix, so a container missing here is never cleaned up.
ATTENDEE_CONTAINERS: tuple[str, ...] = ("attendee-data",)
# The Flex Consumption deployment package: code, not personal data, so the rule leaves it alone.
DEPLOYMENT_CONTAINER = "app-package"
# The Functions host's containers (AzureWebJobsStorage): leases and locks (the timer trigger's
# singleton) in azure-webjobs-hosts, function keys in azure-webjobs-secrets. Created here, so the
# app's identity is granted on each of them instead of the whole account: code running in the app
# can then neither read another container nor touch the account's other services.
HOST_CONTAINERS: tuple[str, ...] = ("azure-webjobs-hosts", "azure-webjobs-secrets")

# Zone-redundant within the one EU region: a zone outage takes neither the data nor the Functions
# host's storage down (a zone-redundant Flex plan requires ZRS host storage). Not geo-redundant:
# the data lives for days and stays in the stack's region.
STORAGE_SKU = "Standard_ZRS"
LIFECYCLE_RULE_NAME = "delete-attendee-blobs-after-retention"
# Azure names the one lifecycle policy of an account `default`; any other name is refused.
LIFECYCLE_POLICY_NAME = "default"
HOURS_PER_DAY = 24

# Private endpoint sub-resources: blob (host storage, deployment package), table (the app's
# data), queue (the Functions host's internal queues).
PRIVATE_LINK_GROUPS: tuple[str, ...] = ("blob", "table", "queue")
# Storage diagnostic logs live on each service, not on the account; the account has only metrics.
LOGGED_SERVICES: tuple[str, ...] = ("blobServices", "tableServices", "queueServices")
STORAGE_METRICS: tuple[str, ...] = ("Transaction",)
# Named categories rather than a category group, so that every read, write and delete of attendee
# data is logged by name on each service (what a scanner checks for).
STORAGE_LOG_CATEGORIES: tuple[str, ...] = ("StorageRead", "StorageWrite", "StorageDelete")


def lifecycle_days(retention_hours: int) -> int:
    """Whole days for the lifecycle rule: the retention window rounded up, at least one day.

    Lifecycle rules count in days and run about once a day, so a blob can outlive the window by
    up to a day; the app's own purge timer removes table rows on the hour.
    """
    return max(1, math.ceil(retention_hours / HOURS_PER_DAY))


def lifecycle_policy(retention_hours: int) -> storage.ManagementPolicySchemaArgs:
    """One rule: delete blobs (and their snapshots) in the attendee containers after the window."""
    days = lifecycle_days(retention_hours)
    return storage.ManagementPolicySchemaArgs(
        rules=[
            storage.ManagementPolicyRuleArgs(
                name=LIFECYCLE_RULE_NAME,
                type=storage.RuleType.LIFECYCLE,
                enabled=True,
                definition=storage.ManagementPolicyDefinitionArgs(
                    filters=storage.ManagementPolicyFilterArgs(
                        blob_types=["blockBlob", "appendBlob"],
                        prefix_match=[f"{container}/" for container in ATTENDEE_CONTAINERS],
                    ),
                    actions=storage.ManagementPolicyActionArgs(
                        # Counted from creation: a blob that keeps changing still goes.
                        base_blob=storage.ManagementPolicyBaseBlobArgs(
                            delete=storage.DateAfterModificationArgs(days_after_creation_greater_than=days),
                        ),
                        snapshot=storage.ManagementPolicySnapShotArgs(
                            delete=storage.DateAfterCreationArgs(days_after_creation_greater_than=days),
                        ),
                    ),
                ),
            )
        ]
    )


def _account_encryption(
    key_vault_uri: pulumi.Input[str], key_name: pulumi.Input[str], identity_id: pulumi.Input[str]
) -> storage.EncryptionArgs:
    account_key = storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
    return storage.EncryptionArgs(
        key_source=storage.KeySource.MICROSOFT_KEYVAULT,
        # No key version: the account follows the key's rotations on its own.
        key_vault_properties=storage.KeyVaultPropertiesArgs(key_vault_uri=key_vault_uri, key_name=key_name),
        encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=identity_id),
        # A second, platform-managed layer of encryption underneath the customer-managed key.
        require_infrastructure_encryption=True,
        # Tables and queues default to service-scoped keys, which the customer-managed key does
        # not cover; account-scoped keys put them under it too.
        services=storage.EncryptionServicesArgs(
            blob=account_key, file=account_key, table=account_key, queue=account_key
        ),
    )


@dataclass(frozen=True)
class StorageArgs:
    """What the storage account needs: where, how long data lives, its key, and who uses it."""

    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    location: str
    """Azure region."""
    account_name: pulumi.Input[str]
    """Globally unique account name with the per-stack suffix."""
    retention_hours: int
    """How long attendee data is kept; drives the lifecycle rule."""
    blob_soft_delete_days: int
    """How long deleted blobs and containers stay recoverable (they may hold personal data)."""
    key_vault_uri: pulumi.Input[str]
    """The vault holding the customer-managed key."""
    encryption_key_name: pulumi.Input[str]
    """Name of the RSA key that wraps the account's keys."""
    encryption_key_id: pulumi.Input[str]
    """ARM id of that key: the scope of the encryption identity's role."""
    encryption_identity_id: pulumi.Input[str]
    """User-assigned identity the storage service uses to reach the key."""
    encryption_principal_id: pulumi.Input[str]
    """Its principal id."""
    app_principal_id: pulumi.Input[str]
    """The app identity: the Functions host's storage and the app's tables."""
    network: Network
    """Provides the blob, table and queue private endpoints."""
    monitoring: Monitoring
    """Receives the account's metrics and the services' logs."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""
    sealed: bool
    """True withdraws the storage service's grant on its key: every data request then gets 403."""


class Storage(pulumi.ComponentResource):
    """The encrypted, private storage account with the app's tables and containers."""

    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    blob_endpoint: pulumi.Output[str]
    table_endpoint: pulumi.Output[str]
    queue_endpoint: pulumi.Output[str]
    deployment_container_url: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        client = authorization.get_client_config_output()

        # The account is created with the customer-managed key already in place, so the
        # storage service must be allowed to use the key before the account exists.
        # Sealing withdraws the grant: with its key unreachable the account answers every data
        # request with 403 until `sealed: false` grants it again (reversible, not crypto-shredding).
        # The grant applies up to 10 minutes after Azure answers it: the account is created only
        # after that long (components/propagation.py). The wait stays when sealing withdraws the
        # grant, so that restoring it later does not wait again.
        key_grants = (
            []
            if args.sealed
            else [
                grant(
                    f"{name}-encryption-uses-key",
                    "Key Vault Crypto Service Encryption User",
                    scope=args.encryption_key_id,
                    principal_id=args.encryption_principal_id,
                    parent=self,
                    subscription_id=client.subscription_id,
                )
            ]
        )
        key_grant_applied = GrantPropagation(
            f"{name}-encryption-grant-applied",
            GrantPropagationArgs(guards=args.account_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=key_grants),
        )

        account = storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=STORAGE_SKU),
            access_tier=storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # Entra ID only: without shared keys there is no connection string or account SAS
            # that could leak.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            allowed_copy_scope=storage.AllowedCopyScope.PRIVATE_LINK,
            is_local_user_enabled=False,
            is_sftp_enabled=False,
            public_network_access=storage.PublicNetworkAccess.DISABLED,
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass=storage.Bypass.NONE,
            ),
            identity=storage.IdentityArgs(
                type=storage.IdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.encryption_identity_id],
            ),
            encryption=_account_encryption(args.key_vault_uri, args.encryption_key_name, args.encryption_identity_id),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*key_grants, key_grant_applied]),
        )

        storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=args.blob_soft_delete_days),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.blob_soft_delete_days
            ),
            # Versions would keep every overwritten copy of personal data past its deletion.
            is_versioning_enabled=False,
            opts=child,
        )

        tables = {
            table_name: storage.Table(
                f"{name}-{table_name}-table",
                table_name=table_name,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                opts=child,
            )
            for table_name in TABLES
        }
        containers = {
            container: storage.BlobContainer(
                f"{name}-{container}-container",
                container_name=container,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                public_access=storage.PublicAccess.NONE,
                opts=child,
            )
            for container in (*ATTENDEE_CONTAINERS, DEPLOYMENT_CONTAINER, *HOST_CONTAINERS)
        }

        storage.ManagementPolicy(
            f"{name}-lifecycle",
            management_policy_name=LIFECYCLE_POLICY_NAME,
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            policy=lifecycle_policy(args.retention_hours),
            opts=child,
        )

        for table_name, table in tables.items():
            grant(
                f"{name}-app-uses-{table_name}",
                "Storage Table Data Contributor",
                scope=table.id,
                principal_id=args.app_principal_id,
                parent=self,
                subscription_id=client.subscription_id,
            )
        for container in HOST_CONTAINERS:
            grant(
                f"{name}-host-storage-{container}",
                "Storage Blob Data Owner",
                scope=containers[container].id,
                principal_id=args.app_principal_id,
                parent=self,
                subscription_id=client.subscription_id,
            )
        grant(
            f"{name}-deployment-package",
            "Storage Blob Data Contributor",
            scope=containers[DEPLOYMENT_CONTAINER].id,
            principal_id=args.app_principal_id,
            parent=self,
            subscription_id=client.subscription_id,
        )

        for group_id in PRIVATE_LINK_GROUPS:
            args.network.private_endpoint(f"{name}-{group_id}-pe", account.id, group_id, parent=self)
        args.monitoring.diagnostics(
            f"{name}-diagnostics", account.id, parent=self, log_category_groups=(), metric_categories=STORAGE_METRICS
        )
        for service in LOGGED_SERVICES:
            args.monitoring.diagnostics(
                f"{name}-{service}-diagnostics",
                pulumi.Output.concat(account.id, f"/{service}/default"),
                parent=self,
                log_category_groups=(),
                log_categories=STORAGE_LOG_CATEGORIES,
                metric_categories=STORAGE_METRICS,
            )

        endpoints = account.primary_endpoints
        self.account_id = account.id
        self.account_name = account.name
        self.blob_endpoint = endpoints.blob
        self.table_endpoint = endpoints.table
        self.queue_endpoint = endpoints.queue
        self.deployment_container_url = endpoints.blob.apply(lambda url: f"{url.rstrip('/')}/{DEPLOYMENT_CONTAINER}")
        self.register_outputs(
            {
                "account_id": self.account_id,
                "account_name": self.account_name,
                "blob_endpoint": self.blob_endpoint,
                "table_endpoint": self.table_endpoint,
                "queue_endpoint": self.queue_endpoint,
                "deployment_container_url": self.deployment_container_url,
            }
        )
