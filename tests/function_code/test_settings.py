"""Settings are read once and refuse missing, placeholder or out-of-range values with a clear message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from eventapi.settings import AzureResources, LocalResources, SettingsError, load_settings

from dev.local import AzuritePorts, api_environment, new_client_secret

AZURE_ENV = {
    "EVENTSTACK_CONTROLLER_NAME": "Conference Organisers e.V.",
    "EVENTSTACK_CONTROLLER_CONTACT": "privacy@conference.eu",
    "EVENTSTACK_TOKEN_ISSUER": "https://app-confdemo.azurewebsites.net",
    "EVENTSTACK_TOKEN_AUDIENCE": "https://app-confdemo.azurewebsites.net/api",
    "EVENTSTACK_TOKEN_TTL_MINUTES": "10",
    "EVENTSTACK_KEY_VAULT_URI": "https://kv-confdemo.vault.azure.net/",
    "EVENTSTACK_SIGNING_KEY_NAME": "token-signing",
    "EVENTSTACK_PEPPER_SECRET_NAME": "github-id-pepper",
    "EVENTSTACK_GITHUB_SECRET_NAME": "github-client-secret",
    "EVENTSTACK_TABLE_ENDPOINT": "https://stconfdemo.table.core.windows.net",
    "EVENTSTACK_RETENTION_HOURS": "48",
    "EVENTSTACK_EVENT_ENDS_AT": "2027-06-05T18:00:00Z",
    "EVENTSTACK_COMMANDS_PER_MINUTE": "30",
    "EVENTSTACK_AUTH_REQUESTS_PER_MINUTE": "20",
    "EVENTSTACK_MAX_CONCURRENT_REQUESTS": "20",
    "EVENTSTACK_MAX_OUTSTANDING_REQUESTS": "100",
    "EVENTSTACK_GITHUB_CLIENT_ID": "Ov23liAbCdEf012345",
    "EVENTSTACK_SIGN_INS_PER_MINUTE": "30",
    "EVENTSTACK_SESSION_HOURS": "48",
    "EVENTSTACK_SESSIONS_PER_ATTENDEE": "5",
    "EVENTSTACK_SIGN_IN_MODE": "allowlist",
    "EVENTSTACK_SIGN_IN_GRACE_MINUTES": "0",
    "EVENTSTACK_ALLOWED_LOGIN_DIGESTS": "ab" * 32 + "," + "cd" * 32,
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
}


def test_azure_settings_are_read_and_typed() -> None:
    settings = load_settings(AZURE_ENV)
    assert settings.token_ttl == timedelta(minutes=10)
    assert settings.retention == timedelta(hours=48)
    assert settings.data_delete_by.isoformat() == "2027-06-07T18:00:00+00:00"
    assert settings.github_base_url == "https://github.com"
    assert settings.resources == AzureResources(
        "https://kv-confdemo.vault.azure.net",
        "token-signing",
        "github-id-pepper",
        "github-client-secret",
        "https://stconfdemo.table.core.windows.net",
    )
    assert settings.sign_in_mode.value == "allowlist"
    assert settings.allowed_login_digests == {"ab" * 32, "cd" * 32}
    assert settings.session_lifetime == timedelta(hours=48)


def test_local_settings_use_azurite_and_the_state_dir(tmp_path: Path) -> None:
    settings = load_settings(
        api_environment(7071, "http://127.0.0.1:7072", AzuritePorts(), tmp_path, new_client_secret())
    )
    assert isinstance(settings.resources, LocalResources)
    assert settings.resources.state_dir == tmp_path


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EVENTSTACK_GITHUB_CLIENT_ID", "Ov23liPlaceholder00", "EVENTSTACK_GITHUB_CLIENT_ID holds a placeholder"),
        ("EVENTSTACK_GITHUB_CLIENT_ID", "", "EVENTSTACK_GITHUB_CLIENT_ID is not set"),
        ("EVENTSTACK_TOKEN_TTL_MINUTES", "16", "EVENTSTACK_TOKEN_TTL_MINUTES must be an integer from 1 to 15"),
        ("EVENTSTACK_TOKEN_TTL_MINUTES", "ten", "EVENTSTACK_TOKEN_TTL_MINUTES must be an integer from 1 to 15"),
        ("EVENTSTACK_RETENTION_HOURS", "0", "EVENTSTACK_RETENTION_HOURS must be an integer from 1 to 168"),
        ("EVENTSTACK_EVENT_ENDS_AT", "2027-06-05 18:00", "EVENTSTACK_EVENT_ENDS_AT must be an ISO 8601 UTC"),
        ("EVENTSTACK_TOKEN_ISSUER", "http://app.azurewebsites.net", "EVENTSTACK_TOKEN_ISSUER must be an https URL"),
        ("EVENTSTACK_KEY_VAULT_URI", "", "EVENTSTACK_KEY_VAULT_URI is not set"),
        ("EVENTSTACK_SIGN_IN_MODE", "everyone", "EVENTSTACK_SIGN_IN_MODE must be one of: open, allowlist"),
        ("EVENTSTACK_ALLOWED_LOGIN_DIGESTS", "octocat", "EVENTSTACK_ALLOWED_LOGIN_DIGESTS must list HMAC-SHA256"),
        ("EVENTSTACK_SESSIONS_PER_ATTENDEE", "0", "EVENTSTACK_SESSIONS_PER_ATTENDEE must be an integer from 1 to 20"),
        ("EVENTSTACK_GITHUB_SECRET_NAME", "", "EVENTSTACK_GITHUB_SECRET_NAME is not set"),
        ("EVENTSTACK_SIGNING_KEY_NAME", "<signing key>", "EVENTSTACK_SIGNING_KEY_NAME holds a placeholder"),
        ("EVENTSTACK_MAX_OUTSTANDING_REQUESTS", "5", "must be at least EVENTSTACK_MAX_CONCURRENT_REQUESTS"),
        # The discovery documents sit at the origin's well-known paths: the issuer is an origin,
        # the audience its /api (RFC 8414 / RFC 9728 section 3.1).
        (
            "EVENTSTACK_TOKEN_ISSUER",
            "https://app-confdemo.azurewebsites.net/api",
            "EVENTSTACK_TOKEN_ISSUER must be an origin",
        ),
        (
            "EVENTSTACK_TOKEN_AUDIENCE",
            "https://app-confdemo.azurewebsites.net",
            "EVENTSTACK_TOKEN_AUDIENCE must be EVENTSTACK_TOKEN_ISSUER followed by /api",
        ),
    ],
)
def test_bad_values_are_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({**AZURE_ENV, name: value})


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({})
    for name in ("EVENTSTACK_TOKEN_ISSUER", "EVENTSTACK_EVENT_ENDS_AT", "EVENTSTACK_TABLE_ENDPOINT"):
        assert name in str(raised.value)


def test_a_connection_string_is_only_for_azurite() -> None:
    real_account = (
        "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc;TableEndpoint=https://st.table.core.windows.net;"
    )
    with pytest.raises(SettingsError, match="only for Azurite"):
        load_settings(
            {**AZURE_ENV, "EVENTSTACK_KEY_VAULT_URI": "", "EVENTSTACK_STORAGE_CONNECTION_STRING": real_account}
        )
    with pytest.raises(SettingsError, match="exclusive"):
        load_settings({**AZURE_ENV, "EVENTSTACK_STORAGE_CONNECTION_STRING": AzuritePorts().connection_string})
