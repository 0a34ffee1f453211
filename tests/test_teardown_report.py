"""`make teardown-report`: everything the program keeps past `pulumi destroy` is in the report."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest

from dev.offline import ROOT, ProgramRun, RegisteredResource
from dev.teardown_report import (
    RECOVERABLE,
    RETAINED_ON_DELETE,
    SENDS_TO_WORKSPACE,
    findings,
    main,
    render,
    survivors,
    unaccounted,
)
from tests.conftest import run_with


def _with(run: ProgramRun, resource: RegisteredResource) -> ProgramRun:
    return ProgramRun(resources=[*run.resources, resource], outputs=run.outputs)


def _changed(run: ProgramRun, type_name: str, **inputs: object) -> ProgramRun:
    (original,) = run.of_type(type_name)
    changed = dataclasses.replace(original, inputs={**copy.deepcopy(original.inputs), **inputs})
    return ProgramRun(resources=[changed if r is original else r for r in run.resources], outputs=run.outputs)


def test_every_finding_of_the_program_is_accounted_for(dev_stack: ProgramRun) -> None:
    assert unaccounted(dev_stack) == set()


def test_the_findings_come_from_the_recorded_resources(dev_stack: ProgramRun) -> None:
    found = findings(dev_stack)
    by_type: dict[str, set[str]] = {}
    for urn, what in found:
        by_type.setdefault(dev_stack.by_urn(urn).type, set()).add(what)
    assert by_type["azure-native:keyvault:Vault"] == {
        "properties.enableSoftDelete",
        "properties.softDeleteRetentionInDays",
        "properties.enablePurgeProtection",
        RECOVERABLE,
    }
    assert by_type["azure-native:keyvault:Key"] == {RETAINED_ON_DELETE}
    assert by_type["azure-native:keyvault:Secret"] == {RETAINED_ON_DELETE}
    assert by_type["azure-native:operationalinsights:Workspace"] == {"retentionInDays", RECOVERABLE}
    assert by_type["azure-native:storage:BlobServiceProperties"] == {
        "deleteRetentionPolicy",
        "containerDeleteRetentionPolicy",
        "isVersioningEnabled",
    }
    assert by_type["azure-native:storage:StorageAccount"] == {RECOVERABLE}
    assert by_type["azure-native:applicationinsights:Component"] == {SENDS_TO_WORKSPACE}
    assert by_type["azure-native:monitor:DiagnosticSetting"] == {SENDS_TO_WORKSPACE}
    retained = {r.urn for r in dev_stack.resources if r.retain_on_delete}
    assert len(retained) == 4
    assert {(urn, RETAINED_ON_DELETE) for urn in retained} <= found


def test_a_new_retained_resource_is_a_gap(dev_stack: ProgramRun) -> None:
    (table, *_) = dev_stack.of_type("azure-native:storage:Table")
    retained = dataclasses.replace(table, urn=table.urn + "-retained", retain_on_delete=True)
    assert unaccounted(_with(dev_stack, retained)) == {(retained.urn, RETAINED_ON_DELETE)}


def test_a_new_soft_deleted_type_is_a_gap(dev_stack: ProgramRun) -> None:
    (identity, *_) = dev_stack.of_type("azure-native:managedidentity:UserAssignedIdentity")
    store = dataclasses.replace(
        identity,
        urn="urn:pulumi:dev::eventstack::azure-native:appconfiguration:ConfigurationStore::settings",
        type="azure-native:appconfiguration:ConfigurationStore",
        inputs={"resourceGroupName": "rg"},
    )
    assert unaccounted(_with(dev_stack, store)) == {(store.urn, RECOVERABLE)}


@pytest.mark.parametrize(
    ("type_name", "inputs", "gap"),
    [
        # A workspace-based component takes the workspace's retention; its own would need an item.
        ("azure-native:applicationinsights:Component", {"retentionInDays": 90}, "retentionInDays"),
        (
            "azure-native:storage:StorageAccount",
            {"immutableStorageWithVersioning": {"enabled": True}},
            "immutableStorageWithVersioning",
        ),
        (
            "azure-native:operationalinsights:Workspace",
            {"features": {"disableLocalAuth": True, "immediatePurgeDataOn30Days": True}},
            "features.immediatePurgeDataOn30Days",
        ),
    ],
)
def test_a_new_retention_setting_is_a_gap(
    dev_stack: ProgramRun, type_name: str, inputs: dict[str, object], gap: str
) -> None:
    changed = _changed(dev_stack, type_name, **inputs)
    (resource,) = changed.of_type(type_name)
    assert unaccounted(changed) == {(resource.urn, gap)}


def test_the_report_prints_the_configured_periods_and_expiries() -> None:
    run = run_with(blobSoftDeleteDays=3, logRetentionDays=60, eventEndsAt="2027-09-10T12:00:00Z", retentionHours=24)
    text = render(run, "dev")
    assert "3 days for a blob, 3 days for a container" in text
    assert "60 days per record" in text
    assert "data-delete-by 2027-09-11T12:00:00Z" in text
    assert "jwt-signing expires 2027-09-11T12:00:00Z" in text
    assert "storage-encryption expires 2027-09-12T12:00:00Z" in text
    assert "github-id-pepper expires 2027-09-12T12:00:00Z" in text
    assert "github-client-secret expires 2027-09-11T12:00:00Z" in text
    assert "7 days after `pulumi destroy`" in text
    assert "each rotated version expires P37D after its rotation" in text


def test_each_item_says_how_long_what_ends_it_sooner_and_what_azure_refuses(dev_stack: ProgramRun) -> None:
    items = survivors(dev_stack)
    assert len(items) >= 8
    for item in items:
        assert item.what and item.how_long and item.end_sooner and item.azure_refuses, item.what
    text = render(dev_stack, "dev")
    for expected in ("purge protection is on", "soft-deleted", "activity log", "retained on delete", "sealed"):
        assert expected in text, expected


def test_make_teardown_report_prints_it_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("teardown report for stack 'dev'")
    assert "NOT ACCOUNTED FOR" not in out
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^teardown-report:.*\n\t\$\(PY\) -m dev\.teardown_report", makefile, re.MULTILINE)


def test_a_config_error_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--set", "sealed=maybe"]) == 2
    assert "eventstack:sealed" in capsys.readouterr().err


def test_the_after_the_event_page_links_the_report() -> None:
    page = (ROOT / "docs" / "after-the-event.md").read_text()
    assert "make teardown-report" in page
    assert "dev/teardown_report.py" in page
