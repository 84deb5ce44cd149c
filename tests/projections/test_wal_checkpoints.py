"""The WAL copied into its database file on a thread beside a writer (``projections.wal_checkpoints``).

SQLite only: PostgreSQL has no such step. What reached the database file is read from a copy of the file
made without its WAL, which holds only what a checkpoint copied.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
from pathlib import Path

from projections.wal_checkpoints import WalCheckpoints


def _rows_in_the_file_alone(database: Path, table: str, scratch: Path) -> int:
    """Rows of ``table`` in ``database``'s file, without its WAL (0 if the table is not there)."""
    copy = scratch / "file-alone.db"
    shutil.copyfile(database, copy)
    with contextlib.closing(sqlite3.connect(copy)) as connection:
        try:
            return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:  # no such table: its creation is still only in the WAL
            return 0


def _writer(database: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as a rebuild's fresh tables are written: no copy at commit
    return writer


def test_each_commit_requested_reaches_the_file_and_the_last_at_the_end(tmp_path):
    database = tmp_path / "views.db"
    writer = _writer(database)
    writer.execute("CREATE TABLE t (x)")
    with WalCheckpoints(str(database)) as checkpoints:
        for batch in range(3):
            writer.execute("BEGIN")
            writer.executemany("INSERT INTO t VALUES (?)", [(batch,)] * 100)
            writer.execute("COMMIT")
            checkpoints.request()
    # The block's end waits for the last checkpoint, which follows every request made before it.
    assert _rows_in_the_file_alone(database, "t", tmp_path) == 300
    writer.close()


def test_without_a_checkpoint_the_writes_are_in_the_wal_only(tmp_path):
    # The reading of the file alone sees what the thread copies, not what the writer commits.
    database = tmp_path / "views.db"
    writer = _writer(database)
    writer.execute("CREATE TABLE t (x)")
    writer.executemany("INSERT INTO t VALUES (?)", [(1,)] * 100)
    assert _rows_in_the_file_alone(database, "t", tmp_path) == 0
    writer.close()


def test_a_checkpoint_that_cannot_run_is_logged_and_stops_nothing(tmp_path, caplog):
    missing = tmp_path / "no-such-folder" / "views.db"
    with caplog.at_level(logging.WARNING, logger="projections.wal_checkpoints"):
        with WalCheckpoints(str(missing)) as checkpoints:
            checkpoints.request()
            checkpoints.request()
    assert "left to the next checkpoint" in caplog.text
    assert not missing.parent.exists()
