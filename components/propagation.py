"""A bounded wait after a role assignment, before the first resource that uses it is created.

Azure RBAC answers a new role assignment at once but applies it later: it "can take up to 10
minutes" (Key Vault, "Provide access to Key Vault keys, certificates, and secrets with Azure
role-based access control"); the Azure Verified Module for Key Vault waits for the same reason
(Azure/terraform-azurerm-avm-res-keyvault-vault, `time_sleep.wait_for_rbac_before_key_operations`). A
storage account created with a customer-managed key reaches for the key while it is being created,
so a grant made a moment before can still be refused, and the account cannot be retried from
within the Azure provider. Only a wait helps, and only where nothing can be observed instead: the
vault is closed to the deploying machine, so the grant cannot be probed from here.

The wait is keyed to what it guards (the account's name), not to the grant: it runs once, before
the account is created, and never again, so neither a later `pulumi up` nor restoring a withdrawn
grant (`sealed: false`) pays it. The code upload needs no such wait: its provider retries
(components/deploy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

# Microsoft's bound for a new role assignment to apply ("up to 10 minutes").
GRANT_PROPAGATION_SECONDS = 10 * 60


@dataclass(frozen=True)
class GrantPropagationArgs:
    """What the wait guards, and how long."""

    guards: pulumi.Input[str]
    """The name of the resource created after the wait: another resource is another wait."""
    seconds: int = GRANT_PROPAGATION_SECONDS
    """How long to wait once the grant exists."""


class GrantPropagationProvider(pulumi.dynamic.ResourceProvider):
    """Create waits (and so does a replacement, for another guarded resource); nothing else does.

    `sleep` exists for tests.
    """

    serialize_as_secret_always = False

    def __init__(self, sleep: Callable[[float], None] | None = None) -> None:
        super().__init__()
        self.sleep = sleep

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        import time

        seconds = int(props["seconds"])
        (self.sleep or time.sleep)(seconds)
        outs = {**props, "waited_seconds": seconds}
        return pulumi.dynamic.CreateResult(id_=f"waited-before:{props['guards']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """Another guarded resource is another wait; a changed duration alone is not worth one."""
        replaced = olds.get("guards") != news.get("guards")
        return pulumi.dynamic.DiffResult(
            changes=replaced, replaces=["guards"] if replaced else [], delete_before_replace=False
        )

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo."""


class GrantPropagation(pulumi.dynamic.Resource, module="eventstack", name="GrantPropagation"):
    """Exists once the grants it depends on have had the time Azure documents to apply."""

    guards: pulumi.Output[str]
    waited_seconds: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        args: GrantPropagationArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: GrantPropagationProvider | None = None,
    ) -> None:
        super().__init__(
            provider or GrantPropagationProvider(),
            name,
            {"guards": args.guards, "seconds": args.seconds, "waited_seconds": None},
            opts,
        )
