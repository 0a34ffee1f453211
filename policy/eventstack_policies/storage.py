"""The storage account: identity-only, private, encrypted twice with a stack-held key, data deleted on time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationPolicy, StackValidationPolicy

from .assembly import ignoring_type, resource_policy, stack_policy
from .links import child_of, label, of_type, text
from .props import Check, prop, require, require_one_of, sequence, shown
from .resource_types import MANAGEMENT_POLICY, STORAGE_ACCOUNT

STORAGE_TLS_VERSIONS: frozenset[str] = frozenset({"TLS1_2", "TLS1_3"})


def _storage_shared_keys(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "allowSharedKeyAccess", False, "only Azure AD identities reach the data")


def _storage_public_network(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "publicNetworkAccess", "Disabled", "reachable only through private endpoints")


def _storage_blob_public_access(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "allowBlobPublicAccess", False, "no anonymous reads of attendee data")


def _storage_tls(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require_one_of(props, "minimumTlsVersion", STORAGE_TLS_VERSIONS, "encryption in transit")


def _storage_https_only(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "enableHttpsTrafficOnly", True, "encryption in transit")


def _storage_infrastructure_encryption(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "encryption.requireInfrastructureEncryption", True, "double encryption at rest")


def _storage_customer_managed_key(props: Mapping[str, Any]) -> Iterator[str]:
    why = "encryption at rest with a key the stack holds in its vault"
    yield from require(props, "encryption.keySource", "Microsoft.Keyvault", why)
    for path in ("encryption.keyVaultProperties.keyName", "encryption.keyVaultProperties.keyVaultUri"):
        value = prop(props, path)
        if not (isinstance(value, str) and value):
            yield f"{path} must name the vault key ({why}); found {shown(value)}"
    # Tables and queues are covered by the customer-managed key only with account-scoped keys.
    for service in ("table", "queue"):
        yield from require(props, f"encryption.services.{service}.keyType", "Account", why)


def _storage_network_default_deny(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "networkRuleSet.defaultAction", "Deny", "no network path but the private endpoints")


def _storage_cross_tenant_replication(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "allowCrossTenantReplication", False, "data never replicates out of the tenant")


def _storage(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return resource_policy(name, description, ignoring_type(check), frozenset({STORAGE_ACCOUNT}))


# Azure accepts one lifecycle policy per account, and only under this name.
LIFECYCLE_POLICY_NAME = "default"


# The storage services whose data-plane logs the threat model wants: each is its own ARM target.
STORAGE_LOGGED_SERVICES: tuple[str, ...] = ("blobServices", "tableServices", "queueServices")


def _deletes_blobs(rule: Any) -> bool:
    return (
        isinstance(rule, Mapping)
        and rule.get("enabled") is not False
        and isinstance(prop(rule, "definition.actions.baseBlob.delete"), Mapping)
    )


def _lifecycle_policy(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for account in of_type(resources, STORAGE_ACCOUNT):
        policies = [p for p in of_type(resources, MANAGEMENT_POLICY) if child_of(p, account, "accountName")]
        named = [
            p
            for p in policies
            if (text(p.props, "managementPolicyName") or text(p.props, "name") or "").lower() == LIFECYCLE_POLICY_NAME
        ]
        if not named:
            yield (
                f"{label(account)} has no lifecycle ManagementPolicy named '{LIFECYCLE_POLICY_NAME}': attendee "
                "blobs outlive the retention window",
                account.urn,
            )
        elif not any(_deletes_blobs(rule) for p in named for rule in sequence(prop(p.props, "policy.rules"))):
            yield f"{label(account)}: the lifecycle policy has no enabled rule that deletes blobs", account.urn


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    _storage("storage-shared-key-access-disabled", "Storage accounts refuse shared keys.", _storage_shared_keys),
    _storage(
        "storage-public-network-access-disabled",
        "Storage accounts are closed to the public network.",
        _storage_public_network,
    ),
    _storage(
        "storage-blob-public-access-disabled", "Storage accounts allow no public blobs.", _storage_blob_public_access
    ),
    _storage("storage-minimum-tls-1-2", "Storage accounts require TLS 1.2 or later.", _storage_tls),
    _storage("storage-https-only", "Storage accounts accept HTTPS only.", _storage_https_only),
    _storage(
        "storage-infrastructure-encryption",
        "Storage accounts encrypt twice at rest (infrastructure encryption).",
        _storage_infrastructure_encryption,
    ),
    _storage(
        "storage-customer-managed-key",
        "Storage accounts encrypt blobs, tables and queues with a customer-managed Key Vault key.",
        _storage_customer_managed_key,
    ),
    _storage("storage-network-default-deny", "Storage network rules deny by default.", _storage_network_default_deny),
    _storage(
        "storage-no-cross-tenant-replication",
        "Storage accounts never replicate to another tenant.",
        _storage_cross_tenant_replication,
    ),
]
STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "storage-lifecycle-policy-present",
        "Every storage account has a lifecycle policy named 'default' that deletes blobs.",
        _lifecycle_policy,
    ),
]
