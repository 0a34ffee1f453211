"""`make conference-day`: start the local stack, let the hall in with Locust, judge the run, write the report.

    python -m bench.conference_day [--attendees N] [--duration 10m] [...]   (see --help)

Exits 1 if a check fails. Everything listens on 127.0.0.1; Locust stops by itself after --duration.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.conference_day import checks, records, report
from bench.conference_day.records import Call, SignIn
from bench.conference_day.scenario import PROBE_COLOR_BASE, SCENARIO_ENV, Handover, Scenario
from bench.conference_day.stack import LocalStack, running
from dev.local import ROOT

DEFAULT_OUT = ROOT / "build" / "conference-day"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PROBE_COMMANDS = 20
PROBE_GITHUB_ID = 69_999_999
# Locust lets a user finish its current task for this long after --duration before it stops it.
STOP_TIMEOUT_SECONDS = 20
_TIMEOUT = 30.0


def _duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def parse(argv: list[str]) -> tuple[Scenario, Path]:
    """The scenario from the command line (defaults: Scenario's)."""
    defaults = Scenario()
    parser = argparse.ArgumentParser(prog="python -m bench.conference_day", description=__doc__)
    parser.add_argument("--attendees", type=int, default=defaults.attendees)
    parser.add_argument("--duration", type=_duration, default=defaults.duration_seconds, help="e.g. 600, 10m, 1h")
    parser.add_argument("--arrival", type=_duration, default=defaults.arrival_seconds, help="e.g. 2m")
    parser.add_argument("--walls", type=int, default=defaults.walls)
    parser.add_argument("--join-pages", type=int, default=defaults.join_pages)
    parser.add_argument("--abusers", type=int, default=defaults.abusers)
    parser.add_argument("--commands-per-minute", type=int, default=defaults.commands_per_minute)
    parser.add_argument("--sign-ins-per-minute", type=int, default=defaults.sign_ins_per_minute)
    parser.add_argument("--token-minutes", type=int, default=defaults.token_minutes)
    parser.add_argument("--think", type=float, nargs=2, default=defaults.think_seconds, metavar=("MIN", "MAX"))
    parser.add_argument("--github-latency-ms", type=float, default=defaults.github_latency_ms)
    parser.add_argument("--decline-fraction", type=float, default=defaults.decline_fraction)
    parser.add_argument("--erase-fraction", type=float, default=defaults.erase_fraction)
    parser.add_argument("--max-p99-ratio", type=float, default=defaults.max_p99_ratio, help="0: report only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        scenario = Scenario(
            attendees=args.attendees,
            duration_seconds=args.duration,
            arrival_seconds=args.arrival,
            walls=args.walls,
            join_pages=args.join_pages,
            abusers=args.abusers,
            commands_per_minute=args.commands_per_minute,
            sign_ins_per_minute=args.sign_ins_per_minute,
            token_minutes=args.token_minutes,
            think_seconds=(args.think[0], args.think[1]),
            github_latency_ms=args.github_latency_ms,
            decline_fraction=args.decline_fraction,
            erase_fraction=args.erase_fraction,
            max_p99_ratio=args.max_p99_ratio or None,
        )
    except ValueError as error:
        parser.error(str(error))
    return scenario, args.out


def _timed(client: httpx.Client, name: str, method: str, url: str, **kwargs: Any) -> tuple[Call, httpx.Response]:
    t0 = time.time()
    response = client.request(method, url, **kwargs)
    color = str(kwargs.get("json", {}).get("color", "")) if name == records.COMMAND else ""
    light_id = str(response.json().get("id", "")) if response.status_code == checks.ACCEPTED else ""
    call = Call(
        t0, time.time(), name, response.status_code, records.PROBE, "probe", name == records.COMMAND, color, light_id
    )
    return call, response


def unloaded_probe(stack: LocalStack) -> list[Call]:
    """One attendee alone on the stack: signs in, then sends PROBE_COMMANDS commands one after another."""
    calls: list[Call] = []
    with httpx.Client(base_url=stack.api_url, timeout=_TIMEOUT) as client:
        started = client.post("/api/auth/device").json()
        approved = httpx.post(
            f"{stack.github_url}/approve",
            json={"user_code": started["user_code"], "login": "probe", "id": PROBE_GITHUB_ID},
            timeout=_TIMEOUT,
        )
        approved.raise_for_status()
        time.sleep(started["interval"])
        pair = client.post("/api/auth/token", json={"device_code": started["device_code"]})
        pair.raise_for_status()
        auth = {"Authorization": f"Bearer {pair.json()['access_token']}"}
        for n in range(PROBE_COMMANDS):
            body = {"pattern": "pulse", "color": f"{PROBE_COLOR_BASE + n:06x}"}
            call, _ = _timed(client, records.COMMAND, "POST", "/api/lights", json=body, headers=auth)
            calls.append(call)
    return calls


def stored_lights(stack: LocalStack) -> list[checks.StoredLight]:
    """Every row of the lights table, as Azurite holds it."""
    sys.path.insert(0, str(ROOT / "function_code"))
    from azure.data.tables import TableServiceClient
    from eventapi.storage.tables import LIGHTS

    service = TableServiceClient.from_connection_string(stack.storage.connection_string)
    rows = service.get_table_client(LIGHTS).list_entities(select=["id", "color"])
    return [checks.StoredLight(str(row["id"]), str(row["color"])) for row in rows]


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1_5_15": [round(x, 2) for x in load],
    }


def rehearse(scenario: Scenario, out: Path) -> dict[str, Any]:
    """Run the whole rehearsal; return the summary (its "passed" says whether every check held)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    machine = {"before": _machine()}
    with running(scenario, out / "state") as stack:
        probe = unloaded_probe(stack)
        handover = Handover(scenario, str(out), stack.github_url)
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            stack.api_url,
            "--users",
            str(scenario.users),
            "--spawn-rate",
            f"{scenario.spawn_rate:.3f}",
            "--run-time",
            f"{scenario.duration_seconds}s",
            "--stop-timeout",
            str(STOP_TIMEOUT_SECONDS),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--web-host",
            "127.0.0.1",
        ]
        with (out / "locust.log").open("w") as log:
            subprocess.run(
                command,
                cwd=ROOT,
                env={**os.environ, SCENARIO_ENV: handover.to_env()},
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=scenario.duration_seconds + STOP_TIMEOUT_SECONDS + 120,
                check=False,
            )
        stored = stored_lights(stack)
    machine["after"] = _machine()
    calls = list(records.read(out / records.CALLS_FILE, Call))
    sign_ins = list(records.read(out / records.SIGN_INS_FILE, SignIn))
    verdict = checks.judge(scenario, calls, sign_ins, stored, probe)
    calls = checks.answered(calls)
    when = checks.phases(calls, sign_ins)
    return report.write(
        out, scenario=scenario, verdict=verdict, calls=calls, sign_ins=sign_ins, when=when, machine=machine
    )


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    # As SystemExit, so that the stack's `finally` stops Locust, the stand-in, uvicorn and Azurite.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    scenario, out = parse(sys.argv[1:] if argv is None else argv)
    print(f"conference day: {scenario.users} clients for {scenario.duration_seconds} s; report in {out}", flush=True)
    summary = rehearse(scenario, out)
    for check in summary["checks"]:
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['figure']}")
        for detail in check["details"][:5]:
            print(f"          {detail}")
    print(f"report: {out / report.PAGE_FILE}")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
