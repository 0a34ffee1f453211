"""Least privilege, proven over the whole program: every role assignment it makes is walked.

An assignment passes only if its role is in `ROLES` (never a privileged one), its scope is a
resource this stack creates, of exactly the type `ROLE_SCOPES` allows for that role (never a
subscription or resource group), its principal is one of the stack's managed identities, and its
name is the deterministic uuid5 of (scope, principal, role).
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from components.identity import (
    PRIVILEGED_ROLES,
    RESOURCE_GROUP_SCOPE,
    ROLE_SCOPES,
    ROLES,
    SUBSCRIPTION_SCOPE,
    arm_resource_type,
    assignment_name,
    role_name,
)
from dev.offline import ROOT, SUBSCRIPTION_ID, ProgramRun, RegisteredResource, run_program

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_DEFINITIONS = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"


def _violations_of(run: ProgramRun, assignment: RegisteredResource) -> list[str]:
    inputs = assignment.inputs
    definition = str(inputs.get("roleDefinitionId", ""))
    scope = str(inputs.get("scope", ""))
    principal = str(inputs.get("principalId", ""))
    role = role_name(definition)
    found: list[str] = []

    if role in PRIVILEGED_ROLES:
        found.append(f"privileged role {role}")
    elif role not in ROLES:
        found.append(f"role {definition!r} is not in ROLES")
    elif definition != ROLE_DEFINITIONS + ROLES[role]:
        found.append(f"role definition id {definition!r} is not the built-in {role}")

    try:
        scope_type = arm_resource_type(scope)
    except ValueError:
        scope_type = "unparsable"
    if scope_type in (SUBSCRIPTION_SCOPE, RESOURCE_GROUP_SCOPE):
        found.append(f"scope is a whole {scope_type}: {scope}")
    elif role in ROLES and scope_type != ROLE_SCOPES[role]:
        found.append(f"{role} on a {scope_type}; allowed only on a {ROLE_SCOPES[role]}")
    if run.by_id(scope) is None:
        found.append(f"scope {scope!r} is not a resource this stack creates")

    identities = {str(r.outputs.get("principalId")) for r in run.of_type(IDENTITY)}
    if principal not in identities:
        found.append(f"principal {principal} is not one of the stack's managed identities")
    if inputs.get("principalType") != "ServicePrincipal":
        found.append(f"principal type {inputs.get('principalType')!r}")
    if role in ROLES and inputs.get("roleAssignmentName") != assignment_name(scope, principal, role):
        found.append("name is not the uuid5 of (scope, principal, role)")
    return [f"{assignment.urn}: {v}" for v in found]


def access_violations(run: ProgramRun) -> list[str]:
    """Every way in which a role assignment of `run` is broader than the role table allows."""
    return [v for a in run.of_type(ROLE_ASSIGNMENT) for v in _violations_of(run, a)]


def test_every_role_assignment_in_the_program_is_as_narrow_as_the_table_allows(dev_stack: ProgramRun) -> None:
    assert dev_stack.of_type(ROLE_ASSIGNMENT), "the walk found nothing to check"
    assert access_violations(dev_stack) == []


def _principal(run: ProgramRun, identity_name: str) -> str:
    (identity,) = [r for r in run.of_type(IDENTITY) if r.name == identity_name]
    return str(identity.outputs["principalId"])


def _inventory(run: ProgramRun, identity_name: str) -> list[tuple[str, str]]:
    principal = _principal(run, identity_name)
    return sorted(
        (role_name(a.inputs["roleDefinitionId"]) or "?", arm_resource_type(a.inputs["scope"]))
        for a in run.of_type(ROLE_ASSIGNMENT)
        if a.inputs["principalId"] == principal
    )


def test_the_app_identity_holds_exactly_the_grants_it_needs(dev_stack: ProgramRun) -> None:
    table = "Microsoft.Storage/storageAccounts/tableServices/tables"
    container = "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert _inventory(dev_stack, "eventstack-identities-app") == sorted(
        [
            ("Key Vault Crypto User", "Microsoft.KeyVault/vaults/keys"),
            # The pepper and the GitHub OAuth client secret, each granted on its own secret.
            *[("Key Vault Secrets User", "Microsoft.KeyVault/vaults/secrets")] * 2,
            ("Monitoring Metrics Publisher", "Microsoft.Insights/components"),
            # The Functions host's two containers, and the deployment container: never the account.
            *[("Storage Blob Data Owner", container)] * 2,
            ("Storage Blob Data Contributor", container),
            *[("Storage Table Data Contributor", table)] * 5,
        ]
    )


def test_the_encryption_identity_can_only_wrap_with_the_storage_key(dev_stack: ProgramRun) -> None:
    assert _inventory(dev_stack, "eventstack-identities-storage-encryption") == [
        ("Key Vault Crypto Service Encryption User", "Microsoft.KeyVault/vaults/keys")
    ]


def test_assignment_names_are_unique(dev_stack: ProgramRun) -> None:
    names = [a.inputs["roleAssignmentName"] for a in dev_stack.of_type(ROLE_ASSIGNMENT)]
    assert len(names) == len(set(names))


# --- the walk catches what it is meant to catch -----------------------------------------------------


def _with_changed_assignment(run: ProgramRun, **changes: str) -> ProgramRun:
    """A copy of `run` in which the first table grant has some inputs replaced."""
    resources = list(run.resources)
    index = next(
        i
        for i, r in enumerate(resources)
        if r.type == ROLE_ASSIGNMENT and role_name(r.inputs["roleDefinitionId"]) == "Storage Table Data Contributor"
    )
    original = resources[index]
    resources[index] = dataclasses.replace(original, inputs={**original.inputs, **changes})
    return ProgramRun(resources=resources, outputs=run.outputs)


def _account_id(run: ProgramRun) -> str:
    return run.one("azure-native:storage:StorageAccount").id


def _group_id(run: ProgramRun) -> str:
    return run.one("azure-native:resources:ResourceGroup").id


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda run: {"scope": _group_id(run)}, "scope is a whole resourceGroup"),
        (lambda run: {"scope": f"/subscriptions/{SUBSCRIPTION_ID}"}, "scope is a whole subscription"),
        (lambda run: {"scope": _account_id(run)}, "allowed only on a Microsoft.Storage/storageAccounts/tableServices"),
        (lambda run: {"roleDefinitionId": ROLE_DEFINITIONS + PRIVILEGED_ROLES["Owner"]}, "privileged role Owner"),
        (
            lambda run: {"roleDefinitionId": ROLE_DEFINITIONS + PRIVILEGED_ROLES["User Access Administrator"]},
            "privileged role User Access Administrator",
        ),
        # Storage Blob Data Reader: harmless-looking, but not in the table.
        (
            lambda run: {"roleDefinitionId": ROLE_DEFINITIONS + "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"},
            "is not in ROLES",
        ),
        (
            lambda run: {
                "scope": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/elsewhere/providers/"
                "Microsoft.Storage/storageAccounts/other/tableServices/default/tables/attendees"
            },
            "is not a resource this stack creates",
        ),
        (lambda run: {"principalId": "00000000-0000-4000-8000-00000000beef"}, "not one of the stack's managed"),
        (lambda run: {"principalType": "User"}, "principal type 'User'"),
        (lambda run: {"roleAssignmentName": "11111111-1111-4111-8111-111111111111"}, "name is not the uuid5"),
    ],
)
def test_the_walk_catches_a_broadened_assignment(dev_stack: ProgramRun, change: object, expected: str) -> None:
    assert callable(change)
    violations = access_violations(_with_changed_assignment(dev_stack, **change(dev_stack)))
    assert violations, "the walk let a broadened assignment through"
    assert any(expected in v for v in violations), violations


PLANTED_PROGRAM = """
import runpy

from pulumi_azure_native import authorization

namespace = runpy.run_path({main!r}, run_name="__main__")
stack = namespace["stack"]
authorization.RoleAssignment(
    "planted-broad-grant",
    scope=stack.resource_group_id,
    principal_id=stack.identities.app_principal_id,
    principal_type="ServicePrincipal",
    role_definition_id="{definitions}" + "{contributor}",
)
"""


def test_the_walk_catches_a_contributor_grant_planted_on_the_resource_group(tmp_path: Path) -> None:
    main = tmp_path / "planted_main.py"
    main.write_text(
        textwrap.dedent(
            PLANTED_PROGRAM.format(
                main=str(ROOT / "__main__.py"),
                definitions=ROLE_DEFINITIONS,
                contributor=PRIVILEGED_ROLES["Contributor"],
            )
        )
    )
    run = run_program("dev", main=main)
    violations = [v for v in access_violations(run) if "planted-broad-grant" in v]
    assert any("privileged role Contributor" in v for v in violations), violations
    assert any("scope is a whole resourceGroup" in v for v in violations), violations
    # Everything else in the program still passes: the planted grant is the only finding.
    assert all("planted-broad-grant" in v for v in access_violations(run))
