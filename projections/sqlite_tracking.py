"""eventsourcing's SQLite tracking statements, on a tracking table of one's own.

The library's SQLite recorders name their tracking table "tracking" whatever the
application, so every follower of one file would share it. The views and the inbox
each keep their own table, so clearing one never moves the other's positions.
"""

from __future__ import annotations

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
