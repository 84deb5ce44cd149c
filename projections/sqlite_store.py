"""The views on SQLite: eventsourcing's ``SQLiteTrackingRecorder`` plus the view tables.

Construct through the library's factory, as its materialised-view examples do::

    InfrastructureFactory.construct(env).tracking_recorder(SQLiteViewStore)
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from eventsourcing.sqlite import SQLiteDatastore

import projections.sqlite_pool  # noqa: F401  (every SQLite store gets the mended connection pool)
from projections.sqlite_tracking import TablesCreatedByOneAtATime, create_tracking_table, use_tracking_table
from projections.store import TABLES_DDL, TRACKING_TABLE, VIEW_TABLES, OwnLog, ViewStore, WriteTransaction
from projections.wal_checkpoints import WalCheckpoints

# SQLite's LIKE is case-insensitive (ASCII), so its LIKE optimisation uses an
# index only on a NOCASE column. Serials are stored and searched upper-cased
# (domain.marking.normalise), so NOCASE changes no result.
_DIALECT = {"bytes": "BLOB", "serial": "TEXT COLLATE NOCASE", "pattern_ops": ""}

#: The page cache of a rebuild's swap, KiB (``swap_transaction``); the connection's own is put back after.
SWAP_CACHE_KIB = 32 * 1024

# SQLite caps bound parameters per statement (32766 since 3.32, 999 before).
_IN_LIST_CHUNK = 900


class SQLiteViewStore(ViewStore, TablesCreatedByOneAtATime):
    #: False for views in a file of their own that may be lost whole (``projections.compare``'s
    #: scratch views): their write transactions then commit without waiting for the disk
    #: (``PRAGMA synchronous=OFF``), which a crash may leave corrupt. The node's views share the
    #: log's database file and stay durable.
    durable = True
    dialect = _DIALECT
    #: Commits of a rebuild's fresh tables (``aside_transaction``) about this often, durable views: each is copied
    #: into the file by ``writing_aside``'s thread while the next is written (about a range of ``range_rows``).
    #: Scratch views (not ``durable``) keep the default.
    DURABLE_ASIDE_TRANSACTION_SECONDS = 0.1
    _checkpoints: WalCheckpoints | None = None

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        # The views' own tracking table, named as the PostgreSQL factory names it,
        # so rebuild clears only theirs.
        use_tracking_table(self, TRACKING_TABLE)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[WriteTransaction]:
        if self.durable:
            with super().transaction() as transaction:
                yield transaction
            return
        with self.datastore.get_connection(commit=True) as connection:
            connection.cursor().execute("PRAGMA synchronous=OFF")  # SQLite refuses it inside a transaction
            with connection.transaction(commit=True) as cursor:
                self._begin_writing(cursor)
                yield WriteTransaction(cursor)

    @contextlib.contextmanager
    def writing_aside(self) -> Iterator[None]:
        if not self.durable or self.datastore.pool.is_sqlite_memory_mode:
            yield
            return
        with WalCheckpoints(self.datastore.pool.db_name) as checkpoints:
            self._checkpoints, self.aside_transaction_seconds = checkpoints, self.DURABLE_ASIDE_TRANSACTION_SECONDS
            try:
                yield
            finally:
                self._checkpoints = None
                del self.aside_transaction_seconds  # the class's again

    @contextlib.contextmanager
    def aside_transaction(self) -> Iterator[WriteTransaction]:
        if not self.durable:
            with super().aside_transaction() as transaction:
                yield transaction
            return
        # Its commit need not wait for the disk: in WAL mode NORMAL never corrupts the file, and
        # swap_aside's commit (at the connection's own level again) syncs the WAL with every frame
        # before it. A crash before loses fresh tables the next rebuild drops. Within ``writing_aside`` the
        # commit copies nothing into the file either: the checkpoints' thread does, beside the next writes.
        checkpoints = self._checkpoints
        with self._connection_with(synchronous="NORMAL", **({} if checkpoints is None else {"wal_autocheckpoint": "0"})
                                   ) as connection:
            with connection.transaction(commit=True) as cursor:
                yield WriteTransaction(cursor)
            if checkpoints is not None:
                checkpoints.request()

    @contextlib.contextmanager
    def swap_transaction(self) -> Iterator[WriteTransaction]:
        # The old views' tables are dropped with secure_delete FAST, not the ON of Debian's SQLite: ON writes
        # zeros over every page freed, in the WAL and again at the checkpoint (the drop of 20,000 records'
        # views was a fifth of the rebuild). FAST still zeroes what it writes anyway. What is left on the
        # free pages till a rebuild reuses them is what the log holds (envelopes, and the rows made of them);
        # the vault's erasure sets ON itself (nodes/persons/vault.py).
        # A page cache of SWAP_CACHE_KIB for it: the six indexes of ``view_weapons`` are each made by a scan of the
        # table, which the default 2 MiB does not hold from about 10,000 weapons (at 20,000, 46 -> 41 ms of CPU).
        with self._connection_with(secure_delete="FAST", cache_size=f"-{SWAP_CACHE_KIB}",
                                   **({} if self.durable else {"synchronous": "OFF"})
                                   ) as connection, connection.transaction(commit=True) as cursor:
            self._begin_writing(cursor)
            yield WriteTransaction(cursor)

    @contextlib.contextmanager
    def _connection_with(self, **pragmas: str) -> Iterator[Any]:
        """A connection of the pool with ``pragmas`` set (SQLite refuses some inside a transaction), each put
        back as it was when the block ends."""
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            was: dict[str, int] = {}
            for name, value in pragmas.items():
                cursor.execute(f"PRAGMA {name}")
                was[name] = int(cursor.fetchone()[0])
                cursor.execute(f"PRAGMA {name}={value}")
            try:
                yield connection
            finally:
                for name, level in was.items():
                    connection.cursor().execute(f"PRAGMA {name}={level}")

    def construct_create_table_statements(self) -> list[str]:
        return [
            create_tracking_table(TRACKING_TABLE),
            *(ddl.format(**_DIALECT) for ddl in TABLES_DDL),
        ]

    def sql(self, statement: str) -> str:
        return statement

    def own_log_named(self, name: str) -> OwnLog:
        # The library's SQLite application recorder has one table whatever the name; its rowid is the position.
        return OwnLog(name, "stored_events", "stored_events", "rowid")

    def _same_database(self, recorder: Any) -> bool:
        from eventsourcing.sqlite import SQLiteApplicationRecorder

        pool = self.datastore.pool
        return (isinstance(recorder, SQLiteApplicationRecorder) and not pool.is_sqlite_memory_mode
                and recorder.datastore.pool.db_name == pool.db_name)

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

    def _begin_writing(self, cursor: Any) -> None:
        # The library begins with a plain BEGIN: take the write lock now, as BEGIN IMMEDIATE
        # would. Else a read first pins a snapshot, and the first write fails at once
        # (SQLITE_BUSY_SNAPSHOT) if another process wrote meanwhile, instead of waiting.
        cursor.execute(f"UPDATE {TRACKING_TABLE} SET notification_id = notification_id WHERE 0")

    def _clear(self, cursor: Any) -> None:
        for table in VIEW_TABLES:
            cursor.execute(f"DELETE FROM {table}")
        self._clear_tracking(cursor)
