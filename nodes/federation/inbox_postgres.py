"""The inbox's recorder on PostgreSQL, in a module of its own: psycopg and the library's PostgreSQL module
are imported only when a PostgreSQL inbox is opened (``Inbox.open`` names it by its topic)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg.errors import UniqueViolation
from psycopg.sql import SQL, Composed, Identifier

from nodes.federation.inbox_proofs import KeptProof, insert_proofs, table_name
from nodes.registry.postgres_recorder import insert_events_body
from nodes.registry.storage import columns

#: From this many rows a batch is written by ``COPY`` (a few round trips more than the pipeline, a fraction of
#: its client CPU per row); fewer, as one or two records on the latency path, by one statement (``_insert_small``).
COPY_FROM = 32
#: Key of the PostgreSQL advisory lock held while the inbox's insert function is created.
_DDL_LOCK = 0x696E6278  # "inbx"


class PostgresInboxRecorder(PostgresProcessRecorder):
    """The library's PostgreSQL process recorder, which also writes the kept proofs in the same transaction,
    and whose position statement fails by itself when the position does not move."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        if not datastore.single_row_tracking:
            raise ValueError("the inbox needs single-row tracking (SINGLE_ROW_TRACKING=yes)")
        super().__init__(datastore, **kwargs)
        # The library's single-row rule (one row per name, its position only raised), in one statement that fails
        # as a constraint violation (a NULL name) when the row is there at or beyond the position: another ingest
        # recorded first. The library reads the upsert's answer back to tell that, a wait of its own in the middle
        # of the insert; this way the insert's one wait raises it (IntegrityError, as a stream version stored twice
        # does) and the transaction rolls back whole, as before.
        self._track_statement = self._tracking_rule(SQL("%(name)s"), SQL("%(position)s"))

    def _tracking_rule(self, name: SQL, position: SQL) -> Composed:
        """The tracking statement of ``_track_statement``, ``name`` and ``position`` the expressions given."""
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.tracking_table_name))
        return SQL(
            "WITH moved AS (INSERT INTO {0} (application_name, notification_id) VALUES ({1}, {2}) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id "
            "WHERE {0}.notification_id < excluded.notification_id RETURNING 1) "
            "INSERT INTO {0} (application_name, notification_id) SELECT NULL, {2} "
            "WHERE NOT EXISTS (SELECT 1 FROM moved)").format(table, name, position)

    def _insert_tracking(self, curs: Any, tracking: Tracking) -> None:
        curs.execute(self._track_statement, {"name": tracking.application_name,
                                             "position": tracking.notification_id}, prepare=True)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """As the library's, with the kept ``proofs``. A batch written by ``COPY`` returns only the id of its
        newest row (read under the table's lock, so it is ours): the inbox asks for no more (``Inbox.record``)."""
        tracking, proofs, chains = kwargs.get("tracking"), kwargs.get("proofs") or (), kwargs.get("chains") or {}
        if self.datastore.enable_db_functions and not chains:
            return super().insert_events(stored_events, **kwargs)
        if len(stored_events) < COPY_FROM:
            return self._insert_small(stored_events, tracking, proofs, chains)
        return [self._copy_events(stored_events, tracking, proofs, chains)]

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:
            # Processes that open the inbox at once would fail each other's CREATE OR REPLACE FUNCTION ("tuple
            # concurrently updated"): one at a time.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            cursor.execute(self._insert_function_statement(), prepare=False)

    @property
    def _insert_function(self) -> Identifier:
        return Identifier(self.datastore.schema, f"armsledger_receive_{self.events_table_name}")

    def _insert_function_statement(self) -> Composed:
        """A small batch's insert as one function (``_insert_small``): the tracking row by ``_track_statement``'s
        rule, the proofs, when there are events the log's insert (``insert_events_body``: the table's lock, the
        NOTIFY, the events, their positions returned), and the check of the chains (``_changed_chain``)."""
        return SQL(
            "CREATE OR REPLACE FUNCTION {function}(events {event}[], track_name TEXT, track_position BIGINT, "
            "proof_origins TEXT[], proof_streams TEXT[], proof_versions BIGINT[], proof_sizes BIGINT[], "
            "proof_indexes BIGINT[], proof_paths BYTEA[], chain_streams UUID[], chain_counts BIGINT[]) "
            "RETURNS SETOF BIGINT LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "    IF track_name IS NOT NULL THEN {track}; END IF; "
            "    INSERT INTO {proofs} (origin, stream, version, checkpoint_size, leaf_index, audit_path) "
            "        SELECT * FROM unnest(proof_origins, proof_streams, proof_versions, proof_sizes, proof_indexes, "
            "        proof_paths) ON CONFLICT (origin, stream, version) DO NOTHING; "
            "    IF cardinality(events) > 0 THEN {insert} END IF; "
            "    IF EXISTS ({chains}) THEN RAISE EXCEPTION 'a received chain changed since it was read' "
            "    USING ERRCODE = 'integrity_constraint_violation'; END IF; "
            "END $$").format(function=self._insert_function,
                             event=Identifier(self.datastore.schema, self.stored_event_type_name),
                             track=self._tracking_rule(SQL("track_name"), SQL("track_position")),
                             proofs=SQL(table_name(self.datastore.schema)), insert=insert_events_body(self),
                             chains=self._changed_chain(SQL("chain_streams"), SQL("chain_counts")))

    def _changed_chain(self, streams: SQL, counts: SQL) -> Composed:
        """A query of the first of ``streams`` that does not hold the count of ``counts`` at its place
        (``InboxBatch.chains``), none if each does. Run after the batch's rows and, when it has some, under the
        table's lock (``insert_events_body``, ``_lock_table``), which every writer of the inbox takes to insert:
        the counts are those the batch commits with."""
        table = Identifier(self.datastore.schema, self.events_table_name)
        return SQL("SELECT c.stream FROM unnest({streams}, {counts}) AS c(stream, versions) "
                   "WHERE (SELECT count(*) FROM {table} WHERE originator_id = c.stream) <> c.versions LIMIT 1").format(
            streams=streams, counts=counts, table=table)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_small(self, stored_events: Sequence[StoredEvent], tracking: Tracking | None,
                      proofs: Sequence[KeptProof], chains: Mapping[uuid.UUID, int]) -> list[int]:
        # The library's insert in one statement, the call of ``_insert_function``, in its own transaction: one round
        # trip, and one statement's work here (the library's pipeline opens psycopg's transaction(), which waits for
        # its begin, and syncs before its commit and again at it: five waits for one record, strace; the same
        # statements in one pipeline, as the sealer's were, cost one wait but eight statements). Any statement's
        # error (a position that does not move, a stream version held already: IntegrityError) fails the call,
        # and its transaction stores nothing.
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                for e in stored_events]
        # %b: in binary. In text, psycopg quotes the composites and the arrays of bytes by regular expression: 71
        # against 36 us of CPU to adapt one record's arguments with its proof.
        statement = SQL("SELECT * FROM {0}(%b::{1}[], %b::text, %b::bigint, %b::text[], %b::text[], %b::bigint[], "
                        "%b::bigint[], %b::bigint[], %b::bytea[], %b::uuid[], %b::bigint[]) "
                        "AS inserted(position)").format(
            self._insert_function, Identifier(self.datastore.schema, self.stored_event_type_name))
        arguments = (rows, tracking.application_name if tracking else None,
                     tracking.notification_id if tracking else None, *columns((proof.row() for proof in proofs), 6),
                     list(chains), list(chains.values()))
        with self.datastore.get_connection() as connection:  # in autocommit: the statement is the transaction
            inserted = connection.execute(statement, arguments, prepare=True).fetchall()
        return [row["position"] for row in inserted]

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Called by eventsourcing inside the transaction that stores the events.
        super()._insert_events(curs, stored_events, **kwargs)
        insert_proofs(curs, self.datastore.schema, kwargs.get("proofs") or ())

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _copy_events(self, stored_events: Sequence[StoredEvent], tracking: Tracking | None,
                     proofs: Sequence[KeptProof], chains: Mapping[uuid.UUID, int]) -> int:
        # What the library's insert_events does in its pipeline, with COPY for the rows: the table's lock (so
        # notification ids are committed in their order), the NOTIFY, the tracking row, the events. The
        # library adapts the events as an array of composites and sends the proofs one statement each: about
        # 38 us of this process's CPU per row more than COPY, which cannot run in a pipeline (docs/benchmarks.md,
        # Replication). A taken key raises IntegrityError (translated by the datastore) and writes nothing, as
        # the library's insert does.
        schema = self.datastore.schema
        with self.datastore.transaction(commit=True) as cursor:
            self._lock_table(cursor)
            self._notify_channel(cursor)
            if tracking is not None:
                self._insert_tracking(cursor, tracking)
            events = SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)")
            with cursor.copy(events.format(Identifier(schema, self.events_table_name))) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for event in stored_events:
                    copy.write_row((event.originator_id, event.originator_version, event.topic, event.state))
            # The table is locked until the commit: its newest row is this batch's last.
            cursor.execute(SQL("SELECT max(notification_id) FROM {}").format(
                Identifier(schema, self.events_table_name)))
            row = cursor.fetchone()
            assert row is not None  # an aggregate gives one row
            newest = int(row["max"])
            if chains:
                # In binary: 0.75 against 2 us of CPU here per stream (psycopg's text arrays of UUIDs).
                cursor.execute(self._changed_chain(SQL("%b::uuid[]"), SQL("%b::bigint[]")),
                               (list(chains), list(chains.values())))
                if cursor.fetchone() is not None:  # rolls back what the transaction wrote
                    raise IntegrityError("a received chain changed since it was read")
            if not proofs:
                return newest
            try:
                # Straight into the table, in a savepoint. A proof kept already for one of the records (not met:
                # a record and its proof are written together, and a record held is a duplicate, never kept
                # again) would fail the COPY whole; the statement that keeps such a proof as it is then does.
                with cursor.connection.transaction():
                    with cursor.copy(f"COPY {table_name(schema)} (origin, stream, version, checkpoint_size, "
                                     "leaf_index, audit_path) FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(["text", "text", "int8", "int8", "int8", "bytea"])
                        for proof in proofs:
                            copy.write_row(proof.row())
            except UniqueViolation:
                insert_proofs(cursor, schema, proofs)
            return newest
