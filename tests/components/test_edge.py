"""The edge as the program sends it: Front Door, its one route and origin, and a WAF in Prevention mode."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from eventapi.settings import MAX_BODY_BYTES

from components import edge
from components.package import WELL_KNOWN_PATHS, HostHttpSettings
from dev.offline import ProgramRun
from tests.conftest import run_with

PROFILE = "azure-native:cdn:Profile"
ENDPOINT = "azure-native:cdn:AFDEndpoint"
ORIGIN_GROUP = "azure-native:cdn:AFDOriginGroup"
ORIGIN = "azure-native:cdn:AFDOrigin"
ROUTE = "azure-native:cdn:Route"
SECURITY_POLICY = "azure-native:cdn:SecurityPolicy"
WAF = "azure-native:frontdoor:Policy"
EDGE = "eventstack:azure:Edge"


def _rules(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in run.one(WAF).inputs["customRules"]["rules"]}


def test_every_edge_resource_belongs_to_the_edge_component(dev_stack: ProgramRun) -> None:
    [component] = dev_stack.of_type(EDGE)
    for type_name in (PROFILE, ENDPOINT, ORIGIN_GROUP, ORIGIN, ROUTE, SECURITY_POLICY, WAF):
        assert dev_stack.one(type_name).parent == component.urn, type_name


def test_front_door_is_premium_and_the_waf_sku_matches_it(dev_stack: ProgramRun) -> None:
    assert dev_stack.one(PROFILE).inputs["sku"] == {"name": "Premium_AzureFrontDoor"}
    assert dev_stack.one(WAF).inputs["sku"] == {"name": "Premium_AzureFrontDoor"}
    run = run_with(frontDoorSku="Standard_AzureFrontDoor")
    assert run.one(PROFILE).inputs["sku"] == run.one(WAF).inputs["sku"] == {"name": "Standard_AzureFrontDoor"}
    # Front Door offers the managed rule sets on Premium only.
    assert "managedRules" not in run.one(WAF).inputs


def test_the_only_origin_is_the_function_app_probed_on_health_over_https(dev_stack: ProgramRun) -> None:
    site = dev_stack.one("azure-native:web:WebApp")
    origin = dev_stack.one(ORIGIN)
    assert origin.inputs["hostName"] == site.outputs["defaultHostName"]
    assert origin.inputs["originHostHeader"] == site.outputs["defaultHostName"]
    assert origin.inputs["enforceCertificateNameCheck"] is True
    assert (origin.inputs["httpsPort"], origin.inputs["enabledState"]) == (443, "Enabled")
    assert dev_stack.one(ORIGIN_GROUP).inputs["sessionAffinityState"] == "Disabled"
    probe = dev_stack.one(ORIGIN_GROUP).inputs["healthProbeSettings"]
    assert (probe["probePath"], probe["probeProtocol"], probe["probeRequestType"]) == ("/api/health", "Https", "GET")
    assert origin.inputs["originGroupName"] == dev_stack.one(ORIGIN_GROUP).outputs["name"]


def test_the_route_forwards_https_only_redirects_http_and_caches_nothing(dev_stack: ProgramRun) -> None:
    route = dev_stack.one(ROUTE)
    assert route.inputs["forwardingProtocol"] == "HttpsOnly"
    assert route.inputs["httpsRedirect"] == "Enabled"
    # The API, and the discovery documents at the origin's well-known paths.
    assert route.inputs["patternsToMatch"] == ["/api/*", "/.well-known/*"]
    assert route.inputs["supportedProtocols"] == ["Http", "Https"]  # HTTP only to be redirected
    assert route.inputs["linkToDefaultDomain"] == "Enabled"
    assert "cacheConfiguration" not in route.inputs
    assert route.inputs["originGroup"] == {"id": dev_stack.one(ORIGIN_GROUP).id}
    assert route.inputs["endpointName"] == dev_stack.one(ENDPOINT).outputs["name"]


def test_the_waf_prevents_and_is_tied_to_the_endpoint(dev_stack: ProgramRun) -> None:
    waf = dev_stack.one(WAF)
    settings = waf.inputs["policySettings"]
    assert settings["customBlockResponseStatusCode"] == 403
    assert (settings["mode"], settings["enabledState"], settings["requestBodyCheck"]) == (
        "Prevention",
        "Enabled",
        "Enabled",
    )
    parameters = dev_stack.one(SECURITY_POLICY).inputs["parameters"]
    assert parameters["type"] == "WebApplicationFirewall"
    assert parameters["wafPolicy"] == {"id": waf.id}
    [association] = parameters["associations"]
    assert association["domains"] == [{"id": dev_stack.one(ENDPOINT).id}]
    assert association["patternsToMatch"] == ["/*"]


def test_the_managed_default_and_bot_manager_rule_sets_block(dev_stack: ProgramRun) -> None:
    sets = dev_stack.one(WAF).inputs["managedRules"]["managedRuleSets"]
    assert [(s["ruleSetType"], s["ruleSetAction"]) for s in sets] == [
        ("Microsoft_DefaultRuleSet", "Block"),
        ("Microsoft_BotManagerRuleSet", "Block"),
    ]


def test_per_client_ip_rate_limits_come_from_config_and_sign_in_is_tighter(dev_stack: ProgramRun) -> None:
    rules = _rules(dev_stack)
    sign_in, api = rules[edge.RULE_SIGN_IN_RATE], rules[edge.RULE_API_RATE]
    for rule in (sign_in, api):
        assert rule["ruleType"] == "RateLimitRule"
        assert rule["action"] == "Block"
        assert rule["rateLimitDurationInMinutes"] == 1
        # The TCP peer, not a header the caller writes.
        assert rule["groupBy"] == [{"variableName": "SocketAddr"}]
    assert (sign_in["rateLimitThreshold"], api["rateLimitThreshold"]) == (600, 6000)
    assert sign_in["matchConditions"][0]["matchValue"] == [edge.SIGN_IN_PATHS_PATTERN]
    changed = _rules(run_with(edgeSignInRequestsPerMinute=120, edgeApiRequestsPerMinute=3000))
    assert changed[edge.RULE_SIGN_IN_RATE]["rateLimitThreshold"] == 120
    assert changed[edge.RULE_API_RATE]["rateLimitThreshold"] == 3000


def test_methods_paths_and_bodies_outside_the_contract_are_blocked(dev_stack: ProgramRun) -> None:
    rules = _rules(dev_stack)
    methods = rules[edge.RULE_BLOCK_METHODS]["matchConditions"][0]
    assert (methods["matchVariable"], methods["operator"], methods["negateCondition"]) == (
        "RequestMethod",
        "Equal",
        True,
    )
    assert methods["matchValue"] == ["GET", "POST", "DELETE", "OPTIONS"]
    paths = rules[edge.RULE_BLOCK_PATHS]["matchConditions"][0]
    assert (paths["matchVariable"], paths["operator"], paths["negateCondition"]) == ("RequestUri", "RegEx", True)
    body = rules[edge.RULE_BODY_SIZE]["matchConditions"][0]
    assert (body["matchVariable"], body["operator"], body["matchValue"]) == ("RequestBody", "GreaterThan", ["1024"])
    for name in (edge.RULE_BLOCK_METHODS, edge.RULE_BLOCK_PATHS, edge.RULE_BODY_SIZE):
        assert rules[name]["action"] == "Block" and rules[name]["ruleType"] == "MatchRule"
    # Contract checks run before the rate limits count anything.
    priorities = [rule["priority"] for rule in dev_stack.one(WAF).inputs["customRules"]["rules"]]
    assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)


def test_the_edge_body_limit_is_the_apps_own() -> None:
    assert edge.MAX_BODY_BYTES == MAX_BODY_BYTES


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("/api/health", True),
        ("/api/auth/device", True),
        ("/api/auth/token", True),
        ("/api/.well-known/jwks.json", True),
        ("/api/lights", True),
        ("/api/me", True),
        ("/api/privacy", True),
        ("/api/openapi.json", True),
        ("/api/wall", True),
        ("/api/wall/wall.js", True),
        ("/api/wall/other.js", False),
        ("/api/wall/join.svg", True),
        ("/api/join", True),
        ("/api/join/join.js", True),
        ("/api/join/join.css", True),
        ("/api/join/wall.js", False),
        ("/api/joined", False),
        ("https://x.azurefd.net/api/lights?x=1", True),
        ("/api/admin", False),
        ("/api/lights/../admin", False),
        ("/.env", False),
        ("/wp-login.php", False),
        ("/api/", False),
        ("/.well-known/oauth-authorization-server", True),
        ("/.well-known/oauth-protected-resource/api", True),
        ("https://x.azurefd.net/.well-known/oauth-authorization-server", True),
        ("/.well-known/oauth-protected-resource", False),
        ("/.well-known/openid-configuration", False),
        ("/.well-known/jwks.json", False),
        ("/.well-known/oauth-authorization-server/../../admin", False),
    ],
)
def test_the_path_allowlist_admits_the_contract_and_nothing_else(uri: str, allowed: bool) -> None:
    assert (re.fullmatch(edge.ALLOWED_PATHS_PATTERN, uri.lower()) is not None) is allowed


def test_the_waf_policy_name_is_letters_and_digits(dev_stack: ProgramRun) -> None:
    name = dev_stack.one(WAF).inputs["policyName"]
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9]{0,127}", name)


def test_front_door_logs_go_to_the_workspace(dev_stack: ProgramRun) -> None:
    profile = dev_stack.one(PROFILE)
    settings = [r for r in dev_stack.of_type("azure-native:monitor:DiagnosticSetting") if r.parent_type == EDGE]
    [setting] = settings
    assert setting.inputs["resourceUri"] == profile.id
    assert setting.inputs["logs"] == [{"category": "FrontDoorHealthProbeLog", "enabled": True}]


def test_edge_none_builds_no_edge() -> None:
    run = run_with(edge="none")
    assert run.of_type(EDGE) == []
    assert [r for r in run.resources if r.type.startswith(("azure-native:cdn:", "azure-native:frontdoor:"))] == []


def _api_routes() -> list[tuple[str, set[str]]]:
    """Every route the app serves (path with its parameters filled in, methods), module by module."""
    import importlib
    import pkgutil

    import eventapi.routes
    from eventapi.app import API_PREFIX, ROUTERS
    from fastapi.routing import APIRoute

    # Every router module is mounted, under the prefix or at the root.
    modules = {f"eventapi.routes.{i.name}" for i in pkgutil.iter_modules(eventapi.routes.__path__)}
    assert modules == {router.module for router in ROUTERS}
    found = [(f"{API_PREFIX}/openapi.json", {"GET"}), (f"{API_PREFIX}/docs", {"GET"})]
    for router in ROUTERS:
        for route in importlib.import_module(router.module).router.routes:
            if isinstance(route, APIRoute):
                found.append((router.prefix + re.sub(r"\{[^}]+\}", "x", route.path), set(route.methods)))
    return found


def test_the_edge_forwards_and_allows_the_apps_discovery_paths() -> None:
    from eventapi.discovery import AUTHORIZATION_SERVER_METADATA_PATH, PROTECTED_RESOURCE_METADATA_PATH

    assert set(WELL_KNOWN_PATHS) == {AUTHORIZATION_SERVER_METADATA_PATH, PROTECTED_RESOURCE_METADATA_PATH}
    for path in WELL_KNOWN_PATHS:
        assert any(fnmatch.fnmatch(path, pattern) for pattern in edge.ROUTE_PATTERNS), path
    # The Functions host hands over every path only with an empty prefix (host.json, bundled and checked in).
    assert HostHttpSettings(1, 1).as_host_json()["routePrefix"] == ""


def test_every_route_of_the_app_passes_the_edges_contract_rules() -> None:
    routes = _api_routes()
    assert len(routes) > 5
    for path, methods in routes:
        assert re.fullmatch(edge.ALLOWED_PATHS_PATTERN, path.lower()), f"the WAF would block {path}"
        assert methods <= set(edge.ALLOWED_METHODS), f"the WAF would block {sorted(methods)} {path}"


def _regex_match_values(run: ProgramRun) -> list[str]:
    return [
        value
        for rule in _rules(run).values()
        for condition in rule.get("matchConditions", [])
        if condition.get("operator") == "RegEx"
        for value in condition["matchValue"]
    ]


def test_waf_regexes_have_no_capturing_groups_or_backreferences(dev_stack: ProgramRun) -> None:
    """Front Door custom-rule regexes support neither (WAF custom rules for Azure Front Door)."""
    patterns = _regex_match_values(dev_stack)
    assert edge.ALLOWED_PATHS_PATTERN in patterns
    assert edge.SIGN_IN_PATHS_PATTERN in patterns
    for pattern in patterns:
        assert re.compile(pattern).groups == 0, pattern
        assert not re.search(r"\\[1-9]|\(\?P[<=]|\\k<", pattern), pattern
