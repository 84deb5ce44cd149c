"""A log's pages read and parsed on a thread, ahead of the projection that consumes them.

A rebuild projects page after page into the views; the database does much of
its writing (SQLite's B-tree steps, commits and checkpoints, PostgreSQL's COPY
on the server) with the interpreter released. Reading and parsing the next
pages on a thread in that time takes them off the rebuild's own path::

    with PagesAhead(log.recorder, start=1, size=1000, until=None) as pages:
        while (page := pages.next()) is not None:
            project_parsed(page, ...)

The pages and their contents are what ``parse_page(read_page(...))`` gives
one after the other, each starting after the last one's end; a read that
raises raises from ``next`` when its page's turn comes, and no page after it
is read. ``ItemsAhead`` does the same for the items of any iterator (a
rebuild by stream's rows, ``projections.rebuild_aside``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, Generic, Self, TypeVar

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from projections.batch import ParsedPage, parse_page
from projections.log_pages import read_page

T = TypeVar("T")


class PagesAhead:
    """Pages of ``recorder`` from position ``start`` on (up to ``until``, if given), ``size`` at most each,
    read up to ``depth`` pages ahead of ``next``. Close (or leave the ``with``) when done: that stops the thread.

    Requires ``start >= 1``, ``size >= 1``, ``depth >= 1``.
    """

    def __init__(self, recorder: ApplicationRecorder, start: int, size: int, until: int | None, depth: int = 2):
        self._ahead = ItemsAhead(_parsed_pages(recorder, start, size, until), depth, "views-read-ahead")
        self._pages = iter(self._ahead)

    def next(self) -> ParsedPage | None:
        """The next page, or None after the last (the end of the log, or ``until``, reached)."""
        return next(self._pages, None)

    def close(self) -> None:
        self._ahead.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parsed_pages(recorder: ApplicationRecorder, start: int, size: int, until: int | None) -> Iterator[ParsedPage]:
    position = start
    while until is None or position <= until:
        notifications = read_page(recorder, position, size, until)
        if not notifications:
            return
        page = parse_page(notifications)
        yield page
        position = page.last_notification_id + 1


def can_read_ahead(recorder: ApplicationRecorder) -> bool:
    """Whether a thread may read ``recorder`` while another writes the views.

    Not an SQLite database in memory: the library lets its readers and its writer take turns
    there, so a reader would wait for the rebuild's transaction, which waits for the reader.
    """
    if isinstance(recorder, SQLiteApplicationRecorder):
        return not recorder.datastore.pool.is_sqlite_memory_mode
    return True


class ItemsAhead(Generic[T]):
    """The items of ``items`` taken on a thread, up to ``depth`` ahead of ``next``: the same items in the same
    order, and an exception ``items`` raises raised from ``next`` in its turn (nothing is taken after it).
    Close (or leave the ``with``) when done: that stops the thread and closes ``items`` on it.

    Requires ``depth >= 1``; ``items`` must not be used elsewhere meanwhile.
    """

    def __init__(self, items: Iterator[T], depth: int = 2, name: str = "views-items-ahead"):
        self._items = items
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._take, name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        while not self._finished:
            kind, item = self._queue.get()
            if kind == "item":
                yield item
                continue
            self._finished = True
            if kind == "error":
                raise item

    def close(self) -> None:
        self._stopped.set()
        while self._thread.is_alive():
            try:  # make room for a put the thread may be blocked in
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._finished = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self) -> None:
        try:
            for item in self._items:
                if not self._put(("item", item)):
                    break
            else:
                self._put(("end", None))
        except BaseException as e:  # handed to the consumer, which raises it in its turn
            self._put(("error", e))
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False
