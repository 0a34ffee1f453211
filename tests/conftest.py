"""Shared fixtures: fresh Pulumi mocks for every test, and offline runs of the whole program."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import cache
from typing import Any

import pulumi
import pytest

from dev.offline import ProgramRun, RecordingMonitor, StackMocks, reset_runtime, run_program


def _ensure_event_loop() -> None:
    """Pulumi's mocks need the thread's current event loop; an `asyncio.run` in an earlier test of
    the same process (in any order, under xdist) leaves none."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow scenarios run first: started last, one of them would be the tail of a parallel run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def fresh_mocks() -> Iterator[RecordingMonitor]:
    """Every test starts from new mocks and an empty runtime, so no state leaks between tests."""
    _ensure_event_loop()
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
    """Run the whole program with the dev stack's config plus `overrides` (camelCase keys)."""
    return run_program("dev", overrides)
