"""The Function App: Flex Consumption, VNet-integrated, identity-only, throttled, shipping its own code.

The app reaches storage and Key Vault only through the VNet, authenticates to both with its
user-assigned identity, and holds no key, connection string of a storage account, SAS or password
in its settings. The settings have exactly one owner (`site_config.app_settings` on the site):
a second writer would replace the whole collection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import web

from components.config import UTC_FORMAT, StackConfig
from components.deploy import CodeDeployment, CodeDeploymentArgs
from components.package import ROUTE_PREFIX, Bundle

PLAN_SKU = "FC1"
PLAN_TIER = "FlexConsumption"
SITE_KIND = "functionapp,linux"
PLAN_KIND = "functionapp"
RUNTIME_NAME = "python"
RUNTIME_VERSION = "3.11"
MIN_TLS_VERSION = "1.2"
DEFAULT_HOST_SUFFIX = "azurewebsites.net"
JWKS_PATH = ".well-known/jwks.json"
CALLBACK_PATH = "auth/callback"
APP_NAME_MAX = 60  # Azure site names: 2-60 letters, digits, hyphens; globally unique

# Settings Flex Consumption rejects or ignores: the platform owns the runtime, the package
# location and the scale limit (functionAppScaleLimit is a 400), and builds happen here.
FLEX_FORBIDDEN_SETTINGS: frozenset[str] = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTOVERVNET",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
    }
)
FLEX_FORBIDDEN_PREFIXES: tuple[str, ...] = ("WEBSITE_CONTENT",)

# The host reaches its storage with the app's identity: account name + client id, no key.
HOST_STORAGE_CREDENTIAL = "managedidentity"

# Behind the edge the main site admits only this Front Door profile: the service tag narrows the
# source to Front Door's back ends (shared by every Front Door customer), the header to ours.
FRONT_DOOR_SERVICE_TAG = "AzureFrontDoor.Backend"
FRONT_DOOR_ID_HEADER = "x-azure-fdid"
ACCESS_ALLOW = "Allow"
ACCESS_DENY = "Deny"
FRONT_DOOR_RULE_NAME = "front-door-only"
FRONT_DOOR_RULE_PRIORITY = 100
DEPLOY_RULE_PRIORITY = 200
# The always-ready group for every HTTP function of the app.
ALWAYS_READY_HTTP_GROUP = "http"
# Tells the app that the edge reports the client's address (function_code/eventapi/settings.py).
BEHIND_EDGE_SETTING = "EVENTSTACK_BEHIND_EDGE"


def function_app_name(event_name: str, suffix: str) -> str:
    """`func-<event>-<suffix>`: the site name is the public host name, so it is unique per stack."""
    return f"func-{event_name}-{suffix}"[:APP_NAME_MAX]


def default_host_name(app_name: str) -> str:
    """The host name Azure gives the site, known before the site exists (the settings need it)."""
    return f"{app_name}.{DEFAULT_HOST_SUFFIX}"


@dataclass(frozen=True)
class AppSettingInputs:
    """The values the settings are made of that only exist once other resources do."""

    app_host: pulumi.Input[str]
    """The app's default host name: the token issuer and audience are built from it."""
    app_client_id: pulumi.Input[str]
    """Client id of the app's user-assigned identity."""
    storage_account_name: pulumi.Input[str]
    table_endpoint: pulumi.Input[str]
    key_vault_uri: pulumi.Input[str]
    signing_key_name: pulumi.Input[str]
    pepper_secret_name: pulumi.Input[str]
    app_insights_connection_string: pulumi.Input[str]
    behind_edge: bool = False
    """Whether Front Door stands in front of the app (the app then counts per edge-reported address)."""
    github_secret_name: pulumi.Input[str] = ""
    """The Key Vault secret holding the GitHub OAuth app's client secret (its name, not its value)."""
    login_digests: pulumi.Input[str] = ""
    """HMACs of the admitted GitHub logins (allowlist mode)."""


def app_settings(config: StackConfig, inputs: AppSettingInputs) -> dict[str, pulumi.Input[str]]:
    """Every app setting, by name: host storage, telemetry, and what eventapi/settings.py reads."""
    host = pulumi.Output.from_input(inputs.app_host)
    client_id = pulumi.Output.from_input(inputs.app_client_id)
    return {
        "AzureWebJobsStorage__accountName": inputs.storage_account_name,
        "AzureWebJobsStorage__credential": HOST_STORAGE_CREDENTIAL,
        "AzureWebJobsStorage__clientId": inputs.app_client_id,
        # With local auth off on the component, the instrumentation key in this string only names
        # where telemetry goes; ingestion needs an Entra ID token of the identity below.
        "APPLICATIONINSIGHTS_CONNECTION_STRING": inputs.app_insights_connection_string,
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": client_id.apply(lambda c: f"ClientId={c};Authorization=AAD"),
        # DefaultAzureCredential in the app picks the user-assigned identity by this client id.
        "AZURE_CLIENT_ID": inputs.app_client_id,
        "EVENTSTACK_TOKEN_ISSUER": host.apply(lambda h: f"https://{h}"),
        "EVENTSTACK_TOKEN_AUDIENCE": host.apply(lambda h: f"https://{h}/{ROUTE_PREFIX}"),
        "EVENTSTACK_TOKEN_TTL_MINUTES": str(config.token_ttl_minutes),
        "EVENTSTACK_KEY_VAULT_URI": inputs.key_vault_uri,
        "EVENTSTACK_SIGNING_KEY_NAME": inputs.signing_key_name,
        "EVENTSTACK_PEPPER_SECRET_NAME": inputs.pepper_secret_name,
        "EVENTSTACK_TABLE_ENDPOINT": inputs.table_endpoint,
        "EVENTSTACK_RETENTION_HOURS": str(config.retention_hours),
        "EVENTSTACK_EVENT_ENDS_AT": config.event_ends_at.strftime(UTC_FORMAT),
        "EVENTSTACK_COMMANDS_PER_MINUTE": str(config.commands_per_minute),
        "EVENTSTACK_AUTH_REQUESTS_PER_MINUTE": str(config.auth_requests_per_minute),
        "EVENTSTACK_MAX_CONCURRENT_REQUESTS": str(config.max_concurrent_requests),
        "EVENTSTACK_MAX_OUTSTANDING_REQUESTS": str(config.max_outstanding_requests),
        "EVENTSTACK_GITHUB_CLIENT_ID": config.github_client_id,
        BEHIND_EDGE_SETTING: "true" if inputs.behind_edge else "false",
        "EVENTSTACK_GITHUB_SECRET_NAME": inputs.github_secret_name,
        "EVENTSTACK_SIGN_INS_PER_MINUTE": str(config.sign_ins_per_minute),
        "EVENTSTACK_SESSION_HOURS": str(config.session_hours),
        "EVENTSTACK_SESSIONS_PER_ATTENDEE": str(config.sessions_per_attendee),
        "EVENTSTACK_SIGN_IN_MODE": config.sign_in,
        "EVENTSTACK_SIGN_IN_GRACE_MINUTES": str(config.sign_in_grace_minutes),
        # A setting, not code: changing the list and running `pulumi up` restarts the app with it.
        "EVENTSTACK_ALLOWED_LOGIN_DIGESTS": inputs.login_digests if config.sign_in == "allowlist" else "",
    }


def forbidden_on_flex(setting_name: str) -> bool:
    """Whether Flex Consumption rejects (or silently overrides) a setting of this name."""
    return setting_name in FLEX_FORBIDDEN_SETTINGS or setting_name.startswith(FLEX_FORBIDDEN_PREFIXES)


@dataclass(frozen=True)
class EdgeAccess:
    """The Front Door in front of the app: whom the site admits and the host attendees call."""

    front_door_id: pulumi.Input[str]
    """The profile's `frontDoorId`: the value of the `X-Azure-FDID` header it adds."""
    public_host: pulumi.Input[str]
    """The edge endpoint's host name: token issuer and audience, CORS and the outputs use it."""


def main_site_restrictions(edge: EdgeAccess | None) -> tuple[str, list[web.IpSecurityRestrictionArgs]]:
    """Default action and rules for the main site: only this Front Door when the edge is on."""
    if edge is None:
        return ACCESS_ALLOW, []
    return ACCESS_DENY, [
        web.IpSecurityRestrictionArgs(
            name=FRONT_DOOR_RULE_NAME,
            action=ACCESS_ALLOW,
            tag=web.IpFilterTag.SERVICE_TAG,
            ip_address=FRONT_DOOR_SERVICE_TAG,
            priority=FRONT_DOOR_RULE_PRIORITY,
            headers={FRONT_DOOR_ID_HEADER: [edge.front_door_id]},
        )
    ]


def deployment_restrictions(config: StackConfig) -> tuple[str, list[web.IpSecurityRestrictionArgs]]:
    """Default action and rules for the deployment (SCM) endpoint, independent of the main site's.

    Without `deployFromCidrs` it stays reachable so that `pulumi up` can ship code from anywhere,
    but only with an Entra ID token: basic-auth publishing is off.
    """
    if not config.deploy_from_cidrs:
        return ACCESS_ALLOW, []
    return ACCESS_DENY, [
        web.IpSecurityRestrictionArgs(
            name=f"deploy-from-{index}",
            action=ACCESS_ALLOW,
            tag=web.IpFilterTag.DEFAULT,
            ip_address=str(cidr),
            priority=DEPLOY_RULE_PRIORITY + index,
        )
        for index, cidr in enumerate(config.deploy_from_cidrs)
    ]


def always_ready(config: StackConfig) -> list[web.FunctionsAlwaysReadyConfigArgs]:
    """Always-ready HTTP instances; none configured means none billed."""
    if config.always_ready_instances == 0:
        return []
    return [
        web.FunctionsAlwaysReadyConfigArgs(name=ALWAYS_READY_HTTP_GROUP, instance_count=config.always_ready_instances)
    ]


@dataclass(frozen=True)
class FunctionAppArgs:
    """What the Function App needs: config, where it lives, and the resources it uses."""

    config: StackConfig
    """Validated stack config: scale caps, throttles, token lifetime, CORS, quotas."""
    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    app_name: pulumi.Input[str]
    """Globally unique site name (see `function_app_name`)."""
    integration_subnet_id: pulumi.Input[str]
    """The subnet delegated to Microsoft.App/environments; all outbound traffic goes through it."""
    app_identity_id: pulumi.Input[str]
    """ARM id of the app's user-assigned identity."""
    app_client_id: pulumi.Input[str]
    """Client id of the same identity."""
    storage_account_name: pulumi.Input[str]
    table_endpoint: pulumi.Input[str]
    deployment_container_url: pulumi.Input[str]
    """`https://<account>.blob.core.windows.net/<container>`: where Flex keeps the package."""
    key_vault_uri: pulumi.Input[str]
    signing_key_name: pulumi.Input[str]
    pepper_secret_name: pulumi.Input[str]
    app_insights_connection_string: pulumi.Input[str]
    bundle: Bundle
    """The code package to deploy (built by `components.package`)."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""
    deployment_depends_on: Sequence[pulumi.Resource] = field(default=())
    """What must exist before code is shipped: the identity's role on the deployment storage."""
    edge: EdgeAccess | None = None
    """The Front Door the site admits exclusively; None leaves the site open (`edge: none`)."""
    github_secret_name: pulumi.Input[str] = ""
    """The Key Vault secret with the GitHub OAuth app's client secret."""
    login_digests: pulumi.Input[str] = ""
    """HMACs of the admitted GitHub logins."""


class FunctionApp(pulumi.ComponentResource):
    """Flex Consumption plan + Function App + its code, deployed through OneDeploy."""

    app_name: pulumi.Output[str]
    app_id: pulumi.Output[str]
    default_host_name: pulumi.Output[str]
    app_url: pulumi.Output[str]
    jwks_url: pulumi.Output[str]
    github_callback_url: pulumi.Output[str]
    scm_host: pulumi.Output[str]
    deployed_hash: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:FunctionApp", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        plan = web.AppServicePlan(
            f"{name}-plan",
            resource_group_name=args.resource_group_name,
            location=config.location,
            kind=PLAN_KIND,
            # Linux: Flex Consumption runs Linux workers only.
            reserved=True,
            sku=web.SkuDescriptionArgs(name=PLAN_SKU, tier=PLAN_TIER),
            # Instances spread over the region's zones; needs ZRS host storage (components/storage.py).
            zone_redundant=config.zone_redundant,
            tags=tags,
            opts=child,
        )

        origin_host = pulumi.Output.from_input(args.app_name).apply(default_host_name)
        # What attendees call: the edge's host when there is one, else the site's own.
        host = pulumi.Output.from_input(args.edge.public_host) if args.edge is not None else origin_host
        settings = app_settings(
            config,
            AppSettingInputs(
                app_host=host,
                app_client_id=args.app_client_id,
                storage_account_name=args.storage_account_name,
                table_endpoint=args.table_endpoint,
                key_vault_uri=args.key_vault_uri,
                signing_key_name=args.signing_key_name,
                pepper_secret_name=args.pepper_secret_name,
                app_insights_connection_string=args.app_insights_connection_string,
                behind_edge=args.edge is not None,
                github_secret_name=args.github_secret_name,
                login_digests=args.login_digests,
            ),
        )
        main_default, main_rules = main_site_restrictions(args.edge)
        deploy_default, deploy_rules = deployment_restrictions(config)
        cors_origins: pulumi.Input[list[str]] = list(config.cors_origins)
        if args.edge is not None:
            # Pages served through the edge call the API from the edge's origin.
            cors_origins = host.apply(lambda h: [*config.cors_origins, f"https://{h}"])

        site = web.WebApp(
            f"{name}-app",
            name=args.app_name,
            resource_group_name=args.resource_group_name,
            location=config.location,
            kind=SITE_KIND,
            server_farm_id=plan.id,
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.app_identity_id],
            ),
            https_only=True,
            # Stays enabled: disabling it also closes the deployment (SCM) endpoint, and `pulumi up`
            # ships code through it from outside the VNet. Access restrictions close the main site
            # to everything but the edge instead (docs/deploy.md: "The edge").
            public_network_access="Enabled",
            virtual_network_subnet_id=args.integration_subnet_id,
            # Everything outbound leaves through the VNet (private endpoints, NAT egress).
            outbound_vnet_routing=web.OutboundVnetRoutingArgs(all_traffic=True),
            client_affinity_enabled=False,
            site_config=web.SiteConfigArgs(
                app_settings=[
                    web.NameValuePairArgs(name=setting, value=value) for setting, value in sorted(settings.items())
                ],
                min_tls_version=MIN_TLS_VERSION,
                scm_min_tls_version=MIN_TLS_VERSION,
                ftps_state=web.FtpsState.DISABLED,
                remote_debugging_enabled=False,
                http20_enabled=True,
                vnet_route_all_enabled=True,
                cors=web.CorsSettingsArgs(allowed_origins=cors_origins, support_credentials=False),
                ip_security_restrictions_default_action=main_default,
                ip_security_restrictions=main_rules,
                # The deployment endpoint has rules of its own, never inherited from the main site.
                scm_ip_security_restrictions_use_main=False,
                scm_ip_security_restrictions_default_action=deploy_default,
                scm_ip_security_restrictions=deploy_rules,
            ),
            function_app_config=web.FunctionAppConfigArgs(
                deployment=web.FunctionsDeploymentArgs(
                    storage=web.FunctionsDeploymentStorageArgs(
                        type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                        value=args.deployment_container_url,
                        authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                            type=web.AuthenticationType.USER_ASSIGNED_IDENTITY,
                            user_assigned_identity_resource_id=args.app_identity_id,
                        ),
                    )
                ),
                runtime=web.FunctionsRuntimeArgs(name=RUNTIME_NAME, version=RUNTIME_VERSION),
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    maximum_instance_count=config.max_instances,
                    instance_memory_mb=config.instance_memory_mb,
                    always_ready=always_ready(config),
                    triggers=web.FunctionsScaleAndConcurrencyTriggersArgs(
                        http=web.FunctionsScaleAndConcurrencyTriggersHttpArgs(
                            per_instance_concurrency=config.per_instance_concurrency
                        )
                    ),
                ),
            ),
            tags=tags,
            opts=child,
        )

        # Publishing with a user name and password (FTP, and Kudu/OneDeploy over basic auth) is
        # off: the only way to ship code is an Entra ID token.
        web.WebAppFtpAllowed(
            f"{name}-ftp-basic-auth",
            name=site.name,
            resource_group_name=args.resource_group_name,
            allow=False,
            opts=child,
        )
        scm_policy = web.WebAppScmAllowed(
            f"{name}-scm-basic-auth",
            name=site.name,
            resource_group_name=args.resource_group_name,
            allow=False,
            opts=child,
        )

        scm_host = site.enabled_host_names.apply(_scm_host)
        deployment = CodeDeployment(
            f"{name}-code",
            CodeDeploymentArgs(scm_host=scm_host, zip_path=str(args.bundle.path), zip_hash=args.bundle.sha256),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[site, scm_policy, *args.deployment_depends_on]),
        )

        self.app_name = site.name
        self.app_id = site.id
        self.default_host_name = site.default_host_name
        public_host = host if args.edge is not None else site.default_host_name
        self.app_url = public_host.apply(lambda h: f"https://{h}")
        self.jwks_url = public_host.apply(lambda h: f"https://{h}/{ROUTE_PREFIX}/{JWKS_PATH}")
        # What the operator registers as the OAuth app's authorization callback URL on GitHub: the
        # attendee's browser reaches it through the edge when there is one.
        self.github_callback_url = public_host.apply(lambda h: f"https://{h}/{ROUTE_PREFIX}/{CALLBACK_PATH}")
        self.scm_host = scm_host
        self.deployed_hash = deployment.deployed_hash
        self.register_outputs(
            {
                "app_name": self.app_name,
                "app_id": self.app_id,
                "default_host_name": self.default_host_name,
                "app_url": self.app_url,
                "jwks_url": self.jwks_url,
                "github_callback_url": self.github_callback_url,
                "scm_host": self.scm_host,
                "deployed_hash": self.deployed_hash,
            }
        )


def _scm_host(host_names: Sequence[str] | None) -> str:
    for host_name in host_names or ():
        if ".scm." in host_name:
            return host_name
    raise ValueError(f"the site reports no SCM host among {host_names!r}")
