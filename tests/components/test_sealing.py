"""Sealing: `sealed: true` withdraws exactly two grants and changes nothing else; `false` restores them."""

from __future__ import annotations

from functools import cache

from components.identity import role_name
from components.keyvault import PEPPER_SECRET_NAME, SIGNING_KEY_NAME, STORAGE_KEY_NAME
from dev.offline import ProgramRun, RegisteredResource
from tests.conftest import run_with

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"
APP_IDENTITY = "eventstack-identities-app"
ENCRYPTION_IDENTITY = "eventstack-identities-storage-encryption"


@cache
def _sealed() -> ProgramRun:
    return run_with(sealed=True)


def _vault_item_id(run: ProgramRun, name: str) -> str:
    (item,) = [r for r in [*run.of_type(KEY), *run.of_type(SECRET)] if name in (r.get("keyName"), r.get("secretName"))]
    return item.id


def _principal(run: ProgramRun, identity: str) -> str:
    (found,) = [r for r in run.resources if r.name == identity]
    return str(found.outputs["principalId"])


def _grants_on(run: ProgramRun, scope: str) -> list[RegisteredResource]:
    return [r for r in run.of_type(ROLE_ASSIGNMENT) if r.inputs["scope"] == scope]


def _by_urn(run: ProgramRun) -> dict[str, RegisteredResource]:
    return {r.urn: r for r in run.resources}


def _withdrawn(unsealed: ProgramRun) -> set[str]:
    """The two grants sealing must remove, found by what they grant rather than by name."""
    (storage_key,) = _grants_on(unsealed, _vault_item_id(unsealed, STORAGE_KEY_NAME))
    (pepper,) = _grants_on(unsealed, _vault_item_id(unsealed, PEPPER_SECRET_NAME))
    assert role_name(storage_key.inputs["roleDefinitionId"]) == "Key Vault Crypto Service Encryption User"
    assert storage_key.inputs["principalId"] == _principal(unsealed, ENCRYPTION_IDENTITY)
    assert role_name(pepper.inputs["roleDefinitionId"]) == "Key Vault Secrets User"
    assert pepper.inputs["principalId"] == _principal(unsealed, APP_IDENTITY)
    return {storage_key.urn, pepper.urn}


def test_sealing_is_off_by_default(dev_stack: ProgramRun) -> None:
    assert len(_withdrawn(dev_stack)) == 2


def test_sealing_removes_exactly_the_storage_key_grant_and_the_pepper_grant(dev_stack: ProgramRun) -> None:
    unsealed, sealed = _by_urn(dev_stack), _by_urn(_sealed())
    assert set(unsealed) - set(sealed) == _withdrawn(dev_stack)
    assert set(sealed) - set(unsealed) == set()


def test_sealing_changes_no_input_option_or_output_of_anything_else(dev_stack: ProgramRun) -> None:
    unsealed, sealed = _by_urn(dev_stack), _by_urn(_sealed())
    withdrawn = _withdrawn(dev_stack)
    for urn, after in sealed.items():
        before = unsealed[urn]
        assert after.inputs == before.inputs, urn
        assert after.secret_inputs == before.secret_inputs, urn
        assert (after.type, after.parent, after.custom) == (before.type, before.parent, before.custom), urn
        assert after.id == before.id, urn
        assert (after.retain_on_delete, after.protect) == (before.retain_on_delete, before.protect), urn
        # Only a dependency on a withdrawn grant may go (the account waited for its key grant, and
        # the code deployment waits for the whole storage component).
        assert set(after.dependencies) == set(before.dependencies) - withdrawn, urn
    assert _sealed().outputs == dev_stack.outputs


def test_sealed_nobody_may_use_the_storage_key_or_read_the_pepper() -> None:
    sealed = _sealed()
    assert _grants_on(sealed, _vault_item_id(sealed, STORAGE_KEY_NAME)) == []
    assert _grants_on(sealed, _vault_item_id(sealed, PEPPER_SECRET_NAME)) == []
    # The signing key keeps its grant: the app closes sign-in itself, and the key expires.
    (signs,) = _grants_on(sealed, _vault_item_id(sealed, SIGNING_KEY_NAME))
    assert role_name(signs.inputs["roleDefinitionId"]) == "Key Vault Crypto User"


def test_unsealing_grants_the_same_assignments_again(dev_stack: ProgramRun) -> None:
    unsealed_again = _by_urn(run_with(sealed=False))
    for urn in _withdrawn(dev_stack):
        # Same deterministic assignment name, scope, role and principal: `pulumi up` recreates it.
        assert unsealed_again[urn].inputs == _by_urn(dev_stack)[urn].inputs
