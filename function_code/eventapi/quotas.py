"""Per-minute quotas, counted in table storage so they hold across every instance of the app.

Keyed on what they protect: an attendee's commands (on their session row, all their sign-ins
together), a client address's and a caller's sign-in starts, the pages of one user code, and the
whole app's calls to GitHub's token endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from eventapi.settings import QUOTA_WINDOW
from eventapi.storage.counters import CounterStore
from eventapi.storage.sessions import SessionStore


def github_sign_ins_subject(client_id: str) -> str:
    """The subject of the app-wide cap on GitHub code exchanges: GitHub counts per OAuth app."""
    return f"github-app-{client_id}"


class QuotaExceeded(Exception):  # noqa: N818 - reads as the condition it reports
    """The window is full; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Window:
    """One fixed quota window: its number (windows since the epoch: fits a table's 32-bit integer for
    millennia) and the seconds until the next one starts."""

    number: int
    retry_after: int

    @property
    def key(self) -> str:
        return f"{self.number:012d}"


def current_window(now: datetime) -> Window:
    """The fixed window `now` falls in."""
    seconds = QUOTA_WINDOW.total_seconds()
    start = math.floor(now.timestamp() / seconds) * seconds
    return Window(int(start // seconds), max(1, math.ceil(start + seconds - now.timestamp())))


def ip_subject(ip_hash: str) -> str:
    """The quota row key for a client address (the address itself is never stored)."""
    return f"ip-{ip_hash}"


class Quotas:
    """Count a request against a quota, or raise QuotaExceeded with the wait."""

    def __init__(self, counters: CounterStore, sessions: SessionStore, clock: Callable[[], datetime]) -> None:
        self._counters = counters
        self._sessions = sessions
        self._clock = clock

    def take(self, subject: str, per_minute: int, *, shards: int = 1) -> None:
        """One request for a subject that is not an attendee (an address, a caller, the whole app).

        `shards` spreads a hot subject (an address, the app) over rows so that it does not serialise.
        """
        now = self._clock()
        window = current_window(now)
        if not self._counters.take(subject, window.key, per_minute, now, shards=shards):
            raise QuotaExceeded(window.retry_after)

    def check(self, subject: str, per_minute: int, *, shards: int = 1) -> None:
        """QuotaExceeded if `subject`'s window is already full; counts nothing."""
        window = current_window(self._clock())
        if self._counters.spent(subject, window.key, per_minute, shards=shards):
            raise QuotaExceeded(window.retry_after)

    def take_command(self, session_id: str, per_minute: int, *, command: bool = True) -> None:
        """One request of the attendee behind `session_id` (SessionGone if it ended meanwhile)."""
        window = current_window(self._clock())
        if not self._sessions.take_command(session_id, window.number, per_minute, command=command):
            raise QuotaExceeded(window.retry_after)
