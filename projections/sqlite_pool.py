"""eventsourcing's SQLite connection pool, with two mends; every SQLite datastore of a node uses it.

eventsourcing's ``SQLiteDatastore`` builds its pool from the module's ``SQLiteConnectionPool`` name, and
the library's factory builds the datastore: importing this module points that name at ``SQLitePool``, so
every SQLite store opened after it (the registry, the views, the inbox, the accounts, ...) gets these
mends without a factory of our own. ``nodes.registry.storage`` and the SQLite view store import it.

1. **A claim given back when no connection comes.** ``get_connection(is_writer=True)`` takes the pool's one
   writer lock before it waits for a connection; if that wait runs out ("Timed out waiting for return of
   connection") or opening a connection fails (another process holding the file's lock while this one
   switches it to WAL: "database is locked"), the library raises without releasing it, and every later
   writer of the pool times out until the process restarts (a reader likewise keeps its count, which
   blocks writers of an in-memory database). Here the claim is given back before the error goes on.
2. **A statement cache of 128.** The library opens connections with ``cached_statements=True``, a cache of
   one statement, so nearly every statement is prepared again (a read transaction 10.8 µs instead of 3.5).
"""

from __future__ import annotations

import sqlite3
import threading

import eventsourcing.sqlite
from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import SQLITE3_DEFAULT_LOCK_TIMEOUT, SQLiteConnection, SQLiteConnectionPool

__all__ = ["STATEMENT_CACHE", "SQLitePool"]

STATEMENT_CACHE = 128
"""Prepared statements each connection keeps (sqlite3's own default)."""


class SQLitePool(SQLiteConnectionPool):
    """``SQLiteConnectionPool`` that gives back its writer lock or reader count when no connection comes,
    and opens connections with a statement cache."""

    def __init__(self, **kwargs: object):
        self._claim = threading.local()  # per thread: (is_writer, depth of _get_connection) while getting
        super().__init__(**kwargs)  # type: ignore[arg-type]
        # The library's own bookkeeping, which the mend below undoes: fail here, at the first pool, if a
        # new version of the library renamed it, rather than leave claims behind silently.
        for name in ("_writer_lock", "_num_writers", "_num_readers", "_no_readers", "_put_condition"):
            if not hasattr(self, name):
                raise RuntimeError(f"eventsourcing's connection pool has no {name}: check projections/sqlite_pool.py "
                                   "against this version of the library")

    def get_connection(self, timeout: float | None = None, *, is_writer: bool | None = None) -> SQLiteConnection:
        self._claim.is_writer = is_writer
        self._claim.depth = 0
        try:
            return super().get_connection(timeout, is_writer=is_writer)
        finally:
            self._claim.is_writer = None

    def _get_connection(self, timeout: float = 0.0) -> SQLiteConnection:
        # The library calls this once the writer lock is held or the reader counted, and again from
        # itself when it waits or finds a closed connection: give the claim back at the outermost failure.
        claim = self._claim
        depth = getattr(claim, "depth", 0)
        claim.depth = depth + 1
        try:
            return super()._get_connection(timeout)
        except BaseException:
            if depth == 0:
                self._give_back(getattr(claim, "is_writer", None))
            raise
        finally:
            claim.depth = depth

    def _give_back(self, is_writer: bool | None) -> None:
        """Undo what ``get_connection`` took for ``is_writer``, as ``put_connection`` does for a connection."""
        if is_writer is True:
            with self._put_condition:
                self._num_writers -= 1
            self._writer_lock.release()
        elif is_writer is False:
            with self._no_readers:
                self._num_readers -= 1
                if self._num_readers == 0 and self._mutually_exclusive_read_write:
                    self._no_readers.notify()

    def _create_connection(self) -> SQLiteConnection:
        # The library's own, with a statement cache, and the connection closed if setting it up fails.
        try:
            c = sqlite3.connect(database=self.db_name, uri=True, check_same_thread=False,
                                isolation_level=None,  # autocommit: transactions are begun explicitly
                                cached_statements=STATEMENT_CACHE,
                                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        try:
            if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
                cursor = c.cursor()
                cursor.execute("PRAGMA journal_mode;")
                if cursor.fetchone()[0].lower() != "wal":
                    cursor.execute("PRAGMA journal_mode=WAL;")
                    self.journal_mode_was_changed_to_wal = True
                self.is_journal_mode_wal = True
            c.row_factory = sqlite3.Row
        except BaseException:
            c.close()
            raise
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


eventsourcing.sqlite.SQLiteConnectionPool = SQLitePool  # type: ignore[misc]
