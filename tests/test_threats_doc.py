"""THREATS.md stays honest: every row has a mechanism, and every test and policy it names exists."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from dev.offline import ROOT

THREATS = ROOT / "THREATS.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
POLICY_REF = re.compile(r"`policy:([\w-]+)`")
COLUMNS = ("id", "threat", "mitigation", "enforced in", "policy", "tests")


def _rows() -> list[dict[str, str]]:
    rows = []
    for line in THREATS.read_text().splitlines():
        if not re.match(r"^\|\s*T\d+\s*\|", line):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"row has {len(cells)} cells, expected {len(COLUMNS)}: {line[:80]}"
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


@cache
def _test_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


def test_the_threat_table_covers_the_threat_model() -> None:
    text = THREATS.read_text().lower()
    for concern in (
        "denial of service",
        "brute force",
        "malformed",
        "injection",
        "another attendee",
        "forged",
        "stolen",
        "retention",
        "gdpr",
        "subscription",
        "encryption at rest",
        "in transit",
        "owasp",
    ):
        assert concern in text, f"THREATS.md does not mention {concern!r}"
    assert len(_rows()) >= 12


@pytest.mark.parametrize("row", _rows(), ids=lambda row: row["id"])
def test_every_row_has_a_mechanism_and_a_test(row: dict[str, str]) -> None:
    for column in ("threat", "mitigation", "enforced in", "policy"):
        assert row[column] and row[column] not in {"-", "—", "TODO", "?"}, f"{row['id']}: empty {column}"
    assert TEST_REF.search(row["tests"]), f"{row['id']} names no test"


def test_every_named_test_exists() -> None:
    missing = []
    for path_text, name in TEST_REF.findall(THREATS.read_text()):
        path = ROOT / path_text
        if not path.exists() or name not in _test_names(path):
            missing.append(f"{path_text}::{name}")
    assert not missing, f"THREATS.md names tests that do not exist: {missing}"


def test_every_named_policy_exists() -> None:
    from eventstack_policies import POLICIES
    from lifecycle_policies import LIFECYCLE_POLICIES

    names = {policy.name for policy in [*POLICIES, *LIFECYCLE_POLICIES]}
    named = set(POLICY_REF.findall(THREATS.read_text()))
    assert named, "THREATS.md names no policy"
    assert named <= names, f"THREATS.md names unknown policies: {sorted(named - names)}"
