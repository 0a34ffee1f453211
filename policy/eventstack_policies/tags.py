"""Tags: every taggable resource names its event, stack, owner and manager, and when its data goes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pulumi_policy import ResourceValidationPolicy

from .assembly import resource_policy
from .operator import OPERATOR_TAGGABLE_TYPES
from .props import MISSING, prop, shown

TAG_DATA_DELETE_BY = "data-delete-by"
# Who owns a resource, which event and stack it serves, and what manages it.
REQUIRED_STACK_TAGS: frozenset[str] = frozenset({"event", "stack", "owner", "managed-by"})
# Azure resource types that accept tags. Any other resource that sends `tags` is checked too; a
# test holds this list against the SDK's signatures for every type the program registers.
TAGGABLE_TYPES: frozenset[str] = (
    frozenset(
        {
            "azure-native:resources:ResourceGroup",
            "azure-native:network:VirtualNetwork",
            "azure-native:network:NetworkSecurityGroup",
            "azure-native:network:NatGateway",
            "azure-native:network:PublicIPAddress",
            "azure-native:network:PrivateEndpoint",
            "azure-native:network:PrivateZone",
            "azure-native:network:VirtualNetworkLink",
            "azure-native:privatedns:PrivateZone",
            "azure-native:privatedns:VirtualNetworkLink",
            "azure-native:operationalinsights:Workspace",
            "azure-native:applicationinsights:Component",
            "azure-native:managedidentity:UserAssignedIdentity",
            "azure-native:keyvault:Vault",
            "azure-native:keyvault:Key",
            "azure-native:keyvault:Secret",
            "azure-native:storage:StorageAccount",
            "azure-native:web:AppServicePlan",
            "azure-native:web:WebApp",
            "azure-native:web:WebAppSlot",
            "azure-native:cdn:Profile",
            "azure-native:cdn:AFDEndpoint",
            "azure-native:frontdoor:Policy",
        }
    )
    | OPERATOR_TAGGABLE_TYPES
)


def _tags(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The resource's tags, {} when a taggable resource sends none; None when it takes no tags."""
    tags = prop(props, "tags")
    if isinstance(tags, Mapping):
        return tags
    return {} if resource_type in TAGGABLE_TYPES else None


def _stack_tags(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    tags = _tags(resource_type, props)
    if tags is None:
        return
    missing = sorted(tag for tag in REQUIRED_STACK_TAGS if not (isinstance(tags.get(tag), str) and tags.get(tag)))
    if missing:
        yield f"tags {', '.join(missing)} are missing: every resource names its event, stack, owner and manager"


def parse_delete_by(value: Any) -> datetime | None:
    """The data-delete-by tag as an aware UTC datetime; None when it is not ISO 8601 UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() != timedelta(0):
        return None
    return parsed


def _data_delete_by_tag(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    tags = _tags(resource_type, props)
    if tags is None:
        return
    value = tags.get(TAG_DATA_DELETE_BY, MISSING)
    if parse_delete_by(value) is None:
        yield (
            f"tag {TAG_DATA_DELETE_BY} must be an ISO 8601 UTC date such as 2027-06-07T18:00:00Z "
            f"(when the data must be gone, GDPR); found {shown(value)}"
        )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy("required-stack-tags", "Every taggable resource carries the stack's tags.", _stack_tags),
    resource_policy(
        "data-delete-by-tag",
        "Every taggable resource is tagged with a parseable data-delete-by date.",
        _data_delete_by_tag,
    ),
]
