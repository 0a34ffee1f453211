"""The type check skips pulumi-azure-native's unused services, and only those."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import Any

from dev.offline import ROOT

PACKAGE = "pulumi_azure_native"


def _mypy() -> dict[str, Any]:
    settings: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return settings


def _checked_files() -> list[Path]:
    settings = _mypy()
    excluded = [re.compile(pattern) for pattern in settings["exclude"]]
    found: list[Path] = []
    for entry in settings["files"]:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            relative = file.relative_to(ROOT).as_posix()
            if not any(pattern.search(relative) for pattern in excluded):
                found.append(file)
    return found


def _imported_services(source: str) -> set[str]:
    services: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            services.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"{PACKAGE}."):
            services.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE:
                    services.add("*")  # the whole package: every service would need following
                elif alias.name.startswith(f"{PACKAGE}."):
                    services.add(alias.name.split(".")[1])
    return services


def _followed_services() -> set[str]:
    followed: set[str] = set()
    for override in _mypy()["overrides"]:
        if override.get("follow_imports") == "normal":
            for module in override["module"]:
                parts = module.split(".")
                if parts[0] == PACKAGE and len(parts) > 1 and not parts[1].startswith("_") and parts[1] != "outputs":
                    followed.add(parts[1])
    return followed


def test_every_service_the_checked_code_imports_is_followed_by_mypy() -> None:
    imported = set().union(*(_imported_services(file.read_text()) for file in _checked_files()))
    assert "*" not in imported, "import services by name: `from pulumi_azure_native import web`"
    # A service missing here would type as Any, unchecked; one too many costs a cold run its time.
    assert _followed_services() == imported


def test_the_import_reader_sees_every_form_of_import() -> None:
    source = (
        "from pulumi_azure_native import web, storage\n"
        "import pulumi_azure_native.cdn\n"
        "from pulumi_azure_native.network import x\n"
    )
    assert _imported_services(source) == {"web", "storage", "cdn", "network"}
    assert _imported_services("import pulumi_azure_native as azure_native\n") == {"*"}
