"""The inbox's recorder on PostgreSQL, in a module of its own: psycopg and the library's PostgreSQL module
are imported only when a PostgreSQL inbox is opened (``Inbox.open`` names it by its topic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder

from nodes.federation.inbox_proofs import insert_proofs


class PostgresInboxRecorder(PostgresProcessRecorder):
    """The library's PostgreSQL process recorder, which also writes the kept proofs in the same transaction."""

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Called by eventsourcing inside the transaction that stores the events.
        super()._insert_events(curs, stored_events, **kwargs)
        insert_proofs(curs, self.datastore.schema, kwargs.get("proofs") or ())
