"""The edge: a WAF in Prevention mode with a rate limit, the whole edge present, the app locked to it.

Whether a stack is meant to sit behind the edge is read from what it declares: the app setting
`EVENTSTACK_BEHIND_EDGE` (in a site's inputs), a Front Door profile, or a site that admits Front
Door's service tag. A sandbox without any of them (`edge: none`) is not held to these rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationPolicy, StackValidationPolicy

from .assembly import resource_policy, stack_policy
from .links import identifies, label, of_type, text
from .props import app_settings, prop, sequence, shown
from .resource_types import (
    FRONT_DOOR_ENDPOINT,
    FRONT_DOOR_PROFILE,
    FRONT_DOOR_ROUTE,
    FRONT_DOOR_SECURITY_POLICY,
    WAF_POLICY,
    WEB_APP,
    WEB_APPS,
)

BEHIND_EDGE_SETTING = "EVENTSTACK_BEHIND_EDGE"
FRONT_DOOR_SERVICE_TAG = "azurefrontdoor.backend"
FRONT_DOOR_ID_HEADER = "x-azure-fdid"
WAF_MODE = "prevention"


def _lower(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _waf_prevention_with_rate_limit(props: Mapping[str, Any]) -> Iterator[str]:
    mode = prop(props, "policySettings.mode")
    state = prop(props, "policySettings.enabledState")
    if _lower(mode) != WAF_MODE or _lower(state) != "enabled":
        yield (
            "policySettings must be enabledState Enabled and mode Prevention (a WAF that only detects lets every "
            f"attack through); found {shown(state)} and {shown(mode)}"
        )
    rate_limits = [
        rule
        for rule in sequence(prop(props, "customRules.rules"))
        if isinstance(rule, Mapping)
        and _lower(rule.get("ruleType")) == "ratelimitrule"
        and _lower(rule.get("action")) == "block"
        and _lower(rule.get("enabledState") or "enabled") == "enabled"
    ]
    if not rate_limits:
        yield "customRules must hold an enabled rate-limit rule that blocks (a flood per client address)"


def _front_door_rules(site_config: Any) -> list[Mapping[str, Any]]:
    return [
        rule
        for rule in sequence(prop(site_config, "ipSecurityRestrictions"))
        if isinstance(rule, Mapping) and _lower(rule.get("ipAddress")) == FRONT_DOOR_SERVICE_TAG
    ]


def _header_values(rule: Mapping[str, Any]) -> list[str]:
    headers = rule.get("headers")
    if not isinstance(headers, Mapping):
        return []
    for name, values in headers.items():
        if isinstance(name, str) and name.lower() == FRONT_DOOR_ID_HEADER:
            return [v for v in sequence(values) if isinstance(v, str) and v]
    return []


def _origin_locked(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    settings = app_settings(resource_type, props) or {}
    if _lower(settings.get(BEHIND_EDGE_SETTING)) != "true":
        return
    site_config = prop(props, "siteConfig")
    default = prop(props, "siteConfig.ipSecurityRestrictionsDefaultAction")
    if _lower(default) != "deny":
        yield (
            "siteConfig.ipSecurityRestrictionsDefaultAction must be Deny behind the edge (attendee traffic only "
            f"through Front Door and its WAF); found {shown(default)}"
        )
    for rule in sequence(prop(site_config, "ipSecurityRestrictions")):
        if not isinstance(rule, Mapping) or _lower(rule.get("action")) != "allow":
            continue
        if _lower(rule.get("ipAddress")) != FRONT_DOOR_SERVICE_TAG or _lower(rule.get("tag")) != "servicetag":
            yield f"ipSecurityRestrictions rule {rule.get('name')!r} admits something other than Front Door"
        elif not _header_values(rule):
            yield (
                f"ipSecurityRestrictions rule {rule.get('name')!r} admits every Front Door: it must require this "
                f"profile's {FRONT_DOOR_ID_HEADER} header"
            )
    if not _front_door_rules(site_config):
        yield "ipSecurityRestrictions must admit this stack's Front Door (service tag AzureFrontDoor.Backend)"


def _edge_configured(resources: Sequence[PolicyResource]) -> bool:
    if of_type(resources, FRONT_DOOR_PROFILE):
        return True
    return any(_front_door_rules(prop(site.props, "siteConfig")) for site in of_type(resources, WEB_APP))


def _edge_present(resources: Sequence[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    if not _edge_configured(resources):
        return
    profiles = of_type(resources, FRONT_DOOR_PROFILE)
    endpoints = of_type(resources, FRONT_DOOR_ENDPOINT)
    wafs = of_type(resources, WAF_POLICY)
    if not profiles:
        yield "a site admits Front Door, but the stack has no Front Door profile of its own", None
        return
    for kind, found in (("endpoint", endpoints), ("route", of_type(resources, FRONT_DOOR_ROUTE)), ("WAF policy", wafs)):
        if not found:
            yield f"the edge has no {kind}: attendee traffic would not pass the WAF", profiles[0].urn
    tied = [
        endpoint
        for endpoint in endpoints
        for policy in of_type(resources, FRONT_DOOR_SECURITY_POLICY)
        for association in sequence(prop(policy.props, "parameters.associations"))
        if isinstance(association, Mapping)
        and any(identifies(prop(policy.props, "parameters.wafPolicy"), waf) for waf in wafs)
        and any(identifies(domain, endpoint) for domain in sequence(association.get("domains")))
    ]
    for endpoint in endpoints:
        if endpoint not in tied:
            yield (
                f"{label(endpoint)} is not tied to a WAF policy of this stack by a security policy: requests reach "
                "the app unfiltered",
                endpoint.urn,
            )
    ids = {text(p.props, "frontDoorId") for p in profiles} - {None}
    for site in of_type(resources, *WEB_APPS):
        for rule in _front_door_rules(prop(site.props, "siteConfig")):
            values = set(_header_values(rule))
            # Until Azure assigns the profile's frontDoorId the value cannot be compared.
            if ids and not values & ids:
                yield (
                    f"{label(site)} admits Front Door with an {FRONT_DOOR_ID_HEADER} other than this stack's "
                    "profile: another customer's Front Door could reach it",
                    site.urn,
                )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy(
        "waf-prevention-with-rate-limit",
        "The Front Door WAF policy is enabled in Prevention mode with a blocking rate-limit rule.",
        lambda _resource_type, props: _waf_prevention_with_rate_limit(props),
        frozenset({WAF_POLICY}),
    ),
    resource_policy(
        "function-app-origin-locked-to-edge",
        "Behind the edge, the site denies by default and admits only Front Door with this profile's id header.",
        _origin_locked,
        WEB_APPS,
    ),
]

STACK_POLICIES: list[StackValidationPolicy] = [
    stack_policy(
        "edge-present",
        "Where the edge is configured: profile, endpoint, route and WAF tied to the endpoint, and the site "
        "admits this profile's id only.",
        _edge_present,
    ),
]
