"""The only module that talks to Azure Table storage: every row the API keeps goes through here.

Filters are always parameterized and written with spaces around every token, e.g.
"( PartitionKey eq @pk )": the SDK substitutes parameters by splitting on spaces.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableServiceClient, UpdateMode

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

ATTENDEES = "attendees"
SESSIONS = "sessions"
LIGHTS = "lights"
QUOTAS = "quotas"
TABLES: tuple[str, ...] = (ATTENDEES, SESSIONS, LIGHTS, QUOTAS)

# Every row carries the moment it was written; retention purges on it.
WRITTEN_AT = "written_at"
_ATTENDEE_ROW = "attendee"
_SESSION_ROW = "session"
# Lights are bucketed by hour so the wall reads one or two partitions, newest first.
_WALL_BUCKET_FORMAT = "wall-%Y%m%d%H"
_MAX_TICKS = 10**13


P = ParamSpec("P")
R = TypeVar("R")


class StorageUnavailable(Exception):  # noqa: N818 - reads as the condition it reports
    """Table storage did not answer; the caller may retry later."""


class Conflict(Exception):  # noqa: N818 - reads as the condition it reports
    """A conditional write lost a race; the caller retries with fresh data."""


@dataclass(frozen=True)
class Session:
    """A signed-in session: the token's subject, tied to an attendee key."""

    session_id: str
    attendee_key: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Light:
    """A light command as stored."""

    light_id: str
    attendee_key: str
    pattern: str
    color: str
    created_at: datetime


@dataclass(frozen=True)
class Counter:
    """A quota counter row and the ETag its next update must match."""

    count: int
    etag: str | None


def _translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (Conflict, ResourceNotFoundError):
            raise
        except AzureError as error:
            raise StorageUnavailable(type(error).__name__) from error

    return wrapper


class TableStore:
    """Attendees, sessions, lights and quota counters in the four tables."""

    def __init__(self, service: TableServiceClient) -> None:
        self._service = service
        self._tables: dict[str, TableClient] = {name: service.get_table_client(name) for name in TABLES}

    @classmethod
    def for_azure(cls, table_endpoint: str, credential: TokenCredential) -> TableStore:
        """Identity-based access; the infrastructure has created the tables."""
        return cls(TableServiceClient(endpoint=table_endpoint, credential=credential))

    @classmethod
    def for_azurite(cls, connection_string: str) -> TableStore:
        """The emulator, with its well-known key; creates the tables the infrastructure makes in Azure."""
        store = cls(TableServiceClient.from_connection_string(connection_string))
        for name in TABLES:
            store._service.create_table_if_not_exists(name)
        return store

    # Attendees -----------------------------------------------------------------------------

    @_translate_errors
    def record_attendee(self, attendee_key: str, now: datetime) -> None:
        """Create the attendee row, or refresh its timestamp on a later sign-in."""
        self._tables[ATTENDEES].upsert_entity(
            {"PartitionKey": attendee_key, "RowKey": _ATTENDEE_ROW, WRITTEN_AT: now}, mode=UpdateMode.MERGE
        )

    @_translate_errors
    def attendee(self, attendee_key: str) -> dict[str, str] | None:
        """The attendee row as the caller may see it, or None."""
        try:
            row = self._tables[ATTENDEES].get_entity(attendee_key, _ATTENDEE_ROW)
        except ResourceNotFoundError:
            return None
        return {"key": attendee_key, "last_sign_in": row[WRITTEN_AT].isoformat()}

    # Sessions ------------------------------------------------------------------------------

    @_translate_errors
    def create_session(self, session: Session) -> None:
        """Store a new session; its id is the token's subject."""
        self._tables[SESSIONS].create_entity(
            {
                "PartitionKey": session.session_id,
                "RowKey": _SESSION_ROW,
                "attendee": session.attendee_key,
                "expires_at": session.expires_at,
                WRITTEN_AT: session.created_at,
            }
        )

    @_translate_errors
    def session(self, session_id: str) -> Session | None:
        """The session behind a token, or None when erased, revoked or purged."""
        try:
            row = self._tables[SESSIONS].get_entity(session_id, _SESSION_ROW)
        except ResourceNotFoundError:
            return None
        return Session(session_id, str(row["attendee"]), row[WRITTEN_AT], row["expires_at"])

    @_translate_errors
    def sessions_of(self, attendee_key: str) -> list[Session]:
        """Every session of one attendee."""
        rows = self._tables[SESSIONS].query_entities("( attendee eq @attendee )", parameters={"attendee": attendee_key})
        return [Session(str(r["PartitionKey"]), attendee_key, r[WRITTEN_AT], r["expires_at"]) for r in rows]

    # Lights --------------------------------------------------------------------------------

    @_translate_errors
    def add_light(self, attendee_key: str, pattern: str, color: str, now: datetime) -> str:
        """Store a command for the wall and return its id."""
        light_id = secrets.token_hex(16)
        ticks = int(now.timestamp() * 1000)
        self._tables[LIGHTS].create_entity(
            {
                "PartitionKey": now.strftime(_WALL_BUCKET_FORMAT),
                # Inverted time first: ascending row keys read newest first.
                "RowKey": f"{_MAX_TICKS - ticks:013d}-{light_id}",
                "id": light_id,
                "attendee": attendee_key,
                "pattern": pattern,
                "color": color,
                WRITTEN_AT: now,
            }
        )
        return light_id

    @_translate_errors
    def recent_lights(self, now: datetime, limit: int) -> list[Light]:
        """The newest commands of the current and the previous hour, newest first."""
        found: list[Light] = []
        for hour in (now, now - timedelta(hours=1)):
            rows = self._tables[LIGHTS].query_entities(
                "( PartitionKey eq @bucket )",
                parameters={"bucket": hour.strftime(_WALL_BUCKET_FORMAT)},
                results_per_page=limit,
            )
            for row in rows:
                found.append(_light(row))
                if len(found) >= limit:
                    return found
        return found

    @_translate_errors
    def lights_of(self, attendee_key: str) -> list[Light]:
        """Every command one attendee sent."""
        rows = self._tables[LIGHTS].query_entities("( attendee eq @attendee )", parameters={"attendee": attendee_key})
        return sorted((_light(r) for r in rows), key=lambda light: light.created_at, reverse=True)

    # Quotas --------------------------------------------------------------------------------

    @_translate_errors
    def read_counter(self, subject: str, window: str) -> Counter:
        """The count in one quota window, and the ETag to update it with."""
        try:
            row = self._tables[QUOTAS].get_entity(subject, window)
        except ResourceNotFoundError:
            return Counter(0, None)
        return Counter(int(row["count"]), str(row.metadata["etag"]))

    @_translate_errors
    def write_counter(self, subject: str, window: str, counter: Counter, now: datetime) -> None:
        """Write count+1 only if nobody else wrote since `counter` was read; raise Conflict if they did."""
        entity = {"PartitionKey": subject, "RowKey": window, "count": counter.count + 1, WRITTEN_AT: now}
        table = self._tables[QUOTAS]
        try:
            if counter.etag is None:
                table.create_entity(entity)
            else:
                table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=counter.etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError) as error:
            raise Conflict from error
        except ResourceNotFoundError as error:
            raise Conflict from error

    @_translate_errors
    def counter_rows(self, subject: str) -> int:
        """How many quota windows are kept for one subject."""
        rows = self._tables[QUOTAS].query_entities("( PartitionKey eq @subject )", parameters={"subject": subject})
        return sum(1 for _ in rows)

    # Erasure and retention -----------------------------------------------------------------

    @_translate_errors
    def erase_attendee(self, attendee_key: str, quota_subjects: Iterable[str]) -> None:
        """Delete every row about one attendee: lights, quota counters, sessions, then the attendee."""
        for light in self._tables[LIGHTS].query_entities(
            "( attendee eq @attendee )", parameters={"attendee": attendee_key}, select=["PartitionKey", "RowKey"]
        ):
            self._delete(LIGHTS, light)
        for subject in quota_subjects:
            for row in self._tables[QUOTAS].query_entities(
                "( PartitionKey eq @subject )", parameters={"subject": subject}, select=["PartitionKey", "RowKey"]
            ):
                self._delete(QUOTAS, row)
        # Sessions go last but one: until they are gone the token still resolves, so a failure
        # half-way leaves the caller able to retry the erasure.
        for row in self._tables[SESSIONS].query_entities(
            "( attendee eq @attendee )", parameters={"attendee": attendee_key}, select=["PartitionKey", "RowKey"]
        ):
            self._delete(SESSIONS, row)
        self._tables[ATTENDEES].delete_entity(attendee_key, _ATTENDEE_ROW)

    @_translate_errors
    def purge(self, written_before: datetime | None) -> dict[str, int]:
        """Delete rows written before `written_before` (every row when None); count per table."""
        removed: dict[str, int] = {}
        for name in TABLES:
            if written_before is None:
                rows: Iterator[TableEntity] = iter(self._tables[name].list_entities(select=["PartitionKey", "RowKey"]))
            else:
                rows = iter(
                    self._tables[name].query_entities(
                        f"( {WRITTEN_AT} lt @cutoff )",
                        parameters={"cutoff": written_before},
                        select=["PartitionKey", "RowKey"],
                    )
                )
            removed[name] = sum(self._delete(name, row) for row in list(rows))
        return removed

    def _delete(self, table: str, row: TableEntity) -> int:
        # delete_entity already treats a missing row as deleted.
        self._tables[table].delete_entity(str(row["PartitionKey"]), str(row["RowKey"]))
        return 1


def _light(row: TableEntity) -> Light:
    return Light(
        light_id=str(row["id"]),
        attendee_key=str(row["attendee"]),
        pattern=str(row["pattern"]),
        color=str(row["color"]),
        created_at=row[WRITTEN_AT],
    )
