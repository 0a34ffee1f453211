"""Reading a resource's inputs as the engine hands them over: paths, numbers, bounds, app settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .resource_types import APP_SETTINGS_RESOURCES, WEB_APPS


@dataclass(frozen=True)
class Bound:
    """An inclusive integer range a setting must stay in, with the reason."""

    low: int
    high: int
    why: str


MISSING = object()

Check = Callable[[Mapping[str, Any]], Iterator[str]]


def resource_type_token(resource_type: str) -> str:
    """`azure-native:storage/v20230101:StorageAccount` -> `azure-native:storage:StorageAccount`."""
    parts = resource_type.split(":")
    if len(parts) == 3:
        parts[1] = parts[1].split("/", 1)[0]
    return ":".join(parts)


def prop(props: Any, path: str) -> Any:
    node = props
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return MISSING
    return node


def shown(value: Any) -> str:
    return "(not set)" if value is MISSING else repr(value)


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, str) and isinstance(actual, str):
        # ARM compares enum values without regard to case.
        return actual.lower() == expected.lower()
    return bool(actual == expected)


def require(props: Mapping[str, Any], path: str, expected: Any, why: str) -> Iterator[str]:
    actual = prop(props, path)
    if not same(actual, expected):
        yield f"{path} must be {expected!r} ({why}); found {shown(actual)}"


def require_one_of(props: Mapping[str, Any], path: str, allowed: frozenset[str], why: str) -> Iterator[str]:
    actual = prop(props, path)
    if not (isinstance(actual, str) and actual.upper() in {a.upper() for a in allowed}):
        yield f"{path} must be one of {sorted(allowed)} ({why}); found {shown(actual)}"


def integer(value: Any) -> int | None:
    """An integer from a number (the engine sends floats) or a decimal string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}\s*", value):
        return int(value)
    return None


def within(label: str, value: Any, bound: Bound) -> Iterator[str]:
    number = integer(value)
    if number is None:
        yield f"{label} must be an integer from {bound.low} to {bound.high} ({bound.why}); found {shown(value)}"
    elif not bound.low <= number <= bound.high:
        yield f"{label} = {number} is outside {bound.low}-{bound.high} ({bound.why})"


def sequence(value: Any) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value
    return ()


def is_function_app(props: Mapping[str, Any]) -> bool:
    kind = prop(props, "kind")
    return isinstance(kind, str) and "functionapp" in kind.lower()


def is_flex_site(props: Mapping[str, Any]) -> bool:
    """A Flex Consumption site: only Flex sites take `functionAppConfig` (ARM API 2023-12-01 on)."""
    return isinstance(prop(props, "functionAppConfig"), Mapping)


def app_settings(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The app settings a resource sets, by name; None when it sets none.

    A site carries them as `siteConfig.appSettings` (a list of name/value pairs); the separate
    settings resource as `properties` (a map).
    """
    if resource_type in APP_SETTINGS_RESOURCES:
        properties = prop(props, "properties")
        return dict(properties) if isinstance(properties, Mapping) else {}
    if resource_type in WEB_APPS:
        pairs = prop(props, "siteConfig.appSettings")
        if pairs is MISSING:
            return None
        settings: dict[str, Any] = {}
        for pair in sequence(pairs):
            if isinstance(pair, Mapping) and isinstance(pair.get("name"), str):
                settings[pair["name"]] = pair.get("value")
        return settings
    return None
