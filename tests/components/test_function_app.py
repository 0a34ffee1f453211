"""The Function App as the program sends it: plan, site, settings, basic auth off, code deployment."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest
from eventapi.settings import SettingsError, load_settings
from pulumi.runtime import rpc
from pulumi_azure_native import web

from components.function_app import (
    FLEX_REJECTED_SITE_CONFIG,
    forbidden_on_flex,
    strip_sdk_site_config_defaults,
)
from components.identity import ROLES
from components.storage import DEPLOYMENT_CONTAINER
from dev.offline import ProgramRun, RegisteredResource
from tests.conftest import run_with

ROOT = Path(__file__).resolve().parents[2]
PLAN = "azure-native:web:AppServicePlan"
SITE = "azure-native:web:WebApp"
DEPLOYMENT = "pulumi-python:dynamic/eventstack:CodeDeployment"
FUNCTION_APP = "eventstack:azure:FunctionApp"
# A client id that is not the dev stack's placeholder (the app refuses placeholders at start-up).
REAL_LOOKING_CLIENT_ID = "Ov23liAbCdEf12345678"


def _site(run: ProgramRun) -> RegisteredResource:
    return run.one(SITE)


def _settings(run: ProgramRun) -> dict[str, Any]:
    pairs = _site(run).get("siteConfig.appSettings")
    assert isinstance(pairs, list)
    settings = {pair["name"]: pair["value"] for pair in pairs}
    assert len(settings) == len(pairs), "an app setting is set twice"
    return settings


def _app_identity(run: ProgramRun) -> RegisteredResource:
    [identity] = [
        r
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.name.endswith("-app") and r.parent_type == "eventstack:azure:Identities"
    ]
    return identity


def _storage_account(run: ProgramRun) -> RegisteredResource:
    return run.one("azure-native:storage:StorageAccount")


# The plan and the site


def test_the_plan_is_flex_consumption_on_linux(dev_stack: ProgramRun) -> None:
    plan = dev_stack.one(PLAN)
    assert plan.inputs["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan.inputs["reserved"] is True
    assert plan.inputs["kind"] == "functionapp"
    # One app per Flex plan.
    assert [s.inputs["serverFarmId"] for s in dev_stack.of_type(SITE)] == [plan.id]


def test_the_site_is_a_linux_function_app_running_as_its_identity(dev_stack: ProgramRun) -> None:
    site = _site(dev_stack)
    assert site.inputs["kind"] == "functionapp,linux"
    assert site.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [_app_identity(dev_stack).id],
    }
    assert site.inputs["name"] == dev_stack.outputs["functionAppName"]
    assert re.fullmatch(r"func-confdemo-[a-z0-9]{6}", site.inputs["name"])


def test_all_outbound_traffic_goes_through_the_integration_subnet(dev_stack: ProgramRun) -> None:
    site = _site(dev_stack)
    [subnet] = [
        s for s in dev_stack.of_type("azure-native:network:Subnet") if s.inputs.get("addressPrefix") == "10.42.1.0/24"
    ]
    assert site.inputs["virtualNetworkSubnetId"] == subnet.id
    assert site.inputs["outboundVnetRouting"] == {"allTraffic": True, "applicationTraffic": True}
    assert site.get("siteConfig.vnetRouteAllEnabled") is True


def test_transport_and_debugging_settings(dev_stack: ProgramRun) -> None:
    site = _site(dev_stack)
    assert site.inputs["httpsOnly"] is True
    assert site.get("siteConfig.minTlsVersion") == "1.2"
    assert site.get("siteConfig.scmMinTlsVersion") == "1.2"
    assert site.get("siteConfig.remoteDebuggingEnabled") is False
    assert site.get("siteConfig.http20Enabled") is True


def test_the_site_sends_no_site_config_property_flex_refuses(dev_stack: ProgramRun) -> None:
    """ARM error 51021: Flex refuses these even when null, including the SDK's own default."""
    site_config = _site(dev_stack).inputs["siteConfig"]
    assert sorted(set(site_config) & set(FLEX_REJECTED_SITE_CONFIG)) == []
    # What Microsoft's FC1 quickstart sets is still there.
    assert site_config["minTlsVersion"] == "1.2"


def test_the_sdk_still_adds_its_default_so_the_transform_is_needed() -> None:
    """If pulumi-azure-native ever stops adding it, the transform may go (and this test with it)."""
    assert web.SiteConfigArgs().net_framework_version == "v4.6"


def _transform(props: dict[str, Any]) -> dict[str, Any] | None:
    args = pulumi.ResourceTransformArgs(
        custom=True, type_=SITE, name="site", props=props, opts=pulumi.ResourceOptions()
    )
    result = strip_sdk_site_config_defaults(args)
    return None if result is None else dict(result.props)


def test_the_transform_drops_the_default_and_keeps_everything_else() -> None:
    props = {"kind": "functionapp,linux", "siteConfig": {"netFrameworkVersion": "v4.6", "minTlsVersion": "1.2"}}
    assert _transform(props) == {"kind": "functionapp,linux", "siteConfig": {"minTlsVersion": "1.2"}}


def test_the_transform_keeps_a_secret_site_config_secret() -> None:
    secret = rpc.wrap_rpc_secret({"netFrameworkVersion": "v4.6", "appSettings": [{"name": "A", "value": "b"}]})
    transformed = _transform({"siteConfig": secret})
    assert transformed is not None
    assert rpc.is_rpc_secret(transformed["siteConfig"])
    assert rpc.unwrap_rpc_secret(transformed["siteConfig"]) == {"appSettings": [{"name": "A", "value": "b"}]}


def test_the_transform_leaves_other_resources_alone() -> None:
    assert _transform({"allow": False}) is None


def _edge_host(run: ProgramRun) -> str:
    host = run.one("azure-native:cdn:AFDEndpoint").outputs["hostName"]
    assert isinstance(host, str) and host.endswith(".azurefd.net")
    return host


def test_the_platform_answers_no_cors_so_the_app_answers_it_per_path(dev_stack: ProgramRun) -> None:
    # A platform origin would answer every path, the sign-in pages included, and silence the app's own.
    assert _site(dev_stack).get("siteConfig.cors") == {"allowedOrigins": [], "supportCredentials": False}
    assert _site(run_with(edge="none")).get("siteConfig.cors") == {"allowedOrigins": [], "supportCredentials": False}


def test_the_app_gets_the_cors_origins_any_by_default(dev_stack: ProgramRun) -> None:
    assert _settings(dev_stack)["EVENTSTACK_CORS_ORIGINS"] == "*"


def test_the_app_gets_exactly_the_configured_cors_origins() -> None:
    run = run_with(corsOrigins=["https://play.conference.org", "https://stage.conference.org:8443"])
    assert _settings(run)["EVENTSTACK_CORS_ORIGINS"] == "https://play.conference.org https://stage.conference.org:8443"
    assert _settings(run_with(corsOrigins=[]))["EVENTSTACK_CORS_ORIGINS"] == "none"


def test_the_wall_and_join_pages_are_outputs_on_the_public_host(dev_stack: ProgramRun) -> None:
    assert dev_stack.outputs["wallUrl"] == f"{dev_stack.outputs['appUrl']}/api/wall"
    assert dev_stack.outputs["joinUrl"] == f"{dev_stack.outputs['appUrl']}/api/join"
    assert dev_stack.outputs["joinUrl"].startswith(f"https://{_edge_host(dev_stack)}/")


def test_basic_auth_publishing_is_off_for_ftp_and_scm(dev_stack: ProgramRun) -> None:
    site_name = _site(dev_stack).inputs["name"]
    for policy_type in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        policy = dev_stack.one(policy_type)
        assert policy.inputs["allow"] is False, policy.urn
        assert policy.inputs["name"] == site_name, policy.urn
        assert policy.parent_type == FUNCTION_APP


def test_the_package_lives_in_the_private_container_reached_with_the_identity(dev_stack: ProgramRun) -> None:
    account = _storage_account(dev_stack).outputs["name"]
    storage = _site(dev_stack).get("functionAppConfig.deployment.storage")
    assert storage == {
        "type": "blobContainer",
        "value": f"https://{account}.blob.core.windows.net/{DEPLOYMENT_CONTAINER}",
        "authentication": {
            "type": "UserAssignedIdentity",
            "userAssignedIdentityResourceId": _app_identity(dev_stack).id,
        },
    }


def test_runtime_is_python_3_11(dev_stack: ProgramRun) -> None:
    assert _site(dev_stack).get("functionAppConfig.runtime") == {"name": "python", "version": "3.11"}


def test_scale_and_concurrency_come_from_config(dev_stack: ProgramRun) -> None:
    assert _site(dev_stack).get("functionAppConfig.scaleAndConcurrency") == {
        "maximumInstanceCount": 40,
        "instanceMemoryMB": 2048,
        "alwaysReady": [{"name": "http", "instanceCount": 2}],
        "triggers": {"http": {"perInstanceConcurrency": 8}},
    }
    run = run_with(maxInstances=100, instanceMemoryMb=4096, perInstanceConcurrency=4)
    assert _site(run).get("functionAppConfig.scaleAndConcurrency") == {
        "maximumInstanceCount": 100,
        "instanceMemoryMB": 4096,
        "alwaysReady": [{"name": "http", "instanceCount": 2}],
        "triggers": {"http": {"perInstanceConcurrency": 4}},
    }


# App settings


def test_host_storage_is_identity_based(dev_stack: ProgramRun) -> None:
    settings = _settings(dev_stack)
    assert settings["AzureWebJobsStorage__accountName"] == _storage_account(dev_stack).outputs["name"]
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == _app_identity(dev_stack).outputs["clientId"]
    assert "AzureWebJobsStorage" not in settings


def test_telemetry_authenticates_with_the_app_identity(dev_stack: ProgramRun) -> None:
    settings = _settings(dev_stack)
    client_id = _app_identity(dev_stack).outputs["clientId"]
    insights = dev_stack.one("azure-native:applicationinsights:Component")
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == insights.outputs["connectionString"]
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == f"ClientId={client_id};Authorization=AAD"
    assert settings["AZURE_CLIENT_ID"] == client_id


def test_the_instrumentation_key_is_no_credential_because_local_auth_is_off(dev_stack: ProgramRun) -> None:
    # The connection string carries an instrumentation key. With local auth disabled on the
    # component it only names the target: ingestion needs an Entra ID token of the app identity.
    insights = dev_stack.one("azure-native:applicationinsights:Component")
    assert insights.inputs["disableLocalAuth"] is True
    connection = _settings(dev_stack)["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert set(dict(part.split("=", 1) for part in connection.split(";") if part)) <= {
        "InstrumentationKey",
        "IngestionEndpoint",
        "LiveEndpoint",
        "ApplicationId",
    }


# A value that is (or carries) a credential: storage keys and connection strings, SAS tokens,
# passwords, client secrets, or a long base64 run such as an account key.
CREDENTIAL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"AccountKey=",
        r"DefaultEndpointsProtocol=",
        r"SharedAccessKey",
        r"SharedAccessSignature",
        r"[?&;]sig=",
        r"[?&;]sv=\d{4}-\d{2}-\d{2}",
        r"[?&;]se=\d{4}-",
        r"password|passwd|pwd=",
        r"client_?secret",
        r"[A-Za-z0-9+/]{40,}={0,2}",
        r"-----BEGIN",
        r"@Microsoft\.KeyVault",
    )
)


def test_no_app_setting_holds_a_key_connection_string_sas_or_password(dev_stack: ProgramRun) -> None:
    site = _site(dev_stack)
    settings = _settings(dev_stack)
    for name, value in settings.items():
        if name == "APPLICATIONINSIGHTS_CONNECTION_STRING":
            continue  # an identifier with local auth off: see the test above
        for pattern in CREDENTIAL_PATTERNS:
            assert not pattern.search(str(value)), f"{site.urn}: {name} matches {pattern.pattern}"
    assert "connectionStrings" not in (site.inputs.get("siteConfig") or {})


def test_the_credential_patterns_catch_what_they_are_for() -> None:
    leaks = [
        "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc==;EndpointSuffix=core.windows.net",
        "https://st.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig=abc%3D",
        "Server=x;User Id=app;Password=hunter2",
        "q8Fz0kS3L2y9Xw1Vb7Nc4Md6Pe5Rf0Tg8Uh2Ji3Ko4Lp5Mq6Nr7Os8Pt9Qu0Rv1Sw==",
        "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)",
    ]
    for leak in leaks:
        assert any(p.search(leak) for p in CREDENTIAL_PATTERNS), leak


def test_no_setting_flex_consumption_rejects(dev_stack: ProgramRun) -> None:
    site = _site(dev_stack)
    offending = [name for name in _settings(dev_stack) if forbidden_on_flex(name)]
    assert offending == []
    site_config = site.inputs.get("siteConfig") or {}
    for owned_by_the_platform in ("functionAppScaleLimit", "linuxFxVersion", "pythonVersion", "alwaysOn"):
        assert owned_by_the_platform not in site_config, owned_by_the_platform


def test_forbidden_on_flex_knows_the_settings_flex_rejects() -> None:
    for name in ("FUNCTIONS_WORKER_RUNTIME", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTX"):
        assert forbidden_on_flex(name), name
    assert not forbidden_on_flex("EVENTSTACK_TABLE_ENDPOINT")


def test_app_settings_have_one_owner(dev_stack: ProgramRun) -> None:
    for second_owner in ("azure-native:web:WebAppApplicationSettings", "azure-native:web:WebAppConnectionStrings"):
        assert dev_stack.of_type(second_owner) == [], second_owner


def test_the_app_settings_carry_the_stack_config(dev_stack: ProgramRun) -> None:
    settings = _settings(dev_stack)
    # Attendees reach the app through the edge: tokens name the edge's host.
    host = _edge_host(dev_stack)
    account = _storage_account(dev_stack).outputs["name"]
    vault = dev_stack.one("azure-native:keyvault:Vault")
    signing_keys = [k for k in dev_stack.of_type("azure-native:keyvault:Key") if "sign" in k.inputs["keyName"]]
    secrets = {s.inputs["secretName"]: s for s in dev_stack.of_type("azure-native:keyvault:Secret")}
    pepper = secrets["github-id-pepper"]
    assert settings["EVENTSTACK_GITHUB_SECRET_NAME"] == secrets["github-client-secret"].inputs["secretName"]
    assert (settings["EVENTSTACK_SIGN_INS_PER_MINUTE"], settings["EVENTSTACK_SESSION_HOURS"]) == ("30", "48")
    assert (settings["EVENTSTACK_SESSIONS_PER_ATTENDEE"], settings["EVENTSTACK_SIGN_IN_MODE"]) == ("5", "allowlist")
    assert settings["EVENTSTACK_TOKEN_ISSUER"] == f"https://{host}"
    assert settings["EVENTSTACK_TOKEN_AUDIENCE"] == f"https://{host}/api"
    assert settings["EVENTSTACK_TOKEN_ISSUER"] == dev_stack.outputs["appUrl"]
    assert settings["EVENTSTACK_TOKEN_TTL_MINUTES"] == "10"
    assert settings["EVENTSTACK_KEY_VAULT_URI"] == vault.outputs["properties"]["vaultUri"]
    assert [settings["EVENTSTACK_SIGNING_KEY_NAME"]] == [k.inputs["keyName"] for k in signing_keys]
    assert settings["EVENTSTACK_PEPPER_SECRET_NAME"] == pepper.inputs["secretName"]
    assert settings["EVENTSTACK_TABLE_ENDPOINT"] == f"https://{account}.table.core.windows.net/"
    assert settings["EVENTSTACK_RETENTION_HOURS"] == "48"
    assert settings["EVENTSTACK_EVENT_ENDS_AT"] == "2027-06-05T18:00:00Z"
    assert settings["EVENTSTACK_COMMANDS_PER_MINUTE"] == "30"
    assert settings["EVENTSTACK_AUTH_REQUESTS_PER_MINUTE"] == "120"
    assert settings["EVENTSTACK_MAX_CONCURRENT_REQUESTS"] == "8"
    assert settings["EVENTSTACK_MAX_OUTSTANDING_REQUESTS"] == "32"
    assert settings["EVENTSTACK_GITHUB_CLIENT_ID"] == "Ov23liPlaceholder00"


def test_changed_config_reaches_the_app_settings() -> None:
    settings = _settings(
        run_with(
            tokenTtlMinutes=5,
            retentionHours=24,
            eventEndsAt="2028-01-02T03:04:05Z",
            commandsPerMinute=7,
            authRequestsPerMinute=9,
            maxConcurrentRequests=12,
            maxOutstandingRequests=40,
            githubClientId=REAL_LOOKING_CLIENT_ID,
        )
    )
    assert settings["EVENTSTACK_TOKEN_TTL_MINUTES"] == "5"
    assert settings["EVENTSTACK_RETENTION_HOURS"] == "24"
    assert settings["EVENTSTACK_EVENT_ENDS_AT"] == "2028-01-02T03:04:05Z"
    assert settings["EVENTSTACK_COMMANDS_PER_MINUTE"] == "7"
    assert settings["EVENTSTACK_AUTH_REQUESTS_PER_MINUTE"] == "9"
    assert settings["EVENTSTACK_MAX_CONCURRENT_REQUESTS"] == "12"
    assert settings["EVENTSTACK_MAX_OUTSTANDING_REQUESTS"] == "40"
    assert settings["EVENTSTACK_GITHUB_CLIENT_ID"] == REAL_LOOKING_CLIENT_ID


# The variables the app reads in Azure; the local-only ones must never be set there.
LOCAL_ONLY_SETTINGS = frozenset(
    {
        "EVENTSTACK_STORAGE_CONNECTION_STRING",
        "EVENTSTACK_LOCAL_STATE_DIR",
        "EVENTSTACK_GITHUB_BASE_URL",
        "EVENTSTACK_GITHUB_API_URL",
        # The stand-in's client secret: in Azure the app reads it from Key Vault by name.
        "EVENTSTACK_GITHUB_CLIENT_SECRET",
    }
)


@cache
def _names_the_app_reads() -> frozenset[str]:
    source = (ROOT / "function_code" / "eventapi" / "settings.py").read_text()
    return frozenset(re.findall(r"\"(EVENTSTACK_[A-Z_]+)\"", source))


def test_every_setting_the_app_reads_is_provided_and_no_local_one(dev_stack: ProgramRun) -> None:
    settings = _settings(dev_stack)
    read = _names_the_app_reads()
    assert read - LOCAL_ONLY_SETTINGS, "found no setting names in eventapi/settings.py"
    assert sorted(read - LOCAL_ONLY_SETTINGS - set(settings)) == []
    assert sorted(LOCAL_ONLY_SETTINGS & set(settings)) == []


def test_the_app_starts_with_the_settings_the_program_sends() -> None:
    settings = _settings(
        run_with(
            githubClientId=REAL_LOOKING_CLIENT_ID,
            controllerName="Contoso Conferences GmbH",
            controllerContact="https://contoso.eu/privacy",
        )
    )
    loaded = load_settings({name: str(value) for name, value in settings.items()})
    assert loaded.token_issuer == settings["EVENTSTACK_TOKEN_ISSUER"]
    assert loaded.max_concurrent_requests == 8
    assert (loaded.controller_name, loaded.controller_contact) == (
        "Contoso Conferences GmbH",
        "https://contoso.eu/privacy",
    )


def test_the_app_refuses_to_start_with_the_placeholder_client_id(dev_stack: ProgramRun) -> None:
    settings = _settings(dev_stack)
    with pytest.raises(SettingsError, match="EVENTSTACK_GITHUB_CLIENT_ID"):
        load_settings({name: str(value) for name, value in settings.items()})


# The code deployment


def test_the_deployment_ships_the_built_package_to_the_scm_host(dev_stack: ProgramRun) -> None:
    deployment = dev_stack.one(DEPLOYMENT)
    zip_path = Path(deployment.inputs["zip_path"])
    assert zip_path.is_file()
    assert deployment.inputs["zip_hash"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert deployment.inputs["scm_host"] == f"{_site(dev_stack).inputs['name']}.scm.azurewebsites.net"
    assert deployment.parent_type == FUNCTION_APP


def test_code_is_shipped_after_the_app_and_its_storage_role_exist(dev_stack: ProgramRun) -> None:
    deployment = dev_stack.one(DEPLOYMENT)
    principal = _app_identity(dev_stack).outputs["principalId"]
    [package_writer] = [
        r
        for r in dev_stack.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(ROLES["Storage Blob Data Contributor"])
        and r.inputs["principalId"] == principal
    ]
    assert _site(dev_stack).urn in deployment.dependencies
    assert package_writer.urn in deployment.dependencies
    assert dev_stack.one("azure-native:web:WebAppScmAllowed").urn in deployment.dependencies


def test_the_deployed_host_json_carries_the_configured_throttles() -> None:
    run = run_with(maxConcurrentRequests=12, maxOutstandingRequests=40)
    with zipfile.ZipFile(run.one(DEPLOYMENT).inputs["zip_path"]) as archive:
        host = json.loads(archive.read("host.json"))
    assert host["extensions"]["http"]["maxConcurrentRequests"] == 12
    assert host["extensions"]["http"]["maxOutstandingRequests"] == 40
    assert host["extensions"]["http"]["dynamicThrottlesEnabled"] is True


# Outputs and naming


def test_outputs_name_the_app_and_its_urls(dev_stack: ProgramRun) -> None:
    host = _edge_host(dev_stack)
    assert dev_stack.outputs["appUrl"] == f"https://{host}"
    assert dev_stack.outputs["jwksUrl"] == f"https://{host}/api/.well-known/jwks.json"
    assert dev_stack.outputs["functionAppName"] == _site(dev_stack).outputs["name"]


def test_every_child_is_named_after_the_component(dev_stack: ProgramRun) -> None:
    [component] = dev_stack.of_type(FUNCTION_APP)
    children = [r for r in dev_stack.resources if r.parent == component.urn]
    assert len(children) == 5
    for child in children:
        assert child.name.startswith(f"{component.name}-"), child.urn


# Behind the edge: the main site admits only this Front Door, the deployment endpoint has its own rules


def test_the_main_site_admits_only_this_front_door(dev_stack: ProgramRun) -> None:
    site_config = _site(dev_stack).inputs["siteConfig"]
    front_door_id = dev_stack.one("azure-native:cdn:Profile").outputs["frontDoorId"]
    assert front_door_id
    assert site_config["ipSecurityRestrictionsDefaultAction"] == "Deny"
    assert site_config["ipSecurityRestrictions"] == [
        {
            "name": "front-door-only",
            "action": "Allow",
            "tag": "ServiceTag",
            "ipAddress": "AzureFrontDoor.Backend",
            "priority": 100,
            "headers": {"x-azure-fdid": [front_door_id]},
        }
    ]
    # Public network access stays on: turning it off would close the deployment endpoint too.
    assert _site(dev_stack).inputs["publicNetworkAccess"] == "Enabled"


def test_the_deployment_endpoint_has_its_own_rules_open_to_entra_id_callers_by_default(dev_stack: ProgramRun) -> None:
    site_config = _site(dev_stack).inputs["siteConfig"]
    assert site_config["scmIpSecurityRestrictionsUseMain"] is False
    assert site_config["scmIpSecurityRestrictionsDefaultAction"] == "Allow"
    assert site_config.get("scmIpSecurityRestrictions", []) == []
    # Open only because nothing but an Entra ID token gets in: basic-auth publishing is off.
    assert dev_stack.one("azure-native:web:WebAppScmAllowed").inputs["allow"] is False


def test_deploy_from_cidrs_closes_the_deployment_endpoint_to_everyone_else() -> None:
    run = run_with(deployFromCidrs=["203.0.113.0/24", "198.51.100.7/32"])
    site_config = _site(run).inputs["siteConfig"]
    assert site_config["scmIpSecurityRestrictionsUseMain"] is False
    assert site_config["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
    assert [(r["ipAddress"], r["action"]) for r in site_config["scmIpSecurityRestrictions"]] == [
        ("203.0.113.0/24", "Allow"),
        ("198.51.100.7/32", "Allow"),
    ]
    # The main site keeps admitting only the edge.
    assert site_config["ipSecurityRestrictionsDefaultAction"] == "Deny"


def test_without_the_edge_the_site_is_open_and_named_by_its_own_host() -> None:
    run = run_with(edge="none")
    site = _site(run)
    assert run.of_type("azure-native:cdn:Profile") == []
    assert run.of_type("azure-native:frontdoor:Policy") == []
    assert site.get("siteConfig.ipSecurityRestrictionsDefaultAction") == "Allow"
    assert site.get("siteConfig.ipSecurityRestrictions") == []
    host = site.outputs["defaultHostName"]
    assert run.outputs["appUrl"] == f"https://{host}"
    assert run.outputs["jwksUrl"] == f"https://{host}/api/.well-known/jwks.json"
    assert run.outputs["githubCallbackUrl"] == f"https://{host}/api/auth/callback"
    settings = _settings(run)
    assert settings["EVENTSTACK_TOKEN_ISSUER"] == f"https://{host}"
    assert settings["EVENTSTACK_BEHIND_EDGE"] == "false"


def test_the_github_callback_is_on_the_edges_host(dev_stack: ProgramRun) -> None:
    # The attendee's browser comes back from GitHub through the edge, like every other call.
    assert dev_stack.outputs["githubCallbackUrl"] == f"https://{_edge_host(dev_stack)}/api/auth/callback"


def test_the_app_is_told_it_sits_behind_the_edge(dev_stack: ProgramRun) -> None:
    from eventapi.settings import BEHIND_EDGE_SETTING

    assert _settings(dev_stack)[BEHIND_EDGE_SETTING] == "true"


# Availability


def test_the_plan_is_zone_redundant_with_two_always_ready_http_instances(dev_stack: ProgramRun) -> None:
    assert dev_stack.one(PLAN).inputs["zoneRedundant"] is True
    assert _site(dev_stack).get("functionAppConfig.scaleAndConcurrency.alwaysReady") == [
        {"name": "http", "instanceCount": 2}
    ]


def test_without_zone_redundancy_always_ready_may_be_zero_or_one() -> None:
    run = run_with(location="francecentral", zoneRedundant=False, alwaysReadyInstances=0)
    assert run.one(PLAN).inputs["zoneRedundant"] is False
    assert _site(run).get("functionAppConfig.scaleAndConcurrency.alwaysReady") == []
    run = run_with(zoneRedundant=False, alwaysReadyInstances=1)
    assert _site(run).get("functionAppConfig.scaleAndConcurrency.alwaysReady") == [{"name": "http", "instanceCount": 1}]
