"""The edge: Azure Front Door and its WAF take the first blow, before any instance of the app does.

One endpoint, one origin group probing `GET /api/health` over HTTPS (Flex Consumption has no
platform health check: this probe is it), the Function App as the only origin, one route that
forwards HTTPS only, redirects HTTP and caches nothing, and a WAF policy in Prevention mode tied to
the endpoint by a security policy. The WAF refuses what the API's contract never accepts (other
methods, other paths, bodies over the app's own limit) and rate-limits each client address, much
tighter on sign-in than on the rest; on Premium it adds Microsoft's default rule set and the bot
manager rule set.

The app admits only this Front Door: `FunctionApp` allows the `AzureFrontDoor.Backend` service tag
with an `X-Azure-FDID` header equal to `front_door_id`, and denies everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import cdn, frontdoor

from components.config import FRONT_DOOR_PREMIUM, StackConfig
from components.monitoring import Monitoring
from components.package import ROUTE_PREFIX, WELL_KNOWN_PATHS

# Front Door profiles, endpoints and WAF policies are global resources.
GLOBAL_LOCATION = "global"
WAF_POLICY_LOCATION = "Global"
HEALTH_PROBE_PATH = f"/{ROUTE_PREFIX}/health"
HEALTH_PROBE_INTERVAL_SECONDS = 30
# The API, and the discovery documents at the origin's well-known paths (RFC 8414 section 3.1,
# RFC 9728 section 3.1: the issuer is the origin, so its metadata cannot live under /api).
ROUTE_PATTERNS: tuple[str, ...] = (f"/{ROUTE_PREFIX}/*", "/.well-known/*")
# The app refuses bodies over 1 KiB (function_code/eventapi/settings.py MAX_BODY_BYTES), but only
# after the Functions host has buffered the whole body; the edge refuses them before they arrive.
MAX_BODY_BYTES = 1024
# Methods the API's contract uses; OPTIONS carries CORS preflights.
ALLOWED_METHODS: tuple[str, ...] = ("GET", "POST", "DELETE", "OPTIONS")
# Paths of the API's contract, matched on the lower-cased request URI (scheme and host optional,
# as the WAF may see either form). `auth/...` leaves room for every sign-in step. Groups are
# non-capturing: Front Door's custom-rule regex supports no capturing subexpressions or
# backreferences ("Web Application Firewall custom rules for Azure Front Door"). Only the dot needs
# escaping in the well-known paths.
_WELL_KNOWN_ALTERNATIVES = "|".join(path.replace(".", r"\.") for path in WELL_KNOWN_PATHS)
ALLOWED_PATHS_PATTERN = (
    r"^(?:https?://[^/]+)?(?:/api/(?:health|auth/[a-z0-9/_-]+|\.well-known/jwks\.json|lights|me|privacy"
    r"|openapi\.json|docs|wall(?:/(?:wall\.(?:js|css|svg)|join\.svg))?|join(?:/join\.(?:js|css))?)|"
    + _WELL_KNOWN_ALTERNATIVES
    + r")/?(?:\?.*)?$"
)
SIGN_IN_PATHS_PATTERN = r"^(?:https?://[^/]+)?/api/auth/"
RATE_LIMIT_WINDOW_MINUTES = 1
# Block responses carry no detail; a 403 from the edge is all a caller learns.
BLOCK_STATUS_CODE = 403
MANAGED_RULE_SETS: tuple[tuple[str, str], ...] = (
    ("Microsoft_DefaultRuleSet", "2.1"),
    ("Microsoft_BotManagerRuleSet", "1.1"),
)
# Custom rule names (letters and digits only) and their order of evaluation.
RULE_BLOCK_METHODS = "BlockMethodsOutsideContract"
RULE_BLOCK_PATHS = "BlockPathsOutsideContract"
RULE_BODY_SIZE = "BlockOversizedBodies"
RULE_SIGN_IN_RATE = "RateLimitSignInPerClientIp"
RULE_API_RATE = "RateLimitApiPerClientIp"
# Front Door's access and WAF logs carry each client's IP address and the request URI with its
# query (user codes, GitHub's `code` and `state`): personal data. They land in the workspace's
# AzureDiagnostics table, which takes no ingestion-time transformation, and no table keeps records
# for less than 4 days (a shortened retention even waits 30 days before it deletes) - longer than
# `retentionHours` after the event ("Supported logs for Microsoft.Cdn/profiles"; "Manage data
# retention in a Log Analytics workspace", learn.microsoft.com). So they are not collected at all:
# the health probe log (origin health, no client data) and the profile's metrics are; the WAF
# alert reads the WAF's metric. `components.log_privacy` names what carries client addresses.
EDGE_LOG_CATEGORIES: tuple[str, ...] = ("FrontDoorHealthProbeLog",)


def waf_policy_name(event_name: str, suffix: str) -> str:
    """WAF policy names take letters and digits only, starting with a letter."""
    return f"waf{event_name.replace('-', '')}{suffix}"[:128]


def custom_rules(config: StackConfig) -> frontdoor.CustomRuleListArgs:
    """What the API never accepts, and how fast one client address may call it."""
    every_request = frontdoor.MatchConditionArgs(
        # Every valid request has a Host header: this matches all of them (Front Door's documented idiom).
        match_variable=frontdoor.MatchVariable.REQUEST_HEADER,
        selector="Host",
        operator=frontdoor.Operator.GREATER_THAN,
        match_value=["0"],
    )
    return frontdoor.CustomRuleListArgs(
        rules=[
            frontdoor.CustomRuleArgs(
                name=RULE_BLOCK_METHODS,
                priority=10,
                rule_type=frontdoor.RuleType.MATCH_RULE,
                action=frontdoor.ActionType.BLOCK,
                enabled_state=frontdoor.CustomRuleEnabledState.ENABLED,
                match_conditions=[
                    frontdoor.MatchConditionArgs(
                        match_variable=frontdoor.MatchVariable.REQUEST_METHOD,
                        operator=frontdoor.Operator.EQUAL,
                        negate_condition=True,
                        match_value=list(ALLOWED_METHODS),
                    )
                ],
            ),
            frontdoor.CustomRuleArgs(
                name=RULE_BLOCK_PATHS,
                priority=20,
                rule_type=frontdoor.RuleType.MATCH_RULE,
                action=frontdoor.ActionType.BLOCK,
                enabled_state=frontdoor.CustomRuleEnabledState.ENABLED,
                match_conditions=[
                    frontdoor.MatchConditionArgs(
                        match_variable=frontdoor.MatchVariable.REQUEST_URI,
                        operator=frontdoor.Operator.REG_EX,
                        negate_condition=True,
                        transforms=[frontdoor.TransformType.LOWERCASE, frontdoor.TransformType.URL_DECODE],
                        match_value=[ALLOWED_PATHS_PATTERN],
                    )
                ],
            ),
            frontdoor.CustomRuleArgs(
                name=RULE_BODY_SIZE,
                priority=30,
                rule_type=frontdoor.RuleType.MATCH_RULE,
                action=frontdoor.ActionType.BLOCK,
                enabled_state=frontdoor.CustomRuleEnabledState.ENABLED,
                match_conditions=[
                    # A size constraint: GreaterThan compares the body's length.
                    frontdoor.MatchConditionArgs(
                        match_variable=frontdoor.MatchVariable.REQUEST_BODY,
                        operator=frontdoor.Operator.GREATER_THAN,
                        match_value=[str(MAX_BODY_BYTES)],
                    )
                ],
            ),
            frontdoor.CustomRuleArgs(
                name=RULE_SIGN_IN_RATE,
                priority=40,
                rule_type=frontdoor.RuleType.RATE_LIMIT_RULE,
                action=frontdoor.ActionType.BLOCK,
                enabled_state=frontdoor.CustomRuleEnabledState.ENABLED,
                rate_limit_duration_in_minutes=RATE_LIMIT_WINDOW_MINUTES,
                rate_limit_threshold=config.edge_sign_in_requests_per_minute,
                # The TCP peer's address: a caller cannot choose it with a header.
                group_by=[frontdoor.GroupByVariableArgs(variable_name=frontdoor.VariableName.SOCKET_ADDR)],
                match_conditions=[
                    frontdoor.MatchConditionArgs(
                        match_variable=frontdoor.MatchVariable.REQUEST_URI,
                        operator=frontdoor.Operator.REG_EX,
                        transforms=[frontdoor.TransformType.LOWERCASE, frontdoor.TransformType.URL_DECODE],
                        match_value=[SIGN_IN_PATHS_PATTERN],
                    )
                ],
            ),
            frontdoor.CustomRuleArgs(
                name=RULE_API_RATE,
                priority=50,
                rule_type=frontdoor.RuleType.RATE_LIMIT_RULE,
                action=frontdoor.ActionType.BLOCK,
                enabled_state=frontdoor.CustomRuleEnabledState.ENABLED,
                rate_limit_duration_in_minutes=RATE_LIMIT_WINDOW_MINUTES,
                rate_limit_threshold=config.edge_api_requests_per_minute,
                group_by=[frontdoor.GroupByVariableArgs(variable_name=frontdoor.VariableName.SOCKET_ADDR)],
                match_conditions=[every_request],
            ),
        ]
    )


def managed_rules(sku: str) -> frontdoor.ManagedRuleSetListArgs | None:
    """Microsoft's default and bot manager rule sets, blocking; Front Door offers them on Premium only."""
    if sku != FRONT_DOOR_PREMIUM:
        return None
    return frontdoor.ManagedRuleSetListArgs(
        managed_rule_sets=[
            frontdoor.ManagedRuleSetArgs(
                rule_set_type=rule_set,
                rule_set_version=version,
                rule_set_action=frontdoor.ManagedRuleSetActionType.BLOCK,
            )
            for rule_set, version in MANAGED_RULE_SETS
        ]
    )


@dataclass(frozen=True)
class EdgeArgs:
    """What the edge needs: config, where it lives, the origin it fronts and where its logs go."""

    config: StackConfig
    """Validated stack config: SKU and per-client-IP rate limits."""
    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    origin_host: pulumi.Input[str]
    """The Function App's default host name: the only origin."""
    waf_policy_name: pulumi.Input[str]
    """Letters and digits only (see `waf_policy_name`)."""
    monitoring: Monitoring
    """Receives Front Door's access, health probe and WAF logs."""
    tags: Mapping[str, str]
    """Tags for every taggable resource."""


class Edge(pulumi.ComponentResource):
    """Front Door (one endpoint, one origin, one route) behind a WAF policy in Prevention mode."""

    profile_id: pulumi.Output[str]
    front_door_id: pulumi.Output[str]
    host_name: pulumi.Output[str]
    waf_policy_id: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eventstack:azure:Edge", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        profile = cdn.Profile(
            f"{name}-profile",
            resource_group_name=args.resource_group_name,
            location=GLOBAL_LOCATION,
            sku=cdn.SkuArgs(name=config.front_door_sku),
            tags=tags,
            opts=child,
        )
        endpoint = cdn.AFDEndpoint(
            f"{name}-endpoint",
            profile_name=profile.name,
            resource_group_name=args.resource_group_name,
            location=GLOBAL_LOCATION,
            enabled_state=cdn.EnabledState.ENABLED,
            tags=tags,
            opts=child,
        )
        origin_group = cdn.AFDOriginGroup(
            f"{name}-origins",
            profile_name=profile.name,
            resource_group_name=args.resource_group_name,
            health_probe_settings=cdn.HealthProbeParametersArgs(
                probe_path=HEALTH_PROBE_PATH,
                probe_protocol=cdn.ProbeProtocol.HTTPS,
                probe_request_type=cdn.HealthProbeRequestType.GET,
                probe_interval_in_seconds=HEALTH_PROBE_INTERVAL_SECONDS,
            ),
            load_balancing_settings=cdn.LoadBalancingSettingsParametersArgs(
                sample_size=4, successful_samples_required=3, additional_latency_in_milliseconds=50
            ),
            session_affinity_state=cdn.EnabledState.DISABLED,
            opts=child,
        )
        origin = cdn.AFDOrigin(
            f"{name}-app-origin",
            profile_name=profile.name,
            origin_group_name=origin_group.name,
            resource_group_name=args.resource_group_name,
            host_name=args.origin_host,
            # The platform routes by host name: the origin's own, not the edge's.
            origin_host_header=args.origin_host,
            https_port=443,
            http_port=80,
            priority=1,
            weight=1000,
            enabled_state=cdn.EnabledState.ENABLED,
            enforce_certificate_name_check=True,
            opts=child,
        )
        cdn.Route(
            f"{name}-api-route",
            profile_name=profile.name,
            endpoint_name=endpoint.name,
            resource_group_name=args.resource_group_name,
            origin_group=cdn.ResourceReferenceArgs(id=origin_group.id),
            supported_protocols=[cdn.AFDEndpointProtocols.HTTP, cdn.AFDEndpointProtocols.HTTPS],
            https_redirect=cdn.HttpsRedirect.ENABLED,
            forwarding_protocol=cdn.ForwardingProtocol.HTTPS_ONLY,
            patterns_to_match=list(ROUTE_PATTERNS),
            link_to_default_domain=cdn.LinkToDefaultDomain.ENABLED,
            # No cache configuration: nothing under /api is ever cached at the edge.
            enabled_state=cdn.EnabledState.ENABLED,
            # A route needs its origin group to hold an origin.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[origin]),
        )

        waf = frontdoor.Policy(
            f"{name}-waf",
            policy_name=args.waf_policy_name,
            resource_group_name=args.resource_group_name,
            location=WAF_POLICY_LOCATION,
            # Must equal the profile's SKU.
            sku=frontdoor.SkuArgs(name=config.front_door_sku),
            policy_settings=frontdoor.PolicySettingsArgs(
                enabled_state=frontdoor.PolicyEnabledState.ENABLED,
                mode=frontdoor.PolicyMode.PREVENTION,
                request_body_check=frontdoor.PolicyRequestBodyCheck.ENABLED,
                custom_block_response_status_code=BLOCK_STATUS_CODE,
            ),
            custom_rules=custom_rules(config),
            managed_rules=managed_rules(config.front_door_sku),
            tags=tags,
            opts=child,
        )
        cdn.SecurityPolicy(
            f"{name}-security-policy",
            profile_name=profile.name,
            resource_group_name=args.resource_group_name,
            parameters=cdn.SecurityPolicyWebApplicationFirewallParametersArgs(
                type="WebApplicationFirewall",
                waf_policy=cdn.ResourceReferenceArgs(id=waf.id),
                associations=[
                    cdn.SecurityPolicyWebApplicationFirewallAssociationArgs(
                        domains=[cdn.ActivatedResourceReferenceArgs(id=endpoint.id)],
                        patterns_to_match=["/*"],
                    )
                ],
            ),
            opts=child,
        )
        args.monitoring.diagnostics(
            f"{name}-diagnostics",
            profile.id,
            parent=self,
            log_category_groups=(),
            log_categories=EDGE_LOG_CATEGORIES,
        )

        self.profile_id = profile.id
        self.front_door_id = profile.front_door_id
        self.host_name = endpoint.host_name
        self.waf_policy_id = waf.id
        self.register_outputs(
            {
                "profile_id": self.profile_id,
                "front_door_id": self.front_door_id,
                "host_name": self.host_name,
                "waf_policy_id": self.waf_policy_id,
            }
        )
