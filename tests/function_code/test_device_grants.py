"""A device grant changes only as stored: a copy the request already holds saves a read, never a check."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from eventapi.storage.device_codes import DeviceCodeStore, DeviceGrant, DeviceStatus
from eventapi.storage.tables import Tables

pytestmark = pytest.mark.azurite

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _new_grant(devices: DeviceCodeStore) -> DeviceGrant:
    key = secrets.token_hex(16)
    devices.create(
        DeviceGrant(key, f"u{key}", DeviceStatus.PENDING, NOW + timedelta(minutes=15), 5, None, 0, "", "", "", NOW, "")
    )
    grant = devices.by_device(key)
    assert grant is not None
    return grant


def _one_more_step(current: DeviceGrant) -> DeviceGrant:
    return replace(current, browser_steps=current.browser_steps + 1)


def test_a_known_grant_is_written_without_reading_it_again(store: Tables, monkeypatch: pytest.MonkeyPatch) -> None:
    devices = DeviceCodeStore(store)
    grant = _new_grant(devices)
    reads: list[str] = []
    read_device = devices.by_device
    monkeypatch.setattr(devices, "by_device", lambda key: reads.append(key) or read_device(key))

    read, written = devices.change(grant.device_key, _one_more_step, known=grant)

    assert reads == []
    assert read == grant and written is not None
    stored = devices.by_device(grant.device_key)
    assert stored is not None and stored.browser_steps == 1 and stored.etag == written.etag


def test_a_stale_known_grant_loses_its_race_and_the_change_applies_to_what_is_stored(store: Tables) -> None:
    devices = DeviceCodeStore(store)
    stale = _new_grant(devices)
    devices.update(replace(stale, browser_steps=2))  # another request wrote meanwhile

    _, written = devices.change(stale.device_key, _one_more_step, known=stale)

    assert written is not None and written.browser_steps == 3
    stored = devices.by_device(stale.device_key)
    assert stored is not None and stored.browser_steps == 3


def test_a_refusal_seen_on_a_known_grant_is_checked_against_the_stored_one(store: Tables) -> None:
    devices = DeviceCodeStore(store)
    stale = replace(_new_grant(devices), status=DeviceStatus.DENIED)  # the copy says over; the row does not

    def only_if_pending(current: DeviceGrant) -> DeviceGrant | None:
        return _one_more_step(current) if current.status is DeviceStatus.PENDING else None

    read, written = devices.change(stale.device_key, only_if_pending, known=stale)

    assert read is not None and read.status is DeviceStatus.PENDING
    assert written is not None and written.browser_steps == 1


def test_a_known_grant_of_another_device_is_refused(store: Tables) -> None:
    devices = DeviceCodeStore(store)
    grant = _new_grant(devices)
    with pytest.raises(ValueError, match="another device"):
        devices.change("someone-else", _one_more_step, known=grant)
