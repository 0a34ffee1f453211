"""Availability: no single zone takes the stack down (zone-redundant Flex plan, zone-redundant storage)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationPolicy

from .assembly import ignoring_type, resource_policy
from .props import prop, shown
from .resource_types import APP_SERVICE_PLAN, STORAGE_ACCOUNT

# Regions where a Flex Consumption plan can be zone-redundant (Azure Functions reliability docs,
# read 2026-12-01). The pack keeps its own list: a region is added here in review.
ZONE_REDUNDANT_FLEX_LOCATIONS: frozenset[str] = frozenset(
    {"westeurope", "northeurope", "swedencentral", "germanywestcentral", "italynorth", "polandcentral"}
)
# Zone-redundant storage SKUs (GZRS adds a copy in the paired region).
ZONE_REDUNDANT_STORAGE_SKUS: frozenset[str] = frozenset(
    {"standard_zrs", "standard_gzrs", "standard_ragzrs", "premium_zrs"}
)
FLEX_SKU = "fc1"


def _plan_zone_redundant(props: Mapping[str, Any]) -> Iterator[str]:
    sku = prop(props, "sku.name")
    location = prop(props, "location")
    if not (isinstance(sku, str) and sku.lower() == FLEX_SKU):
        return
    if not (isinstance(location, str) and location.replace(" ", "").lower() in ZONE_REDUNDANT_FLEX_LOCATIONS):
        return
    if prop(props, "zoneRedundant") is not True:
        yield (
            f"zoneRedundant must be true in {location} (one zone's outage must not take the app down); "
            f"found {shown(prop(props, 'zoneRedundant'))}"
        )


def _storage_zone_redundant(props: Mapping[str, Any]) -> Iterator[str]:
    sku = prop(props, "sku.name")
    if not (isinstance(sku, str) and sku.lower() in ZONE_REDUNDANT_STORAGE_SKUS):
        yield (
            "sku.name must be zone-redundant (Standard_ZRS or GZRS): the data and the Functions host's storage "
            f"survive a zone outage, and a zone-redundant Flex plan requires it; found {shown(sku)}"
        )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy(
        "function-plan-zone-redundant",
        "The Flex Consumption plan is zone-redundant wherever the region offers it.",
        ignoring_type(_plan_zone_redundant),
        frozenset({APP_SERVICE_PLAN}),
    ),
    resource_policy(
        "storage-zone-redundant",
        "Storage accounts are zone-redundant (ZRS or GZRS).",
        ignoring_type(_storage_zone_redundant),
        frozenset({STORAGE_ACCOUNT}),
    ),
]
