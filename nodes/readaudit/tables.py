"""The read audit's two tables in the node's database, on SQLite and PostgreSQL: the one place that
knows their SQL.

``readaudit_entries``
    one row per read: ``seq`` (PRIMARY KEY, 1, 2, ...), the entry's fields, ``prev`` and ``hash``;
``readaudit_checkpoints``
    one row per signed checkpoint of the entries: ``size`` (PRIMARY KEY) and the checkpoint's
    canonical ``bytes`` (``ledger.checkpoint``), which are what counts.

A writing transaction starts with ``lock``: one writer at a time across threads and processes,
so sequence numbers have no gaps and the chain no forks; readers are not blocked.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import InfrastructureFactory, OperationalError
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.utils import Environment

from nodes.readaudit.entry import ReadEntry
from nodes.registry.storage import eventsourcing_env, translated_errors

ENTRIES_TABLE = "readaudit_entries"
CHECKPOINTS_TABLE = "readaudit_checkpoints"

_COLUMNS = ("seq", "at", "user_id", "user_name", "role", "action", "subject", "purpose", "prev", "hash")


class Cursor(Protocol):
    """A cursor of either datastore (sqlite3 or psycopg); rows are read by column name."""

    def execute(self, query: str, params: Sequence[object] = ..., /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


#: How often ``create`` tries on a SQLite database another process is creating the tables in.
_CREATE_ATTEMPTS = 5


class Tables:
    """The read audit's tables in database ``db`` (a SQLite path or a postgresql:// URL). Close when done."""

    def __init__(self, db: str):
        env = eventsourcing_env(db)
        if env["PERSISTENCE_MODULE"] != "eventsourcing.sqlite":
            env.update({"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4"})
        with translated_errors("opening the read audit"):
            self._factory = InfrastructureFactory.construct(Environment("readaudit", env))
        datastore = self._factory.datastore  # type: ignore[attr-defined]
        self.datastore = datastore
        self.sqlite = isinstance(datastore, SQLiteDatastore)
        if self.sqlite:
            self._placeholder, prefix, integer, blob = "?", "", "INTEGER", "BLOB"
        else:  # eventsourcing.postgres.PostgresDatastore
            self._placeholder, prefix, integer, blob = "%s", f'"{datastore.schema}".', "BIGINT", "BYTEA"
        self.entries = prefix + ENTRIES_TABLE
        self.checkpoints = prefix + CHECKPOINTS_TABLE
        self._schema = datastore.schema if not self.sqlite else None
        self._ddl = [
            f"CREATE TABLE IF NOT EXISTS {self.entries} (seq {integer} PRIMARY KEY, at {integer} NOT NULL, "
            "user_id TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, "
            f"subject TEXT NOT NULL, purpose TEXT NOT NULL, prev {blob} NOT NULL, hash {blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints} (size {integer} PRIMARY KEY, bytes {blob} NOT NULL)",
        ]
        # SQLite: a write as the first statement takes the one write lock, waiting for it (a
        # transaction that read first could not upgrade once another had written). PostgreSQL:
        # a self-conflicting lock, so writers queue and readers go on.
        self._lock = (f"DELETE FROM {self.entries} WHERE 0 = 1" if self.sqlite
                      else f"LOCK TABLE {self.entries} IN SHARE ROW EXCLUSIVE MODE")

    def close(self) -> None:
        self._factory.close()

    def exist(self) -> bool:
        """Whether the entries table exists (a node from before the read audit has none)."""
        with self.transaction(commit=False) as cursor:
            if self.sqlite:
                cursor.execute("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (ENTRIES_TABLE,))
            else:
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (self.entries,))
            row = cursor.fetchone()
        return bool(row and row["found"])

    def create(self) -> None:
        """Create the tables if absent. On SQLite, a process that read the schema while another was committing
        its own creation is told "database is locked" at once (SQLite does not wait where waiting could
        deadlock): it tries again, and then finds the tables."""
        for attempt in range(1, _CREATE_ATTEMPTS + 1):
            try:
                self._create()
                return
            except (sqlite3.OperationalError, OperationalError) as e:
                if not self.sqlite or "locked" not in str(e) or attempt == _CREATE_ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)

    def _create(self) -> None:
        with self.transaction(commit=True) as cursor:
            if not self.sqlite:  # concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.entries,))
            for statement in self._ddl:
                cursor.execute(statement)

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._placeholder)

    # --- writing (inside a transaction that began with ``lock``) -------------------------------

    def lock(self, cursor: Cursor) -> None:
        """Make other writers wait until this transaction ends; the first statement of a write."""
        cursor.execute(self._lock)

    def insert_entry(self, cursor: Cursor, entry: ReadEntry) -> None:
        cursor.execute(self._sql(f"INSERT INTO {self.entries} ({', '.join(_COLUMNS)}) "
                                 f"VALUES ({', '.join('?' * len(_COLUMNS))})"),
                       tuple(getattr(entry, name) for name in _COLUMNS))

    def insert_checkpoint(self, cursor: Cursor, size: int, data: bytes) -> None:
        cursor.execute(self._sql(f"INSERT INTO {self.checkpoints} (size, bytes) VALUES (?, ?)"), (size, data))

    # --- reading ---------------------------------------------------------------------------------

    def last_entry(self, cursor: Cursor) -> ReadEntry | None:
        cursor.execute(f"SELECT * FROM {self.entries} ORDER BY seq DESC LIMIT 1")
        row = cursor.fetchone()
        return _entry(row) if row else None

    def hashes_after(self, cursor: Cursor, seq: int) -> list[tuple[int, bytes]]:
        """(seq, hash) of every entry after ``seq``, in order."""
        cursor.execute(self._sql(f"SELECT seq, hash FROM {self.entries} WHERE seq > ? ORDER BY seq"), (seq,))
        return [(row["seq"], bytes(row["hash"])) for row in cursor.fetchall()]

    def latest_checkpoint(self, cursor: Cursor) -> tuple[int, bytes] | None:
        cursor.execute(f"SELECT size, bytes FROM {self.checkpoints} ORDER BY size DESC LIMIT 1")
        row = cursor.fetchone()
        return (row["size"], bytes(row["bytes"])) if row else None

    def checkpoints_page(self, cursor: Cursor, after: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` checkpoint rows ``(size, bytes)`` larger than ``after``, by size."""
        cursor.execute(self._sql(f"SELECT size, bytes FROM {self.checkpoints} WHERE size > ? ORDER BY size LIMIT ?"),
                       (after, limit))
        return [(row["size"], bytes(row["bytes"])) for row in cursor.fetchall()]

    def entries_page(self, cursor: Cursor, after: int, limit: int) -> list[ReadEntry]:
        """Up to ``limit`` entries after ``seq`` ``after``, in order."""
        cursor.execute(self._sql(f"SELECT * FROM {self.entries} WHERE seq > ? ORDER BY seq LIMIT ?"),
                       (after, limit))
        return [_entry(row) for row in cursor.fetchall()]

    def select(self, cursor: Cursor, conditions: list[tuple[str, tuple[object, ...]]], limit: int) -> list[ReadEntry]:
        """Entries meeting every ``(sql, params)`` condition (``?`` placeholders), newest first."""
        where = " AND ".join(f"({sql})" for sql, _ in conditions) or "1 = 1"
        params = tuple(p for _, values in conditions for p in values)
        cursor.execute(self._sql(f"SELECT * FROM {self.entries} WHERE {where} ORDER BY seq DESC LIMIT ?"),
                       (*params, limit))
        return [_entry(row) for row in cursor.fetchall()]


def _entry(row: Any) -> ReadEntry:
    return ReadEntry(row["seq"], row["at"], row["user_id"], row["user_name"], row["role"], row["action"],
                     row["subject"], row["purpose"], bytes(row["prev"]), bytes(row["hash"]))


