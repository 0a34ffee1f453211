"""Dependencies are pinned, so what was tested is what is deployed."""

from __future__ import annotations

import re

import pytest

from dev.offline import ROOT

REQUIREMENT_FILES = [
    "requirements.txt",
    "requirements-dev.txt",
    "function_code/requirements.txt",
    "policy/requirements.txt",
]
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\[\],-]*==[0-9][A-Za-z0-9.+-]*$")


def _requirements(name: str) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-r ")]


@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_every_dependency_is_pinned(name: str) -> None:
    requirements = _requirements(name)
    assert requirements, f"{name} lists nothing"
    unpinned = [line for line in requirements if not PINNED.match(line)]
    assert not unpinned, f"{name} has unpinned requirements: {unpinned}"


def test_the_bundle_never_ships_the_platform_worker() -> None:
    names = {line.split("==", 1)[0].lower() for line in _requirements("function_code/requirements.txt")}
    assert "azure-functions-worker" not in names
    assert "azure-functions" in names
