"""The data lifecycle as mandatory CrossGuard rules: every vault key and secret expires with the data.

A key or secret without an expiry outlives the event for as long as the vault does; one that
expires long after the data-delete-by time keeps signing (or reads as current) past it; one that
expires before it stops the app while it still needs it. Each key and secret carries the stack's
`data-delete-by` tag, so the rule reads the deadline from the resource itself. A rotation policy
hands each new version an expiry counted from its own creation: it must have one, and the
shortest Key Vault accepts.

The bounds live here, not in the program: a guard that read its limits from what it guards would
move with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .tags import TAG_DATA_DELETE_BY, parse_delete_by

KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"  # noqa: S105 - a type token, not a credential
VAULT_ITEMS: frozenset[str] = frozenset({KEY, SECRET})
# How far past the data-delete-by time an expiry may lie: one day, the blob lifecycle rule's step.
MAX_EXPIRY_MARGIN = timedelta(days=1)
# Key Vault's bounds on a rotation policy: a version lives at least 28 days, and is rotated at
# least 7 days before it expires. The shortest allowed expiry is the one the rule accepts.
ROTATED_VERSION_MIN_EXPIRY_DAYS = 28
ROTATION_BEFORE_EXPIRY_MIN_DAYS = 7

_DAYS = re.compile(r"^P(\d+)D$")
_VERSIONED_TOKEN = re.compile(r"^([^:]+):([^/:]+)/[^:]+:(\w+)$")

Check = Callable[[Mapping[str, Any]], Iterator[str]]


def _type_token(resource_type: str) -> str:
    """`azure-native:keyvault/v20230701:Key` is checked like `azure-native:keyvault:Key`."""
    match = _VERSIONED_TOKEN.match(resource_type)
    return f"{match.group(1)}:{match.group(2)}:{match.group(3)}" if match else resource_type


def _get(props: Any, path: str) -> Any:
    node = props
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _delete_by(props: Mapping[str, Any]) -> datetime | None:
    tags = props.get("tags")
    return parse_delete_by(tags.get(TAG_DATA_DELETE_BY) if isinstance(tags, Mapping) else None)


def _days(duration: Any) -> int | None:
    match = _DAYS.match(duration) if isinstance(duration, str) else None
    return int(match.group(1)) if match else None


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiry_present(props: Mapping[str, Any]) -> Iterator[str]:
    expires = _get(props, "properties.attributes.expires")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        yield (
            "properties.attributes.expires must be set (seconds since the epoch): without it the key or "
            f"secret never expires; found {expires!r}"
        )


def _expiry_at_delete_by(props: Mapping[str, Any]) -> Iterator[str]:
    expires = _get(props, "properties.attributes.expires")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        return  # vault-items-expire reports it
    delete_by = _delete_by(props)
    if delete_by is None:
        yield f"the {TAG_DATA_DELETE_BY} tag (ISO 8601 UTC) is needed to check the expiry against it"
        return
    moment = datetime.fromtimestamp(expires, UTC)
    latest = delete_by + MAX_EXPIRY_MARGIN
    if moment < delete_by:
        yield (
            f"expires {_text(moment)}, before the data-delete-by time {_text(delete_by)}: the app "
            "would stop while it still holds data"
        )
    elif moment > latest:
        yield (
            f"expires {_text(moment)}, more than {MAX_EXPIRY_MARGIN.days} day after the data-delete-by time "
            f"{_text(delete_by)} (latest allowed {_text(latest)})"
        )


def _rotated_versions_expire(props: Mapping[str, Any]) -> Iterator[str]:
    policy = _get(props, "properties.rotationPolicy")
    actions = _get(props, "properties.rotationPolicy.lifetimeActions")
    if not isinstance(policy, Mapping) or not actions:
        return
    expiry = _days(_get(props, "properties.rotationPolicy.attributes.expiryTime"))
    if expiry is None:
        yield (
            "properties.rotationPolicy.attributes.expiryTime must be a duration in days (P<n>D): without "
            "it every rotated version never expires"
        )
        return
    rotations = [
        _days(_get(action, "trigger.timeAfterCreate"))
        for action in actions
        if isinstance(action, Mapping) and str(_get(action, "action.type")).lower() == "rotate"
    ]
    for rotate_after in rotations:
        if rotate_after is None:
            yield "a rotate action must trigger on timeAfterCreate (P<n>D), so that its versions' lifetime is known"
            continue
        shortest = max(ROTATED_VERSION_MIN_EXPIRY_DAYS, rotate_after + ROTATION_BEFORE_EXPIRY_MIN_DAYS)
        if expiry > shortest:
            yield (
                f"rotated versions expire after P{expiry}D; the shortest Key Vault accepts for a rotation "
                f"every P{rotate_after}D is P{shortest}D, and every day more outlives the data-delete-by time"
            )


def _policy(name: str, description: str, check: Check, types: frozenset[str]) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if _type_token(args.resource_type) not in types:
            return
        for message in check(args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


LIFECYCLE_POLICIES: list[ResourceValidationPolicy] = [
    _policy(
        "vault-items-expire",
        "Every Key Vault key and secret carries an expiry.",
        _expiry_present,
        VAULT_ITEMS,
    ),
    _policy(
        "vault-items-expire-at-data-delete-by",
        "Keys and secrets expire no earlier than their data-delete-by tag and at most a day after it.",
        _expiry_at_delete_by,
        VAULT_ITEMS,
    ),
    _policy(
        "rotated-key-versions-expire-soonest",
        "A key rotation policy gives each new version the shortest expiry Key Vault accepts.",
        _rotated_versions_expire,
        frozenset({KEY}),
    ),
]
