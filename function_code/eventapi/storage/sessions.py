"""Sessions: one partition per session holds the session row and its refresh-token families.

An attendee has at most one live session; every sign-in of theirs (another device, a new laptop)
joins it as a new refresh-token family. So the per-attendee command quota is one counter on one
row, updated with its ETag: exact across instances, and conditional on the session still existing,
which is what makes erasure and revocation immediate. The attendee index (attendees table, keyed by
the pseudonymised GitHub id) only points a new sign-in at the live session.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from eventapi.storage.tables import ATTENDEES, SESSIONS, WRITTEN_AT, Conflict, Tables, etag_of

if TYPE_CHECKING:
    from azure.data.tables import TableEntity

SESSION_ROW = "session"
ATTENDEE_ROW = "attendee"
FAMILY_PREFIX = "family-"
# Sessions an instance remembers (their ETags), so a command costs one conditional write.
_CACHE_SIZE = 10_000
# A lost race re-reads and tries again a few times, then gives up as "busy" rather than uncounted.
_MAX_ATTEMPTS = 8


class SessionGone(Exception):  # noqa: N818 - reads as the condition it reports
    """The session was revoked, erased or purged."""


@dataclass(frozen=True)
class Session:
    """A signed-in attendee: the token's subject, the pseudonyms it stands for, and its quota window."""

    session_id: str
    attendee_key: str
    login_key: str
    created_at: datetime
    expires_at: datetime
    window: int
    count: int
    commands: int
    etag: str


@dataclass(frozen=True)
class Family:
    """One sign-in's refresh-token chain: only its newest token's keyed hash is kept."""

    family_id: str
    token_hash: str
    generation: int
    created_at: datetime
    renewed_at: datetime | None
    etag: str


def new_id() -> str:
    """128 random bits, meaningless outside these tables."""
    return secrets.token_hex(16)


def _session(row: TableEntity) -> Session:
    return Session(
        session_id=str(row["PartitionKey"]),
        attendee_key=str(row["attendee"]),
        login_key=str(row["login"]),
        created_at=row[WRITTEN_AT],
        expires_at=row["expires_at"],
        window=int(row["window"]),
        count=int(row["count"]),
        commands=int(row["commands"]),
        etag=etag_of(row),
    )


def _session_entity(session: Session) -> dict[str, object]:
    return {
        "PartitionKey": session.session_id,
        "RowKey": SESSION_ROW,
        "attendee": session.attendee_key,
        "login": session.login_key,
        "expires_at": session.expires_at,
        "window": session.window,
        "count": session.count,
        "commands": session.commands,
        WRITTEN_AT: session.created_at,
    }


def _family(row: TableEntity) -> Family:
    return Family(
        family_id=str(row["RowKey"]).removeprefix(FAMILY_PREFIX),
        token_hash=str(row["hash"]),
        generation=int(row["generation"]),
        created_at=row[WRITTEN_AT],
        renewed_at=row.get("used_at"),
        etag=etag_of(row),
    )


class SessionStore:
    """Sessions, their refresh-token families and the attendee index."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._cache: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    # Reading -------------------------------------------------------------------------------

    def cached(self, session_id: str) -> Session | None:
        """This instance's copy of a session, without a read: None when it holds none."""
        with self._lock:
            return self._cache.get(session_id)

    def session(self, session_id: str, *, fresh: bool = False) -> Session | None:
        """The session behind a token; this instance's copy unless `fresh` (writes check it anyway)."""
        if not fresh:
            cached = self.cached(session_id)
            if cached is not None:
                return cached
        row = self._tables.get(SESSIONS, session_id, SESSION_ROW)
        if row is None:
            self._forget(session_id)
            return None
        return self._remember(_session(row))

    def families(self, session_id: str) -> list[Family]:
        """The session's refresh-token families, oldest first (one partition read)."""
        rows = self._tables.partition(SESSIONS, session_id)
        # Written in the same second, families are told apart by the service's own write time.
        ordered = sorted(
            (r for r in rows if str(r["RowKey"]).startswith(FAMILY_PREFIX)),
            key=lambda r: (r[WRITTEN_AT], str(r.metadata.get("timestamp", ""))),
        )
        return [_family(r) for r in ordered]

    def attendee_index(self, attendee_key: str) -> dict[str, str] | None:
        """The attendee row as the attendee may see it."""
        row = self._tables.get(ATTENDEES, attendee_key, ATTENDEE_ROW)
        if row is None:
            return None
        return {"key": attendee_key, "last_sign_in": row[WRITTEN_AT].isoformat()}

    # Signing in ----------------------------------------------------------------------------

    def sign_in(
        self,
        attendee_key: str,
        login_key: str,
        *,
        now: datetime,
        expires_at: datetime,
        family_id: str,
        token_hash: str,
        max_families: int,
    ) -> Session:
        """Join the attendee's live session (or start one) with a new refresh-token family.

        Beyond `max_families` the oldest family is dropped: a lost phone cannot keep a seat, and one
        attendee cannot pile up sign-ins.
        """
        session = self._join_or_start(attendee_key, login_key, now, expires_at)
        try:
            # Only while the session row exists: a family never outlives an erasure that won the race.
            etag = self._tables.create_beside(
                SESSIONS,
                SESSION_ROW,
                {
                    "PartitionKey": session.session_id,
                    "RowKey": FAMILY_PREFIX + family_id,
                    "hash": token_hash,
                    "generation": 0,
                    WRITTEN_AT: now,
                },
            )
        except Conflict:
            self._forget(session.session_id)
            raise SessionGone from None
        # The guard touched the session row: keep its new ETag, so the next command is one write.
        session = self._remember(replace(session, etag=etag))
        families = self.families(session.session_id)
        for stale in families[: max(0, len(families) - max_families)]:
            self._tables.delete(SESSIONS, session.session_id, FAMILY_PREFIX + stale.family_id)
        return session

    def _join_or_start(self, attendee_key: str, login_key: str, now: datetime, expires_at: datetime) -> Session:
        # The index row is written conditionally, so two sign-ins racing for one attendee end in
        # one session: the loser drops the session it made and joins the winner's. Only erasure
        # deletes an index row: a sign-in that saw a live session and then finds no index lost to
        # an erasure, and ends (SessionGone) rather than bring the attendee back.
        joined = False
        for _ in range(_MAX_ATTEMPTS):
            index = self._tables.get(ATTENDEES, attendee_key, ATTENDEE_ROW)
            if index is None and joined:
                raise SessionGone
            live = self._live(index, login_key, now)
            entity = {"PartitionKey": attendee_key, "RowKey": ATTENDEE_ROW, WRITTEN_AT: now}
            if live is not None and index is not None:
                joined = True
                try:
                    self._tables.replace(ATTENDEES, {**entity, "session": live.session_id}, etag_of(index))
                except Conflict:
                    continue
                return live
            session = Session(new_id(), attendee_key, login_key, now, expires_at, 0, 0, 0, "")
            etag = self._tables.create(SESSIONS, _session_entity(session))
            try:
                if index is None:
                    self._tables.create(ATTENDEES, {**entity, "session": session.session_id})
                else:
                    self._tables.replace(ATTENDEES, {**entity, "session": session.session_id}, etag_of(index))
            except Conflict:
                self.revoke(session.session_id)
                continue
            if index is not None:
                # The session it pointed at is over (expired, or the account's login changed):
                # one attendee never holds two sessions, so neither two quotas.
                self.revoke(str(index["session"]))
            return self._remember(replace(session, etag=etag))
        raise Conflict("sign-in raced too often")

    def _live(self, index: TableEntity | None, login_key: str, now: datetime) -> Session | None:
        if index is None:
            return None
        session = self.session(str(index["session"]), fresh=True)
        if session is None or session.expires_at <= now or session.login_key != login_key:
            # A renamed account's login pseudonym changed: start afresh rather than inherit.
            return None
        return session

    # Refresh tokens ------------------------------------------------------------------------

    def family(self, session_id: str, family_id: str) -> Family | None:
        """One refresh-token family, or None once revoked, dropped or erased."""
        row = self._tables.get(SESSIONS, session_id, FAMILY_PREFIX + family_id)
        return None if row is None else _family(row)

    def rotate(self, session_id: str, family: Family, new_hash: str, now: datetime) -> None:
        """Replace the family's token hash, only if nobody rotated it since it was read (Conflict)."""
        self._tables.replace(
            SESSIONS,
            {
                "PartitionKey": session_id,
                "RowKey": FAMILY_PREFIX + family.family_id,
                "hash": new_hash,
                "generation": family.generation + 1,
                "used_at": now,
                WRITTEN_AT: family.created_at,
            },
            family.etag,
        )

    def revoke(self, session_id: str) -> None:
        """End a session and every family in it: the session row goes first, so every token fails at once."""
        self._forget(session_id)
        self._tables.delete(SESSIONS, session_id, SESSION_ROW)
        self._tables.delete_partition(SESSIONS, session_id)

    # Commands ------------------------------------------------------------------------------

    def take_command(self, session_id: str, window: int, per_minute: int, *, command: bool = True) -> bool:
        """Count one request in `window` on the session row; False when the window is full.

        `command` requests (POST /api/lights) also count in the attendee's running total; access and
        erasure requests count against the same per-minute quota without being commands.

        One conditional write when this instance knows the row's ETag: it fails if another
        instance counted meanwhile (then re-read and retry) or if the session is gone (SessionGone).
        """
        session = self.session(session_id)
        for _ in range(_MAX_ATTEMPTS):
            if session is None:
                raise SessionGone
            count = session.count if session.window == window else 0
            if count >= per_minute:
                return False
            updated = replace(session, window=window, count=count + 1, commands=session.commands + int(command))
            try:
                etag = self._tables.replace(SESSIONS, _session_entity(updated), session.etag)
            except Conflict:
                session = self.session(session_id, fresh=True)
                continue
            self._remember(replace(updated, etag=etag))
            return True
        return False

    # Erasure -------------------------------------------------------------------------------

    def erase(self, session: Session) -> int:
        """Delete the session (first, so racing commands and sign-ins fail), its families and the attendee index.

        A sign-in racing the erasure either wrote before (and is deleted here) or fails on its own
        conditional writes (SessionGone): the index and family rows never outlive the erasure.
        """
        self.revoke(session.session_id)
        self._tables.delete(ATTENDEES, session.attendee_key, ATTENDEE_ROW)
        return 1

    # The instance's copy -------------------------------------------------------------------

    def _remember(self, session: Session) -> Session:
        with self._lock:
            self._cache[session.session_id] = session
            self._cache.move_to_end(session.session_id)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return session

    def _forget(self, session_id: str) -> None:
        with self._lock:
            self._cache.pop(session_id, None)
