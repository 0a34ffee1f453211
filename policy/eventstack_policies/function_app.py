"""The Function App: transport, publishing, VNet routing, scale caps, secret-free and throttled settings."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationPolicy, StackValidationPolicy

from .assembly import ignoring_type, resource_policy, stack_policy
from .links import child_of, label, of_type
from .props import (
    MISSING,
    Bound,
    Check,
    app_settings,
    integer,
    is_flex_site,
    is_function_app,
    prop,
    require,
    require_one_of,
    shown,
    within,
)
from .resource_types import (
    APP_SETTINGS_RESOURCES,
    FTP_PUBLISHING_POLICY,
    PUBLISHING_CREDENTIAL_POLICIES,
    SCM_PUBLISHING_POLICY,
    WEB_APP,
    WEB_APPS,
)

# The threat model: a small maxConcurrentRequests and a low maxOutstandingRequests per instance,
# and a cap on how far the app scales out (cost and blast radius of a flood).
MAX_CONCURRENT_REQUESTS = Bound(1, 100, "host throttle per instance: small, per the threat model")
MAX_OUTSTANDING_REQUESTS = Bound(1, 1000, "host throttle per instance: queued plus running requests")
PER_INSTANCE_CONCURRENCY = Bound(1, 100, "HTTP requests the platform sends one instance at once")
MAXIMUM_INSTANCE_COUNT = Bound(40, 1000, "Flex Consumption scale-out cap")

MAX_CONCURRENT_REQUESTS_SETTING = "EVENTSTACK_MAX_CONCURRENT_REQUESTS"
MAX_OUTSTANDING_REQUESTS_SETTING = "EVENTSTACK_MAX_OUTSTANDING_REQUESTS"


# `siteConfig` properties a Flex Consumption site refuses with ARM error 51021, even when null
# (pulumi/pulumi-azure-native#4168, microsoft/azure-pipelines-tasks#21032,
# Azure/terraform-azurerm-avm-res-web-site#345, #353 and #360). Kept apart from
# components/function_app.py: the pack checks whatever program it is run with.
FLEX_REJECTED_SITE_CONFIG: tuple[str, ...] = (
    "ftpsState",
    "use32BitWorkerProcess",
    "netFrameworkVersion",
    "functionsRuntimeScaleMonitoringEnabled",
    "linuxFxVersion",
    "windowsFxVersion",
    "alwaysOn",
)

SITE_TLS_VERSIONS: frozenset[str] = frozenset({"1.2", "1.3"})


# Setting names that announce a credential. The Application Insights connection string only
# names where telemetry goes (local auth is off; ingestion uses Azure AD), so it is exempt by name
# but its value is still searched.
SECRET_SETTING_NAME = re.compile(
    r"password|passwd|pwd|client_?secret|secret_?value|account_?key|access_?key|shared_?access|sas_?token"
    r"|private_?key|connection_?string|^AzureWebJobsStorage$",
    re.IGNORECASE,
)
NON_SECRET_SETTING_NAMES: frozenset[str] = frozenset({"APPLICATIONINSIGHTS_CONNECTION_STRING"})
# Fragments of a value that only a credential carries: storage keys, SAS tokens, passwords.
SECRET_SETTING_VALUE = re.compile(
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature=|(^|[?&;])sig=|(^|;)\s*(password|pwd)=|client_secret="
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----",
    re.IGNORECASE,
)


def _app_https_only(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "httpsOnly", True, "encryption in transit")


def _app_tls(props: Mapping[str, Any]) -> Iterator[str]:
    for path in ("siteConfig.minTlsVersion", "siteConfig.scmMinTlsVersion"):
        yield from require_one_of(props, path, SITE_TLS_VERSIONS, "encryption in transit")


def _app_ftps(props: Mapping[str, Any]) -> Iterator[str]:
    # A Flex site may not carry ftpsState at all (see _flex_site_config); its FTP is off through
    # the publishing-credentials policies, which FTP needs to authenticate.
    if is_flex_site(props):
        return
    yield from require(props, "siteConfig.ftpsState", "Disabled", "no FTP path to the code")


def _flex_site_config(props: Mapping[str, Any]) -> Iterator[str]:
    if not is_flex_site(props):
        return
    site_config = prop(props, "siteConfig")
    if not isinstance(site_config, Mapping):
        return
    for name in FLEX_REJECTED_SITE_CONFIG:
        # Present at all is refused: Azure rejects these even when null.
        if name in site_config:
            yield (
                f"siteConfig.{name} must not be sent for a Flex Consumption site (ARM error 51021: "
                f"'Site.SiteConfig.{name} for Flex Consumption sites is invalid'); found {shown(site_config[name])}"
            )


def _app_remote_debugging(props: Mapping[str, Any]) -> Iterator[str]:
    if prop(props, "siteConfig.remoteDebuggingEnabled") is True:
        yield "siteConfig.remoteDebuggingEnabled must be off (a debugger is a way into the running app)"


def _publishing_basic_auth(props: Mapping[str, Any]) -> Iterator[str]:
    yield from require(props, "allow", False, "deployments authenticate with Azure AD, never a shared password")


def _app_vnet_route_all(props: Mapping[str, Any]) -> Iterator[str]:
    subnet = prop(props, "virtualNetworkSubnetId")
    if not (isinstance(subnet, str) and subnet):
        yield f"virtualNetworkSubnetId must name the integration subnet (VNet isolation); found {shown(subnet)}"
    # Two API generations name the same switch; a site that sets either to false is not routed,
    # whatever the other says.
    legacy = prop(props, "siteConfig.vnetRouteAllEnabled")
    routing = prop(props, "outboundVnetRouting")
    current = (
        prop(props, "outboundVnetRouting.allTraffic") is True
        or prop(props, "outboundVnetRouting.applicationTraffic") is True
        if isinstance(routing, Mapping)
        else None
    )
    if legacy is False or current is False or not (legacy is True or current is True):
        yield (
            "siteConfig.vnetRouteAllEnabled and outboundVnetRouting.allTraffic must not be off, and one must be "
            f"on: all outbound traffic goes through the VNet and its NSG; found {shown(legacy)} and {shown(routing)}"
        )


def _app_scale_caps(props: Mapping[str, Any]) -> Iterator[str]:
    if not is_function_app(props):
        return
    scale = "functionAppConfig.scaleAndConcurrency"
    yield from within(
        f"{scale}.maximumInstanceCount", prop(props, f"{scale}.maximumInstanceCount"), MAXIMUM_INSTANCE_COUNT
    )
    per_instance = prop(props, f"{scale}.triggers.http.perInstanceConcurrency")
    yield from within(f"{scale}.triggers.http.perInstanceConcurrency", per_instance, PER_INSTANCE_CONCURRENCY)


def _secret_settings(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for name, value in sorted((app_settings(resource_type, props) or {}).items()):
        if SECRET_SETTING_NAME.search(name) and name not in NON_SECRET_SETTING_NAMES:
            yield f"app setting {name} looks like a credential: the app uses its managed identity instead"
        elif isinstance(value, str) and SECRET_SETTING_VALUE.search(value):
            # The value itself is never echoed: it may be the secret.
            yield f"app setting {name} holds a key, SAS or password: the app uses its managed identity instead"


# The Python worker's debug switch: it lowers the root logger to DEBUG, where the Functions ASGI
# adapter writes whole response bodies (device codes, tokens) into the logs.
DEBUG_LOGGING_SETTINGS: frozenset[str] = frozenset({"PYTHON_ENABLE_DEBUG_LOGGING"})


def _no_debug_logging(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for name in sorted(app_settings(resource_type, props) or {}):
        if name.upper() in DEBUG_LOGGING_SETTINGS:
            yield f"app setting {name} turns on the worker's debug logging, which writes response bodies to the logs"


def _throttle_settings(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    settings = app_settings(resource_type, props)
    if settings is None:
        return
    concurrent = settings.get(MAX_CONCURRENT_REQUESTS_SETTING, MISSING)
    outstanding = settings.get(MAX_OUTSTANDING_REQUESTS_SETTING, MISSING)
    yield from within(f"app setting {MAX_CONCURRENT_REQUESTS_SETTING}", concurrent, MAX_CONCURRENT_REQUESTS)
    yield from within(f"app setting {MAX_OUTSTANDING_REQUESTS_SETTING}", outstanding, MAX_OUTSTANDING_REQUESTS)
    concurrent_number, outstanding_number = integer(concurrent), integer(outstanding)
    if concurrent_number is not None and outstanding_number is not None and outstanding_number < concurrent_number:
        yield (
            f"{MAX_OUTSTANDING_REQUESTS_SETTING} ({outstanding_number}) counts running requests too: "
            f"it must be at least {MAX_CONCURRENT_REQUESTS_SETTING} ({concurrent_number})"
        )
    per_instance = integer(prop(props, "functionAppConfig.scaleAndConcurrency.triggers.http.perInstanceConcurrency"))
    if per_instance is not None and concurrent_number is not None and per_instance > concurrent_number:
        yield (
            f"perInstanceConcurrency ({per_instance}) exceeds {MAX_CONCURRENT_REQUESTS_SETTING} "
            f"({concurrent_number}): the platform would send an instance more than the app admits"
        )


def _web_app(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    return resource_policy(name, description, ignoring_type(check), WEB_APPS)


def _publishing_policies_present(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    for site in of_type(resources, WEB_APP):
        for policy_type, channel in ((FTP_PUBLISHING_POLICY, "FTP"), (SCM_PUBLISHING_POLICY, "SCM")):
            # The policy resource names its site with `name`; once created, its id lies under the site's.
            if not any(child_of(policy, site, "name") for policy in of_type(resources, policy_type)):
                yield (
                    f"{label(site)} has no {policy_type.rsplit(':', 1)[-1]} resource: {channel} basic-auth "
                    "publishing stays at the platform default (on) and anyone with the credentials replaces the code",
                    site.urn,
                )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    _web_app("function-app-https-only", "The Function App serves HTTPS only.", _app_https_only),
    _web_app("function-app-minimum-tls-1-2", "The Function App and its SCM site require TLS 1.2 or later.", _app_tls),
    _web_app("function-app-ftps-disabled", "A site that takes ftpsState has FTP and FTPS off.", _app_ftps),
    _web_app(
        "function-app-flex-site-config",
        "A Flex Consumption site sends no siteConfig property that Flex refuses (ARM error 51021).",
        _flex_site_config,
    ),
    _web_app(
        "function-app-remote-debugging-disabled", "The Function App has remote debugging off.", _app_remote_debugging
    ),
    resource_policy(
        "function-app-basic-auth-publishing-disabled",
        "FTP and SCM basic-auth publishing credentials are off.",
        ignoring_type(_publishing_basic_auth),
        PUBLISHING_CREDENTIAL_POLICIES,
    ),
    _web_app(
        "function-app-vnet-route-all",
        "The Function App is VNet-integrated and routes all outbound traffic through the VNet.",
        _app_vnet_route_all,
    ),
    _web_app(
        "function-app-scale-caps",
        "The Function App's instance count and per-instance concurrency stay within the bounds.",
        _app_scale_caps,
    ),
    resource_policy(
        "function-app-no-secret-settings",
        "App settings hold no keys, connection strings, SAS tokens or passwords.",
        _secret_settings,
        WEB_APPS | APP_SETTINGS_RESOURCES,
    ),
    resource_policy(
        "function-app-no-debug-logging",
        "App settings do not turn on the Python worker's debug logging (it logs response bodies).",
        _no_debug_logging,
        WEB_APPS | APP_SETTINGS_RESOURCES,
    ),
    resource_policy(
        "function-app-throttle-settings",
        "The app's request throttles are set and within the threat model's bounds.",
        _throttle_settings,
        WEB_APPS | APP_SETTINGS_RESOURCES,
    ),
]
STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "function-app-publishing-policies-present",
        "Every site has its FTP and SCM basic-auth publishing policy resources.",
        _publishing_policies_present,
    ),
]
