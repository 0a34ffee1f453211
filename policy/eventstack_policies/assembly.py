"""Turning checks into mandatory policies: per resource (filtered by type) and over the whole stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .links import StackCheck
from .props import Check, resource_type_token

TypedCheck = Callable[[str, Mapping[str, Any]], Iterator[str]]


def ignoring_type(check: Check) -> TypedCheck:
    return lambda _resource_type, props: check(props)


def resource_policy(
    name: str, description: str, check: TypedCheck, types: frozenset[str] | None = None
) -> ResourceValidationPolicy:
    """A mandatory policy that runs `check` on resources of `types` (all resources when None)."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource_type = resource_type_token(args.resource_type)
        if types is not None and resource_type not in types:
            return
        for message in check(resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def stack_policy(name: str, description: str, check: StackCheck) -> StackValidationPolicy:
    """A mandatory policy that runs `check` on every resource of the stack at once."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in check(args.resources):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )
