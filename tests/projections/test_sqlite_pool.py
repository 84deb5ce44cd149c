"""The mended SQLite connection pool: a writer lock or reader count taken for a connection that never came is
given back, so one such moment does not leave the pool's writer taken until the process restarts."""

from __future__ import annotations

import sqlite3

import pytest
from eventsourcing.persistence import ConnectionUnavailableError, InfrastructureFactory, InterfaceError
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.utils import Environment

from projections.sqlite_pool import STATEMENT_CACHE, SQLitePool


def _pool(db_name: str, **kwargs) -> SQLitePool:
    return SQLitePool(db_name=db_name, pool_timeout=1.0, **kwargs)


def test_every_sqlite_datastore_the_library_builds_uses_the_mended_pool(tmp_path):
    datastore = SQLiteDatastore(str(tmp_path / "a.db"))
    factory = InfrastructureFactory.construct(Environment("views", {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "b.db")}))
    try:
        assert type(datastore.pool) is SQLitePool
        assert type(factory.datastore.pool) is SQLitePool  # type: ignore[attr-defined]
    finally:
        datastore.close()
        factory.close()


def test_a_writer_whose_connection_failed_to_open_is_given_back(tmp_path):
    pool = _pool(str(tmp_path / "not-yet" / "ledger.db"))
    with pytest.raises(InterfaceError):  # the directory is missing: the connection cannot open
        pool.get_connection(is_writer=True)
    (tmp_path / "not-yet").mkdir()
    writer = pool.get_connection(is_writer=True)  # the library's pool: "Timed out waiting for return of writer"
    pool.put_connection(writer)
    pool.close()


def test_a_writer_that_met_another_process_holding_the_file_is_given_back(tmp_path):
    # What two processes opening one new database at once meet: the first connection of a pool switches
    # the file to WAL, which needs the file's lock; another process holds it past the lock timeout.
    path = tmp_path / "ledger.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN EXCLUSIVE")
    pool = _pool(str(path), lock_timeout=1)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            pool.get_connection(is_writer=True)
        other.execute("ROLLBACK")
        writer = pool.get_connection(is_writer=True)
        writer.cursor().execute("INSERT INTO t VALUES (1)")
        pool.put_connection(writer)
    finally:
        other.close()
        pool.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_writer_whose_wait_for_a_connection_ran_out_is_given_back(tmp_path):
    pool = _pool(str(tmp_path / "ledger.db"), pool_size=1, max_overflow=0)
    reader = pool.get_connection(is_writer=False)
    with pytest.raises(ConnectionUnavailableError, match="return of connection"):
        pool.get_connection(timeout=0.05, is_writer=True)
    pool.put_connection(reader)
    writer = pool.get_connection(is_writer=True)
    assert pool._num_writers == 1 and pool._num_readers == 0
    pool.put_connection(writer)
    assert pool._num_writers == 0
    pool.close()


def test_a_reader_whose_wait_ran_out_does_not_keep_writers_of_a_memory_database_waiting():
    # In memory, readers and writers exclude each other: a reader counted for nothing would block every writer.
    pool = _pool("file:pool_test?mode=memory&cache=shared", pool_size=1, max_overflow=0)
    reader = pool.get_connection(is_writer=False)
    with pytest.raises(ConnectionUnavailableError, match="return of connection"):
        pool.get_connection(timeout=0.05, is_writer=False)
    pool.put_connection(reader)
    assert pool._num_readers == 0
    writer = pool.get_connection(is_writer=True)
    pool.put_connection(writer)
    pool.close()


def test_connections_are_usable_and_cache_more_than_one_statement(tmp_path):
    pool = _pool(str(tmp_path / "ledger.db"))
    assert STATEMENT_CACHE > 1
    writer = pool.get_connection(is_writer=True)
    try:
        cursor = writer.cursor()
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("SELECT 1 AS one")
        assert cursor.fetchone()["one"] == 1  # rows by column name, as the library's
    finally:
        pool.put_connection(writer)
        pool.close()
