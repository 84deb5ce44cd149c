"""The one adapter between armsledger and its databases.

Turns a ``--db`` value into the environment of the ``eventsourcing`` library
(SQLite module or PostgreSQL module: the latter and psycopg are imported only when a
PostgreSQL store is opened, ``postgres_recorder``), and translates third-party database
exceptions into ``StorageError`` (a conflicting write into ``VersionConflict``)
in exactly one place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

from eventsourcing.persistence import IntegrityError, PersistenceError, RecordConflictError
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

import projections.sqlite_pool  # noqa: F401  (every SQLite store gets the mended connection pool)
from nodes.errors import ConfigurationError, StorageError, VersionConflict

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore

#: The registry's recorder on PostgreSQL, named by its topic: its module (psycopg, the library's
#: PostgreSQL module) is imported only when a PostgreSQL store is opened.
POSTGRES_REGISTRY_RECORDER = "nodes.registry.postgres_recorder:OneCreatorAtATime"


def eventsourcing_env(db: str) -> dict[str, str]:
    """Environment for ``eventsourcing`` persistence from a SQLite path or a PostgreSQL URL."""
    if db.startswith(("postgresql://", "postgres://")):
        url = urlparse(db)
        if not url.path.strip("/"):
            raise ConfigurationError(f"--db {masked_dsn(db)!r}: the PostgreSQL URL names no database")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
            "POSTGRES_HOST": url.hostname or "localhost",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "5",
            # The wait for a free connection of the pool (psycopg_pool's default 30 s), which eventsourcing
            # tries up to 10 times: a request that finds every connection busy is told so within a minute.
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "ORIGINATOR_ID_TYPE": "uuid",
        }
    if "://" in db:
        raise ConfigurationError(f"--db {masked_dsn(db)!r}: expected a SQLite file path or a postgresql:// URL")
    _create_private(db)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": db,
        "SQLITE_LOCK_TIMEOUT": "30",
        "ORIGINATOR_ID_TYPE": "uuid",
    }


def masked_dsn(db: str) -> str:
    """``db`` with the password of a URL (any scheme) replaced by ``***``, for messages and logs."""
    if "://" not in db:
        return db
    try:
        parts = urlsplit(db)
        password = parts.password
    except ValueError:  # not even a URL: hide everything after the scheme's user part
        return db.split("://", 1)[0] + "://***"
    if password is None:
        return db
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


def _create_private(path: str) -> None:
    """Create the SQLite file readable by its owner only (it holds holders' names).

    SQLite gives its -wal and -shm files the mode of the database file, so they are private
    too. An existing file keeps its mode; ``:memory:`` and URIs are left alone.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    # An existing file is kept as it is; a missing folder is SQLite's to report, as before.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def registry_env(db: str) -> dict[str, str]:
    """``eventsourcing_env`` for the registry's log: on SQLite, with positions never reused; on
    PostgreSQL, with its tables created by one process at a time."""
    env = eventsourcing_env(db)
    sqlite = env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    env["APPLICATION_RECORDER_TOPIC"] = (f"{__name__}:{NeverReusedPositions.__qualname__}" if sqlite
                                         else POSTGRES_REGISTRY_RECORDER)
    return env


def sql_datastore(owner: object) -> SQLiteDatastore | PostgresDatastore:
    """``owner.datastore`` (an infrastructure factory's or a recorder's), which must be the library's SQLite
    or PostgreSQL datastore (``AssertionError`` otherwise). The library's PostgreSQL module is imported only
    for a datastore that is not SQLite's: a SQLite node never loads psycopg."""
    datastore = getattr(owner, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return datastore
    from eventsourcing.postgres import PostgresDatastore

    assert isinstance(datastore, PostgresDatastore), type(datastore)
    return datastore


class NeverReusedPositions(SQLiteApplicationRecorder):
    """The library's SQLite recorder on a table whose positions are never handed out twice.

    The library's table numbers records by SQLite's plain rowid, which gives a deleted newest
    record's position to the next record: the relay, which tracks what it sent by position,
    would then never send the new one. ``AUTOINCREMENT`` on a column named ``rowid`` keeps
    every query of the library working and makes SQLite remember the highest position ever
    used (PostgreSQL sequences never reuse a value), and an index by (topic, position) serves the
    reads of one kind of record. A table created by an earlier version,
    with a plain rowid, is rebuilt with ``AUTOINCREMENT`` at open, rows and positions
    unchanged, in the transaction that creates the tables; a position an earlier version
    gave twice before the rebuild is still named by the relay's check of what stands at the
    positions it sent.
    """

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self.insert_events_statement = (
            f"INSERT INTO {self.events_table_name} (originator_id, originator_version, topic, state) "
            "VALUES (?,?,?,?)"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} ("
            "originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
            "rowid INTEGER PRIMARY KEY AUTOINCREMENT, "
            "UNIQUE (originator_id, originator_version))"
        ]

    def _create_table(self, c: SQLiteCursor) -> None:
        table = self.events_table_name
        c.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        found = c.fetchone()
        if found is not None and "AUTOINCREMENT" not in found[0].upper():
            # Copying with the rowids keeps every position; SQLite then starts the new
            # table's sequence after the highest of them.
            c.execute(f"ALTER TABLE {table} RENAME TO {table}_plain_rowid")
            super()._create_table(c)
            c.execute(f"INSERT INTO {table} (originator_id, originator_version, topic, state, rowid) "
                      f"SELECT originator_id, originator_version, topic, state, rowid FROM {table}_plain_rowid "
                      "ORDER BY rowid")
            c.execute(f"DROP TABLE {table}_plain_rowid")
        else:
            super()._create_table(c)
        c.execute(f"CREATE INDEX IF NOT EXISTS {table}_by_topic ON {table} (topic, rowid)")


@contextlib.contextmanager
def pipelined_transaction(connection: Any, *, commit: bool = True) -> Iterator[None]:
    """One transaction on a PostgreSQL ``connection`` in autocommit, its BEGIN and COMMIT (ROLLBACK when not
    ``commit``) statements of one pipeline: the block's statements go out without waiting for the answers of
    those before, and the pipeline's end waits for all at once. (psycopg's ``transaction()`` inside a pipeline
    waits for its begin, and syncs once more before its commit: two round trips more.) A read in the block
    waits for what was sent before it.

    An error of any statement, the commit's included, skips the rest and is raised at the next wait; whatever is
    raised, in the block or by the server, is raised after the pipeline's end and the transaction rolled back
    first, so nothing of it is stored and the connection is usable again.
    """
    failed: BaseException | None = None
    try:
        with connection.pipeline() as pipeline:
            try:
                connection.execute("BEGIN")
                yield
                connection.execute("COMMIT" if commit else "ROLLBACK")
                pipeline.sync()
            except BaseException as e:  # raised after the pipeline's end: psycopg warns of one raised through it
                failed = e
    except BaseException as e:
        # The pipeline's end reports the statements an error made the server skip ("pipeline aborted"): after an
        # error raised in the block (by a read, say), that is the error already in hand, which is the one raised.
        if failed is None:
            failed = e
    if failed is not None:
        connection.rollback()  # the transaction the error left open, if any (none after a failed commit)
        raise failed


def columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """``rows`` of ``width`` values as ``width`` lists, one per column: the arrays a PostgreSQL function
    given its rows as ``unnest(...)`` takes (empty lists when there are no rows)."""
    found: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(found, row, strict=True):
            column.append(value)
    return found


@contextlib.contextmanager
def version_conflicts(action: str) -> Iterator[None]:
    """Re-raise a write that lost the race for a (stream, version) as ``VersionConflict``."""
    try:
        yield
    except RecordConflictError as e:
        raise VersionConflict(f"{action}: another writer recorded in the same stream first ({e})") from e


@contextlib.contextmanager
def translated_errors(action: str, *, integrity_passes: bool = False) -> Iterator[None]:
    """Re-raise database failures during ``action`` as ``StorageError``, the event store's own
    (``PersistenceError``) included. With ``integrity_passes``, a unique key violated
    (``IntegrityError``) passes unchanged, for a caller that handles it."""
    try:
        yield
    except IntegrityError as e:
        if integrity_passes:
            raise
        raise StorageError(f"{action}: {e}") from e
    except (PersistenceError, sqlite3.Error, OSError) as e:
        raise StorageError(f"{action}: {e}") from e
    except Exception as e:
        if type(e).__module__.startswith(("psycopg", "psycopg_pool")):
            raise StorageError(f"{action}: {e}") from e
        raise
