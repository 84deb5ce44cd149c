"""The views on SQLite: eventsourcing's ``SQLiteTrackingRecorder`` plus the view tables.

Construct through the library's factory, as its materialised-view examples do::

    InfrastructureFactory.construct(env).tracking_recorder(SQLiteViewStore)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.store import TABLES_DDL, TRACKING_TABLE, VIEW_TABLES, ViewStore

# SQLite's LIKE is case-insensitive (ASCII), so its LIKE optimisation uses an
# index only on a NOCASE column. Serials are stored and searched upper-cased
# (domain.marking.normalise), so NOCASE changes no result.
_DIALECT = {"bytes": "BLOB", "serial": "TEXT COLLATE NOCASE", "pattern_ops": ""}

# SQLite caps bound parameters per statement (32766 since 3.32, 999 before).
_IN_LIST_CHUNK = 900


class SQLiteViewStore(ViewStore, SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        # The library's SQLite tracking table is always called "tracking",
        # shared by every follower of the file; the views keep their own, named
        # as the PostgreSQL factory names it, so rebuild clears only theirs.
        self.insert_tracking_statement = (
            f"INSERT INTO {TRACKING_TABLE} VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = :notification_id "
            f"WHERE {TRACKING_TABLE}.notification_id < :notification_id RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {TRACKING_TABLE} WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        if not self.datastore.single_row_tracking:
            raise ValueError("the views need single-row tracking (SINGLE_ROW_TRACKING=yes)")
        return [
            (f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (application_name TEXT, notification_id INTEGER, "
             "PRIMARY KEY (application_name)) WITHOUT ROWID"),
            *(ddl.format(**_DIALECT) for ddl in TABLES_DDL),
        ]

    def sql(self, statement: str) -> str:
        return statement

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.get_connection(commit=False) as connection:
            cursor = connection.cursor()
            cursor.execute(statement, tuple(params))
            return list(cursor.fetchall())

    def select_in(self, cursor: Any, statement: str, values: Collection[str]) -> list[Any]:
        values = sorted(values)
        rows: list[Any] = []
        for start in range(0, len(values), _IN_LIST_CHUNK):
            chunk = values[start:start + _IN_LIST_CHUNK]
            rows += self.select(cursor, statement.replace("IN ?", f"IN ({', '.join('?' * len(chunk))})"), chunk)
        return rows

    def _clear(self, cursor: Any) -> None:
        for table in VIEW_TABLES:
            cursor.execute(f"DELETE FROM {table}")
        self._clear_tracking(cursor)
