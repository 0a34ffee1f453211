"""The threat model as mandatory CrossGuard rules: one policy per setting that carries a mitigation.

One module per concern, the way `components/` is split: `storage`, `keyvault`, `function_app`,
`access`, `location`, `tags`, `network`, `monitoring`, `private_endpoints`, `edge`, `availability`,
`operator` (alerts and the budget), `lifecycle` (keys and secrets expire with the data).
Each holds its bounds, its checks and the policies built from them; `props` reads a resource's inputs, `links` ties the
stack's resources to each other, `assembly` turns checks into mandatory policies. The bounds and
the region list live here, not in the program: a guard that read its limits from what it guards
would move with it.

Each per-resource policy checks the inputs the engine sends for one resource (camelCase, as Azure
names them). The engine hands them through read-only proxies (`Mapping` and `Sequence`, not `dict`
and `list`), and every number as a float. Inputs not yet known during `pulumi preview` raise inside
the proxy; the runtime reports those as advisory and checks them again, for real, during `pulumi up`.

A per-resource rule cannot notice a resource that is missing. The stack policies see every
resource at once (their outputs: during a preview the inputs, after `pulumi up` what Azure
returned) and check that what a mitigation rests on exists and is linked to what it protects.
"""

from __future__ import annotations

from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy

from . import (
    access,
    availability,
    edge,
    function_app,
    keyvault,
    lifecycle,
    location,
    monitoring,
    network,
    operator,
    private_endpoints,
    storage,
    tags,
)

# Everything the pack enforces: per-resource rules before each resource is created, stack rules
# once the whole stack is known.
RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    *storage.RESOURCE_POLICIES,
    *keyvault.RESOURCE_POLICIES,
    *function_app.RESOURCE_POLICIES,
    *access.RESOURCE_POLICIES,
    *location.RESOURCE_POLICIES,
    *tags.RESOURCE_POLICIES,
    *network.RESOURCE_POLICIES,
    *monitoring.RESOURCE_POLICIES,
    *edge.RESOURCE_POLICIES,
    *availability.RESOURCE_POLICIES,
    *lifecycle.LIFECYCLE_POLICIES,
]
STACK_POLICIES: list[StackValidationPolicy] = [
    *function_app.STACK_POLICIES,
    *private_endpoints.STACK_POLICIES,
    *monitoring.STACK_POLICIES,
    *storage.STACK_POLICIES,
    *network.STACK_POLICIES,
    *edge.STACK_POLICIES,
    *operator.OPERATOR_POLICIES,
]
POLICIES: list[Policy] = [*RESOURCE_POLICIES, *STACK_POLICIES]

__all__ = ["POLICIES", "RESOURCE_POLICIES", "STACK_POLICIES"]
