"""Per-minute quotas counted in the quotas table, so they hold across every instance of the app."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from eventapi.settings import QUOTA_WINDOW
from eventapi.store import Conflict, TableStore

# Optimistic concurrency: a lost race is retried with a fresh read a few times, then counted
# as exhausted rather than let through uncounted.
_MAX_ATTEMPTS = 8


class QuotaExceeded(Exception):  # noqa: N818 - reads as the condition it reports
    """The window is full; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def session_subject(session_id: str) -> str:
    """The quota row key for a session's commands."""
    return f"session-{session_id}"


def ip_subject(ip_hash: str) -> str:
    """The quota row key for a client IP's sign-in requests (the IP itself is never stored)."""
    return f"ip-{ip_hash}"


class Quotas:
    """Fixed one-minute windows: count a request, or raise QuotaExceeded with the wait."""

    def __init__(self, store: TableStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def take(self, subject: str, per_minute: int) -> None:
        """Count one request for `subject`; raise QuotaExceeded when the window already holds `per_minute`."""
        now = self._clock()
        window_seconds = QUOTA_WINDOW.total_seconds()
        window_start = math.floor(now.timestamp() / window_seconds) * window_seconds
        retry_after = max(1, math.ceil(window_start + window_seconds - now.timestamp()))
        window = f"{int(window_start):012d}"
        for _ in range(_MAX_ATTEMPTS):
            counter = self._store.read_counter(subject, window)
            if counter.count >= per_minute:
                raise QuotaExceeded(retry_after)
            try:
                self._store.write_counter(subject, window, counter, now)
            except Conflict:
                continue
            return
        raise QuotaExceeded(retry_after)
