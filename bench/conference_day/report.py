"""The rehearsal's report: PNG charts (matplotlib), an HTML page that shows them, and a JSON summary."""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.conference_day import records
from bench.conference_day.checks import Phases, Verdict, percentile
from bench.conference_day.records import Call, SignIn
from bench.conference_day.scenario import GITHUB_TOKEN_REQUESTS_PER_HOUR, WINDOW_SECONDS, Scenario

SUMMARY_FILE = "summary.json"
PAGE_FILE = "index.html"
# The same figures as tables for a Markdown page (docs/conference-day/).
FIGURES_FILE = "figures.md"
CHARTS = {
    "rps": "requests.png",
    "latency": "latency.png",
    "sign_ins": "sign_ins.png",
    "statuses": "statuses.png",
}
BIN_SECONDS = 15
# The endpoints whose latency is drawn, in this order.
LATENCY_ENDPOINTS = (
    records.COMMAND,
    records.WALL_READ,
    records.TOKEN_REFRESH,
    records.TOKEN_POLL,
    records.DEVICE,
    records.BROWSER,
    records.ME,
)
_STATUS_COLORS = {"2xx/3xx": "#2e7d32", "4xx (not 429)": "#f9a825", "429": "#ef6c00", "5xx or none": "#c62828"}


def _status_class(status: int) -> str:
    if status == records.NO_ANSWER or status >= 500:
        return "5xx or none"
    if status == 429:
        return "429"
    return "4xx (not 429)" if status >= 400 else "2xx/3xx"


def _minutes(t: float, start: float) -> float:
    return (t - start) / 60


def _bins(calls: Sequence[Call], start: float) -> dict[int, list[Call]]:
    binned: dict[int, list[Call]] = defaultdict(list)
    for call in calls:
        binned[int((call.t0 - start) // BIN_SECONDS)].append(call)
    return binned


def _mark_phases(axis: Any, when: Phases) -> None:
    axis.axvspan(0, _minutes(when.wave_end, when.start), color="#1565c0", alpha=0.07, label="sign-in wave")


def _rps_chart(calls: Sequence[Call], when: Phases, path: Path) -> None:
    binned = _bins(calls, when.start)
    keys = sorted(binned)
    figure, axis = plt.subplots(figsize=(10, 3.6))
    x = [(k * BIN_SECONDS + BIN_SECONDS / 2) / 60 for k in keys]
    axis.plot(x, [len(binned[k]) / BIN_SECONDS for k in keys], label="all calls", color="#37474f")
    commands = [sum(1 for c in binned[k] if c.name == records.COMMAND) / BIN_SECONDS for k in keys]
    axis.plot(x, commands, label=records.COMMAND, color="#6a1b9a")
    _mark_phases(axis, when)
    axis.set(xlabel="minutes since the keynote", ylabel="requests / s", title="Requests per second")
    axis.legend(loc="upper right")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _latency_chart(calls: Sequence[Call], when: Phases, path: Path) -> None:
    shown = [name for name in LATENCY_ENDPOINTS if any(c.name == name for c in calls)]
    rows = math.ceil(len(shown) / 2)
    figure, axes = plt.subplots(rows, 2, figsize=(11, 2.7 * rows), sharex=True, squeeze=False)
    for axis, name in zip(axes.flat, shown, strict=False):
        binned = _bins([c for c in calls if c.name == name and c.status != records.NO_ANSWER], when.start)
        keys = sorted(binned)
        x = [(k * BIN_SECONDS + BIN_SECONDS / 2) / 60 for k in keys]
        for q, color in ((50, "#2e7d32"), (95, "#ef6c00"), (99, "#c62828")):
            axis.plot(x, [percentile([c.ms for c in binned[k]], q) for k in keys], label=f"p{q}", color=color)
        _mark_phases(axis, when)
        axis.set_title(name, fontsize=9)
        axis.set_yscale("log")
        axis.set_ylabel("ms")
        axis.grid(alpha=0.3, which="both")
    for axis in list(axes.flat)[len(shown) :]:
        axis.set_visible(False)
    axes.flat[0].legend(loc="upper right", fontsize=8)
    for axis in axes[-1]:
        axis.set_xlabel("minutes since the keynote")
    figure.suptitle(f"Latency per endpoint ({BIN_SECONDS} s bins)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _sign_in_chart(sign_ins: Sequence[SignIn], scenario: Scenario, when: Phases, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(10, 3.8))
    arrived = sorted(_minutes(s.arrived, when.start) for s in sign_ins)
    tokens = sorted(_minutes(s.token_at, when.start) for s in sign_ins if s.token_at is not None)
    axis.step(arrived, range(1, len(arrived) + 1), where="post", label="attendees arrived", color="#90a4ae")
    axis.step(tokens, range(1, len(tokens) + 1), where="post", label="tokens issued", color="#1565c0")
    end = max(_minutes(when.end, when.start), 1.0)
    github_per_minute = GITHUB_TOKEN_REQUESTS_PER_HOUR / 60
    axis.plot([0, end], [0, github_per_minute * end], "--", color="#c62828", label="GitHub's cap (2,000/h)")
    # The app counts its budget in fixed minutes of the clock: a step at each window's start.
    budget = scenario.sign_ins_per_minute
    first = -(when.start % WINDOW_SECONDS) / 60
    steps = [first + k for k in range(math.ceil(end - first) + 1)]
    axis.step(
        steps,
        [budget * (k + 1) for k in range(len(steps))],
        ":",
        where="post",
        color="#ef6c00",
        label=f"the app's budget ({budget} per clock minute)",
    )
    axis.set_ylim(0, len(arrived) * 1.1 + 1)
    axis.set(xlabel="minutes since the keynote", ylabel="attendees", title="Sign-ins completed against GitHub's cap")
    axis.legend(loc="lower right")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _status_chart(calls: Sequence[Call], when: Phases, path: Path) -> None:
    binned = _bins(calls, when.start)
    keys = sorted(binned)
    x = [(k * BIN_SECONDS + BIN_SECONDS / 2) / 60 for k in keys]
    figure, (over_time, totals) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    stacks = [[sum(1 for c in binned[k] if _status_class(c.status) == cls) for k in keys] for cls in _STATUS_COLORS]
    over_time.stackplot(x, stacks, labels=list(_STATUS_COLORS), colors=list(_STATUS_COLORS.values()))
    over_time.set(xlabel="minutes since the keynote", ylabel=f"answers per {BIN_SECONDS} s", title="Answers by status")
    over_time.legend(loc="upper right", fontsize=8)
    counted = Counter(c.status for c in calls)
    labels = [str(status or "none") for status in sorted(counted)]
    totals.barh(
        labels, [counted[s] for s in sorted(counted)], color=[_STATUS_COLORS[_status_class(s)] for s in sorted(counted)]
    )
    totals.set_xscale("log")
    totals.set(xlabel="answers (log)", title="All answers by status")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def endpoint_table(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """Per endpoint: calls, p50/p95/p99/max in ms, and answers by status."""
    by_name: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_name[call.name].append(call)
    table = []
    for name, mine in sorted(by_name.items()):
        answered = [c.ms for c in mine if c.status != records.NO_ANSWER]
        table.append(
            {
                "endpoint": name,
                "calls": len(mine),
                **{f"p{q}_ms": round(percentile(answered, q), 1) for q in (50, 95, 99)},
                "max_ms": round(max(answered, default=math.nan), 1),
                "statuses": {str(k): v for k, v in sorted(Counter(c.status for c in mine).items())},
            }
        )
    return table


def write(
    out: Path,
    *,
    scenario: Scenario,
    verdict: Verdict,
    calls: Sequence[Call],
    sign_ins: Sequence[SignIn],
    when: Phases,
    machine: Mapping[str, Any],
) -> dict[str, Any]:
    """Draw the charts, write the page and the summary; return the summary."""
    _rps_chart(calls, when, out / CHARTS["rps"])
    _latency_chart(calls, when, out / CHARTS["latency"])
    _sign_in_chart(sign_ins, scenario, when, out / CHARTS["sign_ins"])
    _status_chart(calls, when, out / CHARTS["statuses"])
    summary = {
        "passed": verdict.passed,
        "scenario": asdict(scenario),
        "machine": dict(machine),
        "figures": verdict.figures,
        "checks": [asdict(check) for check in verdict.checks],
        "endpoints": endpoint_table(calls),
        "charts": CHARTS,
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out / PAGE_FILE).write_text(_page(summary))
    (out / FIGURES_FILE).write_text(markdown(summary))
    return summary


def markdown(summary: Mapping[str, Any]) -> str:
    """The checks and the endpoints as Markdown tables."""
    lines = ["| check | verdict | figure |", "| --- | --- | --- |"]
    for check in summary["checks"]:
        details = "".join(f"<br>{detail}" for detail in check["details"][:3])
        lines.append(f"| {check['name']} | {'pass' if check['passed'] else '**FAIL**'} | {check['figure']}{details} |")
    lines += [
        "",
        "| endpoint | calls | p50 ms | p95 ms | p99 ms | answers |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in summary["endpoints"]:
        answers = ", ".join(f"{status}: {count}" for status, count in row["statuses"].items())
        lines.append(
            f"| {row['endpoint']} | {row['calls']} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f} "
            f"| {answers} |"
        )
    return "\n".join(lines) + "\n"


_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto}"
    "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
    "table{border-collapse:collapse}"
)
_ENDPOINT_HEADER = "".join(
    f"<th>{label}</th>" for label in ("endpoint", "calls", "p50 ms", "p95 ms", "p99 ms", "max ms", "answers")
)


def _page(summary: Mapping[str, Any]) -> str:
    e = html.escape
    checks = "".join(
        f"<tr><td>{'PASS' if c['passed'] else 'FAIL'}</td><td>{e(c['name'])}</td><td>{e(c['figure'])}"
        + "".join(f"<br><small>{e(d)}</small>" for d in c["details"])
        + "</td></tr>"
        for c in summary["checks"]
    )
    endpoints = "".join(
        f"<tr><td>{e(row['endpoint'])}</td><td>{row['calls']}</td><td>{row['p50_ms']}</td><td>{row['p95_ms']}</td>"
        f"<td>{row['p99_ms']}</td><td>{row['max_ms']}</td><td>{e(json.dumps(row['statuses']))}</td></tr>"
        for row in summary["endpoints"]
    )
    figures = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in summary["figures"].items())
    charts = "".join(
        f'<p><img src="{e(name)}" alt="{e(key)}" style="max-width:100%"></p>' for key, name in CHARTS.items()
    )
    verdict = "passed every check" if summary["passed"] else "FAILED a check"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conference day, rehearsed</title>
<style>{_STYLE}</style></head>
<body><h1>Conference day, rehearsed: {e(verdict)}</h1>
<p>Scenario: <code>{e(json.dumps(summary["scenario"]))}</code></p>
<p>Machine: <code>{e(json.dumps(summary["machine"]))}</code></p>
<h2>Checks</h2><table>{checks}</table>
<h2>Figures</h2><table>{figures}</table>
<h2>Charts</h2>{charts}
<h2>Endpoints</h2><table><tr>{_ENDPOINT_HEADER}</tr>{endpoints}</table>
</body></html>
"""
