"""Run the Pulumi program offline, under Pulumi's mocks, and record every resource it registers.

Shared by the test suite and `make preview`: both see exactly what `pulumi up` would be asked to
create, with each resource's inputs, parent, dependencies and options. The mocks answer the way
the Azure provider does where the program depends on it (ARM ids, names, endpoints, identities,
pulumi-random results), so that no `.apply` is silently skipped.
"""

from __future__ import annotations

import inspect
import json
import runpy
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.config import SECRET_CONFIG_KEYS, StackConfig, parse_config

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "eventstack"

# Stand-in identities of the deploying principal (answers to getClientConfig).
SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-000000000002"
DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-000000000003"
DEPLOYER_CLIENT_ID = "00000000-0000-4000-8000-000000000004"
# RFC 5737 documentation address: never routable.
MOCK_PUBLIC_IP = "203.0.113.10"

GET_CLIENT_CONFIG = "azure-native:authorization:getClientConfig"

_MOCK_NAMESPACE = uuid.UUID("6f1d3c4e-2b7a-4c1e-9a53-0d3e5f7a9b21")


@dataclass
class RegisteredResource:
    """One resource as the program registered it: what `pulumi up` would send the engine."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_inputs: set[str] = field(default_factory=set)
    dependencies: list[str] = field(default_factory=list)
    retain_on_delete: bool = False
    protect: bool = False

    @property
    def parent_type(self) -> str:
        """The type token of the parent, read from its URN ('' for the stack itself)."""
        if not self.parent:
            return ""
        return self.parent.split("::")[2].split("$")[-1]

    def get(self, path: str, default: Any = None) -> Any:
        """An input by dotted path (`siteConfig.minTlsVersion`); `default` when any part is absent."""
        node: Any = self.inputs
        for part in path.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return node


@dataclass
class ProgramRun:
    """Everything one offline run produced: resources in registration order, and stack outputs."""

    resources: list[RegisteredResource]
    outputs: dict[str, Any]

    def of_type(self, type_name: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_name]

    def one(self, type_name: str) -> RegisteredResource:
        found = self.of_type(type_name)
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {type_name}, found {[r.urn for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> RegisteredResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def by_id(self, resource_id: str) -> RegisteredResource | None:
        for resource in self.resources:
            if resource.id == resource_id:
                return resource
        return None

    def custom_resources(self) -> Iterator[RegisteredResource]:
        return (r for r in self.resources if r.custom)


def _unwrap_secrets(value: Any, path: str, secrets: set[str]) -> Any:
    if rpc.is_rpc_secret(value):
        secrets.add(path)
        return _unwrap_secrets(rpc.unwrap_rpc_secret(value), path, secrets)
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v, f"{path}.{i}", secrets) for i, v in enumerate(value)]
    return value


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_MOCK_NAMESPACE, "|".join(parts)))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# The input that carries a resource's own Azure name, where the generic guess is wrong.
_NAME_INPUTS: dict[str, str] = {
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:storage:Table": "tableName",
    "azure-native:storage:Queue": "queueName",
    "azure-native:storage:ManagementPolicy": "managementPolicyName",
    "azure-native:keyvault:Vault": "vaultName",
    "azure-native:keyvault:Key": "keyName",
    "azure-native:keyvault:Secret": "secretName",
    "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
    "azure-native:applicationinsights:Component": "resourceName",
    "azure-native:operationalinsights:Workspace": "workspaceName",
    "azure-native:authorization:RoleAssignment": "roleAssignmentName",
    "azure-native:network:PublicIPAddress": "publicIpAddressName",
    "azure-native:network:PrivateZone": "privateZoneName",
    "azure-native:privatedns:PrivateZone": "privateZoneName",
}

# ARM path segments for resources that live inside another one.
_NESTED_ARM_PATHS: dict[str, tuple[str, str]] = {
    "azure-native:storage:BlobContainer": ("accountName", "blobServices/default/containers"),
    "azure-native:storage:Table": ("accountName", "tableServices/default/tables"),
    "azure-native:storage:Queue": ("accountName", "queueServices/default/queues"),
    "azure-native:storage:ManagementPolicy": ("accountName", "managementPolicies"),
    "azure-native:storage:BlobServiceProperties": ("accountName", "blobServices"),
    "azure-native:keyvault:Key": ("vaultName", "keys"),
    "azure-native:keyvault:Secret": ("vaultName", "secrets"),
    "azure-native:network:Subnet": ("virtualNetworkName", "subnets"),
    "azure-native:network:PrivateDnsZoneGroup": ("privateEndpointName", "privateDnsZoneGroups"),
    "azure-native:privatedns:VirtualNetworkLink": ("privateZoneName", "virtualNetworkLinks"),
    "azure-native:network:VirtualNetworkLink": ("privateZoneName", "virtualNetworkLinks"),
}

# The ARM parent type of each nested resource, keyed by the input that names the parent.
_PARENT_ARM_TYPES: dict[str, str] = {
    "accountName": "Microsoft.Storage/storageAccounts",
    "vaultName": "Microsoft.KeyVault/vaults",
    "virtualNetworkName": "Microsoft.Network/virtualNetworks",
    "privateEndpointName": "Microsoft.Network/privateEndpoints",
    "privateZoneName": "Microsoft.Network/privateDnsZones",
}

_ARM_PROVIDERS: dict[str, str] = {
    "storage": "Microsoft.Storage",
    "keyvault": "Microsoft.KeyVault",
    "managedidentity": "Microsoft.ManagedIdentity",
    "network": "Microsoft.Network",
    "privatedns": "Microsoft.Network",
    "web": "Microsoft.Web",
    "operationalinsights": "Microsoft.OperationalInsights",
    "applicationinsights": "Microsoft.Insights",
    "insights": "Microsoft.Insights",
    "monitor": "Microsoft.Insights",
    "authorization": "Microsoft.Authorization",
    "cdn": "Microsoft.Cdn",
    "frontdoor": "Microsoft.Network",
}

_ARM_TYPE_NAMES: dict[str, str] = {
    "StorageAccount": "storageAccounts",
    "Vault": "vaults",
    "UserAssignedIdentity": "userAssignedIdentities",
    "VirtualNetwork": "virtualNetworks",
    "NetworkSecurityGroup": "networkSecurityGroups",
    "NatGateway": "natGateways",
    "PublicIPAddress": "publicIPAddresses",
    "PrivateEndpoint": "privateEndpoints",
    "PrivateZone": "privateDnsZones",
    "WebApp": "sites",
    "AppServicePlan": "serverfarms",
    "Workspace": "workspaces",
    "Component": "components",
    "DiagnosticSetting": "diagnosticSettings",
    "Profile": "profiles",
    "AFDEndpoint": "afdEndpoints",
    "AFDOriginGroup": "originGroups",
    "AFDOrigin": "origins",
    "Route": "routes",
    "SecurityPolicy": "securityPolicies",
    "Policy": "frontDoorWebApplicationFirewallPolicies",
}


def _azure_name(type_name: str, name: str, inputs: Mapping[str, Any]) -> str:
    key = _NAME_INPUTS.get(type_name)
    resource_type = type_name.rsplit(":", 1)[-1]
    candidates = [key] if key else []
    candidates += [f"{_lower_first(resource_type)}Name", "name", "resourceName"]
    for candidate in candidates:
        value = inputs.get(candidate) if candidate else None
        if isinstance(value, str) and value:
            return value
    # Azure-native auto-names: the logical name plus a random suffix.
    return f"{name}{_stable_uuid(type_name, name)[:8]}"


def _arm_id(type_name: str, azure_name: str, inputs: Mapping[str, Any]) -> str:
    subscription = f"/subscriptions/{SUBSCRIPTION_ID}"
    if type_name == "azure-native:resources:ResourceGroup":
        return f"{subscription}/resourceGroups/{azure_name}"
    if type_name == "azure-native:authorization:RoleAssignment":
        return f"{inputs.get('scope', subscription)}/providers/Microsoft.Authorization/roleAssignments/{azure_name}"
    if type_name in ("azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting"):
        return f"{inputs.get('resourceUri', subscription)}/providers/Microsoft.Insights/diagnosticSettings/{azure_name}"
    _, module, resource_type = type_name.split(":")
    group = f"{subscription}/resourceGroups/{inputs.get('resourceGroupName', 'unknown-rg')}"
    nested = _NESTED_ARM_PATHS.get(type_name)
    if nested:
        parent_input, segments = nested
        parent = f"{group}/providers/{_PARENT_ARM_TYPES[parent_input]}/{inputs.get(parent_input)}"
        if type_name == "azure-native:storage:BlobServiceProperties":
            return f"{parent}/{segments}/default"
        return f"{parent}/{segments}/{azure_name}"
    provider = _ARM_PROVIDERS.get(module, f"Microsoft.{module.capitalize()}")
    arm_type = _ARM_TYPE_NAMES.get(resource_type, _lower_first(resource_type) + "s")
    return f"{group}/providers/{provider}/{arm_type}/{azure_name}"


def _random_text(name: str, length: int, alphabet: str) -> str:
    digest = uuid.uuid5(_MOCK_NAMESPACE, name).hex * 4
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 2 * length, 2))


@dataclass(frozen=True)
class _Created:
    """What the mock knows about a resource when it answers its registration."""

    name: str
    azure_name: str
    arm_id: str
    inputs: Mapping[str, Any]


def _random_string(r: _Created) -> dict[str, Any]:
    alphabet = "".join(
        chars
        for flag, chars in (
            ("lower", "abcdefghijklmnopqrstuvwxyz"),
            ("numeric", "0123456789"),
            ("upper", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        )
        if r.inputs.get(flag, True)
    )
    return {"result": _random_text(r.name, int(r.inputs.get("length", 16)), alphabet or "abc")}


def _random_password(r: _Created) -> dict[str, Any]:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return {"result": _random_text(r.name, int(r.inputs.get("length", 16)), alphabet)}


def _identity(r: _Created) -> dict[str, Any]:
    return {
        "principalId": _stable_uuid("principal", r.arm_id),
        "clientId": _stable_uuid("client", r.arm_id),
        "tenantId": TENANT_ID,
    }


def _vault(r: _Created) -> dict[str, Any]:
    return {
        "properties": {**(r.inputs.get("properties") or {}), "vaultUri": f"https://{r.azure_name}.vault.azure.net/"}
    }


def _key(r: _Created) -> dict[str, Any]:
    uri = f"https://{r.inputs.get('vaultName')}.vault.azure.net/keys/{r.azure_name}"
    return {"keyUri": uri, "keyUriWithVersion": f"{uri}/{uuid.uuid5(_MOCK_NAMESPACE, r.arm_id).hex}"}


def _secret(r: _Created) -> dict[str, Any]:
    uri = f"https://{r.inputs.get('vaultName')}.vault.azure.net/secrets/{r.azure_name}"
    versioned = f"{uri}/{uuid.uuid5(_MOCK_NAMESPACE, r.arm_id).hex}"
    return {"properties": {**(r.inputs.get("properties") or {}), "secretUri": uri, "secretUriWithVersion": versioned}}


def _storage_account(r: _Created) -> dict[str, Any]:
    services = ("blob", "table", "queue", "file", "dfs")
    return {"primaryEndpoints": {s: f"https://{r.azure_name}.{s}.core.windows.net/" for s in services}}


def _web_app(r: _Created) -> dict[str, Any]:
    host = f"{r.azure_name}.azurewebsites.net"
    return {"defaultHostName": host, "enabledHostNames": [host, f"{r.azure_name}.scm.azurewebsites.net"]}


def _app_insights(r: _Created) -> dict[str, Any]:
    ikey = _stable_uuid("ikey", r.arm_id)
    region = r.inputs.get("location", "westeurope")
    return {
        "appId": _stable_uuid("appid", r.arm_id),
        "instrumentationKey": ikey,
        "connectionString": f"InstrumentationKey={ikey};IngestionEndpoint=https://{region}-0.in.applicationinsights.azure.com/",
    }


# What the provider adds to a resource's inputs after creation, for the fields the program reads.
COMPUTED_OUTPUTS: dict[str, Callable[[_Created], dict[str, Any]]] = {
    "random:index/randomString:RandomString": _random_string,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomUuid:RandomUuid": lambda r: {"result": _stable_uuid("uuid", r.name)},
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:keyvault:Vault": _vault,
    "azure-native:keyvault:Key": _key,
    "azure-native:keyvault:Secret": _secret,
    "azure-native:storage:StorageAccount": _storage_account,
    "azure-native:web:WebApp": _web_app,
    "azure-native:applicationinsights:Component": _app_insights,
    "azure-native:operationalinsights:Workspace": lambda r: {"customerId": _stable_uuid("workspace", r.arm_id)},
    "azure-native:network:PublicIPAddress": lambda r: {"ipAddress": MOCK_PUBLIC_IP},
    "azure-native:cdn:Profile": lambda r: {"frontDoorId": _stable_uuid("frontdoor", r.arm_id)},
    "azure-native:cdn:AFDEndpoint": lambda r: {
        "hostName": f"{r.azure_name}-{_stable_uuid('fd', r.arm_id)[:10]}.z01.azurefd.net"
    },
}


def _user_assigned_identities(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Azure answers a list of user-assigned identity ids with a map: id -> principal and client id."""
    identity = inputs.get("identity")
    if not isinstance(identity, Mapping) or not isinstance(identity.get("userAssignedIdentities"), list):
        return {}
    ids = identity["userAssignedIdentities"]
    return {
        "identity": {
            **identity,
            "userAssignedIdentities": {
                i: {"principalId": _stable_uuid("principal", i), "clientId": _stable_uuid("client", i)} for i in ids
            },
        }
    }


def _computed_outputs(type_name: str, created: _Created) -> dict[str, Any]:
    computed: dict[str, Any] = {}
    if type_name.startswith("azure-native:"):
        computed = {"name": created.azure_name, "id": created.arm_id}
        computed |= _user_assigned_identities(created.inputs)
    handler = COMPUTED_OUTPUTS.get(type_name)
    if handler:
        computed |= handler(created)
    return computed


class StackMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes the way Azure and pulumi-random would."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return f"{args.name}_id", dict(args.inputs)
        azure_name = _azure_name(args.typ, args.name, args.inputs)
        arm_id = _arm_id(args.typ, azure_name, args.inputs)
        outputs = dict(args.inputs)
        outputs.update(_computed_outputs(args.typ, _Created(args.name, azure_name, arm_id, args.inputs)))
        resource_id = arm_id if args.typ.startswith("azure-native:") else f"{args.name}_id"
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == GET_CLIENT_CONFIG:
            # camelCase: snake_case keys would silently come back as None.
            return {
                "clientId": DEPLOYER_CLIENT_ID,
                "objectId": DEPLOYER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }, []
        raise NotImplementedError(f"no mock answer for invoke {args.token}; add one to dev/offline.py")


def _transformed(request: Any) -> Any:
    """The registration after the resource's own `transforms`, as the engine runs them.

    Pulumi's mock monitor hands transforms to the mocks without running them; the engine runs them
    before the provider (and the policy pack) sees the inputs, so a recording must too.
    """
    transforms = pulumi_mocks._resolve_callbacks(request.transforms)
    if not transforms:
        return request
    props = rpc.deserialize_properties(request.object)
    for transform in transforms:
        args = pulumi.ResourceTransformArgs(
            custom=bool(request.custom),
            type_=request.type,
            name=request.name,
            props=props,
            opts=pulumi.ResourceOptions(),
        )
        result = transform(args)
        if inspect.isawaitable(result):
            result = _sync_await(result)
        if result is not None:
            props = result.props
    transformed = type(request)()
    transformed.CopyFrom(request)
    transformed.object.CopyFrom(_sync_await(rpc.serialize_properties(props, {})))
    return transformed


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps what the plain one drops: parents, options, inputs.

    It runs each resource's `transforms` first, so mocks and recording see what the engine would send.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        request = _transformed(request)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        secrets: set[str] = set()
        raw_inputs = rpc.deserialize_properties(request.object)
        inputs = _unwrap_secrets(raw_inputs, "", secrets)
        state = self.resources[response.urn].state
        self.registered.append(
            RegisteredResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                id=response.id,
                inputs=inputs,
                outputs=_unwrap_secrets(state, "", set()),
                secret_inputs=secrets,
                dependencies=list(request.dependencies),
                retain_on_delete=bool(request.retainOnDelete),
                protect=bool(request.protect),
            )
        )
        return response


def _config_strings(values: Mapping[str, Any]) -> dict[str, str]:
    """Config values the way the Pulumi CLI hands them to a program: strings, JSON for lists and maps."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return out


def project_defaults(root: Path = ROOT) -> dict[str, Any]:
    """Defaults of every key declared in Pulumi.yaml's `config:` block, namespaced."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    declared = project.get("config") or {}
    return {f"{PROJECT}:{key}": spec.get("default") for key, spec in declared.items() if isinstance(spec, dict)}


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None, root: Path = ROOT) -> dict[str, str]:
    """The config the CLI would pass for `stack`: Pulumi.yaml defaults, the stack file, overrides."""
    values: dict[str, Any] = project_defaults(root)
    stack_file = root / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        values |= (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            values.pop(full_key, None)
        else:
            values[full_key] = value
    return _config_strings({k: v for k, v in values.items() if v is not None})


# Offline, a `secure:` value cannot be decrypted: it stands in as a well-formed value, so that a set
# secret counts as set (the checks `pulumi up` makes then see it) without its content.
SECRET_STAND_INS: Mapping[str, str] = {"githubClientSecret": "0" * 40, "allowedGitHubLogins": '["set-as-a-secret"]'}


def parsed_stack_config(stack: str, overrides: Mapping[str, Any] | None = None, root: Path = ROOT) -> StackConfig:
    """`stack`'s config as the program would validate it, read from the files alone (no Pulumi CLI)."""
    prefix = f"{PROJECT}:"
    raw = stack_config(stack, overrides, root)
    values: dict[str, str] = {}
    for key, value in raw.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        values[name] = SECRET_STAND_INS.get(name, value) if value.startswith('{"secure"') else value
    return parse_config(values, stack)


def config_overrides(items: Sequence[str], error: Callable[[str], NoReturn]) -> dict[str, str]:
    """`--set KEY=VALUE` arguments as config overrides; `error` reports a malformed one."""
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            error(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key] = value
    return overrides


def reset_runtime() -> None:
    """Forget the previous run's root stack and settings, so no state leaks between runs."""
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_all_config({})


def run_program(
    stack: str = "dev",
    overrides: Mapping[str, Any] | None = None,
    main: Path = ROOT / "__main__.py",
    monitor: RecordingMonitor | None = None,
) -> ProgramRun:
    """Run `__main__.py` under fresh mocks with the stack's config, and return what it registered.

    Exceptions the program raises (a `ConfigError`, say) propagate to the caller; pass a
    `monitor` to see what was registered before it.
    """
    reset_runtime()
    monitor = monitor or RecordingMonitor(StackMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    config = stack_config(stack, overrides)
    # A mocked run treats the keys that must be secret as set with --secret, as a real stack holds them.
    secret_keys = [f"{PROJECT}:{key}" for key in SECRET_CONFIG_KEYS if f"{PROJECT}:{key}" in config]
    pulumi.runtime.set_all_config(config, secret_keys)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    exported: dict[str, Any] = {}

    async def program() -> None:
        runpy.run_path(str(main), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        outputs = dict(getattr(root, "outputs", {}) or {})
        for key, value in outputs.items():
            exported[key] = await pulumi.Output.from_input(value).future()

    try:
        _sync_await(run_pulumi_func(program))
    finally:
        reset_runtime()
    return ProgramRun(resources=list(monitor.registered), outputs=exported)
