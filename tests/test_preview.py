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
