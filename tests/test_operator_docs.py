"""The operator's pages stay current: providers, role, cost, after the event; the README links them all."""

from __future__ import annotations

import re

from components.providers import REQUIRED_PROVIDERS
from dev.offline import ROOT

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text()


def test_the_deploy_guide_lists_every_provider_the_program_checks() -> None:
    deploying = _page("deploy.md")
    for namespace in REQUIRED_PROVIDERS:
        assert namespace in deploying, namespace


def test_the_deploy_guide_names_the_least_role_and_the_cost_bound() -> None:
    deploying = _page("deploy.md")
    assert "Role Based Access Control Administrator" in deploying
    assert "## Worst-case cost" in deploying
    assert "2026-12-01" in deploying  # the date the prices were read


def test_after_the_event_is_a_page() -> None:
    assert "pulumi destroy" in _page("after-the-event.md")


def test_the_readme_links_every_page_and_every_link_resolves() -> None:
    pages = sorted(path.name for path in DOCS.glob("*.md"))
    for name in pages:
        assert f"(docs/{name})" in README, f"README.md does not link docs/{name}"
    for source in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", source.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (source.parent / target).exists(), f"{source.name} links a missing {target}"


def test_no_section_is_written_twice() -> None:
    headings: dict[str, str] = {}
    for source in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for heading in re.findall(r"^##+ (.+)$", source.read_text(), re.MULTILINE):
            assert heading not in headings, f"'{heading}' is in {headings.get(heading)} and {source.name}"
            headings[heading] = source.name
