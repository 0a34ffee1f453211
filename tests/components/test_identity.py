"""Identities and grants: one role table, deterministic assignment names, two identities."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.identity import (
    PRIVILEGED_ROLES,
    RESOURCE_GROUP_SCOPE,
    ROLE_SCOPES,
    ROLES,
    SUBSCRIPTION_SCOPE,
    Identities,
    IdentitiesArgs,
    arm_resource_type,
    assignment_name,
    grant,
    role_name,
)
from dev.offline import SUBSCRIPTION_ID, ProgramRun, RecordingMonitor, RegisteredResource

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

GROUP = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg"
ACCOUNT = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/st1"
TABLE = f"{ACCOUNT}/tableServices/default/tables/sessions"
KEY = f"{GROUP}/providers/Microsoft.KeyVault/vaults/kv1/keys/jwt-signing"
APP_INSIGHTS = f"{GROUP}/providers/Microsoft.Insights/components/appi1"
PRINCIPAL = "11111111-2222-4333-8444-555555555555"


def test_no_privileged_role_is_in_the_grantable_table() -> None:
    assert not set(ROLES) & set(PRIVILEGED_ROLES)
    assert not set(ROLES.values()) & set(PRIVILEGED_ROLES.values())


def test_every_grantable_role_has_exactly_one_allowed_scope_type() -> None:
    assert set(ROLE_SCOPES) == set(ROLES)
    for role, scope_type in ROLE_SCOPES.items():
        assert scope_type not in (SUBSCRIPTION_SCOPE, RESOURCE_GROUP_SCOPE), role
        assert scope_type.startswith("Microsoft."), role


def test_role_ids_are_guids_named_once() -> None:
    ids = [*ROLES.values(), *PRIVILEGED_ROLES.values()]
    assert len(set(ids)) == len(ids)
    for role_id in ids:
        assert str(uuid.UUID(role_id)) == role_id


@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [
        (f"/subscriptions/{SUBSCRIPTION_ID}", SUBSCRIPTION_SCOPE),
        (GROUP, RESOURCE_GROUP_SCOPE),
        (f"{GROUP}/", RESOURCE_GROUP_SCOPE),
        (ACCOUNT, "Microsoft.Storage/storageAccounts"),
        (TABLE, "Microsoft.Storage/storageAccounts/tableServices/tables"),
        (f"{ACCOUNT}/blobServices/default", "Microsoft.Storage/storageAccounts/blobServices"),
        (KEY, "Microsoft.KeyVault/vaults/keys"),
        (APP_INSIGHTS, "Microsoft.Insights/components"),
        (
            f"{KEY}/providers/Microsoft.Authorization/roleAssignments/x",
            "Microsoft.Authorization/roleAssignments",
        ),
    ],
)
def test_arm_resource_types_are_read_from_ids(resource_id: str, expected: str) -> None:
    assert arm_resource_type(resource_id) == expected


@pytest.mark.parametrize("bad", ["", "/", "rg", f"{GROUP}/providers/Microsoft.Storage/storageAccounts"])
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an ARM resource id"):
        arm_resource_type(bad)


def test_role_names_are_found_from_definition_ids() -> None:
    definition = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
    assert role_name(definition + ROLES["Key Vault Crypto User"]) == "Key Vault Crypto User"
    assert role_name(definition + PRIVILEGED_ROLES["Owner"].upper()) == "Owner"
    assert role_name(definition + str(uuid.uuid4())) is None


def test_assignment_names_are_stable_guids_per_scope_principal_and_role() -> None:
    name = assignment_name(TABLE, PRINCIPAL, "Storage Table Data Contributor")
    assert str(uuid.UUID(name)) == name
    assert name == assignment_name(TABLE, PRINCIPAL, "Storage Table Data Contributor")
    others = {
        assignment_name(ACCOUNT, PRINCIPAL, "Storage Table Data Contributor"),
        assignment_name(TABLE, "99999999-2222-4333-8444-555555555555", "Storage Table Data Contributor"),
        assignment_name(TABLE, PRINCIPAL, "Storage Blob Data Owner"),
    }
    assert name not in others
    assert len(others) == 3


def _built(monitor: RecordingMonitor, program: Callable[[], pulumi.Output[Any]]) -> dict[str, RegisteredResource]:
    pulumi.runtime.test(program)()
    return {r.name: r for r in monitor.registered}


class Owner(pulumi.ComponentResource):
    """Stands in for the component that owns the scope of a grant."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Owner", name)
        self.register_outputs({})


def test_grant_sends_the_full_role_id_a_guid_name_and_the_service_principal_type(
    fresh_mocks: RecordingMonitor,
) -> None:
    def program() -> pulumi.Output[str]:
        return grant(
            "g", "Key Vault Crypto User", KEY, PRINCIPAL, parent=Owner("owner"), subscription_id=SUBSCRIPTION_ID
        ).id

    recorded = _built(fresh_mocks, program)
    assignment = recorded["g"]
    assert assignment.parent.endswith("test:index:Owner::owner")
    assert assignment.inputs["scope"] == KEY
    assert assignment.inputs["principalId"] == PRINCIPAL
    assert assignment.inputs["principalType"] == "ServicePrincipal"
    assert assignment.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/12338af0-0e69-4776-bea7-57ae8d297424"
    )
    assert assignment.inputs["roleAssignmentName"] == assignment_name(KEY, PRINCIPAL, "Key Vault Crypto User")


@pytest.mark.parametrize("role", ["Owner", "Contributor", "Storage Blob Data Reader", "key vault crypto user"])
def test_grant_refuses_any_role_outside_the_table(fresh_mocks: RecordingMonitor, role: str) -> None:
    def program() -> pulumi.Output[str]:
        owner = Owner("owner")
        with pytest.raises(ValueError, match="not a role this program grants"):
            grant("g", role, KEY, PRINCIPAL, parent=owner, subscription_id=SUBSCRIPTION_ID)
        return pulumi.Output.from_input("done")

    recorded = _built(fresh_mocks, program)
    assert not [r for r in recorded.values() if r.type == ROLE_ASSIGNMENT]


def _identities_args(group: str) -> IdentitiesArgs:
    return IdentitiesArgs(
        resource_group_name=group,
        location="westeurope",
        app_insights_id=APP_INSIGHTS,
        tags={"event": "test"},
    )


def test_identities_create_an_app_and_an_encryption_identity_and_expose_them(fresh_mocks: RecordingMonitor) -> None:
    exposed: dict[str, str] = {}

    def program() -> pulumi.Output[None]:
        identities = Identities("ids", _identities_args("rg"))
        names = [
            "app_identity_id",
            "app_client_id",
            "app_principal_id",
            "encryption_identity_id",
            "encryption_principal_id",
        ]
        return pulumi.Output.all(*(getattr(identities, n) for n in names)).apply(
            lambda values: exposed.update(zip(names, values, strict=True))
        )

    recorded = _built(fresh_mocks, program)
    app, encryption = recorded["ids-app"], recorded["ids-storage-encryption"]
    for identity in (app, encryption):
        assert identity.type == IDENTITY
        assert identity.parent_type == "eventstack:azure:Identities"
        assert identity.inputs["resourceGroupName"] == "rg"
        assert identity.inputs["location"] == "westeurope"
        assert identity.inputs["tags"] == {"event": "test"}
    assert exposed["app_identity_id"] == app.id
    assert exposed["app_client_id"] == app.outputs["clientId"]
    assert exposed["app_principal_id"] == app.outputs["principalId"]
    assert exposed["encryption_identity_id"] == encryption.id
    assert exposed["encryption_principal_id"] == encryption.outputs["principalId"]
    assert exposed["app_principal_id"] != exposed["encryption_principal_id"]


def test_the_app_publishes_telemetry_to_application_insights_only(fresh_mocks: RecordingMonitor) -> None:
    def program() -> pulumi.Output[str]:
        return Identities("ids", _identities_args("rg")).app_principal_id

    recorded = _built(fresh_mocks, program)
    (assignment,) = [r for r in recorded.values() if r.type == ROLE_ASSIGNMENT]
    assert assignment.inputs["scope"] == APP_INSIGHTS
    assert role_name(assignment.inputs["roleDefinitionId"]) == "Monitoring Metrics Publisher"
    assert assignment.inputs["principalId"] == recorded["ids-app"].outputs["principalId"]


def test_two_identity_sets_in_one_program_do_not_collide(fresh_mocks: RecordingMonitor) -> None:
    def program() -> pulumi.Output[str]:
        Identities("blue", _identities_args("rg-blue"))
        return Identities("green", _identities_args("rg-green")).app_principal_id

    _built(fresh_mocks, program)
    urns = [r.urn for r in fresh_mocks.registered]
    assert len(urns) == len(set(urns))
    assert len([r for r in fresh_mocks.registered if r.type == IDENTITY]) == 4


def test_the_stack_gives_the_app_and_the_storage_service_separate_identities(dev_stack: ProgramRun) -> None:
    identities = dev_stack.of_type(IDENTITY)
    assert sorted(r.name for r in identities) == [
        "eventstack-identities-app",
        "eventstack-identities-storage-encryption",
    ]
    assert all(r.parent_type == "eventstack:azure:Identities" for r in identities)
