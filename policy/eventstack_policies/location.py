"""Region: every resource with a location stays in an allowed EU region (GDPR)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationPolicy

from .assembly import resource_policy
from .operator import OPERATOR_GLOBAL_LOCATION_TYPES
from .props import MISSING, prop

# GDPR: EU member states only, as in the program; a region is added in both places, in review.
ALLOWED_LOCATIONS: frozenset[str] = frozenset(
    {
        "westeurope",
        "northeurope",
        "swedencentral",
        "germanywestcentral",
        "francecentral",
        "italynorth",
        "polandcentral",
        "spaincentral",
    }
)
# Private DNS zones and their links are not regional: Azure requires "global" for them.
GLOBAL_LOCATION_TYPES: frozenset[str] = (
    frozenset(
        {
            "azure-native:privatedns:PrivateZone",
            "azure-native:privatedns:VirtualNetworkLink",
            "azure-native:network:PrivateZone",
            "azure-native:network:VirtualNetworkLink",
            # Front Door and its WAF are global services.
            "azure-native:cdn:Profile",
            "azure-native:cdn:AFDEndpoint",
            "azure-native:frontdoor:Policy",
        }
    )
    | OPERATOR_GLOBAL_LOCATION_TYPES
)
GLOBAL_LOCATION = "global"


def _location(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    location = prop(props, "location")
    if location is MISSING or location is None:
        return
    normalized = location.replace(" ", "").lower() if isinstance(location, str) else location
    if resource_type in GLOBAL_LOCATION_TYPES and normalized == GLOBAL_LOCATION:
        return
    if normalized not in ALLOWED_LOCATIONS:
        allowed = ", ".join(sorted(ALLOWED_LOCATIONS))
        yield f"location {location!r} is not an allowed EU region (GDPR); allowed: {allowed}"


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    resource_policy("allowed-eu-location", "Every resource with a location is in an allowed EU region.", _location),
]
