"""`make preview` shows the alerts and the budget with what matters about them."""

from __future__ import annotations

import pytest

from dev.preview import main


def test_the_preview_shows_alerts_and_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--set", "budgetAmount=750", "--set", "alertHttp5xxPercent=7"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "azure-native:monitor:ActionGroup  eventstack-alerts-owner  (parent: eventstack-alerts)",
        'emailReceivers[0].emailAddress = "conference-team@example.org"',
        "azure-native:monitor:ScheduledQueryRule  eventstack-alerts-http-5xx",
        "criteria.allOf[0].threshold = 7",
        'windowSize = "PT1H"',
        "azure-native:consumption:Budget  eventstack-alerts-budget",
        "amount = 750",
        'notifications.actual-100.contactEmails = ["conference-team@example.org"]',
    ):
        assert expected in out, f"the preview does not show {expected!r}"
