"""Device codes of our own RFC 8628 authorization server: pending, approved or denied, redeemed once.

Rows are keyed by keyed hashes of the codes, never the codes themselves: whoever reads the table
cannot redeem a code. A device row (its own partition) holds the state; a user-code row points the
verification page at it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from eventapi.storage.tables import DEVICE_CODES, WRITTEN_AT, Conflict, Tables, etag_of

if TYPE_CHECKING:
    from azure.data.tables import TableEntity

_DEVICE_ROW = "device"
# A grant is written by its device's polls and its browser step at once; a change that lost a
# race re-reads and applies itself again. Each lost race means the other writer succeeded.
_MAX_CHANGE_ATTEMPTS = 16
_USER_ROW = "user"


class DeviceStatus(StrEnum):
    """Where a device code stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class DeviceGrant:
    """A device code's row: who approved it (pseudonyms only), how it was polled, its browser steps."""

    device_key: str
    user_key: str
    status: DeviceStatus
    expires_at: datetime
    interval: int
    last_poll: datetime | None
    browser_steps: int
    state_hash: str
    attendee_key: str
    login_key: str
    created_at: datetime
    etag: str
    browser_hash: str = ""
    """Keyed hash of the cookie nonce of the browser that holds the current step's state."""
    claim: str = ""
    """The state hash of a step whose code is being exchanged with GitHub right now (consumed state)."""


def _grant(row: TableEntity) -> DeviceGrant:
    return DeviceGrant(
        device_key=str(row["PartitionKey"]),
        user_key=str(row["user"]),
        status=DeviceStatus(str(row["status"])),
        expires_at=row["expires_at"],
        interval=int(row["interval"]),
        last_poll=row.get("last_poll"),
        browser_steps=int(row["steps"]),
        state_hash=str(row.get("state", "")),
        attendee_key=str(row.get("attendee", "")),
        login_key=str(row.get("login", "")),
        created_at=row[WRITTEN_AT],
        etag=etag_of(row),
        browser_hash=str(row.get("browser", "")),
        claim=str(row.get("claim", "")),
    )


def _entity(grant: DeviceGrant) -> dict[str, object]:
    entity: dict[str, object] = {
        "PartitionKey": grant.device_key,
        "RowKey": _DEVICE_ROW,
        "user": grant.user_key,
        "status": grant.status.value,
        "expires_at": grant.expires_at,
        "interval": grant.interval,
        "steps": grant.browser_steps,
        "state": grant.state_hash,
        "attendee": grant.attendee_key,
        "login": grant.login_key,
        "browser": grant.browser_hash,
        "claim": grant.claim,
        WRITTEN_AT: grant.created_at,
    }
    if grant.last_poll is not None:
        entity["last_poll"] = grant.last_poll
    return entity


class DeviceCodeStore:
    """Create, find, update (conditionally) and redeem device grants."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def create(self, grant: DeviceGrant) -> None:
        """Store a new grant and its user-code pointer; Conflict if the user code is taken (pick another)."""
        self._tables.create(
            DEVICE_CODES,
            {
                "PartitionKey": grant.user_key,
                "RowKey": _USER_ROW,
                "device": grant.device_key,
                "expires_at": grant.expires_at,
                WRITTEN_AT: grant.created_at,
            },
        )
        self._tables.create(DEVICE_CODES, _entity(grant))

    def by_device(self, device_key: str) -> DeviceGrant | None:
        """The grant of a device code's keyed hash."""
        row = self._tables.get(DEVICE_CODES, device_key, _DEVICE_ROW)
        return None if row is None else _grant(row)

    def by_user_code(self, user_key: str) -> DeviceGrant | None:
        """The grant a user code's keyed hash points at."""
        pointer = self._tables.get(DEVICE_CODES, user_key, _USER_ROW)
        return None if pointer is None else self.by_device(str(pointer["device"]))

    def update(self, grant: DeviceGrant) -> DeviceGrant:
        """Write `grant` only if its row is unchanged since it was read (Conflict otherwise)."""
        etag = self._tables.replace(DEVICE_CODES, _entity(grant), grant.etag)
        return replace(grant, etag=etag)

    def change(
        self,
        device_key: str,
        change: Callable[[DeviceGrant], DeviceGrant | None],
        known: DeviceGrant | None = None,
    ) -> tuple[DeviceGrant | None, DeviceGrant | None]:
        """Apply `change` to the current grant, re-reading after each lost race.

        `change` sees the grant as stored and returns the new grant, or None to leave it as it is.
        `known`, a grant of this device just read or written, is tried first without reading again:
        its write is conditional on its ETag, so a stale copy only costs the re-read it saved (and a
        refusal to change is only believed of a fresh read).
        Returns (the grant as last read, the grant as written or None). Conflict only after many
        lost races in a row.
        """
        if known is not None and known.device_key != device_key:
            raise ValueError("known grant is another device's")
        for attempt in range(_MAX_CHANGE_ATTEMPTS):
            trusted = attempt > 0 or known is None
            current = self.by_device(device_key) if trusted else known
            if current is None:
                return None, None
            wanted = change(current)
            if wanted is None:
                if not trusted:
                    continue
                return current, None
            try:
                return current, self.update(wanted)
            except Conflict:
                continue
        raise Conflict("device grant raced too often")

    def redeem(self, grant: DeviceGrant) -> None:
        """Delete the grant if unchanged since read: of two racing polls, only one gets a session."""
        self._tables.delete(DEVICE_CODES, grant.device_key, _DEVICE_ROW, etag=grant.etag)
        self._tables.delete(DEVICE_CODES, grant.user_key, _USER_ROW)
