"""Two processes opening a new node's SQLite file at once both create the tracking tables: the one that looked
before the other wrote must not fail (the library's IntegrityError "Failed to record tracking for __migration__")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eventsourcing.sqlite import SQLiteDatastore

from nodes.federation.inbox import _SQLiteInboxRecorder
from projections.sqlite_store import SQLiteViewStore
from projections.sqlite_tracking import TablesCreatedByOneAtATime


def _looked_before_the_other_wrote(late: TablesCreatedByOneAtATime, early: TablesCreatedByOneAtATime) -> None:
    # ``late`` looks for the tables (none yet), then ``early`` creates them and commits, then ``late`` writes.
    look = late.max_tracking_id

    def look_then_the_other_creates(name: str) -> Any:
        try:
            return look(name)
        finally:
            early.create_table()

    late.max_tracking_id = look_then_the_other_creates  # type: ignore[method-assign]


@pytest.mark.parametrize("kind", [_SQLiteInboxRecorder, SQLiteViewStore])
def test_tables_created_by_another_process_meanwhile_are_taken_as_they_are(tmp_path: Path, kind: Any) -> None:
    db = str(tmp_path / "node.db")
    early_store, late_store = SQLiteDatastore(db), SQLiteDatastore(db)
    try:
        early, late = kind(early_store), kind(late_store)  # neither creates its tables until asked
        _looked_before_the_other_wrote(late, early)

        late.create_table()

        assert late.tracking_migration_current == 1
        with late_store.transaction(commit=False) as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {row[0] for row in cursor.fetchall()}
        assert tables >= _table_names(early)
    finally:
        early_store.close()
        late_store.close()


def _table_names(recorder: TablesCreatedByOneAtATime) -> set[str]:
    return {statement.split("EXISTS ")[1].split(" ")[0] for statement in recorder.create_table_statements
            if statement.startswith("CREATE TABLE")}
