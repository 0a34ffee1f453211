"""Fixed-window counters for what is not an attendee: client addresses, the whole app, one device code."""

from __future__ import annotations

import random
import time
from datetime import datetime

from eventapi.storage.tables import QUOTAS, WRITTEN_AT, Conflict, Tables, etag_of

# A venue's NAT address or the app-wide cap is one hot row: many instances race on it. Each lost
# race backs off a little longer, with jitter, so the racers spread out instead of colliding again.
_MAX_ATTEMPTS = 12
_BACKOFF_SECONDS = 0.005


class CounterStore:
    """One row per subject and window, counted with optimistic concurrency so every instance agrees."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def take(self, subject: str, window: str, limit: int, now: datetime) -> bool:
        """Count one event for `subject` in `window`; False once the window holds `limit`.

        A lost race is retried with a fresh read a few times, then counted as full rather than
        let through uncounted.
        """
        for attempt in range(_MAX_ATTEMPTS):
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
                time.sleep(random.uniform(0, _BACKOFF_SECONDS * (attempt + 1)))  # noqa: S311 - jitter, not a secret
                continue
            return True
        return False
