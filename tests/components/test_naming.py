"""Names that fit Azure's limits and stay unique per stack; tags on every taggable resource."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from components.naming import key_vault_name, storage_account_name, vnet_name
from dev.offline import ProgramRun

LONGEST_EVENT = "a-very-long-even"  # 16 characters, the longest eventName allowed


@pytest.mark.parametrize("event", ["confdemo", LONGEST_EVENT, "abc"])
def test_storage_account_names_fit(event: str) -> None:
    name = storage_account_name(event, "x1y2z3")
    assert re.fullmatch(r"[a-z0-9]{3,24}", name), name
    assert name.endswith("x1y2z3")


@pytest.mark.parametrize("event", ["confdemo", LONGEST_EVENT, "abc"])
def test_key_vault_names_fit(event: str) -> None:
    name = key_vault_name(event, "x1y2z3")
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", name), name
    assert "--" not in name
    assert name.endswith("-x1y2z3")


def test_vnet_names_differ_per_stack_and_suffix() -> None:
    assert vnet_name("confdemo", "dev", "aaaaaa") != vnet_name("confdemo", "prod", "aaaaaa")
    assert vnet_name("confdemo", "dev", "aaaaaa") != vnet_name("confdemo", "dev", "bbbbbb")
    assert len(vnet_name(LONGEST_EVENT, "x" * 80, "aaaaaa")) <= 64


def _accepts_tags(type_name: str) -> bool:
    _, module, resource = type_name.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), resource)
    return "tags" in inspect.signature(cls._internal_init).parameters


REQUIRED_TAGS = {"event", "stack", "owner", "data-delete-by"}


def test_every_taggable_resource_carries_the_stack_tags(dev_stack: ProgramRun) -> None:
    taggable = [r for r in dev_stack.custom_resources() if r.type.startswith("azure-native:") and _accepts_tags(r.type)]
    assert taggable, "the program registers no taggable Azure resource"
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        missing = REQUIRED_TAGS - set(tags)
        assert not missing, f"{resource.urn} lacks tags {sorted(missing)}"
        assert tags["data-delete-by"] == "2027-06-07T18:00:00Z", resource.urn
        assert tags["owner"] == "conference-team@example.org", resource.urn


def test_every_located_resource_is_in_the_configured_region(dev_stack: ProgramRun) -> None:
    for resource in dev_stack.custom_resources():
        location = resource.inputs.get("location")
        if location is not None and location.lower() != "global":
            assert location == "westeurope", resource.urn
