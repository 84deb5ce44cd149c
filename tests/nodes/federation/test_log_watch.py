"""The watch of a node's log (what wakes ``node run``'s relay), on both backends: a commit by another process or
another connection makes it readable, a write to another file of the folder does not count, and a PostgreSQL
watch whose connection is cut listens again."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

import pytest
from cheap_kek import KEK_ENVIRON

from nodes.bootstrap import init_node
from nodes.federation import log_watch
from nodes.federation.log_watch import PostgresLogWatch, SQLiteLogWatch, watch_log
from nodes.settings import Settings

from federation_nodes import PASSPHRASE, manufacture

#: Every wait below is bounded by this; what the watch says is asserted, never how fast.
BOUND_S = 30.0


@pytest.fixture
def node(tmp_path, db_url):
    settings = Settings.load(environ=KEK_ENVIRON, home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE)
    made = init_node(settings, "BE")
    yield made
    made.close()


def woken(watch, *, within_s: float = BOUND_S) -> bool:
    """Whether ``watch`` says the log may have grown within ``within_s`` (its wakes for other files drained)."""
    deadline = time.monotonic() + within_s
    with selectors.DefaultSelector() as selector:
        fd = watch.fileno()
        assert fd is not None, "the watch has nothing to wait on"
        selector.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(left) and watch.drain():
                return True
    return False


def settled(watch) -> None:
    """Drain what the node's own writes so far made readable (and what comes of them within a moment)."""
    while woken(watch, within_s=0.3):
        pass


def test_a_commit_by_another_process_wakes_the_watch(node):
    watch = watch_log(node)
    try:
        assert isinstance(watch, PostgresLogWatch if node.settings.is_postgres else SQLiteLogWatch)
        settled(watch)
        assert not woken(watch, within_s=0.3)  # nothing written: nothing said
        script = ("import sys; from cheap_kek import KEK_ENVIRON; from nodes.bootstrap import open_node; "
                  "from nodes.settings import Settings; from federation_nodes import manufacture; "
                  "node = open_node(Settings.load(environ=KEK_ENVIRON, home=sys.argv[1], db=sys.argv[2], "
                  "passphrase=sys.argv[3])); manufacture(node, 'ELSEWHERE'); node.close()")
        support = os.path.join(os.path.dirname(__file__), "..", "..", "support")
        done = subprocess.run([sys.executable, "-c", script, str(node.settings.home), node.settings.db, PASSPHRASE],
                              env={**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), support])},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert woken(watch)
        settled(watch)
        manufacture(node, "HERE")  # another connection of this process
        assert woken(watch)
    finally:
        watch.close()


def test_a_write_to_another_file_of_the_folder_is_no_wake(tmp_path, sqlite_url):
    folder = os.path.dirname(sqlite_url)
    watch = SQLiteLogWatch(sqlite_url)
    try:
        with open(os.path.join(folder, "views.db"), "wb") as other:
            other.write(b"not the log")
        assert not woken(watch, within_s=0.3)
        with open(f"{sqlite_url}-wal", "ab") as wal:  # the database's own WAL
            wal.write(b"\0")
        assert woken(watch)
    finally:
        watch.close()


def test_no_watch_for_a_database_that_is_no_file():
    with pytest.raises(ValueError):
        SQLiteLogWatch(":memory:")


@pytest.mark.postgres
def test_a_postgres_watch_whose_connection_is_cut_listens_again(pg_url, monkeypatch):
    import psycopg

    monkeypatch.setattr(log_watch, "RECONNECT_EVERY_S", 0.0)
    watch = PostgresLogWatch(pg_url, "armsledger_test_channel")
    try:
        assert watch.fileno() is not None
        with psycopg.connect(pg_url, autocommit=True) as other:
            backend = watch._connection.info.backend_pid
            other.execute("SELECT pg_terminate_backend(%s)", (backend,))
            assert woken(watch)  # the lost connection counts as a wake: what it would have said is unknown
            assert watch.fileno() is not None and watch._connection.info.backend_pid != backend
            settled(watch)
            other.execute("NOTIFY armsledger_test_channel")
            assert woken(watch)
    finally:
        watch.close()
