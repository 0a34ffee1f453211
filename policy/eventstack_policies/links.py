"""Links between the stack's resources, for the rules over the whole stack.

Read from outputs, not inputs: after `pulumi up` a resource's path parameters (`accountName`,
`resourceUri`) are gone and only its ARM `id` ties it to its parent, so every link is tried by id
first and by name second. A site's app settings are not checked here: Azure never returns them
when the site is read, so such a rule would fail every deployment after the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from .props import prop, resource_type_token
from .resource_types import (
    KEY_VAULT,
    LOG_ANALYTICS_WORKSPACE,
    NAT_GATEWAY,
    NETWORK_SECURITY_GROUP,
    PRIVATE_ENDPOINT,
    STORAGE_ACCOUNT,
    SUBNET,
    VIRTUAL_NETWORK,
)

# Inputs that name a resource of each type before Azure has assigned its id.
NAME_INPUTS: Mapping[str, str] = {
    STORAGE_ACCOUNT: "accountName",
    KEY_VAULT: "vaultName",
    PRIVATE_ENDPOINT: "privateEndpointName",
    SUBNET: "subnetName",
    NAT_GATEWAY: "natGatewayName",
    NETWORK_SECURITY_GROUP: "networkSecurityGroupName",
    LOG_ANALYTICS_WORKSPACE: "workspaceName",
    VIRTUAL_NETWORK: "virtualNetworkName",
}

StackCheck = Callable[[Sequence[PolicyResource]], Iterator[tuple[str, str | None]]]


def of_type(resources: Sequence[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if resource_type_token(r.resource_type) in types]


def text(props: Any, path: str) -> str | None:
    value = prop(props, path)
    return value if isinstance(value, str) and value else None


def normalized_id(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()


def arm_id(resource: PolicyResource) -> str | None:
    return text(resource.props, "id")


def names(resource: PolicyResource) -> set[str]:
    """What the resource is called in Azure: its name input and, once known, its `name` output."""
    found = set()
    key = NAME_INPUTS.get(resource_type_token(resource.resource_type))
    for path in (key, "name") if key else ("name",):
        value = text(resource.props, path)
        if value:
            found.add(value.lower())
    return found


def same_group(a: PolicyResource, b: PolicyResource) -> bool:
    group_a, group_b = text(a.props, "resourceGroupName"), text(b.props, "resourceGroupName")
    return group_a is None or group_b is None or group_a.lower() == group_b.lower()


def identifies(reference: Any, target: PolicyResource) -> bool:
    """Whether an ARM id (or `{"id": ...}`) taken from one resource names `target`."""
    if isinstance(reference, Mapping):
        reference = reference.get("id")
    if not isinstance(reference, str) or not reference:
        return False
    target_id = arm_id(target)
    if target_id is not None:
        return normalized_id(reference) == normalized_id(target_id)
    # Before Azure assigns the id, the reference can only be held against the target's name.
    return normalized_id(reference).rsplit("/", 1)[-1] in names(target)


def lies_under(child: PolicyResource, parent_id: str | None, infix: str = "/") -> bool:
    child_id = arm_id(child)
    if child_id is None or not parent_id:
        return False
    return normalized_id(child_id).startswith(normalized_id(parent_id) + infix.lower())


def child_of(child: PolicyResource, parent: PolicyResource, parent_name_input: str) -> bool:
    """Whether `child` belongs to `parent`: by id once known, else by the parent name it was given."""
    if lies_under(child, arm_id(parent)):
        return True
    given = text(child.props, parent_name_input)
    return given is not None and given.lower() in names(parent) and same_group(child, parent)


def label(resource: PolicyResource) -> str:
    return f"{resource_type_token(resource.resource_type).rsplit(':', 1)[-1]} {resource.name}"
