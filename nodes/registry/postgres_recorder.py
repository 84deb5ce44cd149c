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
from psycopg.sql import SQL, Composed, Identifier

from ledger.errors import EncodingError

#: Key of the PostgreSQL advisory lock held while the registry's tables are created.
_DDL_LOCK = 0x61726D73  # "arms"


def insert_events_body(recorder: PostgresApplicationRecorder) -> Composed:
    """The statements of a plpgsql function that insert its argument ``events`` (an array of ``recorder``'s stored
    event type) into ``recorder``'s table as the library's insert does: the table's lock, so that positions are
    committed in their order, its NOTIFY, the rows; their positions returned (``RETURN QUERY``). A lock taken in a
    function lasts until its transaction ends, after the commit of its rows."""
    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    return SQL(
        "SET LOCAL lock_timeout = '{lock_timeout}s';"
        "    LOCK TABLE {table} IN EXCLUSIVE MODE;"
        "    NOTIFY {channel};"
        "    RETURN QUERY"
        "    INSERT INTO {table} (originator_id, originator_version, topic, state)"
        "    SELECT originator_id, originator_version, topic, state FROM unnest(events)"
        "    RETURNING notification_id;").format(lock_timeout=recorder.datastore.lock_timeout, table=table,
                                                channel=Identifier(recorder.channel_name))


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
            self._create_insert_function(cursor)
        self.datastore.register_type_adapters()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert (the table's lock, so positions are committed in their order; its NOTIFY; the
        rows; their positions returned in order) as one statement, the call of ``_insert_function``, in its
        own transaction: one round trip. (The library's ``transaction()`` in a pipeline took five: it waited
        for its begin, synced to raise a taken (stream, version) before the commit, and synced at the commit
        and at the pipeline's end.) A taken (stream, version) raises the library's ``IntegrityError`` (the
        datastore's translation, as before); whatever fails, the statement's transaction stores nothing."""
        if not stored_events:
            return None
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                for e in stored_events]
        with self.datastore.get_connection() as connection:  # in autocommit: the statement is the transaction
            inserted = connection.execute(self._insert_statement, (rows,), prepare=True).fetchall()
        return [row["position"] for row in inserted]

    @property
    def _insert_function(self) -> Identifier:
        return Identifier(self.datastore.schema, f"armsledger_insert_{self.events_table_name}")

    @property
    def _insert_statement(self) -> Composed:
        # %b: the rows go in binary. In text, psycopg escapes each row's state (the envelope's bytes) with
        # regular expressions: 50-85 µs of CPU a record in batches of 8 against 29-42 in binary.
        return SQL("SELECT * FROM {0}(%b) AS inserted(position)").format(self._insert_function)

    def _create_insert_function(self, cursor: Any) -> None:
        """The insert of ``insert_events``: the library's insert function (``es_insert_events_uuid``, which
        it calls when "db functions" are enabled) with the table's lock its other insert takes."""
        cursor.execute(SQL(
            "CREATE OR REPLACE FUNCTION {function}(events {event}[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$"
            "BEGIN {insert} END $$").format(function=self._insert_function,
                                            event=Identifier(self.datastore.schema, self.stored_event_type_name),
                                            insert=insert_events_body(self)), prepare=False)

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
