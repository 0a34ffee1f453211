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
]
