"""The rehearsed conference day: its checks catch what they exist for, and a short run passes them (slow)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.conference_day import checks, records, report
from bench.conference_day.__main__ import rehearse
from bench.conference_day.checks import StoredLight, judge
from bench.conference_day.records import Call, SignIn
from bench.conference_day.scenario import Handover, Scenario

T = 1_800_000_000.0  # the start of a quota window (a multiple of 60)
SMALL = Scenario(attendees=2, abusers=0, walls=0, join_pages=0, commands_per_minute=3, max_p99_ratio=None)


def _command(t: float, status: int, color: str, who: str = "attendee-1", light_id: str = "") -> Call:
    return Call(t, t + 0.01, records.COMMAND, status, records.ATTENDEE, who, True, color, light_id)


def _probe() -> list[Call]:
    return [replace(_command(T - 30 + n, 202, f"f0000{n}", "probe", f"p{n}"), role=records.PROBE) for n in range(3)]


def _signed_in(*whos: str) -> list[SignIn]:
    return [SignIn(who, records.ATTENDEE, True, T - 20, token_at=T - 10) for who in whos]


def _verdict(calls: list[Call], stored: list[StoredLight], sign_ins: list[SignIn] | None = None) -> dict[str, bool]:
    probe = _probe()
    all_stored = [*stored, *(StoredLight(c.light_id, c.color) for c in probe)]
    verdict = judge(SMALL, calls, _signed_in("attendee-1") if sign_ins is None else sign_ins, all_stored, probe)
    return {check.name: check.passed for check in verdict.checks}


STORED = "every accepted command stored exactly once, no refused one"
NO_UNDESERVED_429 = "no 429 to an attendee under their quota"
TOKENS = "every consenting attendee got a token, no declining one did"
WAVE = "the wave completes at the rate GitHub's cap allows"


def test_a_clean_run_passes() -> None:
    calls = [_command(T + n, 202, f"00000{n}", light_id=f"l{n}") for n in range(3)]
    calls.append(_command(T + 5, 429, "000009"))  # the fourth in a minute of three: deserved
    stored = [StoredLight(f"l{n}", f"00000{n}") for n in range(3)]
    assert all(_verdict(calls, stored).values())


def test_an_accepted_command_missing_from_storage_fails() -> None:
    calls = [_command(T, 202, "000001", light_id="l1"), _command(T + 1, 202, "000002", light_id="l2")]
    assert not _verdict(calls, [StoredLight("l1", "000001")])[STORED]


def test_a_command_stored_twice_or_a_refused_one_stored_fails() -> None:
    accepted = _command(T, 202, "000001", light_id="l1")
    assert not _verdict([accepted], [StoredLight("l1", "000001"), StoredLight("l9", "000001")])[STORED]
    refused = _command(T + 1, 429, "000002")
    assert not _verdict([accepted, refused], [StoredLight("l1", "000001"), StoredLight("l2", "000002")])[STORED]


def test_a_429_under_the_quota_fails_and_one_over_it_does_not() -> None:
    under = [_command(T, 202, "000001", light_id="l1"), _command(T + 1, 429, "000002")]
    assert not _verdict(under, [StoredLight("l1", "000001")])[NO_UNDESERVED_429]
    # The previous minute's commands do not count in this one.
    earlier = [_command(T - 60 + n, 202, f"00000{n}", light_id=f"l{n}") for n in range(3)]
    assert not _verdict(
        [*earlier, _command(T + 1, 429, "000009")], [StoredLight(f"l{n}", f"00000{n}") for n in range(3)]
    )[NO_UNDESERVED_429]


def test_a_consenting_attendee_without_a_token_or_a_declining_one_with_one_fails() -> None:
    waiting = [SignIn("attendee-1", records.ATTENDEE, True, T - 20)]
    assert not _verdict([], [], waiting)[TOKENS]
    declined_yet_signed_in = [SignIn("attendee-1", records.ATTENDEE, False, T - 20, token_at=T - 10)]
    assert not _verdict([], [], declined_yet_signed_in)[TOKENS]


def test_a_wave_faster_than_the_budget_means_the_cap_did_not_hold() -> None:
    # 90 attendees at 30 a minute cannot all be signed in within a minute.
    crowd = [SignIn(f"attendee-{n}", records.ATTENDEE, True, T, token_at=T + 50) for n in range(90)]
    assert not _verdict([], [], crowd)[WAVE]
    paced = [SignIn(f"attendee-{n}", records.ATTENDEE, True, T, token_at=T + 60 * n / 30) for n in range(90)]
    assert _verdict([], [], paced)[WAVE]


def test_the_scenario_survives_the_trip_to_the_locust_process() -> None:
    scenario = Scenario(attendees=7, think_seconds=(1.0, 2.0), max_p99_ratio=None)
    handed = Handover(scenario, "/out", "http://127.0.0.1:1")
    assert Handover.from_env({"CONFERENCE_DAY_SCENARIO": handed.to_env()}) == handed


def test_the_budget_cannot_be_set_above_githubs_cap() -> None:
    with pytest.raises(ValueError, match="GitHub"):
        Scenario(sign_ins_per_minute=34)


@pytest.mark.slow(seconds=80)
@pytest.mark.azurite
def test_a_short_conference_day_passes_its_checks(tmp_path: Path) -> None:
    """About a minute: a few attendees sign in, send, refresh, erase; an abuser, a wall and a join page."""
    scenario = Scenario(
        attendees=8,
        duration_seconds=60,
        arrival_seconds=10,
        walls=1,
        join_pages=1,
        abusers=1,
        token_minutes=1,
        think_seconds=(1.0, 3.0),
        github_latency_ms=100,
        decline_fraction=0.25,
        erase_fraction=0.25,
        max_p99_ratio=None,  # timing never decides a test; `make conference-day` reports it
    )
    summary = rehearse(scenario, tmp_path)
    failed = [check for check in summary["checks"] if not check["passed"] and check["name"] != checks.LATENCY]
    assert not failed, json.dumps(failed, indent=2)
    figures = summary["figures"]
    assert figures["commands_accepted"] > 0
    assert figures["stored_lights"] >= figures["commands_accepted"]
    names = {row["endpoint"] for row in summary["endpoints"]}
    assert {records.COMMAND, records.TOKEN_REFRESH, records.WALL_READ, records.ABUSE_BAD_TOKEN} <= names
    for chart in report.CHARTS.values():
        assert (tmp_path / chart).stat().st_size > 0
    assert (tmp_path / report.PAGE_FILE).exists()


BUDGET_QUEUE = "sign-ins queued only when the app's GitHub budget is spent"


def _trip(t: float, status: int) -> Call:
    return Call(t, t + 1, records.BROWSER, status, records.ATTENDEE, "attendee-1")


def test_more_github_trips_in_a_minute_than_the_budget_fails_the_wave() -> None:
    crowd = [SignIn(f"attendee-{n}", records.ATTENDEE, True, T, token_at=T + 100) for n in range(40)]
    # 40 trips in one minute against a budget of 30 (SMALL keeps the app's default).
    assert not _verdict([_trip(T + n, 200) for n in range(40)], [], crowd)[WAVE]


def test_a_declined_consent_is_no_github_trip() -> None:
    crowd = [SignIn(f"attendee-{n}", records.ATTENDEE, True, T, token_at=T + 100) for n in range(30)]
    # 30 approved and 1 declined (the cancelled page, 400) in one minute: 30 trips, within the budget.
    assert _verdict([*[_trip(T + n, 200) for n in range(30)], _trip(T + 40, 400)], [], crowd)[WAVE]


def test_a_sign_in_queued_while_the_budget_has_room_fails() -> None:
    # One trip used, the next one queued: the budget of 30 was not spent, so the 429 was contention.
    assert not _verdict([_trip(T, 200), _trip(T + 5, 429)], [])[BUDGET_QUEUE]
    full = [_trip(T + n, 200) for n in range(30)]
    assert _verdict([*full, _trip(T + 40, 429)], [])[BUDGET_QUEUE]


def test_a_wait_page_while_the_budget_has_room_fails() -> None:
    # The app's wait page (the played browser follows its refresh) counts as queued too.
    waited = Call(T + 5, T + 5, records.BROWSER_QUEUED, 200, records.ATTENDEE, "attendee-1")
    assert not _verdict([_trip(T, 200), waited], [])[BUDGET_QUEUE]
    full = [_trip(T + n, 200) for n in range(30)]
    assert _verdict([*full, Call(T + 40, T + 40, records.BROWSER_QUEUED, 200, records.ATTENDEE, "a")], [])[BUDGET_QUEUE]


def test_a_command_cut_off_by_the_end_may_be_stored_once_but_not_twice() -> None:
    cut_off = _command(T, records.CUT_OFF, "000001")
    verdict = _verdict([cut_off], [StoredLight("l1", "000001")])
    assert verdict[STORED]
    assert verdict["no 5xx and no call left unanswered"]
    assert not _verdict([cut_off], [StoredLight("l1", "000001"), StoredLight("l2", "000001")])[STORED]
