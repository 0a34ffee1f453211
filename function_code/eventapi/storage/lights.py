"""The wall: commands bucketed by hour, newest first, with no link to who sent them.

A command is stored once, here, as what the wall shows (pattern, color, time): nothing in the row
leads back to an attendee, so there is nothing personal to erase and nothing for an erasure to race.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from eventapi.storage.tables import LIGHTS, WRITTEN_AT, Tables

if TYPE_CHECKING:
    from azure.data.tables import TableEntity

# The wall reads one or two partitions, newest first.
_BUCKET_FORMAT = "wall-%Y%m%d%H"
_MAX_TICKS = 10**13


@dataclass(frozen=True)
class Light:
    """A command as the wall shows it."""

    light_id: str
    pattern: str
    color: str
    created_at: datetime


def _light(row: TableEntity) -> Light:
    return Light(str(row["id"]), str(row["pattern"]), str(row["color"]), row[WRITTEN_AT])


class LightStore:
    """Append commands; read the newest."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def add(self, pattern: str, color: str, now: datetime) -> str:
        """Store a command for the wall and return its id."""
        light_id = secrets.token_hex(16)
        ticks = int(now.timestamp() * 1000)
        self._tables.create(
            LIGHTS,
            {
                "PartitionKey": now.strftime(_BUCKET_FORMAT),
                # Inverted time first: ascending row keys read newest first.
                "RowKey": f"{_MAX_TICKS - ticks:013d}-{light_id}",
                "id": light_id,
                "pattern": pattern,
                "color": color,
                WRITTEN_AT: now,
            },
        )
        return light_id

    def recent(self, now: datetime, limit: int) -> list[Light]:
        """The newest commands of the current and the previous hour, newest first."""
        found: list[Light] = []
        for hour in (now, now - timedelta(hours=1)):
            rows = self._tables.newest(LIGHTS, hour.strftime(_BUCKET_FORMAT), limit - len(found))
            found.extend(_light(row) for row in rows)
            if len(found) >= limit:
                break
        return found
