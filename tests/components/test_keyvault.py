"""The vault: RBAC, private, purge-protected; keys that cannot leave it; a secret pepper."""

from __future__ import annotations

import re

import pytest

from components.identity import role_name
from components.keyvault import GITHUB_SECRET_NAME, PEPPER_SECRET_NAME, SIGNING_KEY_NAME, STORAGE_KEY_NAME, key_type
from dev.offline import TENANT_ID, ProgramRun, RegisteredResource
from tests.conftest import run_with

KEY_VAULT = "eventstack:azure:KeyVault"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"
PASSWORD = "random:index/randomPassword:RandomPassword"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:network:PrivateEndpoint"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
APP_IDENTITY = "eventstack-identities-app"
SITE = "azure-native:web:WebApp"


def _key(run: ProgramRun, key_name: str) -> RegisteredResource:
    (key,) = [r for r in run.of_type(KEY) if r.inputs["keyName"] == key_name]
    return key


def _days(duration: str) -> int:
    match = re.fullmatch(r"P(\d+)D", duration)
    assert match, f"{duration!r} is not an ISO 8601 duration in days"
    return int(match.group(1))


def _app_principal(run: ProgramRun) -> str:
    (app,) = [r for r in run.resources if r.name == APP_IDENTITY]
    return str(app.outputs["principalId"])


def test_the_vault_uses_rbac_and_keeps_deleted_data_briefly_under_purge_protection(dev_stack: ProgramRun) -> None:
    vault = dev_stack.one(VAULT)
    props = vault.inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert not props.get("accessPolicies")
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 7
    assert props["enablePurgeProtection"] is True
    for flag in ("enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment"):
        assert props.get(flag) in (None, False), flag


def test_the_vault_is_private_with_only_the_trusted_service_bypass(dev_stack: ProgramRun) -> None:
    props = dev_stack.one(VAULT).inputs["properties"]
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"]["defaultAction"] == "Deny"
    assert props["networkAcls"]["bypass"] == "AzureServices"
    assert not props["networkAcls"].get("ipRules")
    assert not props["networkAcls"].get("virtualNetworkRules")


def test_the_vault_trusts_the_deploying_tenant_and_takes_its_per_stack_name(dev_stack: ProgramRun) -> None:
    vault = dev_stack.one(VAULT)
    assert vault.inputs["properties"]["tenantId"] == TENANT_ID
    suffix = dev_stack.one("random:index/randomString:RandomString").outputs["result"]
    assert vault.inputs["vaultName"] == f"kv-confdemo-{suffix}"
    assert dev_stack.outputs["keyVaultName"] == vault.inputs["vaultName"]
    assert dev_stack.outputs["keyVaultUri"] == vault.outputs["properties"]["vaultUri"]


def test_the_signing_key_is_ec_p256_for_signing_only(dev_stack: ProgramRun) -> None:
    props = _key(dev_stack, SIGNING_KEY_NAME).inputs["properties"]
    assert props["kty"] == "EC"
    assert props["curveName"] == "P-256"
    assert sorted(props["keyOps"]) == ["sign", "verify"]


def test_the_signing_key_rotates_on_the_configured_schedule_and_expires_after_it(dev_stack: ProgramRun) -> None:
    policy = _key(dev_stack, SIGNING_KEY_NAME).inputs["properties"]["rotationPolicy"]
    (action,) = policy["lifetimeActions"]
    assert action["action"]["type"] == "rotate"
    assert _days(action["trigger"]["timeAfterCreate"]) == 30  # Pulumi.yaml default
    # Key Vault: expiry at least 28 days, and rotation at least 7 days before it.
    expiry = _days(policy["attributes"]["expiryTime"])
    assert expiry >= 28
    assert expiry - 30 >= 7


@pytest.mark.parametrize("days", [7, 90, 365])
def test_a_config_change_changes_the_rotation(days: int) -> None:
    policy = _key(run_with(signingKeyRotationDays=days), SIGNING_KEY_NAME).inputs["properties"]["rotationPolicy"]
    assert _days(policy["lifetimeActions"][0]["trigger"]["timeAfterCreate"]) == days
    expiry = _days(policy["attributes"]["expiryTime"])
    assert expiry >= 28
    assert expiry - days >= 7


def test_the_storage_key_is_rsa_3072_for_wrapping_only(dev_stack: ProgramRun) -> None:
    props = _key(dev_stack, STORAGE_KEY_NAME).inputs["properties"]
    assert props["kty"] == "RSA"
    assert props["keySize"] == 3072
    assert sorted(props["keyOps"]) == ["unwrapKey", "wrapKey"]


def test_keys_and_the_secret_are_retained_on_delete(dev_stack: ProgramRun) -> None:
    for resource in [*dev_stack.of_type(KEY), *dev_stack.of_type(SECRET)]:
        assert resource.retain_on_delete, resource.urn
    assert not dev_stack.one(VAULT).retain_on_delete


def test_the_premium_sku_makes_both_keys_hsm_backed() -> None:
    run = run_with(keyVaultSku="premium")
    assert run.one(VAULT).inputs["properties"]["sku"] == {"family": "A", "name": "premium"}
    assert _key(run, SIGNING_KEY_NAME).inputs["properties"]["kty"] == "EC-HSM"
    assert _key(run, STORAGE_KEY_NAME).inputs["properties"]["kty"] == "RSA-HSM"


def test_the_standard_sku_is_the_default(dev_stack: ProgramRun) -> None:
    assert dev_stack.one(VAULT).inputs["properties"]["sku"] == {"family": "A", "name": "standard"}


@pytest.mark.parametrize(
    ("family", "sku", "expected"),
    [("EC", "standard", "EC"), ("EC", "premium", "EC-HSM"), ("RSA", "standard", "RSA"), ("RSA", "premium", "RSA-HSM")],
)
def test_key_types_follow_the_sku(family: str, sku: str, expected: str) -> None:
    assert key_type(family, sku) == expected  # type: ignore[arg-type]


def test_the_pepper_is_a_generated_secret_stored_as_a_secret_input(dev_stack: ProgramRun) -> None:
    (password,) = [r for r in dev_stack.of_type(PASSWORD) if r.parent_type == KEY_VAULT]
    assert password.inputs["length"] >= 32
    (secret,) = [s for s in dev_stack.of_type(SECRET) if s.inputs["secretName"] == PEPPER_SECRET_NAME]
    assert secret.get("properties.value") == password.outputs["result"]
    assert any("properties.value".startswith(path) for path in secret.secret_inputs), secret.secret_inputs
    assert secret.parent_type == KEY_VAULT


def _grants_to(run: ProgramRun, principal_id: str) -> dict[str, list[str]]:
    grants: dict[str, list[str]] = {}
    for assignment in run.of_type(ROLE_ASSIGNMENT):
        if assignment.inputs["principalId"] == principal_id:
            role = role_name(assignment.inputs["roleDefinitionId"]) or "unknown"
            grants.setdefault(role, []).append(assignment.inputs["scope"])
    return grants


def test_the_app_signs_with_the_signing_key_and_reads_the_pepper_and_nothing_else_in_the_vault(
    dev_stack: ProgramRun,
) -> None:
    grants = _grants_to(dev_stack, _app_principal(dev_stack))
    assert grants["Key Vault Crypto User"] == [_key(dev_stack, SIGNING_KEY_NAME).id]
    secrets = sorted(s.id for s in dev_stack.of_type(SECRET))
    assert len(secrets) == 2
    assert sorted(grants["Key Vault Secrets User"]) == secrets
    vault_id = dev_stack.one(VAULT).id
    in_vault = sorted(scope for scopes in grants.values() for scope in scopes if scope.startswith(vault_id))
    assert in_vault == sorted([_key(dev_stack, SIGNING_KEY_NAME).id, *secrets])


def test_the_vault_is_reached_through_its_own_private_endpoint(dev_stack: ProgramRun) -> None:
    vault = dev_stack.one(VAULT)
    endpoints = [r for r in dev_stack.of_type(ENDPOINT) if r.parent_type == KEY_VAULT]
    assert len(endpoints) == 1
    (connection,) = endpoints[0].inputs["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == vault.id
    assert connection["groupIds"] == ["vault"]


def test_the_vault_sends_audit_logs_to_the_workspace(dev_stack: ProgramRun) -> None:
    vault = dev_stack.one(VAULT)
    (setting,) = [r for r in dev_stack.of_type(DIAGNOSTICS) if r.inputs["resourceUri"] == vault.id]
    assert setting.parent_type == KEY_VAULT
    assert {"categoryGroup": "audit", "enabled": True} in setting.inputs["logs"]
    workspace = dev_stack.one("azure-native:operationalinsights:Workspace")
    assert setting.inputs["workspaceId"] == workspace.id


def test_every_vault_resource_is_a_child_of_the_component(dev_stack: ProgramRun) -> None:
    for type_name in (VAULT, KEY, SECRET):
        for resource in dev_stack.of_type(type_name):
            assert resource.parent_type == KEY_VAULT, resource.urn


def test_the_github_client_secret_goes_to_the_vault_as_a_secret_input() -> None:
    run = run_with(githubClientSecret="c0ffee" * 6 + "abcd")
    (secret,) = [s for s in run.of_type(SECRET) if s.inputs["secretName"] == GITHUB_SECRET_NAME]
    assert secret.get("properties.value") == "c0ffee" * 6 + "abcd"
    assert any("properties.value".startswith(path) for path in secret.secret_inputs), secret.secret_inputs
    assert secret.parent_type == KEY_VAULT
    assert secret.retain_on_delete


def test_the_app_gets_hmacs_of_the_allowed_logins_never_the_logins() -> None:
    from eventapi.auth.admission import LOGIN_PURPOSE
    from eventapi.pepper import KeyedHash

    run = run_with(signIn="allowlist", allowedGitHubLogins='["OctoCat", "hubot"]')
    digests = _app_setting(run, "EVENTSTACK_ALLOWED_LOGIN_DIGESTS").split(",")
    (password,) = [r for r in run.of_type(PASSWORD) if r.parent_type == KEY_VAULT]
    pepper = str(password.outputs["result"]).encode()
    # The app's own HMAC construction recognises every listed login, whatever its case.
    keyed = KeyedHash(lambda: pepper)
    assert sorted(digests) == sorted(keyed.digest(LOGIN_PURPOSE, login) for login in ("octocat", "hubot"))
    assert LOGIN_PURPOSE == "github-login"
    every_value = " ".join(str(v) for r in run.resources for v in [r.inputs, r.outputs]).lower()
    assert "octocat" not in every_value and "hubot" not in every_value
    open_run = run_with(signIn="open", allowedGitHubLogins='["octocat"]')
    assert _app_setting(open_run, "EVENTSTACK_ALLOWED_LOGIN_DIGESTS") == ""


def _app_setting(run: ProgramRun, name: str) -> str:
    pairs = run.one(SITE).get("siteConfig.appSettings")
    return str(next(pair["value"] for pair in pairs if pair["name"] == name))
