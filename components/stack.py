"""EventStack: the whole deployment, composed from one component per concern."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import resources

from components.config import StackConfig
from components.naming import StackNames, stack_tags


class EventStack(pulumi.ComponentResource):
    """Everything one event needs, inside one dedicated resource group: the blast radius."""

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:index:EventStack", name, None, opts)
        tags = stack_tags(config)
        self.names = StackNames(f"{name}-names", config, opts=pulumi.ResourceOptions(parent=self))

        group = resources.ResourceGroup(
            f"{name}-rg",
            location=config.location,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.resource_group_name = group.name
        self.resource_group_id = group.id

        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "resource_group_id": self.resource_group_id,
            }
        )
