"""StackConfig: every key validated, with a message that names the key, the value and the rule."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
import yaml

from components.config import CONFIG_KEYS, SECRET_CONFIG_KEYS, ConfigError, StackConfig, parse_config
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
    ("corsOrigins", '["*"]'),
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
    ("sealed", "yes"),
    ("sealed", "True"),
]


def test_the_dev_stack_is_valid() -> None:
    config = parse_config(dev_values(), "dev")
    assert config.location == "westeurope"
    assert config.token_ttl_minutes == 10
    assert config.event_ends_at == datetime(2027, 6, 5, 18, tzinfo=UTC)
    assert config.data_delete_by == datetime(2027, 6, 7, 18, tzinfo=UTC)
    assert config.integration_subnet == ipaddress.IPv4Network("10.42.1.0/24")
    assert config.cors_origins == ()


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


@pytest.mark.parametrize("key", [k for k in CONFIG_KEYS if k not in ("corsOrigins", *SECRET_CONFIG_KEYS)])
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
