"""The registry's log on PostgreSQL: the library's recorder, its tables created by one process at a time.

A module of its own so that psycopg and the library's PostgreSQL module are imported only when a
PostgreSQL store is opened (``storage.registry_env`` names this recorder by its topic).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
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
    requests about a weapon, the partners' cosignatures) would otherwise read the whole log.

    An insert is one round trip to the server (``insert_events``)."""

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

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert (the table's lock, so positions are committed in their order; its NOTIFY; the
        rows; their positions returned in order) in one round trip: the connection stays in autocommit and the
        begin and the commit are statements of the pipeline. The library's ``transaction()`` inside its pipeline
        waited for its begin, synced once more to raise a taken (stream, version) before the commit, and synced
        again at the commit and at the pipeline's end: five round trips. A failing statement here makes the
        server skip the rest, the commit included; the error is raised at the pipeline's end (the library's
        ``IntegrityError`` for a taken version, by the datastore's translation, as before) and the transaction
        is rolled back (psycopg's connection block, which the pool's is): nothing of the batch is stored."""
        if not stored_events:
            return None
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                for e in stored_events]
        # In autocommit, so the begin is ours; on an error the pool's connection block rolls back what is open.
        with self.datastore.get_connection() as connection:
            with connection.pipeline():
                connection.execute("BEGIN")
                for statement in self.lock_table_statements:
                    connection.execute(statement, prepare=True)
                connection.execute(SQL("NOTIFY {0}").format(Identifier(self.channel_name)))
                inserted = connection.execute(self.insert_events_statement, (rows,), prepare=True)
                connection.execute("COMMIT")
            return [row["notification_id"] for row in inserted.fetchall()]

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
