"""Every key and secret expires at the data-delete-by time (plus a stated margin), pinned against the config."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from components.keyvault import GITHUB_SECRET_NAME, PEPPER_SECRET_NAME, SIGNING_KEY_NAME, STORAGE_KEY_NAME
from components.lifecycle import MAX_EXPIRY_MARGIN, rotated_version_expiry_days
from dev.offline import ProgramRun, RegisteredResource
from tests.conftest import run_with

KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"
# Pulumi.dev.yaml: eventEndsAt 2027-06-05T18:00:00Z, retentionHours 48.
DEV_DELETE_BY = datetime(2027, 6, 7, 18, tzinfo=UTC)
ONE_DAY = timedelta(days=1)


def _vault_item(run: ProgramRun, name: str) -> RegisteredResource:
    (item,) = [r for r in [*run.of_type(KEY), *run.of_type(SECRET)] if name in (r.get("keyName"), r.get("secretName"))]
    return item


def _expires(resource: RegisteredResource) -> datetime:
    value = resource.get("properties.attributes.expires")
    assert isinstance(value, int | float), f"{resource.urn} has no expiry"
    return datetime.fromtimestamp(value, UTC)


def _days(duration: str) -> int:
    match = re.fullmatch(r"P(\d+)D", duration)
    assert match, f"{duration!r} is not an ISO 8601 duration in days"
    return int(match.group(1))


def test_the_signing_key_and_the_github_secret_expire_exactly_at_the_data_delete_by_time(dev_stack: ProgramRun) -> None:
    assert _expires(_vault_item(dev_stack, SIGNING_KEY_NAME)) == DEV_DELETE_BY
    assert _expires(_vault_item(dev_stack, GITHUB_SECRET_NAME)) == DEV_DELETE_BY
    assert dev_stack.outputs["dataDeleteBy"] == "2027-06-07T18:00:00Z"


def test_the_storage_key_and_the_pepper_expire_one_lifecycle_day_later(dev_stack: ProgramRun) -> None:
    assert _expires(_vault_item(dev_stack, STORAGE_KEY_NAME)) == DEV_DELETE_BY + ONE_DAY
    assert _expires(_vault_item(dev_stack, PEPPER_SECRET_NAME)) == DEV_DELETE_BY + ONE_DAY


def test_expiries_are_whole_epoch_seconds(dev_stack: ProgramRun) -> None:
    for resource in [*dev_stack.of_type(KEY), *dev_stack.of_type(SECRET)]:
        value = resource.get("properties.attributes.expires")
        assert value == int(value), resource.urn


def test_every_key_and_secret_expires_within_the_margin_after_the_data_delete_by_time(dev_stack: ProgramRun) -> None:
    items = [*dev_stack.of_type(KEY), *dev_stack.of_type(SECRET)]
    assert len(items) == 4
    for resource in items:
        expires = _expires(resource)
        # Nothing may stop before the data-delete-by time, and nothing may linger past the margin.
        assert DEV_DELETE_BY <= expires <= DEV_DELETE_BY + MAX_EXPIRY_MARGIN, resource.urn
        assert resource.get("properties.attributes.enabled") is True, resource.urn
    assert MAX_EXPIRY_MARGIN == ONE_DAY


@pytest.mark.parametrize(
    ("ends_at", "retention_hours", "delete_by"),
    [
        ("2027-09-10T12:00:00Z", 1, datetime(2027, 9, 10, 13, tzinfo=UTC)),
        ("2027-09-10T12:00:00Z", 168, datetime(2027, 9, 17, 12, tzinfo=UTC)),
        ("2028-02-28T23:30:00Z", 24, datetime(2028, 2, 29, 23, 30, tzinfo=UTC)),
    ],
)
def test_the_event_end_and_the_retention_window_move_every_expiry(
    ends_at: str, retention_hours: int, delete_by: datetime
) -> None:
    run = run_with(eventEndsAt=ends_at, retentionHours=retention_hours)
    assert _expires(_vault_item(run, SIGNING_KEY_NAME)) == delete_by
    assert _expires(_vault_item(run, STORAGE_KEY_NAME)) == delete_by + ONE_DAY
    assert _expires(_vault_item(run, PEPPER_SECRET_NAME)) == delete_by + ONE_DAY
    assert _expires(_vault_item(run, GITHUB_SECRET_NAME)) == delete_by
    assert run.outputs["dataDeleteBy"] == delete_by.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("rotation_days", "expiry_days"), [(7, 28), (21, 28), (30, 37), (365, 372)])
def test_a_rotated_signing_key_version_lives_the_shortest_time_key_vault_accepts(
    rotation_days: int, expiry_days: int
) -> None:
    run = run_with(signingKeyRotationDays=rotation_days)
    policy = _vault_item(run, SIGNING_KEY_NAME).get("properties.rotationPolicy")
    expiry = _days(policy["attributes"]["expiryTime"])
    rotation = _days(policy["lifetimeActions"][0]["trigger"]["timeAfterCreate"])
    assert expiry == expiry_days
    assert rotated_version_expiry_days(rotation_days) == expiry_days
    # Key Vault's own bounds: a version lives at least 28 days, rotated at least 7 days before it expires.
    assert expiry >= 28
    assert expiry - rotation >= 7
    # Any shorter and Key Vault would refuse the policy.
    assert expiry - 1 < 28 or expiry - 1 - rotation < 7
