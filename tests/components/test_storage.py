"""The storage account: identity-only, private, doubly encrypted with a vault key, self-cleaning."""

from __future__ import annotations

import ipaddress

import pulumi
import pytest

from components.identity import role_name
from components.monitoring import Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs
from components.propagation import GRANT_PROPAGATION_SECONDS, GrantPropagationProvider
from components.storage import (
    ATTENDEE_CONTAINERS,
    DEPLOYMENT_CONTAINER,
    HOST_CONTAINERS,
    TABLES,
    Storage,
    StorageArgs,
    lifecycle_days,
)
from dev.offline import SUBSCRIPTION_ID, ProgramRun, RecordingMonitor, RegisteredResource
from tests.conftest import run_with

STORAGE = "eventstack:azure:Storage"
ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
TABLE = "azure-native:storage:Table"
CONTAINER = "azure-native:storage:BlobContainer"
POLICY = "azure-native:storage:ManagementPolicy"
KEY = "azure-native:keyvault:Key"
VAULT = "azure-native:keyvault:Vault"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:network:PrivateEndpoint"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
GRANT_PROPAGATION = "pulumi-python:dynamic/eventstack:GrantPropagation"


def _identity(run: ProgramRun, name: str) -> RegisteredResource:
    (identity,) = [r for r in run.resources if r.name == name]
    return identity


def _lifecycle_rule(run: ProgramRun) -> dict[str, object]:
    (rule,) = run.one(POLICY).inputs["policy"]["rules"]
    assert isinstance(rule, dict)
    return rule


def test_the_account_accepts_identities_only(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT).inputs
    assert account["allowSharedKeyAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    assert account["allowBlobPublicAccess"] is False
    assert account["isLocalUserEnabled"] is False
    assert account["isSftpEnabled"] is False


def test_the_account_is_https_only_with_tls_1_2(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT).inputs
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"


def test_the_account_is_private_and_keeps_data_in_the_tenant(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT).inputs
    assert account["publicNetworkAccess"] == "Disabled"
    assert account["networkRuleSet"]["defaultAction"] == "Deny"
    assert account["networkRuleSet"]["bypass"] == "None"
    assert not account["networkRuleSet"].get("ipRules")
    assert not account["networkRuleSet"].get("virtualNetworkRules")
    assert account["allowCrossTenantReplication"] is False
    assert account["allowedCopyScope"] == "PrivateLink"


def test_the_account_is_a_storage_v2_account_with_the_per_stack_name(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT)
    assert account.inputs["kind"] == "StorageV2"
    suffix = dev_stack.one("random:index/randomString:RandomString").outputs["result"]
    assert account.inputs["accountName"] == f"stconfdemo{suffix}"
    assert dev_stack.outputs["storageAccountName"] == account.inputs["accountName"]


def test_every_service_is_encrypted_twice_under_the_customer_managed_key(dev_stack: ProgramRun) -> None:
    encryption = dev_stack.one(ACCOUNT).inputs["encryption"]
    assert encryption["requireInfrastructureEncryption"] is True
    assert encryption["keySource"] == "Microsoft.Keyvault"
    for service in ("blob", "table", "queue"):
        assert encryption["services"][service] == {"enabled": True, "keyType": "Account"}, service


def test_the_customer_managed_key_is_the_vault_storage_key_reached_by_the_encryption_identity(
    dev_stack: ProgramRun,
) -> None:
    account = dev_stack.one(ACCOUNT)
    encryption = account.inputs["encryption"]
    vault = dev_stack.one(VAULT)
    (storage_key,) = [k for k in dev_stack.of_type(KEY) if "wrapKey" in k.inputs["properties"]["keyOps"]]
    assert encryption["keyVaultProperties"]["keyVaultUri"] == vault.outputs["properties"]["vaultUri"]
    assert encryption["keyVaultProperties"]["keyName"] == storage_key.outputs["name"]
    # No version: the account follows the key's rotations.
    assert not encryption["keyVaultProperties"].get("keyVersion")
    identity = _identity(dev_stack, "eventstack-identities-storage-encryption")
    assert encryption["encryptionIdentity"]["encryptionUserAssignedIdentity"] == identity.id
    assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}


def test_the_account_waits_for_the_encryption_identity_to_be_allowed_to_use_the_key(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT)
    (storage_key,) = [k for k in dev_stack.of_type(KEY) if "wrapKey" in k.inputs["properties"]["keyOps"]]
    principal = _identity(dev_stack, "eventstack-identities-storage-encryption").outputs["principalId"]
    (key_grant,) = [
        r
        for r in dev_stack.of_type(ROLE_ASSIGNMENT)
        if r.inputs["scope"] == storage_key.id and r.inputs["principalId"] == principal
    ]
    assert role_name(key_grant.inputs["roleDefinitionId"]) == "Key Vault Crypto Service Encryption User"
    assert key_grant.urn in account.dependencies
    # ... and for the time Azure documents for a new grant to apply, counted from the grant.
    (applied,) = dev_stack.of_type(GRANT_PROPAGATION)
    assert applied.urn in account.dependencies
    assert key_grant.urn in applied.dependencies
    assert applied.inputs["seconds"] == GRANT_PROPAGATION_SECONDS == 600
    assert applied.inputs["guards"] == account.inputs["accountName"]


def test_the_wait_sleeps_on_create_only() -> None:
    slept: list[float] = []
    provider = GrantPropagationProvider(sleep=slept.append)
    result = provider.create({"guards": "stconfdemo", "seconds": 600})
    assert slept == [600]
    assert result.outs is not None
    assert result.outs["waited_seconds"] == 600
    # Restoring a withdrawn grant, or a changed duration, changes nothing: no second wait.
    same = provider.diff(result.id, {"guards": "stconfdemo", "seconds": 600}, {"guards": "stconfdemo", "seconds": 60})
    assert same.changes is False
    # Another account is created after a wait of its own.
    other = provider.diff(result.id, {"guards": "stconfdemo", "seconds": 600}, {"guards": "stother", "seconds": 600})
    assert other.changes is True
    assert other.replaces == ["guards"]


def test_deleted_blobs_and_containers_stay_recoverable_only_briefly(dev_stack: ProgramRun) -> None:
    service = dev_stack.one(BLOB_SERVICE)
    assert service.inputs["accountName"] == dev_stack.one(ACCOUNT).outputs["name"]
    assert service.inputs["blobServicesName"] == "default"
    assert service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": 1}
    assert service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 1}
    assert service.inputs["isVersioningEnabled"] is False


def test_the_soft_delete_window_follows_config() -> None:
    service = run_with(blobSoftDeleteDays=5).one(BLOB_SERVICE)
    assert service.inputs["deleteRetentionPolicy"]["days"] == 5
    assert service.inputs["containerDeleteRetentionPolicy"]["days"] == 5


def test_the_app_tables_exist_with_their_exact_names(dev_stack: ProgramRun) -> None:
    account_name = dev_stack.one(ACCOUNT).outputs["name"]
    tables = dev_stack.of_type(TABLE)
    assert sorted(t.inputs["tableName"] for t in tables) == sorted(
        ["attendees", "sessions", "devicecodes", "lights", "quotas"]
    )
    assert all(t.inputs["accountName"] == account_name for t in tables)


def test_every_container_is_private(dev_stack: ProgramRun) -> None:
    containers = dev_stack.of_type(CONTAINER)
    names = sorted(c.inputs["containerName"] for c in containers)
    assert names == sorted([*ATTENDEE_CONTAINERS, DEPLOYMENT_CONTAINER, *HOST_CONTAINERS])
    for container in containers:
        assert container.inputs["publicAccess"] == "None", container.urn


def test_the_lifecycle_policy_is_named_default(dev_stack: ProgramRun) -> None:
    policy = dev_stack.one(POLICY)
    assert policy.inputs["managementPolicyName"] == "default"
    assert policy.inputs["accountName"] == dev_stack.one(ACCOUNT).outputs["name"]


def test_the_lifecycle_rule_deletes_attendee_blobs_after_the_retention_window(dev_stack: ProgramRun) -> None:
    rule = _lifecycle_rule(dev_stack)
    assert rule["enabled"] is True
    assert rule["type"] == "Lifecycle"
    definition = rule["definition"]
    assert isinstance(definition, dict)
    # 48 hours in Pulumi.dev.yaml: two days.
    assert definition["actions"]["baseBlob"]["delete"] == {"daysAfterCreationGreaterThan": 2}
    assert definition["actions"]["snapshot"]["delete"] == {"daysAfterCreationGreaterThan": 2}
    assert sorted(definition["filters"]["blobTypes"]) == ["appendBlob", "blockBlob"]


def test_the_lifecycle_rule_covers_the_attendee_containers_and_spares_the_deployment_package(
    dev_stack: ProgramRun,
) -> None:
    definition = _lifecycle_rule(dev_stack)["definition"]
    assert isinstance(definition, dict)
    prefixes = definition["filters"]["prefixMatch"]
    # A filter without prefixes would cover every container, the deployment package included.
    assert prefixes
    assert sorted(prefixes) == sorted(f"{c}/" for c in ATTENDEE_CONTAINERS)
    deployment_blob = f"{DEPLOYMENT_CONTAINER}/released-package.zip"
    assert not any(deployment_blob.startswith(prefix) for prefix in prefixes)
    for container in ATTENDEE_CONTAINERS:
        assert any(f"{container}/someone.json".startswith(prefix) for prefix in prefixes)


@pytest.mark.parametrize(("hours", "days"), [(1, 1), (100, 5), (168, 7)])
def test_a_retention_change_in_config_changes_the_lifecycle_rule(hours: int, days: int) -> None:
    definition = _lifecycle_rule(run_with(retentionHours=hours))["definition"]
    assert isinstance(definition, dict)
    assert definition["actions"]["baseBlob"]["delete"]["daysAfterCreationGreaterThan"] == days


@pytest.mark.parametrize(("hours", "days"), [(1, 1), (23, 1), (24, 1), (25, 2), (47, 2), (48, 2), (49, 3), (168, 7)])
def test_lifecycle_days_round_the_window_up(hours: int, days: int) -> None:
    assert lifecycle_days(hours) == days


def test_the_app_reaches_each_table_and_the_host_containers_only(dev_stack: ProgramRun) -> None:
    principal = _identity(dev_stack, "eventstack-identities-app").outputs["principalId"]
    account = dev_stack.one(ACCOUNT)
    storage_grants = [
        r
        for r in dev_stack.of_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] == principal and r.inputs["scope"].startswith(account.id)
    ]
    table_scopes = sorted(
        r.inputs["scope"]
        for r in storage_grants
        if role_name(r.inputs["roleDefinitionId"]) == "Storage Table Data Contributor"
    )
    assert table_scopes == sorted(t.id for t in dev_stack.of_type(TABLE))
    assert len(table_scopes) == len(TABLES)
    # Nothing on the whole account: blob roles on the host's containers and the deployment container only.
    assert [r for r in storage_grants if r.inputs["scope"] == account.id] == []
    containers = {c.inputs["containerName"]: c.id for c in dev_stack.of_type("azure-native:storage:BlobContainer")}
    blob_grants = sorted(
        (role_name(r.inputs["roleDefinitionId"]), r.inputs["scope"])
        for r in storage_grants
        if "/blobServices/" in r.inputs["scope"]
    )
    assert blob_grants == sorted(
        [
            ("Storage Blob Data Owner", containers["azure-webjobs-hosts"]),
            ("Storage Blob Data Owner", containers["azure-webjobs-secrets"]),
            ("Storage Blob Data Contributor", containers["app-package"]),
        ]
    )
    assert "attendee-data" in containers
    assert len(storage_grants) == len(TABLES) + 3


def test_blob_table_and_queue_are_reached_through_private_endpoints(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT)
    groups = []
    for endpoint in dev_stack.of_type(ENDPOINT):
        if endpoint.parent_type != STORAGE:
            continue
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        assert connection["privateLinkServiceId"] == account.id
        groups.extend(connection["groupIds"])
    assert sorted(groups) == ["blob", "queue", "table"]


def test_account_metrics_and_each_service_log_go_to_the_workspace(dev_stack: ProgramRun) -> None:
    account = dev_stack.one(ACCOUNT)
    workspace = dev_stack.one("azure-native:operationalinsights:Workspace")
    settings = {r.inputs["resourceUri"]: r for r in dev_stack.of_type(DIAGNOSTICS) if r.parent_type == STORAGE}
    # The account itself has no log categories: Azure refuses a setting that asks for them.
    assert not settings[account.id].inputs["logs"]
    assert settings[account.id].inputs["metrics"] == [{"category": "Transaction", "enabled": True}]
    for service in ("blobServices", "tableServices", "queueServices"):
        setting = settings[f"{account.id}/{service}/default"]
        # Every read, write and delete of attendee data, by category name.
        assert setting.inputs["logs"] == [
            {"category": "StorageRead", "enabled": True},
            {"category": "StorageWrite", "enabled": True},
            {"category": "StorageDelete", "enabled": True},
        ], service
        assert setting.inputs["workspaceId"] == workspace.id
    assert len(settings) == 4


def _storage_args(account_name: str, network: Network, monitoring: Monitoring) -> StorageArgs:
    group = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg"
    return StorageArgs(
        resource_group_name="rg",
        location="westeurope",
        account_name=account_name,
        retention_hours=48,
        blob_soft_delete_days=1,
        key_vault_uri="https://kv1.vault.azure.net/",
        encryption_key_name="storage-encryption",
        encryption_key_id=f"{group}/providers/Microsoft.KeyVault/vaults/kv1/keys/storage-encryption",
        encryption_identity_id=f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/enc",
        encryption_principal_id="11111111-2222-4333-8444-555555555555",
        app_principal_id="66666666-2222-4333-8444-555555555555",
        network=network,
        monitoring=monitoring,
        tags={"event": "test"},
        sealed=False,
    )


def test_two_storage_components_expose_their_own_endpoints_and_do_not_collide(fresh_mocks: RecordingMonitor) -> None:
    exposed: dict[str, list[str]] = {}

    def program() -> pulumi.Output[None]:
        network = Network(
            "net",
            NetworkArgs(
                resource_group_name="rg",
                location="westeurope",
                vnet_name="vnet-test",
                address_space=ipaddress.IPv4Network("10.42.0.0/16"),
                integration_subnet=ipaddress.IPv4Network("10.42.1.0/24"),
                private_endpoint_subnet=ipaddress.IPv4Network("10.42.2.0/24"),
                tags={"event": "test"},
            ),
        )
        monitoring = Monitoring(
            "mon", MonitoringArgs(resource_group_name="rg", location="westeurope", log_retention_days=30, tags={})
        )
        outputs = []
        for name, account in (("blue", "stblue"), ("green", "stgreen")):
            storage = Storage(name, _storage_args(account, network, monitoring))
            outputs.append(
                pulumi.Output.all(
                    storage.account_name,
                    storage.blob_endpoint,
                    storage.table_endpoint,
                    storage.queue_endpoint,
                    storage.deployment_container_url,
                ).apply(lambda values, name=name: exposed.update({name: [str(v) for v in values]}))
            )
        return pulumi.Output.all(*outputs).apply(lambda _: None)

    pulumi.runtime.test(program)()
    assert exposed["blue"] == [
        "stblue",
        "https://stblue.blob.core.windows.net/",
        "https://stblue.table.core.windows.net/",
        "https://stblue.queue.core.windows.net/",
        f"https://stblue.blob.core.windows.net/{DEPLOYMENT_CONTAINER}",
    ]
    assert exposed["green"][4] == f"https://stgreen.blob.core.windows.net/{DEPLOYMENT_CONTAINER}"
    urns = [r.urn for r in fresh_mocks.registered]
    assert len(urns) == len(set(urns))
    assert len([r for r in fresh_mocks.registered if r.type == ACCOUNT]) == 2


def test_every_storage_resource_is_a_child_of_the_component(dev_stack: ProgramRun) -> None:
    for type_name in (ACCOUNT, BLOB_SERVICE, TABLE, CONTAINER, POLICY):
        for resource in dev_stack.of_type(type_name):
            assert resource.parent_type == STORAGE, resource.urn


def test_the_tables_created_are_the_tables_the_app_uses() -> None:
    from eventapi.storage import tables

    assert sorted(TABLES) == sorted(tables.TABLES)
