"""Resource names and tags.

Azure keeps some names global (storage accounts, key vaults) or reserved after deletion (a
soft-deleted vault; a subnet with a lingering service link). Those names carry a per-stack random
suffix, so that a redeploy after `pulumi destroy` never collides with what is still reserved.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_random as random

from components.config import StackConfig

SUFFIX_LENGTH = 6
STORAGE_ACCOUNT_MAX = 24  # 3-24 lowercase letters and digits, globally unique
KEY_VAULT_MAX = 24  # 3-24 letters, digits, hyphens; globally unique; reserved while soft-deleted
VNET_MAX = 64

TAG_EVENT = "event"
TAG_STACK = "stack"
TAG_OWNER = "owner"
TAG_DATA_DELETE_BY = "data-delete-by"
TAG_MANAGED_BY = "managed-by"


def _squeeze(text: str) -> str:
    return re.sub(r"-{2,}", "-", text).strip("-")


def storage_account_name(event_name: str, suffix: str) -> str:
    """`st` + the event slug without hyphens + the suffix, cut to fit 24 characters."""
    slug = event_name.replace("-", "")[: STORAGE_ACCOUNT_MAX - 2 - len(suffix)]
    return f"st{slug}{suffix}"


def key_vault_name(event_name: str, suffix: str) -> str:
    """`kv-<event>-<suffix>`, the event slug cut so that the whole fits 24 characters."""
    room = KEY_VAULT_MAX - len("kv--") - len(suffix)
    return f"kv-{_squeeze(event_name[:room])}-{suffix}"


def vnet_name(event_name: str, stack: str, suffix: str) -> str:
    """`vnet-<event>-<stack>-<suffix>`; a new name per stack avoids subnets still linked to a deleted app."""
    stack_slug = re.sub(r"[^a-z0-9-]", "-", stack.lower())
    return _squeeze(f"vnet-{event_name}-{stack_slug}"[: VNET_MAX - len(suffix) - 1]) + f"-{suffix}"


def stack_tags(config: StackConfig) -> dict[str, str]:
    """The tags every resource carries: who owns it, which event and stack, when its data must be gone."""
    return {
        TAG_EVENT: config.event_name,
        TAG_STACK: config.stack,
        TAG_OWNER: config.owner,
        TAG_DATA_DELETE_BY: config.data_delete_by_text,
        TAG_MANAGED_BY: "pulumi",
    }


class StackNames(pulumi.ComponentResource):
    """The per-stack random suffix and the global names derived from it."""

    suffix: pulumi.Output[str]
    storage_account: pulumi.Output[str]
    key_vault: pulumi.Output[str]
    vnet: pulumi.Output[str]

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:naming:StackNames", name, None, opts)
        suffix = random.RandomString(
            f"{name}-suffix",
            length=SUFFIX_LENGTH,
            special=False,
            upper=False,
            numeric=True,
            lower=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.suffix = suffix.result
        self.storage_account = suffix.result.apply(lambda s: storage_account_name(config.event_name, s))
        self.key_vault = suffix.result.apply(lambda s: key_vault_name(config.event_name, s))
        self.vnet = suffix.result.apply(lambda s: vnet_name(config.event_name, config.stack, s))
        self.register_outputs(
            {
                "suffix": self.suffix,
                "storage_account": self.storage_account,
                "key_vault": self.key_vault,
                "vnet": self.vnet,
            }
        )
