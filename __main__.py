"""eventstack: config in, components composed, outputs out."""

import pulumi

from components.config import ConfigError, load_config
from components.stack import EventStack

try:
    config = load_config()
except ConfigError as error:
    # A RunError prints the message alone: the operator needs the key, not a traceback.
    raise pulumi.RunError(str(error)) from error

stack = EventStack("eventstack", config)

pulumi.export("resourceGroupName", stack.resource_group_name)
pulumi.export("location", config.location)
pulumi.export("dataDeleteBy", config.data_delete_by_text)
