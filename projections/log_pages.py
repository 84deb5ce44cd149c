"""Pages of a log's stored envelopes, read as (position, bytes) pairs for the views.

The views need only each notification's position and stored bytes. The
library's ``select_notifications`` also builds a ``Notification`` per row with
its originator id as a ``UUID``, which was a tenth of a rebuild; on the
library's own SQLite and PostgreSQL recorders this reads the same rows, in the
same order, with the same statement shape (one SELECT by position, in a read
transaction on SQLite, on its own on PostgreSQL), and only those two columns.
Any other recorder is read through its ``select_notifications``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

if TYPE_CHECKING:  # imported where used: a SQLite node needs no psycopg
    from eventsourcing.postgres import PostgresApplicationRecorder

# The form in which the library writes originator ids on SQLite (``UUID.hex``): such a text is a UUID.
_UUID_HEX = re.compile(r"[0-9a-f]{32}")


class StoredEnvelope(NamedTuple):
    """One notification as the views read it (``projections.batch.StoredNotification``)."""

    id: int
    state: bytes


def read_page(recorder: ApplicationRecorder, start: int, limit: int, stop: int | None = None,
              ) -> Sequence[StoredEnvelope]:
    """Up to ``limit`` notifications of ``recorder`` from position ``start`` (and up to ``stop``,
    if given), in position order: what ``select_notifications(start, limit, stop)`` gives.

    Requires ``start >= 1`` and ``limit >= 1``. Raises what the library's read raises on a row
    it cannot read: ``ValueError`` for an originator id that is not a UUID (SQLite; PostgreSQL
    stores them as ``uuid``), ``TypeError`` for a NULL state on PostgreSQL (on SQLite it is read
    as None, as the library reads it, and ``Envelope.from_bytes`` raises that ``TypeError``).
    """
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_page(recorder, start, limit, stop)
    from eventsourcing.postgres import PostgresApplicationRecorder

    if isinstance(recorder, PostgresApplicationRecorder):
        return _postgres_page(recorder, start, limit, stop)
    read = recorder.select_notifications(start=start, limit=limit, stop=stop) if stop is not None else \
        recorder.select_notifications(start=start, limit=limit)
    return [StoredEnvelope(n.id, n.state) for n in read]


def _sqlite_page(recorder: SQLiteApplicationRecorder, start: int, limit: int, stop: int | None,
                 ) -> list[StoredEnvelope]:
    until, params = ("AND rowid<=? ", (start, stop, limit)) if stop is not None else ("", (start, limit))
    statement = (f"SELECT rowid, state, originator_id FROM {recorder.events_table_name} WHERE rowid>=? {until}"
                 "ORDER BY rowid LIMIT ?")
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, params)
        rows = cursor.sqlite_cursor.fetchall()
    if recorder.datastore.originator_id_type == "uuid":
        match = _UUID_HEX.fullmatch
        for row in rows:
            if type(row[2]) is not str or match(row[2]) is None:
                UUID(row[2])  # raises ValueError as the library's read does; other spellings pass
    return [StoredEnvelope(row[0], row[1]) for row in rows]


def _postgres_page(recorder: PostgresApplicationRecorder, start: int, limit: int, stop: int | None,
                   ) -> list[StoredEnvelope]:
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    statement = SQL("SELECT notification_id, state FROM {schema}.{table} WHERE notification_id>=%s").format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
    params: tuple[Any, ...] = (start, limit)
    if stop is not None:
        statement += SQL(" AND notification_id<=%s")
        params = (start, stop, limit)
    statement += SQL(" ORDER BY notification_id LIMIT %s")
    with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(statement, params, prepare=True)
        return [StoredEnvelope(position, bytes(state)) for position, state in cursor.fetchall()]


def extent(recorder: ApplicationRecorder, until: int | None = None) -> tuple[int, int] | None:
    """(how many notifications, the last one's position) of ``recorder``'s log, up to position ``until`` if
    given; None for a recorder that is not the library's SQLite or PostgreSQL one. (0, 0) for none.

    The log only grows at its end, so the figures up to a position stand once that position is stored.
    """
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = f"SELECT COUNT(*), MAX(rowid) FROM {recorder.events_table_name}"
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement + (" WHERE rowid<=?" if until is not None else ""),
                           (until,) if until is not None else ())
            count, last = cursor.sqlite_cursor.fetchone()
        return count, last or 0
    from eventsourcing.postgres import PostgresApplicationRecorder

    if not isinstance(recorder, PostgresApplicationRecorder):
        return None
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    query = SQL("SELECT COUNT(*), MAX(notification_id) FROM {schema}.{table}").format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
    if until is not None:
        query += SQL(" WHERE notification_id<=%s")
    with recorder.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(query, (until,) if until is not None else ())
        count, last = cursor.fetchone() or (0, None)
    return count, last or 0
