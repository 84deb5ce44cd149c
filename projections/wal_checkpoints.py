"""An SQLite WAL copied into its database file on a thread of its own while a writer goes on writing.

A WAL's frames reach the database file by a checkpoint, which SQLite runs after a commit once the WAL
holds 1,000 pages, on the committing connection: the writer waits for it. A rebuild's fresh tables
(``projections.rebuild_aside``) are most of what a rebuild writes, and their checkpoints ran at its end,
with this process's other work done (40 to 50 ms of a 40,000-record rebuild's 0.6 s at load 4-5). Here they run
beside the writes instead: the writer's connection does not checkpoint, and after each of its commits
this thread's own connection runs a passive checkpoint, which takes none of the writer's locks and
waits for no reader (it copies what no open read still needs; the next one copies the rest). SQLite
gives up the interpreter while it copies::

    with WalCheckpoints(database) as checkpoints:
        ...                    # commits, each followed by
        checkpoints.request()

Nothing here decides what is durable: a frame is in the WAL (synced by whichever commit syncs it)
before it is copied, and a checkpoint that fails leaves it there for the next one, this thread's or
any connection's automatic one. So a failure is logged, not raised.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from types import TracebackType

log = logging.getLogger(__name__)

#: How long the thread's connection waits for a lock it needs to open the file (a passive checkpoint itself
#: waits for none).
OPEN_TIMEOUT_SECONDS = 5.0


class WalCheckpoints:
    """A thread checkpointing ``database``'s WAL (passive) after each ``request``, and once more at the end.

    ``database``: the file's name as ``sqlite3.connect(..., uri=True)`` takes it (a path or a ``file:`` URI);
    requires a database in WAL mode in a file, not in memory.
    """

    def __init__(self, database: str):
        self._database = database
        self._wanted = threading.Event()
        self._ending = False
        self._thread = threading.Thread(target=self._run, name="views-wal-checkpoints", daemon=True)

    def __enter__(self) -> WalCheckpoints:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Runs the last checkpoint (the frames committed since the one running) and waits for it."""
        self._ending = True
        self._wanted.set()
        self._thread.join()

    def request(self) -> None:
        """A checkpoint wanted soon: one runs after the one running, if any (requests meanwhile make one)."""
        self._wanted.set()

    def _run(self) -> None:
        try:
            with contextlib.closing(sqlite3.connect(self._database, uri=True, timeout=OPEN_TIMEOUT_SECONDS)
                                    ) as connection:
                while True:
                    self._wanted.wait()
                    self._wanted.clear()
                    ending = self._ending
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    if ending:
                        return
        except sqlite3.Error as e:  # the frames stay in the WAL for the next checkpoint: nothing is lost
            log.warning("copying the views' WAL into %s failed, left to the next checkpoint: %s", self._database, e)
