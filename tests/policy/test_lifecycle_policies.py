"""The lifecycle rules against the program (run under mocks) and one-setting mutations of it."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime

import pytest
from eventstack_policies import RESOURCE_POLICIES, STACK_POLICIES
from eventstack_policies import lifecycle as lifecycle_policies
from eventstack_policies.lifecycle import LIFECYCLE_POLICIES
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from components import lifecycle
from dev.offline import ProgramRun
from tests.conftest import run_with
from tests.policy.mutations import Case, drop, first, set_
from tests.policy.policy_args import stack_violations, violations

POLICIES_BY_NAME: dict[str, ResourceValidationPolicy] = {policy.name: policy for policy in LIFECYCLE_POLICIES}
KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"
SIGNING_KEY = first(KEY, "signing")
STORAGE_KEY = first(KEY, "storage")
PEPPER = first(SECRET, "pepper")
GITHUB_SECRET = first(SECRET, "github")
# Pulumi.dev.yaml: data-delete-by 2027-06-07T18:00:00Z.
DELETE_BY = datetime(2027, 6, 7, 18, tzinfo=UTC).timestamp()
HOUR = 3600.0

CASES: list[Case] = [
    Case("vault-items-expire", SIGNING_KEY, "no expiry", drop("properties.attributes.expires")),
    Case("vault-items-expire", STORAGE_KEY, "no expiry", drop("properties.attributes.expires")),
    Case("vault-items-expire", PEPPER, "no expiry", drop("properties.attributes.expires")),
    Case("vault-items-expire", GITHUB_SECRET, "no expiry", drop("properties.attributes.expires")),
    Case("vault-items-expire", PEPPER, "expiry as text", set_("properties.attributes.expires", "2027-06-07")),
    Case(
        "vault-items-expire-at-data-delete-by",
        SIGNING_KEY,
        "expiry a year late",
        set_("properties.attributes.expires", DELETE_BY + 365 * 24 * HOUR),
    ),
    Case(
        "vault-items-expire-at-data-delete-by",
        STORAGE_KEY,
        "expiry a day and an hour late",
        set_("properties.attributes.expires", DELETE_BY + 25 * HOUR),
    ),
    Case(
        "vault-items-expire-at-data-delete-by",
        PEPPER,
        "expiry an hour before the data-delete-by time",
        set_("properties.attributes.expires", DELETE_BY - HOUR),
    ),
    Case("vault-items-expire-at-data-delete-by", PEPPER, "no data-delete-by tag", drop("tags.data-delete-by")),
    Case(
        "rotated-key-versions-expire-soonest",
        SIGNING_KEY,
        "rotated versions live 58 days",
        set_("properties.rotationPolicy.attributes.expiryTime", "P58D"),
    ),
    Case(
        "rotated-key-versions-expire-soonest",
        SIGNING_KEY,
        "rotated versions never expire",
        drop("properties.rotationPolicy.attributes.expiryTime"),
    ),
    Case(
        "rotated-key-versions-expire-soonest",
        SIGNING_KEY,
        "expiry in years",
        set_("properties.rotationPolicy.attributes.expiryTime", "P1Y"),
    ),
]


def test_the_dev_stack_passes_every_lifecycle_policy(dev_stack: ProgramRun) -> None:
    found = [str(v) for r in dev_stack.resources for policy in LIFECYCLE_POLICIES for v in violations(policy, r)]
    assert found == []


def test_every_lifecycle_policy_is_mandatory_uniquely_named_and_has_a_mutation_case() -> None:
    assert {p.enforcement_level for p in LIFECYCLE_POLICIES} == {EnforcementLevel.MANDATORY}
    assert len(POLICIES_BY_NAME) == len(LIFECYCLE_POLICIES)
    assert {case.policy for case in CASES} == set(POLICIES_BY_NAME)


def test_the_pack_bounds_match_the_program() -> None:
    assert lifecycle_policies.MAX_EXPIRY_MARGIN >= lifecycle.MAX_EXPIRY_MARGIN
    assert lifecycle_policies.ROTATED_VERSION_MIN_EXPIRY_DAYS == lifecycle.ROTATED_VERSION_MIN_EXPIRY_DAYS
    assert lifecycle_policies.ROTATION_BEFORE_EXPIRY_MIN_DAYS == lifecycle.ROTATION_BEFORE_EXPIRY_MIN_DAYS


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_mutated_lifecycle_setting_is_refused(case: Case, dev_stack: ProgramRun) -> None:
    policy = POLICIES_BY_NAME[case.policy]
    resource = case.pick(dev_stack)
    assert violations(policy, resource) == [], "the unmutated resource must pass, or the case proves nothing"

    mutated = copy.deepcopy(resource.inputs)
    case.mutation(mutated)
    assert mutated != resource.inputs, "the mutation changed nothing"

    found = violations(policy, resource, mutated)
    assert found, f"{case.policy} let through {resource.urn} with {case.what}"
    assert {v.policy for v in found} == {case.policy}


def test_a_versioned_type_token_is_checked_too(dev_stack: ProgramRun) -> None:
    resource = SIGNING_KEY(dev_stack)
    versioned = dataclasses.replace(resource, type="azure-native:keyvault/v20240401:Key")
    mutated = copy.deepcopy(resource.inputs)
    drop("properties.attributes.expires")(mutated)
    assert violations(POLICIES_BY_NAME["vault-items-expire"], versioned, mutated)


def test_a_sealed_stack_passes_the_whole_pack() -> None:
    """`pulumi up --policy-pack policy` with `sealed: true` must not be refused, or nobody could seal."""
    sealed = run_with(sealed=True)
    resource_rules = [*RESOURCE_POLICIES, *LIFECYCLE_POLICIES]
    found = [str(v) for r in sealed.resources for policy in resource_rules for v in violations(policy, r)]
    found += [str(v) for policy in STACK_POLICIES for v in stack_violations(policy, sealed.resources)]
    assert found == []
