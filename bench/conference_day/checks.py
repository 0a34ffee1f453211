"""The rehearsal's verdict, from what the load generator wrote down and what storage holds.

Pure functions over records: the run's figures and checks, each check failing the target when broken.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.conference_day import records
from bench.conference_day.records import Call, SignIn
from bench.conference_day.scenario import ABUSE_STATUSES, GITHUB_TOKEN_REQUESTS_PER_HOUR, WINDOW_SECONDS, Scenario

ACCEPTED = 202
TOO_MANY = 429
# Steps that never reached GitHub's token endpoint: queued, unanswered, or cancelled (a declined
# consent: GitHub reports the refusal to the callback, which asks GitHub nothing more).
CANCELLED = 400
_NO_GITHUB_TRIP = frozenset({TOO_MANY, records.NO_ANSWER, CANCELLED})
# A 429 here is the documented queue (the app's GitHub budget is spent), not a refusal.
_QUEUE_ENDPOINTS = frozenset({records.BROWSER})
_ABUSE_ENDPOINTS = frozenset(
    {records.ABUSE_BAD_INPUT, records.ABUSE_BAD_TOKEN, records.ABUSE_TOO_BIG, records.ABUSE_NOT_JSON}
)
_HOUR = 3600.0
LATENCY = "steady-phase command p99 against the unloaded median"


@dataclass(frozen=True)
class StoredLight:
    """A row of the lights table: its id and color."""

    light_id: str
    color: str


@dataclass(frozen=True)
class Check:
    """One pass/fail verdict with the figure behind it."""

    name: str
    passed: bool
    figure: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phases:
    """The wave runs from the first arrival to the last token; the steady phase after it."""

    start: float
    wave_end: float
    end: float


@dataclass
class Verdict:
    """Every check, and the figures worth a headline."""

    checks: list[Check] = field(default_factory=list)
    figures: dict[str, float | int | str | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def window(t: float) -> int:
    """The app's quota window a time falls in (fixed one-minute windows since the epoch)."""
    return math.floor(t / WINDOW_SECONDS)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def answered(calls: Sequence[Call]) -> list[Call]:
    """The calls that were not cut off by the end of the run."""
    return [c for c in calls if c.status != records.CUT_OFF]


def phases(calls: Sequence[Call], sign_ins: Sequence[SignIn]) -> Phases:
    """When the wave started and ended, and when the run ended."""
    start = min((s.arrived for s in sign_ins), default=min((c.t0 for c in calls), default=0.0))
    tokens = [s.token_at for s in sign_ins if s.token_at is not None]
    end = max((c.t1 for c in calls), default=start)
    return Phases(start, max(tokens, default=start), end)


def _no_server_errors(calls: Sequence[Call]) -> Check:
    bad = [c for c in calls if c.status >= 500 or c.status == records.NO_ANSWER]
    by_endpoint = Counter(f"{c.name}: {c.status or 'no answer'} {c.error}".strip() for c in bad)
    return Check(
        "no 5xx and no call left unanswered",
        not bad,
        f"{len(bad)} of {len(calls)} calls",
        tuple(f"{k} x{v}" for k, v in by_endpoint.most_common()),
    )


def _stored_exactly_once(calls: Sequence[Call], stored: Sequence[StoredLight]) -> Check:
    commands = [c for c in calls if c.name == records.COMMAND and c.color]
    by_color = Counter(light.color for light in stored)
    ids = {light.color: light.light_id for light in stored}
    accepted = [c for c in commands if c.status == ACCEPTED]
    unknown = [c for c in commands if c.status in (records.NO_ANSWER, records.CUT_OFF)]
    refused = [c for c in commands if c.status not in (ACCEPTED, records.NO_ANSWER, records.CUT_OFF)]
    problems: list[str] = []
    lost = [c for c in accepted if by_color[c.color] == 0]
    doubled = [c for c in commands if by_color[c.color] > 1]
    wrong_id = [c for c in accepted if by_color[c.color] == 1 and ids[c.color] != c.light_id]
    stored_refused = [c for c in refused if by_color[c.color] > 0]
    sent = {c.color for c in commands}
    stray = [light for light in stored if light.color not in sent]
    for label, found in (
        ("accepted but not stored", lost),
        ("stored more than once", doubled),
        ("stored under another id", wrong_id),
        ("refused but stored", stored_refused),
    ):
        if found:
            problems.append(f"{len(found)} {label}: e.g. color {found[0].color}, answer {found[0].status}")
    if stray:
        problems.append(f"{len(stray)} stored rows no command of this run sent: e.g. {stray[0].color}")
    unknown_stored = sum(1 for c in unknown if by_color[c.color] == 1)
    figure = (
        f"{len(accepted)} accepted, {len(refused)} refused, {len(unknown)} unanswered or cut off by the end "
        f"({unknown_stored} of them stored); {len(stored)} rows stored"
    )
    return Check("every accepted command stored exactly once, no refused one", not problems, figure, tuple(problems))


def _counted_in(call: Call, w: int) -> bool:
    """Whether the server may have counted this accepted call in window `w` (it did so between t0 and t1)."""
    return window(call.t0) <= w <= window(call.t1)


def _undeserved_429s(calls: Sequence[Call], scenario: Scenario) -> tuple[Check, int]:
    mine: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        if call.quota and call.who:
            mine[call.who].append(call)
    undeserved: list[str] = []
    ambiguous = 0
    for call in calls:
        if call.status != TOO_MANY or not call.who or call.name in _QUEUE_ENDPOINTS:
            continue
        if not call.quota:
            undeserved.append(f"{call.name} for {call.who} (not a quota call)")
            continue
        w = window(call.t0)
        if window(call.t1) != w:
            ambiguous += 1  # straddles two windows: the server's count cannot be known from here
            continue
        spent = sum(
            1
            for other in mine[call.who]
            if other.t1 <= call.t0
            and (200 <= other.status < 300 or other.status == records.NO_ANSWER)
            and _counted_in(other, w)
        )
        if spent < scenario.commands_per_minute:
            undeserved.append(f"{call.name} for {call.who} after {spent} of {scenario.commands_per_minute}")
    figure = f"{len(undeserved)} undeserved ({ambiguous} at a window's edge not judged)"
    return Check("no 429 to an attendee under their quota", not undeserved, figure, tuple(undeserved[:20])), ambiguous


def _budget_refusals(calls: Sequence[Call], scenario: Scenario) -> Check:
    """A browser step queued in a minute whose GitHub budget was not spent is contention, not a full budget."""
    steps = [c for c in calls if c.name == records.BROWSER]
    trips: Counter[int] = Counter()
    for step in steps:
        if step.status not in _NO_GITHUB_TRIP:
            for w in range(window(step.t0), window(step.t1) + 1):
                trips[w] += 1  # generous to the app: a trip counts in every window it may have used
    # Queued: the app's wait page (the played browser follows its refresh), or a 429 to the step.
    queued = [c for c in calls if c.name == records.BROWSER_QUEUED] + [c for c in steps if c.status == TOO_MANY]
    early = [c for c in queued if trips[window(c.t0)] < scenario.sign_ins_per_minute]
    details = tuple(
        f"window {window(c.t0)}: queued with at most {trips[window(c.t0)]} of {scenario.sign_ins_per_minute} used"
        for c in early[:20]
    )
    figure = f"{len(queued)} browser steps queued, {len(early)} of them with budget left"
    return Check("sign-ins queued only when the app's GitHub budget is spent", not early, figure, details)


def _tokens(sign_ins: Sequence[SignIn]) -> Check:
    consenting = [s for s in sign_ins if s.consented]
    missing = [s.who for s in consenting if s.token_at is None]
    declined = [s for s in sign_ins if not s.consented]
    leaked = [s.who for s in declined if s.token_at is not None or s.denied_at is None]
    problems = (*(f"{who}: no token" for who in missing[:20]), *(f"{who}: declined, yet" for who in leaked))
    figure = f"{len(consenting) - len(missing)} of {len(consenting)} consenting got a token; {len(declined)} declined"
    return Check("every consenting attendee got a token, no declining one did", not problems, figure, problems)


def _wave(calls: Sequence[Call], sign_ins: Sequence[SignIn], scenario: Scenario, when: Phases) -> Check:
    took = when.wave_end - when.start
    signing_in = len(sign_ins)
    fastest, slowest = scenario.wave_bounds(signing_in)
    trips = sorted(c.t1 for c in calls if c.name == records.BROWSER and c.status not in _NO_GITHUB_TRIP)
    busiest_hour = max((sum(1 for u in trips if t <= u < t + _HOUR) for t in trips), default=0)
    # A trip that began and ended in one window certainly used that window's budget.
    certain = Counter(
        window(c.t0)
        for c in calls
        if c.name == records.BROWSER and c.status not in _NO_GITHUB_TRIP and window(c.t0) == window(c.t1)
    )
    busiest_window = max(certain.values(), default=0)
    problems: list[str] = []
    if took > slowest:
        problems.append(f"slower than the budget allows: {took:.0f} s > {slowest:.0f} s")
    if took < fastest:
        problems.append(f"faster than the budget allows: {took:.0f} s < {fastest:.0f} s (the cap did not hold)")
    if busiest_window > scenario.sign_ins_per_minute:
        problems.append(f"{busiest_window} GitHub trips in one minute > the budget of {scenario.sign_ins_per_minute}")
    if busiest_hour > GITHUB_TOKEN_REQUESTS_PER_HOUR:
        problems.append(f"{busiest_hour} GitHub trips within an hour > {GITHUB_TOKEN_REQUESTS_PER_HOUR}")
    figure = (
        f"{signing_in} sign-ins in {took:.0f} s (bound {fastest:.0f}-{slowest:.0f} s at "
        f"{scenario.sign_ins_per_minute}/min); GitHub trips: busiest minute {busiest_window}, hour {busiest_hour}"
    )
    return Check("the wave completes at the rate GitHub's cap allows", not problems, figure, tuple(problems))


def _expected(calls: Sequence[Call], names: Iterable[str], statuses: frozenset[int], label: str) -> Check:
    wanted = set(names)
    mine = [c for c in calls if c.name in wanted]
    wrong = Counter(f"{c.name}: {c.status}" for c in mine if c.status not in statuses)
    figure = f"{len(mine) - sum(wrong.values())} of {len(mine)} as expected"
    return Check(label, not wrong, figure, tuple(f"{k} x{v}" for k, v in wrong.most_common()))


def _latency(
    calls: Sequence[Call], probe: Sequence[Call], scenario: Scenario, when: Phases
) -> tuple[Check, dict[str, float]]:
    unloaded = [c.ms for c in probe if c.name == records.COMMAND and c.status == ACCEPTED]
    steady = [c.ms for c in calls if c.name == records.COMMAND and c.t0 >= when.wave_end and c.status != 0]
    median = statistics.median(unloaded) if unloaded else math.nan
    p99 = percentile(steady, 99)
    ratio = p99 / median if unloaded and steady else math.nan
    bound = scenario.max_p99_ratio
    passed = bool(steady and unloaded) and (bound is None or ratio <= bound)
    figure = (
        f"steady p99 {p99:.0f} ms over {len(steady)} commands = {ratio:.1f}x the unloaded median {median:.1f} ms"
        + ("" if bound is None else f" (bound {bound:g}x)")
    )
    details = () if steady and unloaded else ("no steady-phase commands or no unloaded probe to compare",)
    return Check(LATENCY, passed, figure, details), {
        "unloaded_command_median_ms": median,
        "steady_command_p99_ms": p99,
        "steady_command_p50_ms": percentile(steady, 50),
        "steady_p99_over_unloaded_median": ratio,
    }


def judge(
    scenario: Scenario,
    calls: Sequence[Call],
    sign_ins: Sequence[SignIn],
    stored: Sequence[StoredLight],
    probe: Sequence[Call],
) -> Verdict:
    """Every check of the run, and its headline figures. Calls the end of the run cut off count only where
    their effect may show: in storage."""
    everything = calls
    calls = answered(calls)
    when = phases(calls, sign_ins)
    verdict = Verdict()
    undeserved, ambiguous = _undeserved_429s(calls, scenario)
    latency, latency_figures = _latency(calls, probe, scenario, when)
    verdict.checks = [
        _no_server_errors([*calls, *probe]),
        _stored_exactly_once([*everything, *probe], stored),
        undeserved,
        _budget_refusals(calls, scenario),
        _tokens(sign_ins),
        _wave(calls, sign_ins, scenario, when),
        _expected(calls, [records.TOKEN_REFRESH], frozenset({200}), "every refresh rotated the pair"),
        _expected(calls, [records.ERASE], frozenset({204}), "every erasure answered 204"),
        _expected(calls, [records.AFTER_ERASE], frozenset({401}), "an erased attendee's token stops working"),
        _expected(calls, _ABUSE_ENDPOINTS, ABUSE_STATUSES, "abusive calls refused with a 4xx"),
        latency,
    ]
    tokens = [s for s in sign_ins if s.token_at is not None]
    verdict.figures = {
        "calls": len(calls),
        "calls_cut_off_by_the_end": len(everything) - len(calls),
        "seconds": round(when.end - when.start, 1),
        "wave_seconds": round(when.wave_end - when.start, 1),
        "wave_fastest_seconds": scenario.wave_bounds(len(sign_ins))[0],
        "wave_slowest_seconds": scenario.wave_bounds(len(sign_ins))[1],
        "sign_ins_with_token": len(tokens),
        "sign_in_restarts": sum(max(0, s.starts - 1) for s in sign_ins),
        "browser_steps_queued": sum(s.queued for s in sign_ins),
        "commands_accepted": sum(1 for c in calls if c.name == records.COMMAND and c.status == ACCEPTED),
        "commands_refused_429": sum(1 for c in calls if c.name == records.COMMAND and c.status == TOO_MANY),
        "quota_429s_at_window_edge": ambiguous,
        "stored_lights": len(stored),
        **latency_figures,
    }
    return verdict
