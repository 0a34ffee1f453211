"""Shared fixtures: fresh Pulumi mocks for every test, and offline runs of the whole program."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from functools import cache
from typing import Any

import pulumi
import pytest

from dev.offline import ProgramRun, RecordingMonitor, StackMocks, reset_runtime, run_program
from tests.scheduling import spread_slow

# Pulumi binds process-wide state (its RPC bookkeeping) to the event loop of the first mocked run,
# so every mocked run in a process must use that same loop. Tests share worker processes (xdist):
# an `asyncio.run` in another test leaves the thread with no current loop, and a new one would
# leave Pulumi waiting forever on futures of the old. Each Pulumi test puts this one back.
_PULUMI_LOOP = asyncio.new_event_loop()


# A slow test's expected seconds on two cores when its marker names none (`pytest.mark.slow(seconds=…)`).
DEFAULT_SLOW_SECONDS = 10.0


def _slow_seconds(item: pytest.Item) -> float | None:
    marker = item.get_closest_marker("slow")
    return None if marker is None else float(marker.kwargs.get("seconds", DEFAULT_SLOW_SECONDS))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow scenarios start first, spread over the workers (started last, or all on one worker,
    they would be the tail of a parallel run)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = spread_slow(items, _slow_seconds, workers)


@pytest.fixture(autouse=True)
def fresh_mocks() -> Iterator[RecordingMonitor]:
    """Every test starts from new mocks and an empty runtime, so no state leaks between tests."""
    asyncio.set_event_loop(_PULUMI_LOOP)
    reset_runtime()
    monitor = RecordingMonitor(StackMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project="eventstack", stack="test", preview=False, monitor=monitor)
    yield monitor
    reset_runtime()


@cache
def _dev_stack_run() -> ProgramRun:
    return run_program("dev")


@pytest.fixture
def dev_stack() -> ProgramRun:
    """The whole program, run once per session under fresh mocks with the dev stack's config.

    Read-only: tests that change something run the program themselves with `run_program`.
    """
    return _dev_stack_run()


def run_with(**overrides: Any) -> ProgramRun:
    """The whole program with the dev stack's config plus `overrides` (camelCase keys); read-only.

    Runs with the same overrides share one run per worker (a mocked run costs a second or two).
    """
    return _run_with(json.dumps(overrides, sort_keys=True))


@cache
def _run_with(overrides: str) -> ProgramRun:
    return run_program("dev", json.loads(overrides))
