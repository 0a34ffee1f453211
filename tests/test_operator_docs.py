"""The README's operator sections stay current: providers, role, cost, after the event."""

from __future__ import annotations

from components.providers import REQUIRED_PROVIDERS
from dev.offline import ROOT

README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start : end if end != -1 else None]


def test_the_readme_lists_every_provider_the_program_checks() -> None:
    deploying = _section("## Deploying to Azure")
    for namespace in REQUIRED_PROVIDERS:
        assert namespace in deploying, namespace


def test_the_readme_names_the_least_role_and_the_cost_bound() -> None:
    deploying = _section("## Deploying to Azure")
    assert "Role Based Access Control Administrator" in deploying
    assert "Worst-case cost" in deploying
    assert "2026-12-01" in deploying  # the date the prices were read


def test_after_the_event_is_a_section() -> None:
    assert "pulumi destroy" in _section("## After the event")
