"""The whole program: one resource group, every resource parented to a component, outputs."""

from __future__ import annotations

from dev.offline import ProgramRun
from tests.conftest import run_with


def test_one_dedicated_resource_group_per_stack(dev_stack: ProgramRun) -> None:
    group = dev_stack.one("azure-native:resources:ResourceGroup")
    assert group.inputs["location"] == "westeurope"
    assert dev_stack.outputs["resourceGroupName"] == group.outputs["name"]


def test_every_resource_has_a_component_parent(dev_stack: ProgramRun) -> None:
    top_level = [r for r in dev_stack.resources if r.parent_type in ("", "pulumi:pulumi:Stack")]
    assert [r.type for r in top_level] == ["eventstack:index:EventStack"]
    for resource in dev_stack.custom_resources():
        assert resource.parent_type.startswith("eventstack:"), f"{resource.urn} is not parented to a component"


def test_every_azure_resource_lives_in_the_stack_resource_group(dev_stack: ProgramRun) -> None:
    group_name = dev_stack.one("azure-native:resources:ResourceGroup").outputs["name"]
    for resource in dev_stack.custom_resources():
        if "resourceGroupName" in resource.inputs:
            assert resource.inputs["resourceGroupName"] == group_name, resource.urn


def test_another_region_moves_every_resource() -> None:
    run = run_with(location="swedencentral")
    located = [r for r in run.custom_resources() if str(r.inputs.get("location")).lower() not in ("none", "global")]
    assert located
    assert {r.inputs["location"] for r in located} == {"swedencentral"}
