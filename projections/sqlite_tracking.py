"""eventsourcing's SQLite tracking statements, on a tracking table of one's own.

The library's SQLite recorders name their tracking table "tracking" whatever the
application, so every follower of one file would share it. The views and the inbox
each keep their own table, so clearing one never moves the other's positions.
"""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteTrackingRecorder


def use_tracking_table(recorder: SQLiteTrackingRecorder, table: str) -> None:
    """Point ``recorder``'s tracking statements at ``table``, as the library writes them.

    Requires single-row tracking (``SINGLE_ROW_TRACKING=yes``): positions only move
    forward, one row per name. Raises ``ValueError`` otherwise.
    """
    if not recorder.datastore.single_row_tracking:
        raise ValueError(f"{table} needs single-row tracking (SINGLE_ROW_TRACKING=yes)")
    recorder.insert_tracking_statement = (
        f"INSERT INTO {table} VALUES (:application_name, :notification_id) "
        "ON CONFLICT (application_name) DO UPDATE SET notification_id = :notification_id "
        f"WHERE {table}.notification_id < :notification_id RETURNING notification_id"
    )
    recorder.select_max_tracking_id_statement = f"SELECT MAX(notification_id) FROM {table} WHERE application_name=?"


def create_tracking_table(table: str) -> str:
    """The statement that creates ``table`` for ``use_tracking_table``, if missing."""
    return (f"CREATE TABLE IF NOT EXISTS {table} (application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID")


class TablesCreatedByOneAtATime(SQLiteTrackingRecorder):
    """The library's SQLite tracking recorder, whose ``create_table`` survives another process creating the same
    tables at the same moment (two commands opening a new node's file at once).

    The library looks whether the tracking table exists before its write transaction: when both processes look
    before either writes, both insert the table's migration row and the second's insert changes nothing, which
    the library reports as ``IntegrityError`` ("Failed to record tracking for __migration__ 1"). Its transaction
    is rolled back whole; the tables exist now, so the second look finds them and writes nothing.
    """

    def create_table(self) -> None:
        try:
            super().create_table()
        except IntegrityError as e:
            if self.table_migration_identifier not in str(e):
                raise
            super().create_table()
