"""The registry's log on PostgreSQL: the library's recorder, its tables created by one process at a time.

A module of its own so that psycopg and the library's PostgreSQL module are imported only when a
PostgreSQL store is opened (``storage.registry_env`` names this recorder by its topic).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.errors import DuplicateObject
from psycopg.sql import SQL, Identifier

from ledger.errors import EncodingError

#: Key of the PostgreSQL advisory lock held while the registry's tables are created.
_DDL_LOCK = 0x61726D73  # "arms"


class OneCreatorAtATime(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, creating its type, table and function under an
    advisory lock: every command opens the store and runs that DDL, and PostgreSQL fails
    concurrent ``CREATE TYPE`` / ``CREATE OR REPLACE FUNCTION`` ("tuple concurrently updated").

    The table gets an index by (topic, position): reads of one kind of record (the trace
    requests about a weapon, the partners' cosignatures) would otherwise read the whole log."""

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    # No IF NOT EXISTS for types: a savepoint keeps the transaction alive.
                    with contextlib.suppress(DuplicateObject), cursor.connection.transaction():
                        cursor.execute(statement, prepare=False)
            self._create_table(cursor)
            by_topic = SQL("CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (topic, notification_id)")
            cursor.execute(by_topic.format(index=Identifier(f"{self.events_table_name}_by_topic"),
                                           schema=Identifier(self.datastore.schema),
                                           table=Identifier(self.events_table_name)))
        self.datastore.register_type_adapters()

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None, lte: int | None = None,
                      desc: bool = False, limit: int | None = None) -> Sequence[StoredEvent]:
        """The library's read of a stream, with a NULL ``state`` (a damaged row: the library fails on
        ``bytes(None)``) reported as ``EncodingError`` naming the stream and version, as the mapper
        reports any other unreadable row on either backend."""
        try:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        except TypeError:
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(SQL("SELECT originator_version FROM {schema}.{table} WHERE originator_id = %s "
                                   "AND state IS NULL ORDER BY originator_version LIMIT 1").format(
                                       schema=Identifier(self.datastore.schema),
                                       table=Identifier(self.events_table_name)), (originator_id,))
                found = cursor.fetchone()
            if found is None:
                raise
            raise EncodingError(f"stored record {originator_id} version {found['originator_version']}: "
                                "its state is NULL, not bytes") from None
