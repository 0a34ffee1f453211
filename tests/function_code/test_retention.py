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
from eventapi.storage.counters import CounterStore
from eventapi.storage.device_codes import DeviceCodeStore, DeviceGrant, DeviceStatus
from eventapi.storage.lights import LightStore
from eventapi.storage.sessions import SessionStore, new_id
from eventapi.storage.tables import TABLES, Tables

from dev.local import AzuritePorts, api_environment, free_port, new_client_secret, start_azurite
from tests.function_code.conftest import rows_mentioning

pytestmark = pytest.mark.azurite

# A timeline far from every other test's rows: the purge below cannot reach theirs.
NOW = datetime(2020, 1, 3, 12, 0, tzinfo=UTC)
JUST_INSIDE = NOW - timedelta(hours=48) + timedelta(seconds=1)
JUST_OUTSIDE = NOW - timedelta(hours=48) - timedelta(seconds=1)


def _settings(azurite: AzuritePorts, tmp_path: Path, ends_at: datetime) -> Settings:
    settings = load_settings(api_environment(7071, "http://127.0.0.1:7072", azurite, tmp_path, new_client_secret()))
    return replace(settings, event_ends_at=ends_at, retention=timedelta(hours=48))


def _write_everything(tables: Tables, attendee: str, at: datetime) -> set[str]:
    """One row (at least) in each table for `attendee`, written at `at`; returns values that identify them."""
    family = new_id()
    session = SessionStore(tables).sign_in(
        attendee,
        "login-key",
        now=at,
        expires_at=at + timedelta(hours=1),
        family_id=family,
        token_hash="hash",
        max_families=5,
    )
    light_id = LightStore(tables).add("solid", "ff0000", at)
    subject = f"ip-{secrets.token_hex(8)}"
    CounterStore(tables).take(subject, "000000000001", 10, at)
    device_key, user_key = secrets.token_hex(32), secrets.token_hex(32)
    DeviceCodeStore(tables).create(
        DeviceGrant(device_key, user_key, DeviceStatus.PENDING, at, 5, None, 0, "", "", "", at, "")
    )
    return {attendee, session.session_id, family, light_id, subject, device_key, user_key}


def test_purge_removes_exactly_the_rows_older_than_the_window(
    azurite: AzuritePorts, store: Tables, tables: TableServiceClient, tmp_path: Path
) -> None:
    old = _write_everything(store, f"old{secrets.token_hex(8)}", JUST_OUTSIDE)
    kept = _write_everything(store, f"new{secrets.token_hex(8)}", JUST_INSIDE)

    removed = purge(store, _settings(azurite, tmp_path, ends_at=NOW + timedelta(days=1)), NOW)

    assert rows_mentioning(tables, old) == []
    assert {table for table, _ in rows_mentioning(tables, kept)} == set(TABLES)
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
    store = Tables.for_azurite(empty_azurite.connection_string)
    tables = TableServiceClient.from_connection_string(empty_azurite.connection_string)
    recent = _write_everything(store, "recent", NOW - timedelta(minutes=5))
    settings = _settings(empty_azurite, tmp_path, ends_at=NOW - timedelta(hours=48))

    before_deadline = purge(store, settings, NOW - timedelta(seconds=1))
    assert sum(before_deadline.values()) == 0
    assert {table for table, _ in rows_mentioning(tables, recent)} == set(TABLES)

    purge(store, settings, NOW)
    for name in TABLES:
        assert list(tables.get_table_client(name).list_entities()) == []


def test_the_purge_runs_as_a_command(azurite: AzuritePorts, tmp_path: Path) -> None:
    import subprocess
    import sys

    env = api_environment(7071, "http://127.0.0.1:7072", azurite, tmp_path, new_client_secret())
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
