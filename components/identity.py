"""Managed identities and the role assignments that give them exactly what they need.

Every built-in role the program may grant is named once in `ROLES`, with the narrowest scope it is
granted at in `ROLE_SCOPES`. Nothing is granted at subscription or resource-group scope, and the
roles in `PRIVILEGED_ROLES` are never granted at all: the app's identity can read and write its
own data, sign with one key, read one secret and publish telemetry, nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

# Built-in role definition ids (the same GUID in every subscription and tenant).
ROLES: Mapping[str, str] = {
    # Sign and verify with one key; the key's own keyOps forbid everything else, and no
    # data-plane role can export a non-exportable key.
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    # Wrap and unwrap with one key: what the storage service needs for a customer-managed key.
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    # Read the value of one secret (the pepper).
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    # Read, write and delete entities of one table.
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    # The Functions host's own containers (AzureWebJobsStorage): the role "Connecting to host
    # storage with an identity" names for blobs; the timer trigger takes blob leases (its
    # singleton lock) in azure-webjobs-hosts. Granted on each container, never the account.
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    # The Flex Consumption deployment container: the platform writes the package there with the
    # app's identity and reads it at every start ("Create and manage function apps in the Flex
    # Consumption plan": deployment storage with a managed identity needs this role).
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    # Send telemetry to one Application Insights component that has local auth disabled.
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# The ARM resource type each role may be granted on: the narrowest scope that works for it.
ROLE_SCOPES: Mapping[str, str] = {
    "Key Vault Crypto User": "Microsoft.KeyVault/vaults/keys",
    "Key Vault Crypto Service Encryption User": "Microsoft.KeyVault/vaults/keys",
    "Key Vault Secrets User": "Microsoft.KeyVault/vaults/secrets",
    "Storage Table Data Contributor": "Microsoft.Storage/storageAccounts/tableServices/tables",
    "Storage Blob Data Owner": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Storage Blob Data Contributor": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Monitoring Metrics Publisher": "Microsoft.Insights/components",
}

# Roles that can change resources or hand out access: never granted by this program.
PRIVILEGED_ROLES: Mapping[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
}

# Fixed namespace for assignment names: the same (scope, principal, role) always yields the
# same GUID, so a re-run never tries to create a duplicate assignment (ARM answers 409).
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("3b0f8e52-6a3c-4d1e-8f0a-5c2d7b9e1a46")

SUBSCRIPTION_SCOPE = "subscription"
RESOURCE_GROUP_SCOPE = "resourceGroup"


def role_definition_id(subscription_id: str, role: str) -> str:
    """The full ARM id of a built-in role definition, as a role assignment expects it."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"


def assignment_name(scope: str, principal_id: str, role: str) -> str:
    """A deterministic GUID for one (scope, principal, role) triple."""
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, f"{scope.lower()}|{principal_id}|{ROLES[role]}"))


def arm_resource_type(resource_id: str) -> str:
    """The resource type an ARM id names: `Microsoft.KeyVault/vaults/keys`, `resourceGroup`, ...

    Nested ids give the full type path; the literal `default` child of a storage service
    (`tableServices/default`) is part of the path, not a type.
    """
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        if len(parts) == 2 and lowered[0] == "subscriptions":
            return SUBSCRIPTION_SCOPE
        if len(parts) == 4 and lowered[2] == "resourcegroups":
            return RESOURCE_GROUP_SCOPE
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = parts[at + 1], parts[at + 2 :]
    if not rest or len(rest) % 2:
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    return "/".join([namespace, *rest[0::2]])


def role_name(definition_id: str) -> str | None:
    """The name in `ROLES` or `PRIVILEGED_ROLES` of a role definition id, or None if unknown."""
    guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    for table in (ROLES, PRIVILEGED_ROLES):
        for name, role_id in table.items():
            if role_id == guid:
                return name
    return None


def grant(
    name: str,
    role: str,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    *,
    parent: pulumi.Resource,
    subscription_id: pulumi.Input[str],
) -> authorization.RoleAssignment:
    """Assign `role` (a key of `ROLES`) to a managed identity on `scope`, parented to `parent`."""
    if role not in ROLES:
        raise ValueError(f"{role!r} is not a role this program grants; allowed: {', '.join(ROLES)}")
    return authorization.RoleAssignment(
        name,
        role_assignment_name=pulumi.Output.all(scope, principal_id).apply(
            lambda values: assignment_name(str(values[0]), str(values[1]), role)
        ),
        role_definition_id=pulumi.Output.from_input(subscription_id).apply(lambda s: role_definition_id(s, role)),
        scope=scope,
        principal_id=principal_id,
        # A new managed identity may not have replicated yet: without the type, ARM looks the
        # principal up and fails with PrincipalNotFound.
        principal_type="ServicePrincipal",
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class IdentitiesArgs:
    """What the identities need to know."""

    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    location: str
    """Azure region."""
    app_insights_id: pulumi.Input[str]
    """The Application Insights component the app sends telemetry to."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""


class Identities(pulumi.ComponentResource):
    """User-assigned identities: one the app runs as, one the storage service encrypts with."""

    app_identity_id: pulumi.Output[str]
    app_client_id: pulumi.Output[str]
    app_principal_id: pulumi.Output[str]
    encryption_identity_id: pulumi.Output[str]
    encryption_principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:Identities", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        app = managedidentity.UserAssignedIdentity(
            f"{name}-app",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        # A separate identity for the customer-managed key: the app's identity never holds
        # wrap/unwrap rights, and the storage service's never reaches the data.
        encryption = managedidentity.UserAssignedIdentity(
            f"{name}-storage-encryption",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        self.app_identity_id = app.id
        self.app_client_id = app.client_id
        self.app_principal_id = app.principal_id
        self.encryption_identity_id = encryption.id
        self.encryption_principal_id = encryption.principal_id

        client = authorization.get_client_config_output()
        self.telemetry_grant = grant(
            f"{name}-app-metrics-publisher",
            "Monitoring Metrics Publisher",
            scope=args.app_insights_id,
            principal_id=app.principal_id,
            parent=self,
            subscription_id=client.subscription_id,
        )

        self.register_outputs(
            {
                "app_identity_id": self.app_identity_id,
                "app_client_id": self.app_client_id,
                "app_principal_id": self.app_principal_id,
                "encryption_identity_id": self.encryption_identity_id,
                "encryption_principal_id": self.encryption_principal_id,
            }
        )
