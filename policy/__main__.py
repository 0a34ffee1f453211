"""The eventstack policy pack: the threat model's infrastructure rules, all mandatory.

The engine runs this file to serve the pack; it only assembles the policies, which live in
`eventstack_policies` (importable by tests without starting the pack's server): rules on each
resource's inputs, checked before it is created, and rules on the whole stack (what must exist and
be linked), checked once every resource is registered.

    (cd policy && pulumi install)           # once: creates policy/.venv from requirements.txt
    pulumi preview --policy-pack policy     # from the project root: lists every violation
    pulumi up --policy-pack policy          # refuses to deploy on any violation

The pack has its own virtualenv (PulumiPolicy.yaml: `virtualenv: .venv`, relative to this
directory) with only pulumi-policy in it: it never imports the program it checks. During a
preview of a new stack, values Azure has not assigned yet (resource ids) are unknown; the engine
reports those checks as advisory and runs them again, mandatory, during `pulumi up`.
"""

from eventstack_policies import POLICIES
from lifecycle_policies import LIFECYCLE_POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="eventstack-policies",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[*POLICIES, *LIFECYCLE_POLICIES],
)
