"""A reviewer's dry run: what `pulumi up` would create, with the settings that carry security.

Runs the program offline under the same mocks as the tests (no Azure, no Pulumi CLI) and prints
every resource: type, name, parent, and its security-relevant inputs; then the bill
(components/cost.py) and a warning for every value a real `pulumi up` would refuse. Exits 2 on a
config error.

    python -m dev.preview [--stack dev] [--set tokenTtlMinutes=5 ...] [--all-inputs]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pulumi

from components import cost
from components.config import ConfigError, RunKind, StackConfig, deploy_refusals
from dev.offline import ProgramRun, RegisteredResource, config_overrides, parsed_stack_config, run_program

# Input names (the last part of a path) a security reviewer wants to see at a glance.
SECURITY_KEYS: frozenset[str] = frozenset(
    {
        "location",
        "data-delete-by",
        # storage
        "allowSharedKeyAccess",
        "allowBlobPublicAccess",
        "allowCrossTenantReplication",
        "defaultToOAuthAuthentication",
        "enableHttpsTrafficOnly",
        "minimumTlsVersion",
        "publicNetworkAccess",
        "requireInfrastructureEncryption",
        "keySource",
        "keyType",
        "keyName",
        "keyVaultUri",
        "defaultAction",
        "bypass",
        "days",
        "daysAfterModificationGreaterThan",
        "daysAfterCreationGreaterThan",
        "prefixMatch",
        "allowedCopyScope",
        "isLocalUserEnabled",
        "encryptionUserAssignedIdentity",
        "isVersioningEnabled",
        "publicAccess",
        # key vault
        "enableRbacAuthorization",
        "enablePurgeProtection",
        "enableSoftDelete",
        "softDeleteRetentionInDays",
        "kty",
        "keyOps",
        "curveName",
        "keySize",
        "timeAfterCreate",
        "expiryTime",
        "expires",
        # identity and access
        "roleDefinitionId",
        "scope",
        "principalType",
        # network
        "access",
        "direction",
        "protocol",
        "sourceAddressPrefix",
        "destinationAddressPrefix",
        "destinationPortRange",
        "destinationPortRanges",
        "addressPrefix",
        "addressPrefixes",
        "defaultOutboundAccess",
        "privateEndpointNetworkPolicies",
        "serviceName",
        "groupIds",
        "registrationEnabled",
        "priority",
        "sourceAddressPrefixes",
        "destinationAddressPrefixes",
        "publicIPAllocationMethod",
        # monitoring
        "publicNetworkAccessForIngestion",
        "publicNetworkAccessForQuery",
        "workspaceResourceId",
        "ingestionMode",
        "disableIpMasking",
        "enableLogAccessUsingOnlyResourcePermissions",
        "categoryGroup",
        # function app
        "httpsOnly",
        "minTlsVersion",
        "scmMinTlsVersion",
        "http20Enabled",
        "remoteDebuggingEnabled",
        "vnetRouteAllEnabled",
        "virtualNetworkSubnetId",
        "allowedOrigins",
        "maximumInstanceCount",
        "perInstanceConcurrency",
        "allow",
        "disableLocalAuth",
        "retentionInDays",
        # operator: alerts and budget
        "emailAddress",
        "threshold",
        "windowSize",
        "amount",
        "contactEmails",
        # the edge, the site's lock-down behind it, availability
        "ipSecurityRestrictionsDefaultAction",
        "scmIpSecurityRestrictionsDefaultAction",
        "scmIpSecurityRestrictionsUseMain",
        "action",
        "tag",
        "ipAddress",
        "x-azure-fdid",
        "zoneRedundant",
        "instanceCount",
        "mode",
        "enabledState",
        "requestBodyCheck",
        "customBlockResponseStatusCode",
        "ruleType",
        "ruleSetType",
        "ruleSetVersion",
        "ruleSetAction",
        "rateLimitThreshold",
        "rateLimitDurationInMinutes",
        "variableName",
        "matchVariable",
        "operator",
        "negateCondition",
        "matchValue",
        "probePath",
        "probeProtocol",
        "probeRequestType",
        "forwardingProtocol",
        "httpsRedirect",
        "supportedProtocols",
        "patternsToMatch",
        "hostName",
        "originHostHeader",
        "enforceCertificateNameCheck",
        "category",
    }
)
# Paths shown whatever their last part: a resource's SKU is `sku.name`.
SECURITY_PATH_SUFFIXES: tuple[str, ...] = ("sku.name",)


# Names of things, shown even inside an object Pulumi marks secret as a whole.
NEVER_SECRET: frozenset[str] = frozenset({"name"})


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def security_settings(resource: RegisteredResource, all_inputs: bool = False) -> list[tuple[str, Any]]:
    """The (path, value) pairs of a resource's inputs worth a reviewer's eye."""
    settings = []
    for path, value in _leaves(resource.inputs, ""):
        last = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if not (all_inputs or last in SECURITY_KEYS or path.endswith(SECURITY_PATH_SUFFIXES)):
            continue
        # Pulumi marks a whole object secret when one value inside it is: within such an object,
        # only the setting names listed above (never secret values) are shown.
        dotted = re.sub(r"\[(\d+)\]", r".\1", path)
        under_secret = any(dotted == s or dotted.startswith(s + ".") for s in resource.secret_inputs)
        shown_anyway = last in SECURITY_KEYS or last in NEVER_SECRET
        settings.append((path, "<secret>" if under_secret and not shown_anyway else value))
    return settings


def _shown(value: Any) -> str:
    # The engine carries every number as a float; a port or a priority reads better without `.0`.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, default=str)


def render(run: ProgramRun, stack: str, all_inputs: bool = False) -> str:
    """The preview as text: one block per resource, children after their parents."""
    lines = [f"eventstack: offline preview of stack '{stack}' ({len(run.resources)} resources, mocked, no Azure)"]
    children: dict[str, list[RegisteredResource]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    known = {resource.urn for resource in run.resources}
    roots = [r for r in run.resources if r.parent not in known]

    def emit(resource: RegisteredResource, level: int) -> None:
        indent = "  " * level
        parent = resource.parent.rsplit("::", 1)[-1] if resource.parent else "-"
        lines.append(f"{indent}{resource.type}  {resource.name}  (parent: {parent})")
        for path, value in security_settings(resource, all_inputs):
            lines.append(f"{indent}    {path} = {_shown(value)}")
        if resource.retain_on_delete:
            lines.append(f"{indent}    [retainOnDelete]")
        for child in children.get(resource.urn, []):
            emit(child, level + 1)

    for resource in roots:
        emit(resource, 0)
    if run.outputs:
        lines.append("outputs:")
        lines.extend(f"  {key} = {_shown(value)}" for key, value in sorted(run.outputs.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to read (default: dev)")
    parser.add_argument(
        "--all-inputs", action="store_true", help="print every input, not only the security-relevant ones"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value for this run, like `pulumi config set` would",
    )
    args = parser.parse_args(argv)
    overrides = config_overrides(args.set, parser.error)
    try:
        run = run_program(args.stack, overrides)
        config = parsed_stack_config(args.stack, overrides)
    except (ConfigError, pulumi.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(run, args.stack, args.all_inputs))
    print()
    print(summary(config, datetime.now(UTC)))
    return 0


def summary(config: StackConfig, now: datetime) -> str:
    """The bill for this config, then one warning per value `pulumi up` would refuse."""
    lines = [cost.render(config), ""]
    refusals = deploy_refusals(config, RunKind.DEPLOY, now)
    if not refusals:
        lines.append("pulumi up: no value of this config would be refused.")
    for refusal in refusals:
        lines.append(f"WARNING: pulumi up would refuse {refusal}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
