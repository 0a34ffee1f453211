"""The local stack for a rehearsal: Azurite, the GitHub stand-in and the API, each its own process on 127.0.0.1.

Started as `make local` starts them (dev.local), on free ports and a fresh state folder, so that a
rehearsal never meets another run's data or ports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.conference_day.scenario import Scenario
from dev.local import (
    ROOT,
    AzuritePorts,
    api_environment,
    free_port,
    new_client_secret,
    start_azurite,
    wait_for_port,
)

# uvicorn closes an idle connection after 5 s by default: exactly RFC 8628's poll interval, so a
# device's next poll meets the close and is reset (seen in the first rehearsal: 69 of 18,369 calls).
# Browsers retry such a request on a new connection; the load generator's HTTP library does not. In
# Azure the platform's front end holds the client connections, so the rehearsal keeps them longer
# than any client's idle gap (think times, poll intervals) instead of counting an artefact of the
# local server as a failure of the app.
KEEP_ALIVE_SECONDS = 75


@dataclass(frozen=True)
class LocalStack:
    """Where the running stack answers, and the emulator's account to read storage with."""

    api_url: str
    github_url: str
    storage: AzuritePorts


def _settings(scenario: Scenario) -> dict[str, str]:
    return {
        "EVENTSTACK_COMMANDS_PER_MINUTE": str(scenario.commands_per_minute),
        "EVENTSTACK_SIGN_INS_PER_MINUTE": str(scenario.sign_ins_per_minute),
        "EVENTSTACK_TOKEN_TTL_MINUTES": str(scenario.token_minutes),
    }


@contextmanager
def running(scenario: Scenario, state_dir: Path) -> Iterator[LocalStack]:
    """Start the three processes; stop them (and only them) on the way out."""
    ports = AzuritePorts(free_port(), free_port(), free_port())
    api_port, github_port = free_port(), free_port()
    github_url = f"http://127.0.0.1:{github_port}"
    settings = api_environment(
        api_port, github_url, ports, state_dir, new_client_secret(), overrides=_settings(scenario)
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(start_azurite(ports, state_dir / "azurite"))
        github = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dev.github_standin",
                "--port",
                str(github_port),
                "--client-id",
                settings["EVENTSTACK_GITHUB_CLIENT_ID"],
                "--callback-url",
                f"{settings['EVENTSTACK_TOKEN_ISSUER']}/api/auth/callback",
                "--latency-ms",
                str(scenario.github_latency_ms),
            ],
            cwd=ROOT,
            env={**os.environ, "EVENTSTACK_GITHUB_CLIENT_SECRET": settings["EVENTSTACK_GITHUB_CLIENT_SECRET"]},
        )
        processes.append(github)
        wait_for_port(github_port, github)
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "eventapi.app:create_app_from_environment",
                "--factory",
                "--app-dir",
                str(ROOT / "function_code"),
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--no-proxy-headers",
                "--no-server-header",
                "--no-access-log",
                "--timeout-keep-alive",
                str(KEEP_ALIVE_SECONDS),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, **settings},
        )
        processes.append(api)
        wait_for_port(api_port, api)
        yield LocalStack(f"http://127.0.0.1:{api_port}", github_url, ports)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
