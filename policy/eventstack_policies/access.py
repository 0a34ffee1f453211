"""Identity and access: no privileged role, no grant above a single resource."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationPolicy

from .assembly import ignoring_type, resource_policy
from .props import prop, shown
from .resource_types import ROLE_ASSIGNMENT

# Built-in roles that can grant access or change anything: never handed to any identity.
PRIVILEGED_ROLE_IDS: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}


def _role_definition_guid(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _no_privileged_role(props: Mapping[str, Any]) -> Iterator[str]:
    role = prop(props, "roleDefinitionId")
    if not isinstance(role, str):
        yield f"roleDefinitionId must name a built-in role; found {shown(role)}"
        return
    privileged = PRIVILEGED_ROLE_IDS.get(_role_definition_guid(role))
    if privileged:
        yield f"role {privileged} ({role}) is never granted: it can hand out access or change anything"


_SUBSCRIPTION_OR_GROUP_SCOPE = re.compile(r"^/subscriptions/[^/]+(/resourcegroups/[^/]+)?/?$", re.IGNORECASE)
_MANAGEMENT_GROUP_SCOPE = re.compile(r"^/providers/Microsoft\.Management/managementGroups/", re.IGNORECASE)


def _resource_scope(props: Mapping[str, Any]) -> Iterator[str]:
    scope = prop(props, "scope")
    if not isinstance(scope, str) or scope.strip("/") == "":
        yield f"scope must be a resource id; found {shown(scope)}"
    elif _SUBSCRIPTION_OR_GROUP_SCOPE.match(scope) or _MANAGEMENT_GROUP_SCOPE.match(scope):
        yield f"scope {scope} is above a resource: grant on the narrowest resource that works"
    elif "/providers/" not in scope.lower():
        yield f"scope {scope} is not a resource id"


# Blob data roles reach every container of the scope they are granted on. On a whole account (or
# its blob service) they would let code in the app rewrite its own deployment package and read any
# container; the program grants them on single containers ("Connecting to host storage with an
# identity" and the Flex Consumption deployment settings name no wider scope).
BLOB_DATA_ROLE_IDS: Mapping[str, str] = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
}
_CONTAINER_SCOPE = re.compile(
    r"/providers/Microsoft\.Storage/storageAccounts/[^/]+/blobServices/default/containers/[^/]+/?$", re.IGNORECASE
)


def _blob_role_on_a_container(props: Mapping[str, Any]) -> Iterator[str]:
    role = prop(props, "roleDefinitionId")
    blob_role = BLOB_DATA_ROLE_IDS.get(_role_definition_guid(role)) if isinstance(role, str) else None
    if blob_role is None:
        return
    scope = prop(props, "scope")
    if not isinstance(scope, str) or not _CONTAINER_SCOPE.search(scope):
        yield (
            f"{blob_role} on {shown(scope)}: blob data roles are granted on one container, never on the "
            "account or its blob service (the app could rewrite its own deployment package)"
        )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy(
        "role-assignment-no-privileged-role",
        "No identity is granted Owner, Contributor, User Access Administrator or RBAC Administrator.",
        ignoring_type(_no_privileged_role),
        frozenset({ROLE_ASSIGNMENT}),
    ),
    resource_policy(
        "role-assignment-resource-scope",
        "Role assignments are scoped to a resource, never a subscription or resource group.",
        ignoring_type(_resource_scope),
        frozenset({ROLE_ASSIGNMENT}),
    ),
    resource_policy(
        "role-assignment-blob-roles-on-containers",
        "Blob data roles are granted on a single container, never on a whole storage account.",
        ignoring_type(_blob_role_on_a_container),
        frozenset({ROLE_ASSIGNMENT}),
    ),
]
