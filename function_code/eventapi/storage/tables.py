"""The one layer that talks to the Azure Tables SDK: clients per table, error translation, purge.

Filters are always parameterized and written with spaces around every token, e.g.
"( PartitionKey eq @pk )": the SDK substitutes parameters by splitting on spaces.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from eventapi.direct_transport import DIRECT_TRANSPORT

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient, TableEntity, TableServiceClient

# The SDK (azure.data.tables, azure.core) loads on the first storage call, not with the app:
# health, the privacy notice and the sign-in pages answer a cold instance without it.

ATTENDEES = "attendees"
SESSIONS = "sessions"
DEVICE_CODES = "devicecodes"
LIGHTS = "lights"
QUOTAS = "quotas"
TABLES: tuple[str, ...] = (ATTENDEES, SESSIONS, DEVICE_CODES, LIGHTS, QUOTAS)

# Every row carries the moment it was written; retention purges on it.
WRITTEN_AT = "written_at"

P = ParamSpec("P")
R = TypeVar("R")
Entity = dict[str, Any]


class StorageUnavailable(Exception):  # noqa: N818 - reads as the condition it reports
    """Table storage did not answer; the caller may retry later."""


class Conflict(Exception):  # noqa: N818 - reads as the condition it reports
    """A conditional write lost: the row changed, appeared or vanished since it was read."""


def translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Conditional-write failures become Conflict; any other SDK failure becomes StorageUnavailable."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from azure.core.exceptions import (
            AzureError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.data.tables import TableTransactionError

        try:
            return func(*args, **kwargs)
        except Conflict:
            raise
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError, TableTransactionError) as error:
            raise Conflict(type(error).__name__) from error
        except AzureError as error:
            raise StorageUnavailable(type(error).__name__) from error

    return wrapper


def etag_of(row: TableEntity) -> str:
    """The ETag a conditional update of `row` must match."""
    return str(row.metadata["etag"])


class Tables:
    """The app's tables: point reads, partition queries and conditional writes, nothing wider."""

    def __init__(self, connect: Callable[[], TableServiceClient]) -> None:
        self._connect = connect
        self._service: TableServiceClient | None = None
        self._table_clients: dict[str, TableClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_azure(cls, table_endpoint: str, credential: TokenCredential, **options: Any) -> Tables:
        """Identity-based access; the infrastructure has created the tables."""

        def connect() -> TableServiceClient:
            from azure.data.tables import TableServiceClient

            return TableServiceClient(endpoint=table_endpoint, credential=credential, **DIRECT_TRANSPORT, **options)

        return cls(connect)

    @classmethod
    def for_azurite(cls, connection_string: str, **options: Any) -> Tables:
        """The emulator; creates the tables the infrastructure makes in Azure."""
        from azure.data.tables import TableServiceClient

        service = TableServiceClient.from_connection_string(connection_string, **DIRECT_TRANSPORT, **options)
        for name in TABLES:
            service.create_table_if_not_exists(name)
        return cls(lambda: service)

    @property
    def _clients(self) -> dict[str, TableClient]:
        if not self._table_clients:
            with self._lock:
                if not self._table_clients:
                    service = self._connect()
                    self._service = service
                    self._table_clients.update({name: service.get_table_client(name) for name in TABLES})
        return self._table_clients

    @translate_errors
    def get(self, table: str, partition: str, row: str) -> TableEntity | None:
        """One row by its keys, or None."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._clients[table].get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    @translate_errors
    def partition(self, table: str, partition: str, select: Sequence[str] | None = None) -> list[TableEntity]:
        """Every row of one partition (never a query on a property that is not a key)."""
        return list(
            self._clients[table].query_entities(
                "( PartitionKey eq @pk )", parameters={"pk": partition}, select=list(select) if select else None
            )
        )

    @translate_errors
    def newest(self, table: str, partition: str, limit: int) -> list[TableEntity]:
        """The first `limit` rows of a partition in row-key order."""
        pages = self._clients[table].query_entities(
            "( PartitionKey eq @pk )", parameters={"pk": partition}, results_per_page=limit
        )
        found: list[TableEntity] = []
        for row in pages:
            found.append(row)
            if len(found) >= limit:
                break
        return found

    @translate_errors
    def create(self, table: str, entity: Entity) -> str:
        """Insert a row that must not exist yet (Conflict if it does); return its ETag."""
        result = self._clients[table].create_entity(entity)
        return str(result.get("etag", ""))

    @translate_errors
    def create_beside(self, table: str, present_row: str, entity: Entity) -> str:
        """Insert `entity` only while row `present_row` of its partition exists (Conflict otherwise).

        One entity-group transaction: a merge of nothing into `present_row` with If-Match: * (it
        fails when the row is gone) and the insert. Both happen, or neither. Returns the new ETag
        of `present_row`.
        """
        from azure.data.tables import UpdateMode

        guard = {"PartitionKey": entity["PartitionKey"], "RowKey": present_row}
        results = self._clients[table].submit_transaction(
            [("update", guard, {"mode": UpdateMode.MERGE}), ("create", entity)]
        )
        return str(results[0].get("etag", ""))

    @translate_errors
    def upsert(self, table: str, entity: Entity) -> None:
        """Insert or merge a row, unconditionally."""
        from azure.data.tables import UpdateMode

        self._clients[table].upsert_entity(entity, mode=UpdateMode.MERGE)

    @translate_errors
    def replace(self, table: str, entity: Entity, etag: str) -> str:
        """Replace a row only if it still has `etag` (Conflict otherwise, also when it was deleted)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        result = self._clients[table].update_entity(
            entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
        )
        return str(result.get("etag", ""))

    @translate_errors
    def delete(self, table: str, partition: str, row: str, etag: str | None = None) -> None:
        """Delete a row; with `etag`, only if unchanged (Conflict otherwise). A missing row is deleted."""
        from azure.core import MatchConditions

        client = self._clients[table]
        if etag is None:
            client.delete_entity(partition, row)
        else:
            client.delete_entity(partition, row, etag=etag, match_condition=MatchConditions.IfNotModified)

    @translate_errors
    def delete_partition(self, table: str, partition: str) -> int:
        """Delete every row of one partition; return how many."""
        rows = self.partition(table, partition, select=["PartitionKey", "RowKey"])
        for row in rows:
            self._clients[table].delete_entity(partition, str(row["RowKey"]))
        return len(rows)

    @translate_errors
    def purge(self, written_before: datetime | None) -> dict[str, int]:
        """Delete rows written before `written_before` (every row when None); count per table.

        The retention timer's job, not a request path: it is the one place that reads whole tables.
        """
        removed: dict[str, int] = {}
        for name in TABLES:
            client = self._clients[name]
            rows: Iterator[TableEntity]
            if written_before is None:
                rows = iter(client.list_entities(select=["PartitionKey", "RowKey"]))
            else:
                rows = iter(
                    client.query_entities(
                        f"( {WRITTEN_AT} lt @cutoff )",
                        parameters={"cutoff": written_before},
                        select=["PartitionKey", "RowKey"],
                    )
                )
            doomed = list(rows)
            for row in doomed:
                client.delete_entity(str(row["PartitionKey"]), str(row["RowKey"]))
            removed[name] = len(doomed)
        return removed
