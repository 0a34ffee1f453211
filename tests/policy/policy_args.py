"""Hand the program's resources to policies exactly as the policy runtime would.

The runtime receives a resource's inputs as a protobuf Struct (numbers become floats, secrets
arrive wrapped in a signature envelope), decodes them with `deserialize_properties`, and wraps
them in `unknown_checking_proxy` (read-only `Mapping`/`Sequence` proxies). This adapter takes the
same road, with pulumi_policy's own functions, from a `RegisteredResource` of dev/offline.py.

Stack policies get every resource at once, with its outputs rather than its inputs (the mocks'
outputs are the inputs plus what Azure computes: `id`, `name`), and parents linked as objects.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties, serialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from dev.offline import RegisteredResource


def _mark_secrets(value: Any, path: str, secret_paths: set[str]) -> Any:
    if path in secret_paths:
        return Secret(value)
    if isinstance(value, dict):
        return {k: _mark_secrets(v, f"{path}.{k}" if path else k, secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_secrets(v, f"{path}.{i}", secret_paths) for i, v in enumerate(value)]
    return value


def properties_struct(inputs: Mapping[str, Any], secret_paths: set[str] | None = None) -> struct_pb2.Struct:
    """The inputs as the engine sends them to an analyzer: a Struct, secrets in their envelope."""
    marked = _mark_secrets(copy.deepcopy(dict(inputs)), "", secret_paths or set())
    struct = struct_pb2.Struct()
    struct.update(serialize_properties(marked))
    return struct


def runtime_props(inputs: Mapping[str, Any], secret_paths: set[str] | None = None) -> Mapping[str, Any]:
    """The inputs as a policy's `args.props` sees them: decoded from the Struct and proxied."""
    decoded = deserialize_properties(json_format.MessageToDict(properties_struct(inputs, secret_paths)))
    props: Mapping[str, Any] = unknown_checking_proxy(decoded)
    return props


def _options(resource: RegisteredResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or None,
    )


def validation_args(resource: RegisteredResource, inputs: Mapping[str, Any] | None = None) -> ResourceValidationArgs:
    """`ResourceValidationArgs` for `resource`, optionally with `inputs` in place of its own."""
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=runtime_props(resource.inputs if inputs is None else inputs, resource.secret_inputs),
        urn=resource.urn,
        name=resource.name,
        opts=_options(resource),
        provider=None,
    )


def stack_validation_args(resources: Sequence[RegisteredResource]) -> StackValidationArgs:
    """`StackValidationArgs` for a whole stack: every resource's outputs, parents and dependencies linked."""
    by_urn = {
        r.urn: PolicyResource(
            r.type, runtime_props(r.outputs, r.secret_inputs), r.urn, r.name, _options(r), None, None, [], {}
        )
        for r in resources
    }
    for r in resources:
        by_urn[r.urn].parent = by_urn.get(r.parent)
        by_urn[r.urn].dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
    return StackValidationArgs(list(by_urn.values()))


@dataclass(frozen=True)
class Violation:
    """One reported violation: which policy, on which resource, saying what."""

    policy: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.urn}: {self.message}"


def _await(result: Any) -> None:
    # A private loop: asyncio.run would also clear the thread's current loop, which Pulumi's mocks
    # need in later tests of the same process.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(result)
    finally:
        loop.close()


def violations(
    policy: ResourceValidationPolicy, resource: RegisteredResource, inputs: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Run one policy's `validate` on one resource and collect what it reports."""
    found: list[Violation] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy.name, urn or resource.urn, message))

    result = policy.validate(validation_args(resource, inputs), report_violation)
    if inspect.isawaitable(result):
        _await(result)
    return found


def stack_violations(policy: StackValidationPolicy, resources: Sequence[RegisteredResource]) -> list[Violation]:
    """Run one stack policy's `validate` on a whole stack and collect what it reports."""
    found: list[Violation] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy.name, urn or "(the stack)", message))

    result = policy.validate(stack_validation_args(resources), report_violation)
    if inspect.isawaitable(result):
        _await(result)
    return found
