"""The architecture diagram: drawn from the program, committed, and in the README; all three agree."""

from __future__ import annotations

from dataclasses import replace

from dev.diagram import DIAGRAM_PATH, README_PATH, readme_block, render, with_readme_block
from dev.offline import ProgramRun
from tests.conftest import run_with


def test_the_committed_diagram_is_the_programs(dev_stack: ProgramRun) -> None:
    assert DIAGRAM_PATH.read_text() == render(dev_stack), "run `make diagram` and commit docs/architecture.mmd"


def test_the_readme_embeds_the_same_diagram(dev_stack: ProgramRun) -> None:
    assert readme_block(render(dev_stack)) in README_PATH.read_text(), "run `make diagram` and commit README.md"


def test_a_new_resource_type_changes_the_diagram(dev_stack: ProgramRun) -> None:
    workspace = next(r for r in dev_stack.resources if r.type.endswith(":Workspace"))
    extra = replace(workspace, urn=workspace.urn + "-2", type="azure-native:cache:Redis", name="cache")
    changed = render(ProgramRun(resources=[*dev_stack.resources, extra], outputs=dev_stack.outputs))
    assert changed != render(dev_stack)
    assert "eventstack_monitoring_cache_Redis" in changed


def test_without_the_edge_the_attendee_reaches_the_app_directly() -> None:
    diagram = render(run_with(edge="none"))
    assert "attendee -->|HTTPS| eventstack_functions_web_WebApp" in diagram
    assert "cdn_" not in diagram


def test_the_diagram_is_deterministic_and_shows_the_request_path(dev_stack: ProgramRun) -> None:
    diagram = render(dev_stack)
    shuffled = ProgramRun(resources=list(reversed(dev_stack.resources)), outputs=dev_stack.outputs)
    assert render(shuffled) == diagram
    for edge in (
        "attendee -->|HTTPS| eventstack_edge_cdn_AFDEndpoint",
        "eventstack_edge_cdn_AFDEndpoint -->|origin| eventstack_functions_web_WebApp",
        "eventstack_storage_network_PrivateEndpoint --> eventstack_storage_storage_StorageAccount",
        "eventstack_keyvault_network_PrivateEndpoint --> eventstack_keyvault_keyvault_Vault",
        "eventstack_alerts_monitor_ActionGroup -->|mail| owner",
    ):
        assert edge in diagram
    # Random names never reach the diagram.
    suffix = dev_stack.outputs["storageAccountName"][-6:]
    assert suffix not in diagram


def test_the_readme_block_is_replaced_in_place() -> None:
    readme = "intro\n\n" + readme_block("old\n") + "\n\nafter\n"
    assert with_readme_block(readme, "new\n") == "intro\n\n" + readme_block("new\n") + "\n\nafter\n"
