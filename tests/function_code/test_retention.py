"""Retention: a purge removes exactly the rows past the window, and everything after the event's end."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from eventapi.retention import purge
from eventapi.settings import Settings, load_settings
from eventapi.store import Counter, Session, TableStore

from dev.local import AzuritePorts, api_environment, free_port, start_azurite
from tests.function_code.conftest import rows_mentioning

pytestmark = pytest.mark.azurite

# A timeline far from every other test's rows: the purge below cannot reach theirs.
NOW = datetime(2020, 1, 3, 12, 0, tzinfo=UTC)
JUST_INSIDE = NOW - timedelta(hours=48) + timedelta(seconds=1)
JUST_OUTSIDE = NOW - timedelta(hours=48) - timedelta(seconds=1)


def _settings(azurite: AzuritePorts, tmp_path: Path, ends_at: datetime) -> Settings:
    settings = load_settings(api_environment(7071, "http://127.0.0.1:7072", azurite, tmp_path))
    return replace(settings, event_ends_at=ends_at, retention=timedelta(hours=48))


def _write_everything(store: TableStore, attendee: str, at: datetime) -> set[str]:
    """One row in each table for `attendee`, written at `at`; returns values that identify them."""
    session_id = secrets.token_hex(16)
    store.record_attendee(attendee, at)
    store.create_session(Session(session_id, attendee, at, at + timedelta(minutes=10)))
    light_id = store.add_light(attendee, "solid", "ff0000", at)
    store.write_counter(f"session-{session_id}", "000000000001", Counter(0, None), at)
    return {attendee, session_id, light_id}


def test_purge_removes_exactly_the_rows_older_than_the_window(
    azurite: AzuritePorts, store: TableStore, tables: TableServiceClient, tmp_path: Path
) -> None:
    old = _write_everything(store, f"old{secrets.token_hex(8)}", JUST_OUTSIDE)
    kept = _write_everything(store, f"new{secrets.token_hex(8)}", JUST_INSIDE)

    removed = purge(store, _settings(azurite, tmp_path, ends_at=NOW + timedelta(days=1)), NOW)

    assert rows_mentioning(tables, old) == []
    assert {table for table, _ in rows_mentioning(tables, kept)} == {"attendees", "sessions", "lights", "quotas"}
    assert all(count >= 1 for count in removed.values())


@pytest.fixture
def empty_azurite(tmp_path: Path) -> Iterator[AzuritePorts]:
    """A separate emulator: this purge deletes every row it can see."""
    ports = AzuritePorts(free_port(), free_port(), free_port())
    process = start_azurite(ports, tmp_path / "azurite")
    yield ports
    process.terminate()
    process.wait(timeout=10)


def test_after_event_end_plus_retention_everything_goes(empty_azurite: AzuritePorts, tmp_path: Path) -> None:
    store = TableStore.for_azurite(empty_azurite.connection_string)
    tables = TableServiceClient.from_connection_string(empty_azurite.connection_string)
    recent = _write_everything(store, "recent", NOW - timedelta(minutes=5))
    settings = _settings(empty_azurite, tmp_path, ends_at=NOW - timedelta(hours=48))

    before_deadline = purge(store, settings, NOW - timedelta(seconds=1))
    assert sum(before_deadline.values()) == 0
    assert len(rows_mentioning(tables, recent)) == 4

    purge(store, settings, NOW)
    for name in ("attendees", "sessions", "lights", "quotas"):
        assert list(tables.get_table_client(name).list_entities()) == []


def test_the_purge_runs_as_a_command(azurite: AzuritePorts, tmp_path: Path) -> None:
    import subprocess
    import sys

    env = api_environment(7071, "http://127.0.0.1:7072", azurite, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "eventapi.retention"],
        cwd=Path(__file__).resolve().parents[2] / "function_code",
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "retention purge removed" in result.stderr
