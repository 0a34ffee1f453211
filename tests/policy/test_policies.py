"""Every policy against the real program (run under mocks), and against one-setting mutations of it."""

from __future__ import annotations

import copy

import pytest
from eventstack_policies import POLICIES
from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from dev.offline import ProgramRun
from tests.conftest import run_with
from tests.policy.mutations import CASES, Case
from tests.policy.policy_args import properties_struct, runtime_props, violations

POLICIES_BY_NAME: dict[str, ResourceValidationPolicy] = {policy.name: policy for policy in POLICIES}


def test_the_dev_stack_passes_every_policy(dev_stack: ProgramRun) -> None:
    found = [str(v) for resource in dev_stack.resources for policy in POLICIES for v in violations(policy, resource)]
    assert found == []


def test_every_policy_has_a_mutation_case() -> None:
    assert sorted({case.policy for case in CASES}) == sorted(POLICIES_BY_NAME)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_mutated_setting_is_refused(case: Case, dev_stack: ProgramRun) -> None:
    policy = POLICIES_BY_NAME[case.policy]
    resource = case.pick(dev_stack)
    assert violations(policy, resource) == [], "the unmutated resource must pass, or the case proves nothing"

    mutated = copy.deepcopy(resource.inputs)
    case.mutation(mutated)
    assert mutated != resource.inputs, "the mutation changed nothing"

    found = violations(policy, resource, mutated)
    assert found, f"{case.policy} let through {resource.urn} with {case.what}"
    assert {v.policy for v in found} == {case.policy}


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


def test_a_stack_at_the_config_limits_still_passes() -> None:
    """The pack refuses no configuration the program accepts: operators meet one set of limits."""
    run = run_with(
        maxInstances=1000,
        perInstanceConcurrency=100,
        maxConcurrentRequests=100,
        maxOutstandingRequests=1000,
        location="swedencentral",
    )
    found = [str(v) for resource in run.resources for policy in POLICIES for v in violations(policy, resource)]
    assert found == []
