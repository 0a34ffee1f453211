"""Fixed-window counters for what is not an attendee: client addresses, callers, the whole app, one user code.

A hot counter (a venue's NAT address, the app-wide GitHub budget) is spread over shards: rows of
one partition, each with its own share of the window's limit. A request takes one unit from a
random shard with room, so concurrent instances rarely race for the same row, and the shares add up
to the limit exactly. A lost race is retried with a fresh read: contention is never read as "full".
Only when every shard is at its share is the window full.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime

from eventapi.storage.tables import QUOTAS, WRITTEN_AT, Conflict, StorageUnavailable, Tables, etag_of

# How many lost races one request tolerates before it gives up. Far above what real contention
# produces (each lost race means another request *was* counted), so reaching it means the table
# is unwell: the request then fails as "unavailable, retry" (503), never as "full" (429).
MAX_CONFLICTS = 64
_BACKOFF_SECONDS = 0.004
# Shards for a hot counter. Eight rows take eight times the concurrent writers of one, and a
# full-window check reads at most eight rows.
HOT_SHARDS = 8


class CounterBusy(StorageUnavailable):
    """The counter lost MAX_CONFLICTS races in a row: unknown, not full."""


@dataclass(frozen=True)
class Budget:
    """A window's limit split over `shards` rows (at most one row per unit)."""

    limit: int
    shards: int = 1

    def shares(self) -> list[int]:
        """Each shard's share of the limit; they add up to `limit`."""
        count = max(1, min(self.shards, self.limit))
        base, extra = divmod(self.limit, count)
        return [base + (1 if i < extra else 0) for i in range(count)]


def _row_key(window: str, shard: int) -> str:
    return f"{window}-{shard:02d}"


class CounterStore:
    """Sharded rows per subject and window, counted with optimistic concurrency so every instance agrees."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def take(self, subject: str, window: str, limit: int, now: datetime, *, shards: int = 1) -> bool:
        """Count one event for `subject` in `window`; False once every shard holds its share of `limit`.

        Raises CounterBusy (a StorageUnavailable) only after MAX_CONFLICTS lost races.
        """
        shares = Budget(limit, shards).shares()
        order = random.sample(range(len(shares)), len(shares))
        conflicts = 0
        while order:
            shard = order[0]
            row = self._tables.get(QUOTAS, subject, _row_key(window, shard))
            count = 0 if row is None else int(row["count"])
            if count >= shares[shard]:
                order.pop(0)  # this shard's share is spent: try the next one
                continue
            entity = {"PartitionKey": subject, "RowKey": _row_key(window, shard), "count": count + 1, WRITTEN_AT: now}
            try:
                if row is None:
                    self._tables.create(QUOTAS, entity)
                else:
                    self._tables.replace(QUOTAS, entity, etag_of(row))
            except Conflict:
                conflicts += 1
                if conflicts >= MAX_CONFLICTS:
                    raise CounterBusy("counter contention") from None
                # Someone else was counted on this row: move on to another shard (it may have room).
                order.append(order.pop(0))
                time.sleep(random.uniform(0, _BACKOFF_SECONDS * min(conflicts, 8)))  # noqa: S311 - jitter
                continue
            return True
        return False

    def spent(self, subject: str, window: str, limit: int, *, shards: int = 1) -> bool:
        """Whether every shard of `subject`'s window holds its share of `limit` (reads only)."""
        shares = Budget(limit, shards).shares()
        for shard, share in enumerate(shares):
            row = self._tables.get(QUOTAS, subject, _row_key(window, shard))
            if row is None or int(row["count"]) < share:
                return False
        return True
