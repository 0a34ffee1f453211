"""Fixed-window counters for what is not an attendee: client addresses, the whole app, one device code."""

from __future__ import annotations

from datetime import datetime

from eventapi.storage.tables import QUOTAS, WRITTEN_AT, Conflict, Tables, etag_of

_MAX_ATTEMPTS = 8


class CounterStore:
    """One row per subject and window, counted with optimistic concurrency so every instance agrees."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def take(self, subject: str, window: str, limit: int, now: datetime) -> bool:
        """Count one event for `subject` in `window`; False once the window holds `limit`.

        A lost race is retried with a fresh read a few times, then counted as full rather than
        let through uncounted.
        """
        for _ in range(_MAX_ATTEMPTS):
            row = self._tables.get(QUOTAS, subject, window)
            count = 0 if row is None else int(row["count"])
            if count >= limit:
                return False
            entity = {"PartitionKey": subject, "RowKey": window, "count": count + 1, WRITTEN_AT: now}
            try:
                if row is None:
                    self._tables.create(QUOTAS, entity)
                else:
                    self._tables.replace(QUOTAS, entity, etag_of(row))
            except Conflict:
                continue
            return True
        return False
