"""Every policy against the real program (run under mocks), and against mutations of it: one setting
of one resource for the per-resource rules, a resource removed or a link broken for the stack rules."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from eventstack_policies import POLICIES, RESOURCE_POLICIES, STACK_POLICIES
from eventstack_policies.function_app import FLEX_REJECTED_SITE_CONFIG as PACK_LIST
from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from components.function_app import FLEX_REJECTED_SITE_CONFIG as PROGRAM_LIST
from dev.offline import ProgramRun, RegisteredResource
from tests.conftest import run_with
from tests.policy.mutations import CASES, FLEX_REJECTED_EXAMPLES, Case
from tests.policy.policy_args import (
    Violation,
    properties_struct,
    runtime_props,
    stack_violations,
    violations,
)
from tests.policy.stack_mutations import STACK_CASES, StackCase
from tests.policy.test_lifecycle_policies import CASES as LIFECYCLE_CASES

POLICIES_BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}
RESOURCE_POLICIES_BY_NAME: dict[str, ResourceValidationPolicy] = {policy.name: policy for policy in RESOURCE_POLICIES}
STACK_POLICIES_BY_NAME: dict[str, StackValidationPolicy] = {policy.name: policy for policy in STACK_POLICIES}


def _stack_findings(resources: list[RegisteredResource]) -> list[Violation]:
    return [v for policy in STACK_POLICIES for v in stack_violations(policy, resources)]


def test_the_dev_stack_passes_every_policy(dev_stack: ProgramRun) -> None:
    found = [
        str(v) for resource in dev_stack.resources for policy in RESOURCE_POLICIES for v in violations(policy, resource)
    ]
    assert found + [str(v) for v in _stack_findings(dev_stack.resources)] == []


def test_the_pack_has_both_kinds_of_policy_and_nothing_else() -> None:
    assert RESOURCE_POLICIES and STACK_POLICIES
    assert [p.name for p in POLICIES] == [p.name for p in [*RESOURCE_POLICIES, *STACK_POLICIES]]
    assert all(isinstance(p, ResourceValidationPolicy) for p in RESOURCE_POLICIES)
    assert all(isinstance(p, StackValidationPolicy) for p in STACK_POLICIES)


def test_every_policy_has_a_mutation_case() -> None:
    # The lifecycle rules keep their mutations beside their own tests.
    resource_cases = {case.policy for case in CASES} | {case.policy for case in LIFECYCLE_CASES}
    stack_cases = {case.policy for case in STACK_CASES}
    assert sorted(resource_cases) == sorted(RESOURCE_POLICIES_BY_NAME), "per-resource rules vs mutations.py"
    assert sorted(stack_cases) == sorted(STACK_POLICIES_BY_NAME), "stack rules vs stack_mutations.py"
    assert sorted(resource_cases | stack_cases) == sorted(POLICIES_BY_NAME)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_mutated_setting_is_refused(case: Case, dev_stack: ProgramRun) -> None:
    policy = RESOURCE_POLICIES_BY_NAME[case.policy]
    resource = case.pick(dev_stack)
    assert violations(policy, resource) == [], "the unmutated resource must pass, or the case proves nothing"

    mutated = copy.deepcopy(resource.inputs)
    case.mutation(mutated)
    assert mutated != resource.inputs, "the mutation changed nothing"

    found = violations(policy, resource, mutated)
    assert found, f"{case.policy} let through {resource.urn} with {case.what}"
    assert {v.policy for v in found} == {case.policy}


@pytest.mark.parametrize("case", STACK_CASES, ids=lambda case: case.id)
def test_a_stack_missing_a_resource_or_a_link_is_refused(case: StackCase, dev_stack: ProgramRun) -> None:
    mutated = case.mutation(list(dev_stack.resources))
    assert mutated != dev_stack.resources, "the mutation changed nothing"

    found = _stack_findings(mutated)
    assert found, f"{case.policy} let through a stack with {case.what}"
    # Only the rule the case is about objects: each rule guards its own link.
    assert {v.policy for v in found} == {case.policy}, [str(v) for v in found]


def test_stack_rules_link_by_name_while_ids_are_not_known(dev_stack: ProgramRun) -> None:
    """Without ids (Azure has not assigned them), the names the resources were given tie them together.

    Auto-named resources keep `name`: the provider settles an auto-name before the preview.
    """
    without_ids = [replace(r, outputs={k: v for k, v in r.outputs.items() if k != "id"}) for r in dev_stack.resources]
    assert [str(v) for v in _stack_findings(without_ids)] == []
    no_lifecycle = [r for r in without_ids if r.type != "azure-native:storage:ManagementPolicy"]
    assert {v.policy for v in _stack_findings(no_lifecycle)} == {"storage-lifecycle-policy-present"}


def test_props_reach_policies_the_way_the_runtime_wraps_them() -> None:
    props = runtime_props({"count": 40, "flags": [True], "nested": {"key": "v"}, "secret": "s"}, {"secret"})
    assert props["count"] == 40.0
    assert isinstance(props["count"], float)  # protobuf Struct numbers are doubles
    assert not isinstance(props["flags"], list)  # a read-only Sequence proxy
    assert props["flags"][0] is True
    assert not isinstance(props["nested"], dict)
    assert props["secret"] == "s"  # the secret envelope is unwrapped for validation


def _analyze(servicer: _PolicyAnalyzerServicer, resource_type: str, urn: str, name: str, inputs: dict) -> list[dict]:
    request = proto.AnalyzeRequest(type=resource_type, urn=urn, name=name, properties=properties_struct(inputs))
    response = servicer.Analyze(request, None)
    return [json_format.MessageToDict(d) for d in response.diagnostics]


def test_the_policy_runtime_itself_finds_nothing_in_the_dev_stack(dev_stack: ProgramRun) -> None:
    """The same run through pulumi_policy's own request handler (the part behind the pack's server)."""
    servicer = _PolicyAnalyzerServicer("eventstack-policies", "1.0.0", list(POLICIES), EnforcementLevel.MANDATORY)
    found = [
        f"{d['policyName']} {resource.urn}: {d['message']}"
        for resource in dev_stack.resources
        for d in _analyze(servicer, resource.type, resource.urn, resource.name, resource.inputs)
    ]
    assert found == []


def test_the_policy_runtime_refuses_a_mutation_as_mandatory(dev_stack: ProgramRun) -> None:
    servicer = _PolicyAnalyzerServicer("eventstack-policies", "1.0.0", list(POLICIES), EnforcementLevel.MANDATORY)
    account = dev_stack.one("azure-native:storage:StorageAccount")
    inputs = copy.deepcopy(account.inputs) | {"allowSharedKeyAccess": True}
    diagnostics = _analyze(servicer, account.type, account.urn, account.name, inputs)
    assert [(d["policyName"], d["enforcementLevel"]) for d in diagnostics] == [
        ("storage-shared-key-access-disabled", "MANDATORY")
    ]


def _analyze_stack(servicer: _PolicyAnalyzerServicer, resources: list[RegisteredResource]) -> list[dict]:
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r.type,
                urn=r.urn,
                name=r.name,
                properties=properties_struct(r.outputs, r.secret_inputs),
                parent=r.parent,
                dependencies=r.dependencies,
            )
            for r in resources
        ]
    )
    response = servicer.AnalyzeStack(request, None)
    return [json_format.MessageToDict(d) for d in response.diagnostics]


def test_the_policy_runtime_runs_the_stack_rules_on_the_dev_stack_and_finds_nothing(dev_stack: ProgramRun) -> None:
    servicer = _PolicyAnalyzerServicer("eventstack-policies", "1.0.0", list(POLICIES), EnforcementLevel.MANDATORY)
    assert _analyze_stack(servicer, dev_stack.resources) == []


def test_the_policy_runtime_refuses_a_missing_resource_as_mandatory(dev_stack: ProgramRun) -> None:
    servicer = _PolicyAnalyzerServicer("eventstack-policies", "1.0.0", list(POLICIES), EnforcementLevel.MANDATORY)
    without_nat = [r for r in dev_stack.resources if r.type != "azure-native:network:NatGateway"]
    diagnostics = _analyze_stack(servicer, without_nat)
    subnet = next(r for r in dev_stack.of_type("azure-native:network:Subnet") if "integration" in r.name)
    assert [(d["policyName"], d["enforcementLevel"], d["urn"]) for d in diagnostics] == [
        ("integration-subnet-nat-gateway", "MANDATORY", subnet.urn)
    ]


def test_a_stack_at_the_config_limits_still_passes() -> None:
    """The pack refuses no configuration the program accepts: operators meet one set of limits."""
    run = run_with(
        maxInstances=1000,
        perInstanceConcurrency=100,
        maxConcurrentRequests=100,
        maxOutstandingRequests=1000,
        location="swedencentral",
    )
    found = [str(v) for resource in run.resources for policy in RESOURCE_POLICIES for v in violations(policy, resource)]
    assert found + [str(v) for v in _stack_findings(run.resources)] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"edge": "none"},
        {"location": "francecentral", "zoneRedundant": False, "alwaysReadyInstances": 0},
        {"frontDoorSku": "Standard_AzureFrontDoor", "deployFromCidrs": ["203.0.113.0/24"]},
    ],
    ids=["sandbox without the edge", "region without zone-redundant Flex", "standard edge, deploy CIDRs"],
)
def test_other_accepted_configurations_pass_every_policy(overrides: dict[str, object]) -> None:
    """The edge rules bind where the edge is configured; a sandbox (`edge: none`) is not held to them."""
    run = run_with(**overrides)
    found = [str(v) for resource in run.resources for policy in RESOURCE_POLICIES for v in violations(policy, resource)]
    assert found + [str(v) for v in _stack_findings(run.resources)] == []


def test_the_flex_rule_knows_every_property_the_program_keeps_out() -> None:
    """The pack's 51021 list, the program's and the mutation cases' name the same properties."""
    assert sorted(PACK_LIST) == sorted(PROGRAM_LIST)
    assert sorted({name for name, _ in FLEX_REJECTED_EXAMPLES}) == sorted(PACK_LIST)
