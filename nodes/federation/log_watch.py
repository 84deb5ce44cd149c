"""A commit to the node's log seen as it happens, by this process or another: what wakes ``node run``'s relay.

- PostgreSQL: the log's insert sends NOTIFY on its recorder's channel in the transaction that stores the rows
  (``postgres_recorder.insert_events_body``; the import's COPY too), and the server delivers it once that
  transaction committed. The watch LISTENs on a connection of its own.
- SQLite sends nothing, but a commit writes the database file or its WAL, and Linux's inotify reports each write
  (``inotify_simple``). The rows are visible a little after the last write (SQLite then syncs the WAL and updates
  its index in shared memory, which inotify does not see): a write is followed by looks some milliseconds later
  (``follow_ups``), and still on a timer (``look_every_s``) for a sync that takes longer.
- Elsewhere, or when a watch cannot be set up (no inotify, its limits reached, the server refusing a
  connection): ``fileno`` is None and the relay looks at its log on a timer, as before.

A watch only says that the log may have grown; the relay compares the log's size with what it relayed, so a write
to another table costs one look, and a commit missed (while a lost connection is made again) waits for the
relay's timer.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from nodes.ports import Node

log = logging.getLogger(__name__)

#: A PostgreSQL watch that lost its connection (or never had one) tries again this often.
RECONNECT_EVERY_S = 5.0
#: ... waiting this long for the server each time.
CONNECT_TIMEOUT_S = 5


class LogWatch(Protocol):
    """What tells that the node's log may have grown."""

    #: After a write seen, look at the log after each of these delays (seconds): a commit may be visible only a
    #: moment after the write that woke the relay.
    follow_ups: tuple[float, ...]
    #: While ``fileno`` is not None, how often the relay still looks at its log on its own (a commit the watch
    #: may miss); None: never (it misses none).
    look_every_s: float | None

    def fileno(self) -> int | None:
        """A descriptor that becomes readable when the log may have grown; None while there is none."""
        ...

    def drain(self) -> bool:
        """Take what made ``fileno`` readable; True if the log may have grown (not only another file)."""
        ...

    def close(self) -> None:
        ...


def watch_log(node: Node) -> LogWatch:
    """The watch of ``node``'s log for its backend; one that never wakes (``Unwatched``) when none can be set up
    (logged as a warning: the relay then looks on its timer)."""
    settings = node.settings
    if settings.is_postgres:
        return PostgresLogWatch(settings.db, node.registry.recorder.channel_name)  # type: ignore[attr-defined]
    try:
        return SQLiteLogWatch(settings.db)
    except (ImportError, OSError, ValueError) as e:
        log.warning("node run: new records in %s are not watched (%s); the relay looks for them on a timer",
                    settings.db, e)
        return Unwatched()


class Unwatched:
    """No watch: the relay looks on its timer."""

    follow_ups: tuple[float, ...] = ()
    look_every_s: float | None = None

    def fileno(self) -> int | None:
        return None

    def drain(self) -> bool:
        return False

    def close(self) -> None:
        pass


class PostgresLogWatch:
    """LISTEN on the log's channel, on a connection of its own (made again every ``RECONNECT_EVERY_S`` while lost)."""

    #: The notification comes after the commit: one look, at once.
    follow_ups: tuple[float, ...] = (0.0,)
    #: Every insert notifies in its own transaction: none is missed while the connection lasts.
    look_every_s: float | None = None

    def __init__(self, db: str, channel: str):
        self._db = db
        self._channel = channel
        self._connection: Any = None  # a psycopg connection in autocommit, listening
        self._retry_at = 0.0

    def fileno(self) -> int | None:
        if self._connection is None and time.monotonic() >= self._retry_at:
            self._connect()
        return None if self._connection is None else int(self._connection.fileno())

    def drain(self) -> bool:
        import psycopg

        if self._connection is None:
            return False
        try:
            return any(True for _ in self._connection.notifies(timeout=0))
        except psycopg.Error as e:
            self._lost(e)
            return True  # what it said before it went is unknown: look

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> None:
        import psycopg
        from psycopg.sql import SQL, Identifier

        try:
            connection = psycopg.connect(self._db, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            try:
                connection.execute(SQL("LISTEN {}").format(Identifier(self._channel)))
            except BaseException:
                connection.close()
                raise
        except psycopg.Error as e:
            self._lost(e)
            return
        self._connection = connection

    def _lost(self, error: Exception) -> None:
        log.warning("node run: not listening for new records (%s); the relay looks for them on a timer and listens "
                    "again in %g s", str(error).strip() or type(error).__name__, RECONNECT_EVERY_S)
        self.close()
        self._retry_at = time.monotonic() + RECONNECT_EVERY_S


class SQLiteLogWatch:
    """inotify on the database's folder, for writes to the database and its WAL (Linux only: ``ImportError`` or
    ``OSError`` elsewhere, or when inotify's limits are reached; ``ValueError`` for a database that is no file)."""

    #: A commit's last write, then its sync (a median 8 ms, up to 43 on this project's machine under load), then the
    #: WAL index: looks from at once to 250 ms after the last write, ever further apart (a look is ~20 us of CPU).
    follow_ups: tuple[float, ...] = (0.0, 0.002, 0.004, 0.006, 0.008, 0.011, 0.015, 0.020, 0.030, 0.045, 0.070, 0.100,
                                     0.150, 0.250)
    #: A sync that outlasts the follow-ups is seen by a look on the timer.
    look_every_s: float | None = 1.0

    def __init__(self, db: str):
        if not db or db == ":memory:" or db.startswith("file:"):
            raise ValueError(f"{db!r} is not a database file")
        from inotify_simple import INotify, flags

        self._overflow = flags.Q_OVERFLOW  # the kernel's queue overflowed: events were lost
        folder, name = os.path.split(os.path.abspath(db))
        # The folder, not the files: SQLite removes and makes its WAL again as connections close and open.
        self._names = {name, f"{name}-wal", f"{name}-journal"}
        self._inotify = INotify(nonblocking=True)
        try:
            self._inotify.add_watch(folder, flags.MODIFY)
        except BaseException:
            self._inotify.close()
            raise

    def fileno(self) -> int | None:
        return int(self._inotify.fileno())

    def drain(self) -> bool:
        return any(event.name in self._names or event.mask & self._overflow for event in self._inotify.read(timeout=0))

    def close(self) -> None:
        self._inotify.close()
