"""``storage.pipelined_transaction`` (PostgreSQL only: SQLite has no pipeline): a statement that fails inside it
stores nothing of the transaction, the error raised is that statement's, and the connection is usable again."""

from __future__ import annotations

import time

import psycopg
import pytest

from nodes.registry.storage import pipelined_transaction

pytestmark = pytest.mark.postgres


@pytest.fixture
def connection(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE kept (x INT); CREATE TABLE refusing (x INT)")
        connection.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'refused by its trigger'; END $$")
        connection.execute("CREATE TRIGGER refuse BEFORE INSERT ON refusing FOR EACH ROW EXECUTE FUNCTION refuse()")
        yield connection


def kept(connection) -> int:
    return connection.execute("SELECT COUNT(*) FROM kept").fetchone()[0]


@pytest.mark.parametrize("answered_first", [False, True], ids=["sent at once", "answered before the next"])
def test_a_failed_statement_is_the_error_raised_and_nothing_is_stored(connection, answered_first):
    # When the failed statement's answer is in before the next statement goes out, psycopg raises its error in
    # the block, at that next statement or a read; the pipeline's end then reports the statements the server
    # skipped ("pipeline aborted"), which must not replace it. The pause lets the answer come in first (seen
    # once under load without one); were it to come later, the error is raised at the pipeline's end instead.
    with pytest.raises(psycopg.errors.RaiseException, match="refused by its trigger"):
        with pipelined_transaction(connection):
            connection.execute("INSERT INTO kept VALUES (1)")
            connection.execute("INSERT INTO refusing VALUES (1)")
            if answered_first:
                connection.pgconn.flush()
                time.sleep(0.05)
            connection.execute("INSERT INTO kept VALUES (2)")
            connection.execute("SELECT COUNT(*) FROM kept").fetchone()
    assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert kept(connection) == 0
    with pipelined_transaction(connection):
        connection.execute("INSERT INTO kept VALUES (3)")
    assert kept(connection) == 1


def test_an_error_raised_in_the_block_rolls_back(connection):
    with pytest.raises(ZeroDivisionError):
        with pipelined_transaction(connection):
            connection.execute("INSERT INTO kept VALUES (1)")
            1 / 0
    assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert kept(connection) == 0
