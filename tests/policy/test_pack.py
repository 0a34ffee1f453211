"""The pack's assembly, its own bounds against the program's, and the types it treats as taggable."""

from __future__ import annotations

import ast
import importlib
import inspect
import runpy
from pathlib import Path
from typing import Any, ClassVar

import eventstack_policies as rules
import lifecycle_policies
import pulumi_policy
import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from components import config, identity
from dev.offline import ROOT, ProgramRun

PACK = ROOT / "policy"


class RecordedPack:
    """Stands in for `PolicyPack`, whose constructor would start a server and never return."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        RecordedPack.calls.append(kwargs)


def test_the_entry_point_assembles_every_policy_of_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    RecordedPack.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordedPack)
    # The policy host runs the pack directory the same way.
    runpy.run_path(str(PACK), run_name="__main__")
    (call,) = RecordedPack.calls
    assert call["enforcement_level"] is EnforcementLevel.MANDATORY
    assert [p.name for p in call["policies"]] == [
        p.name for p in [*rules.POLICIES, *lifecycle_policies.LIFECYCLE_POLICIES]
    ]
    # Both kinds reach the pack: the rules per resource and the rules over the whole stack.
    assert {p.name for p in call["policies"] if isinstance(p, ResourceValidationPolicy)} == {
        p.name for p in [*rules.RESOURCE_POLICIES, *lifecycle_policies.LIFECYCLE_POLICIES]
    }
    assert {p.name for p in call["policies"] if isinstance(p, StackValidationPolicy)} == {
        p.name for p in rules.STACK_POLICIES
    }


def test_every_policy_is_mandatory_and_uniquely_named() -> None:
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names))
    assert {p.enforcement_level for p in rules.POLICIES} == {EnforcementLevel.MANDATORY}


def test_the_pack_project_runs_python_in_its_own_virtualenv() -> None:
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    pins = (PACK / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in pins
    program_pulumi = next(
        line for line in (ROOT / "requirements.txt").read_text().split() if line.startswith("pulumi==")
    )
    assert program_pulumi in pins, "the pack and the program resolve the same pulumi"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_the_policies_depend_on_nothing_they_guard() -> None:
    allowed = {"__future__", "re", "collections", "dataclasses", "datetime", "typing", "pulumi_policy"}
    assert _imported_modules(PACK / "eventstack_policies.py") <= allowed
    assert _imported_modules(PACK / "lifecycle_policies.py") <= allowed
    assert _imported_modules(PACK / "__main__.py") <= {"pulumi_policy", "eventstack_policies", "lifecycle_policies"}


@pytest.mark.parametrize(
    ("pack_bound", "program_range"),
    [
        (rules.MAX_CONCURRENT_REQUESTS, config.MAX_CONCURRENT_REQUESTS),
        (rules.MAX_OUTSTANDING_REQUESTS, config.MAX_OUTSTANDING_REQUESTS),
        (rules.PER_INSTANCE_CONCURRENCY, config.PER_INSTANCE_CONCURRENCY),
        (rules.MAXIMUM_INSTANCE_COUNT, config.MAX_INSTANCES),
    ],
    ids=["maxConcurrentRequests", "maxOutstandingRequests", "perInstanceConcurrency", "maximumInstanceCount"],
)
def test_the_pack_bounds_are_at_least_as_strict_as_the_config(
    pack_bound: rules.Bound, program_range: config.IntRange
) -> None:
    assert pack_bound.low >= program_range.low
    assert pack_bound.high <= program_range.high


def test_the_pack_allows_no_region_the_config_refuses() -> None:
    assert rules.ALLOWED_LOCATIONS <= config.EU_LOCATIONS


def test_the_pack_refuses_every_role_the_program_calls_privileged() -> None:
    program_privileged = {guid.lower() for guid in identity.PRIVILEGED_ROLES.values()}
    assert program_privileged <= set(rules.PRIVILEGED_ROLE_IDS)
    assert not {guid.lower() for guid in identity.ROLES.values()} & set(rules.PRIVILEGED_ROLE_IDS)


def test_the_pack_checks_every_tag_the_program_sets(dev_stack: ProgramRun) -> None:
    group = dev_stack.one("azure-native:resources:ResourceGroup")
    assert set(group.inputs["tags"]) <= rules.REQUIRED_STACK_TAGS | {rules.TAG_DATA_DELETE_BY}


def _accepts_tags(type_token: str) -> bool:
    _, module, class_name = type_token.split(":")
    resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def test_every_taggable_type_in_the_program_is_known_to_the_pack(dev_stack: ProgramRun) -> None:
    types = {r.type for r in dev_stack.custom_resources() if r.type.startswith("azure-native:")}
    taggable = {t for t in types if _accepts_tags(t)}
    assert taggable <= rules.TAGGABLE_TYPES, "a taggable type the pack would not ask for tags"
    assert not (types - taggable) & rules.TAGGABLE_TYPES, "the pack asks for tags a type cannot take"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("azure-native:storage:StorageAccount", "azure-native:storage:StorageAccount"),
        ("azure-native:storage/v20230501:StorageAccount", "azure-native:storage:StorageAccount"),
        ("pulumi:pulumi:Stack", "pulumi:pulumi:Stack"),
    ],
)
def test_versioned_type_tokens_are_checked_like_the_default_version(token: str, expected: str) -> None:
    assert rules.resource_type_token(token) == expected


@pytest.mark.parametrize(
    ("value", "parses"),
    [
        ("2027-06-07T18:00:00Z", True),
        ("2027-06-07T18:00:00+00:00", True),
        ("2027-06-07T18:00:00", False),
        ("2027-06-07T20:00:00+02:00", False),
        ("07/06/2027", False),
        (20270607, False),
    ],
)
def test_data_delete_by_must_be_iso_8601_utc(value: object, parses: bool) -> None:
    assert (rules.parse_delete_by(value) is not None) is parses
