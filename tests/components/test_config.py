"""StackConfig: every key validated, with a message that names the key, the value and the rule."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
import yaml

from components.config import (
    CONFIG_KEYS,
    SECRET_CONFIG_KEYS,
    ConfigError,
    RunKind,
    StackConfig,
    check_deployable,
    current_run_kind,
    is_reserved_domain,
    parse_config,
)
from dev.offline import ROOT, stack_config


def dev_values(**changes: str | None) -> dict[str, str]:
    values = {key.split(":", 1)[1]: value for key, value in stack_config("dev").items()}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


# At least one refused value per key; test_every_key_has_a_refused_value keeps it complete.
BAD_VALUES: list[tuple[str, str]] = [
    ("location", "eastus"),
    ("location", "uksouth"),
    ("location", "WestEurope "),
    ("eventName", "Conf Demo"),
    ("eventName", "a"),
    ("eventName", "x" * 17),
    ("eventName", "-conf"),
    ("owner", "not-an-email"),
    ("owner", "a@b"),
    ("eventEndsAt", "next friday"),
    ("eventEndsAt", "2027-06-05T18:00:00+02:00"),
    ("eventEndsAt", "2027-06-05T18:00:00"),
    ("retentionHours", "0"),
    ("retentionHours", "169"),
    ("retentionHours", "10000"),
    ("retentionHours", "48h"),
    ("tokenTtlMinutes", "0"),
    ("tokenTtlMinutes", "16"),
    ("tokenTtlMinutes", "60"),
    ("githubClientId", "bad id!"),
    ("githubClientId", "short"),
    ("maxInstances", "39"),
    ("maxInstances", "1001"),
    ("perInstanceConcurrency", "0"),
    ("perInstanceConcurrency", "9"),  # above maxConcurrentRequests (8)
    ("instanceMemoryMb", "1024"),
    ("maxConcurrentRequests", "0"),
    ("maxConcurrentRequests", "101"),
    ("maxOutstandingRequests", "7"),  # below maxConcurrentRequests (8)
    ("maxOutstandingRequests", "1001"),
    ("commandsPerMinute", "0"),
    ("commandsPerMinute", "601"),
    ("authRequestsPerMinute", "0"),
    ("authRequestsPerMinute", "6001"),
    ("vnetAddressSpace", "8.8.0.0/16"),
    ("vnetAddressSpace", "10.42.0.0/25"),
    ("vnetAddressSpace", "10.42.0.1/16"),
    ("vnetAddressSpace", "not-a-cidr"),
    ("integrationSubnet", "10.43.1.0/24"),  # outside the VNet
    ("integrationSubnet", "10.42.1.0/28"),  # smaller than Flex needs
    ("privateEndpointSubnet", "10.42.1.128/25"),  # overlaps the integration subnet
    ("privateEndpointSubnet", "192.168.0.0/24"),
    ("privateEndpointSubnet", "10.42.2.0/29"),
    ("corsOrigins", '["*", "https://wall.example.org"]'),
    ("corsOrigins", '["https://*.example.org"]'),
    ("corsOrigins", '["http://wall.example.org"]'),
    ("corsOrigins", '["https://wall.example.org/path"]'),
    ("corsOrigins", "https://wall.example.org"),
    ("keyVaultSku", "free"),
    ("signingKeyRotationDays", "1"),
    ("signingKeyRotationDays", "366"),
    ("logRetentionDays", "7"),
    ("logRetentionDays", "91"),
    ("blobSoftDeleteDays", "0"),
    ("blobSoftDeleteDays", "30"),
    ("githubClientSecret", "not-hex-and-too-short"),
    ("githubClientSecret", "A" * 40),
    ("signInsPerMinute", "0"),
    ("signInsPerMinute", "34"),  # over GitHub's 2,000 token requests an hour
    ("sessionHours", "0"),
    ("sessionHours", "169"),
    ("sessionsPerAttendee", "0"),
    ("sessionsPerAttendee", "21"),
    ("signIn", "everyone"),
    ("signInGraceMinutes", "-1"),
    ("signInGraceMinutes", "1441"),
    ("allowedGitHubLogins", '["-octocat"]'),
    ("allowedGitHubLogins", '["octo cat"]'),
    ("allowedGitHubLogins", "octocat"),
    ("allowedGitHubLogins", '["' + "a" * 40 + '"]'),
    # Operator: alert thresholds and the budget.
    ("alertHttp5xxPercent", "0"),
    ("alertHttp5xxPercent", "51"),
    ("alertHttp429PerMinute", "0"),
    ("alertKeyVaultFailuresPer5Minutes", "0"),
    ("alertPurgeMissedHours", "0"),
    ("alertPurgeMissedHours", "49"),  # longer than a log alert looks back
    ("alertPurgeMissedHours", "12"),  # not a window Azure offers
    ("alertWafBlocksPer5Minutes", "0"),
    ("budgetAmount", "9"),
    ("budgetAmount", "1e3"),
    # the edge and availability
    ("keyVaultSku", "standard"),  # software keys: the policy pack requires HSM-backed ones
    ("edge", "cloudflare"),
    ("edge", "FrontDoor"),
    ("frontDoorSku", "Classic_AzureFrontDoor"),
    ("edgeSignInRequestsPerMinute", "9"),
    ("edgeSignInRequestsPerMinute", "10001"),
    ("edgeApiRequestsPerMinute", "100001"),
    ("edgeApiRequestsPerMinute", "599"),  # below edgeSignInRequestsPerMinute (600)
    ("deployFromCidrs", '["0.0.0.0/0"]'),
    ("deployFromCidrs", '["10.0.0.0/8"]'),
    ("deployFromCidrs", '["203.0.113.1/24"]'),
    ("deployFromCidrs", "203.0.113.0/24"),
    ("zoneRedundant", "yes"),
    ("alwaysReadyInstances", "1"),  # zone-redundant needs two
    ("alwaysReadyInstances", "-1"),
    ("alwaysReadyInstances", "21"),
    ("sealed", "yes"),
    ("controllerName", "<b>organisers</b>"),
    ("controllerContact", "ring the bell"),
    ("sealed", "True"),
]


def test_the_dev_stack_is_valid() -> None:
    config = parse_config(dev_values(), "dev")
    assert config.location == "westeurope"
    assert config.token_ttl_minutes == 10
    assert config.event_ends_at == datetime(2027, 6, 5, 18, tzinfo=UTC)
    assert config.data_delete_by == datetime(2027, 6, 7, 18, tzinfo=UTC)
    assert config.integration_subnet == ipaddress.IPv4Network("10.42.1.0/24")
    # Any page may call the bearer-token endpoints unless the stack says otherwise.
    assert config.cors_origins == ("*",)


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_a_refused_value_names_key_value_and_rule(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(dev_values(**{key: value}), "dev")
    assert raised.value.key == f"eventstack:{key}"
    message = str(raised.value)
    assert f"eventstack:{key}" in message
    if key in SECRET_CONFIG_KEYS:
        # A secret's value never reaches a message (and so a terminal or a CI log).
        assert value not in message and "(secret)" in message
    else:
        assert repr(value) in message
    assert "expected" in message


def test_every_key_has_a_refused_value() -> None:
    assert {key for key, _ in BAD_VALUES} == set(CONFIG_KEYS)


@pytest.mark.parametrize(
    "key",
    [
        k
        for k in CONFIG_KEYS
        # The controller may stay empty until `pulumi up`, which refuses it (test_what_cannot_work_in_azure...).
        if k not in ("corsOrigins", "deployFromCidrs", "controllerName", "controllerContact", *SECRET_CONFIG_KEYS)
    ],
)
def test_a_missing_key_is_refused_by_name(key: str) -> None:
    with pytest.raises(ConfigError, match=f"eventstack:{key} = \\(not set\\)"):
        parse_config(dev_values(**{key: None}), "dev")


def test_a_misspelt_key_is_refused_rather_than_ignored() -> None:
    values = dev_values()
    values["tokenTTLMinutes"] = "60"
    with pytest.raises(ConfigError, match="eventstack:tokenTTLMinutes"):
        parse_config(values, "dev")


def test_valid_cors_origins_and_premium_vault_are_accepted() -> None:
    config = parse_config(
        dev_values(corsOrigins='["https://wall.example.org", "https://a.example.org:8443"]', keyVaultSku="premium"),
        "dev",
    )
    assert config.cors_origins == ("https://wall.example.org", "https://a.example.org:8443")
    assert config.key_vault_sku == "premium"
    assert parse_config(dev_values(corsOrigins="[]"), "dev").cors_origins == ()


def test_config_is_frozen() -> None:
    config = parse_config(dev_values(), "dev")
    with pytest.raises(AttributeError):
        config.token_ttl_minutes = 60  # type: ignore[misc]
    assert isinstance(config, StackConfig)


def test_pulumi_yaml_declares_every_key_with_description_and_default() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == set(CONFIG_KEYS)
    for key, spec in declared.items():
        assert spec.get("description"), f"{key} has no description"
        assert "default" in spec, f"{key} has no default"
        assert spec.get("type") in {"string", "integer", "array", "boolean"}, key


def test_pulumi_yaml_defaults_alone_are_valid() -> None:
    defaults = {key.split(":", 1)[1]: value for key, value in stack_config("no-such-stack").items()}
    parse_config(defaults, "default")


def test_the_dev_stack_file_only_sets_known_keys_in_an_eu_region() -> None:
    values = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    for key in values:
        namespace, _, name = key.partition(":")
        assert namespace == "eventstack" and name in CONFIG_KEYS, key
    assert values["eventstack:location"] in {"westeurope", "northeurope", "swedencentral"}


@pytest.mark.parametrize(
    ("key", "value"),
    [("tokenTtlMinutes", 60), ("location", "eastus"), ("retentionHours", 10000)],
)
def test_the_program_refuses_bad_config_before_registering_anything(key: str, value: object) -> None:
    import pulumi

    from dev.offline import RecordingMonitor, StackMocks, run_program

    monitor = RecordingMonitor(StackMocks())
    with pytest.raises(pulumi.RunError, match=f"eventstack:{key}"):
        run_program("dev", {key: value}, monitor=monitor)
    assert monitor.registered == []


def test_the_edge_defaults_to_front_door_premium_with_zone_redundancy() -> None:
    config = parse_config(dev_values(), "dev")
    assert config.edge_enabled
    assert config.front_door_sku == "Premium_AzureFrontDoor"
    assert config.key_vault_sku == "premium"
    assert config.zone_redundant is True
    assert config.always_ready_instances == 2
    assert config.deploy_from_cidrs == ()
    assert config.edge_sign_in_requests_per_minute < config.edge_api_requests_per_minute


def test_edge_none_and_deploy_cidrs_are_accepted() -> None:
    config = parse_config(dev_values(edge="none", deployFromCidrs='["203.0.113.0/24", "198.51.100.7/32"]'), "dev")
    assert not config.edge_enabled
    assert config.deploy_from_cidrs == (
        ipaddress.IPv4Network("203.0.113.0/24"),
        ipaddress.IPv4Network("198.51.100.7/32"),
    )


def test_zone_redundancy_is_refused_where_flex_does_not_offer_it() -> None:
    with pytest.raises(ConfigError, match="eventstack:zoneRedundant") as raised:
        parse_config(dev_values(location="francecentral"), "dev")
    assert "false in francecentral" in str(raised.value)
    config = parse_config(dev_values(location="francecentral", zoneRedundant="false"), "dev")
    assert config.zone_redundant is False


def test_no_always_ready_instance_is_allowed_only_without_zone_redundancy() -> None:
    with pytest.raises(ConfigError, match="eventstack:alwaysReadyInstances"):
        parse_config(dev_values(alwaysReadyInstances="0"), "dev")
    config = parse_config(dev_values(zoneRedundant="false", alwaysReadyInstances="0"), "dev")
    assert config.always_ready_instances == 0


def test_secrets_set_in_clear_are_refused() -> None:
    values = dev_values(githubClientSecret="ab" * 20, allowedGitHubLogins='["octocat"]')
    with pytest.raises(ConfigError, match="eventstack:githubClientSecret") as raised:
        parse_config(values, "dev", secret_keys=frozenset({"allowedGitHubLogins"}))
    assert "ab" * 20 not in str(raised.value)
    with pytest.raises(ConfigError, match="eventstack:allowedGitHubLogins"):
        parse_config(values, "dev", secret_keys=frozenset({"githubClientSecret"}))
    config = parse_config(values, "dev", secret_keys=frozenset(SECRET_CONFIG_KEYS))
    assert config.github_client_secret == "ab" * 20


def test_logins_compare_case_insensitively_and_never_show_in_repr() -> None:
    config = parse_config(dev_values(allowedGitHubLogins='["OctoCat", "octocat", "Hubot"]'), "dev")
    assert config.allowed_github_logins == ("hubot", "octocat")
    assert "octocat" not in repr(config)


# --- deploy-time checks: what only a real deployment refuses ----------------------------------

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)
REAL_CLIENT_ID = "Ov23liA1b2C3d4E5f6G7"
REAL_VALUES = {
    "githubClientId": REAL_CLIENT_ID,
    "owner": "events@contoso.eu",
    "githubClientSecret": "0123456789abcdef0123456789abcdef01234567",
    "allowedGitHubLogins": '["octocat"]',
    "controllerName": "Contoso Conferences GmbH",
    "controllerContact": "privacy@contoso.eu",
}


def _deployable(**changes: str | None) -> StackConfig:
    values = dev_values(**{**REAL_VALUES, **changes})
    return parse_config(values, "dev", frozenset(SECRET_CONFIG_KEYS))


@pytest.mark.parametrize("kind", [RunKind.PREVIEW, RunKind.DEPLOY])
def test_a_real_configuration_passes_every_deploy_check(kind: RunKind) -> None:
    check_deployable(_deployable(), kind, NOW)


@pytest.mark.parametrize("client_id", ["Iv1.0123456789abcdef", "0123456789abcdef0123", "Iv23liZZ99yy88XX77ww"])
def test_every_client_id_shape_github_issues_is_accepted(client_id: str) -> None:
    check_deployable(_deployable(githubClientId=client_id), RunKind.DEPLOY, NOW)


DEPLOY_REFUSALS: list[tuple[str, str]] = [
    ("githubClientId", "Ov23liPlaceholder00"),  # the dev stack's placeholder
    ("githubClientId", "Ov23liPlaceholder000"),  # the right shape, still a placeholder
    ("githubClientId", "Ov23liA1b2C3d4"),  # cut short
    ("githubClientId", "my.oauth.app.id"),
    ("owner", "conference-team@example.org"),
    ("owner", "ops@mail.example.com"),
    ("owner", "ops@example.net"),
    ("owner", "ops@events.test"),
    ("owner", "ops@host.invalid"),
    ("corsOrigins", '["https://wall.example.org"]'),
    ("githubClientSecret", ""),  # the mocked default
    ("allowedGitHubLogins", "[]"),  # an allowlist that admits nobody
    ("controllerName", ""),  # GDPR Art. 13(1)(a): the notice must name the controller
    ("controllerName", "Conference Team (placeholder)"),  # the dev stack's value
    ("controllerContact", ""),
    ("controllerContact", "privacy@example.org"),  # the dev stack's value: reaches nobody
    ("controllerContact", "https://www.example.com/privacy"),
]


@pytest.mark.parametrize(("key", "value"), DEPLOY_REFUSALS)
@pytest.mark.parametrize("kind", [RunKind.PREVIEW, RunKind.DEPLOY])
def test_what_cannot_work_in_azure_is_refused_by_name(kind: RunKind, key: str, value: str) -> None:
    config = _deployable(**{key: value})
    with pytest.raises(ConfigError) as raised:
        check_deployable(config, kind, NOW)
    assert raised.value.key == f"eventstack:{key}"
    assert "expected" in str(raised.value)


@pytest.mark.parametrize(("key", "value"), DEPLOY_REFUSALS)
def test_a_mocked_run_accepts_placeholders_and_example_domains(key: str, value: str) -> None:
    check_deployable(_deployable(**{key: value}), RunKind.MOCKED, NOW)


def test_an_open_event_needs_no_allowlist() -> None:
    check_deployable(_deployable(signIn="open", allowedGitHubLogins="[]"), RunKind.DEPLOY, NOW)


def test_an_ended_event_is_refused_by_pulumi_up_only() -> None:
    config = _deployable(eventEndsAt="2027-05-31T18:00:00Z")
    with pytest.raises(ConfigError, match="eventstack:eventEndsAt = '2027-05-31T18:00:00Z'"):
        check_deployable(config, RunKind.DEPLOY, NOW)
    check_deployable(config, RunKind.PREVIEW, NOW)
    check_deployable(config, RunKind.MOCKED, NOW)


def test_the_dev_stack_file_is_for_mocked_runs_only() -> None:
    config = parse_config(dev_values(), "dev")
    check_deployable(config, RunKind.MOCKED, NOW)
    with pytest.raises(ConfigError, match="eventstack:githubClientId"):
        check_deployable(config, RunKind.DEPLOY, NOW)


@pytest.mark.parametrize(
    ("host", "reserved"),
    [
        ("example.org", True),
        ("EXAMPLE.com", True),
        ("wall.example.net", True),
        ("site.localhost", True),
        ("example.eu", False),
        ("notexample.org", False),
        ("contoso.eu", False),
    ],
)
def test_reserved_domains_are_those_of_rfc_2606(host: str, reserved: bool) -> None:
    assert is_reserved_domain(host) is reserved


# --- telling a mocked run from a real one ----------------------------------------------------


def _engine_like_settings(dry_run: bool) -> None:
    """The runtime as the engine sets it up: a gRPC stub (here any non-mock object) as monitor."""
    import pulumi
    from pulumi.runtime import settings

    settings.configure(
        settings.Settings(project="eventstack", stack="dev", monitor=object(), engine=None, dry_run=dry_run)
    )
    assert not isinstance(pulumi.runtime.settings.get_monitor(), pulumi.runtime.mocks.MockMonitor)


def test_the_test_mocks_are_a_mocked_run() -> None:
    assert current_run_kind() is RunKind.MOCKED


@pytest.mark.parametrize(("dry_run", "kind"), [(True, RunKind.PREVIEW), (False, RunKind.DEPLOY)])
def test_an_engine_run_is_a_preview_or_a_deployment(dry_run: bool, kind: RunKind) -> None:
    _engine_like_settings(dry_run)
    assert current_run_kind() is kind


def test_the_mocked_dev_stack_runs_with_its_placeholders() -> None:
    from dev.offline import run_program

    run = run_program("dev")
    assert run.one("azure-native:monitor:ActionGroup").get("emailReceivers.0.emailAddress") == (
        "conference-team@example.org"
    )


def test_a_real_run_refuses_the_placeholder_before_registering_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole program, with the run kind a real `pulumi up` would see."""
    import pulumi

    from components import config as config_module
    from dev.offline import RecordingMonitor, StackMocks, run_program

    monkeypatch.setattr(config_module, "current_run_kind", lambda: RunKind.DEPLOY)
    monitor = RecordingMonitor(StackMocks())
    with pytest.raises(pulumi.RunError, match="eventstack:githubClientId"):
        run_program("dev", monitor=monitor)
    assert monitor.registered == []


@pytest.mark.parametrize("contact", ["privacy@contoso.eu", "https://contoso.eu/privacy"])
def test_the_controller_contact_is_a_mailbox_or_a_page(contact: str) -> None:
    config = _deployable(controllerContact=contact)
    check_deployable(config, RunKind.DEPLOY, NOW)
    assert (config.controller_name, config.controller_contact) == ("Contoso Conferences GmbH", contact)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("controllerContact", "call us"),
        ("controllerContact", "http://contoso.eu/privacy"),
        ("controllerName", "<script>"),
        ("controllerName", "ab"),
    ],
)
def test_a_malformed_controller_is_refused_in_every_run(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(dev_values(**{key: value}), "dev")
    assert raised.value.key == f"eventstack:{key}"
