"""The inbox's recorder on PostgreSQL, in a module of its own: psycopg and the library's PostgreSQL module
are imported only when a PostgreSQL inbox is opened (``Inbox.open`` names it by its topic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg.sql import SQL, Identifier

from nodes.federation.inbox_proofs import insert_proofs


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
        # of the pipelined insert; this way the batch's one wait, after the events, raises it (IntegrityError, as a
        # stream version stored twice does) and the transaction rolls back whole, as before.
        table = SQL("{0}.{1}").format(Identifier(datastore.schema), Identifier(self.tracking_table_name))
        self._track_statement = SQL(
            "WITH moved AS (INSERT INTO {0} (application_name, notification_id) VALUES (%(name)s, %(position)s) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id "
            "WHERE {0}.notification_id < excluded.notification_id RETURNING 1) "
            "INSERT INTO {0} (application_name, notification_id) SELECT NULL, %(position)s "
            "WHERE NOT EXISTS (SELECT 1 FROM moved)").format(table)

    def _insert_tracking(self, curs: Any, tracking: Tracking) -> None:
        curs.execute(self._track_statement, {"name": tracking.application_name,
                                             "position": tracking.notification_id}, prepare=True)

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Called by eventsourcing inside the transaction that stores the events.
        super()._insert_events(curs, stored_events, **kwargs)
        insert_proofs(curs, self.datastore.schema, kwargs.get("proofs") or ())
