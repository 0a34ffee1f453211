"""`make preview`: the reviewer's offline dry run of what `pulumi up` would create."""

from __future__ import annotations

import pytest

from dev.preview import main


def test_the_preview_lists_every_resource_with_its_security_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "offline preview of stack 'dev'" in out
    for expected in (
        "azure-native:storage:StorageAccount",
        "allowSharedKeyAccess = false",
        'publicNetworkAccess = "Disabled"',
        "azure-native:keyvault:Vault",
        "enablePurgeProtection = true",
        "azure-native:web:WebApp",
        "httpsOnly = true",
        "azure-native:authorization:RoleAssignment",
        "(parent: eventstack-storage)",
        "[retainOnDelete]",
    ):
        assert expected in out, f"the preview does not show {expected!r}"


def test_secret_inputs_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--all-inputs"]) == 0
    out = capsys.readouterr().out
    assert "<secret>" in out


def test_a_config_error_exits_non_zero_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--set", "tokenTtlMinutes=60"]) == 2
    err = capsys.readouterr().err
    assert "eventstack:tokenTtlMinutes" in err
    assert "1 to 15" in err


def test_a_malformed_override_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--set", "tokenTtlMinutes"])
    assert raised.value.code == 2


def test_the_preview_lists_the_edge_and_the_sites_lock_to_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for expected in (
        "eventstack:azure:Edge",
        "azure-native:cdn:Profile",
        'sku.name = "Premium_AzureFrontDoor"',
        "azure-native:cdn:AFDEndpoint",
        "azure-native:cdn:AFDOriginGroup",
        'healthProbeSettings.probePath = "/api/health"',
        "azure-native:cdn:AFDOrigin",
        "azure-native:cdn:Route",
        'forwardingProtocol = "HttpsOnly"',
        "azure-native:cdn:SecurityPolicy",
        "azure-native:frontdoor:Policy",
        'policySettings.mode = "Prevention"',
        'ruleType = "RateLimitRule"',
        'groupBy[0].variableName = "SocketAddr"',
        'ruleSetType = "Microsoft_BotManagerRuleSet"',
        'siteConfig.ipSecurityRestrictionsDefaultAction = "Deny"',
        'ipAddress = "AzureFrontDoor.Backend"',
        "headers.x-azure-fdid",
        "scmIpSecurityRestrictionsUseMain = false",
        "zoneRedundant = true",
        "alwaysReady[0].instanceCount = 2",
        'sku.name = "Standard_ZRS"',
        'kty = "EC-HSM"',
        'category = "StorageDelete"',
    ):
        assert expected in out, f"the preview does not show {expected!r}"


def test_the_preview_ends_with_the_bill_and_what_pulumi_up_would_refuse(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    tail = out[out.index("Typical event") :]
    assert "Worst case per hour" in tail
    refused = [line for line in tail.splitlines() if line.startswith("WARNING: pulumi up would refuse")]
    # The dev stack's placeholders, each named.
    for key in ("githubClientId", "owner", "githubClientSecret", "controllerName", "controllerContact"):
        assert any(f"eventstack:{key} " in line for line in refused), key


def test_a_deployable_config_gets_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    real = [
        "githubClientId=Ov23liA1b2C3d4E5f6G7",
        "owner=events@contoso.eu",
        "githubClientSecret=0123456789abcdef0123456789abcdef01234567",
        'allowedGitHubLogins=["octocat"]',
        "controllerName=Contoso Conferences GmbH",
        "controllerContact=privacy@contoso.eu",
    ]
    assert main([arg for item in real for arg in ("--set", item)]) == 0
    out = capsys.readouterr().out
    assert "WARNING" not in out
    assert "pulumi up: no value of this config would be refused." in out
