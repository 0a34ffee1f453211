"""eventstack: config in, components composed, outputs out."""

import pulumi

from components.config import ConfigError, current_run_kind, load_config
from components.providers import ProvidersNotRegisteredError, require_registered_providers
from components.stack import EventStack

try:
    config = load_config()
    require_registered_providers(current_run_kind())
except (ConfigError, ProvidersNotRegisteredError) as error:
    # A RunError prints the message alone: the operator needs the key, not a traceback.
    raise pulumi.RunError(str(error)) from error

stack = EventStack("eventstack", config)

pulumi.export("resourceGroupName", stack.resource_group_name)
pulumi.export("egressIp", stack.egress_ip)
pulumi.export("storageAccountName", stack.storage_account_name)
pulumi.export("keyVaultName", stack.key_vault_name)
pulumi.export("keyVaultUri", stack.key_vault_uri)
pulumi.export("functionAppName", stack.function_app_name)
pulumi.export("appUrl", stack.app_url)
pulumi.export("jwksUrl", stack.jwks_url)
pulumi.export("wallUrl", stack.wall_url)
pulumi.export("joinUrl", stack.join_url)
pulumi.export("githubCallbackUrl", stack.github_callback_url)
pulumi.export("location", config.location)
pulumi.export("dataDeleteBy", config.data_delete_by_text)
