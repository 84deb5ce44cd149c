"""A rebuild's rows made on worker processes, a range of stream ids each, while this process writes them.

Making a plain log's rows (``projections.projected_rows``: parse, fold, rows) is two thirds of an SQLite
rebuild's CPU, and a thread cannot take it off the writer (both hold the interpreter). Each worker opens the
SQLite file read-only and makes the rows of the streams whose ids fall in one range, in the order of the
log's primary key; the ranges cover every id, in order, so the rows come back in the views' key order
whatever the ids are::

    for events, weapons, read in rows_from_workers(pool, LogFile.of(recorder), count, end, shipments):
        ...   # write them (projections.rebuild_aside)

The rows are those ``rows_by_stream`` makes of the whole log (each stream lies in one range), and a range
that is not plain raises ``NotPlain`` here as it would there.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from projections.batch import cyclic_gc_paused
from projections.projected_rows import Shipments, sqlite_rows_in_stream_order, stream_rows

#: Log rows per range, about: a range's rows are made, pickled and written as one piece.
RANGE_ROWS = 2500
#: Ranges handed to the workers ahead of the one written: a bound on the rows held in memory.
RANGES_AHEAD = 4
#: The first ranges are made in this process while the worker starts (about 0.1 s); the others are the workers',
#: and this process makes one of them only while it would otherwise wait (``rows_from_workers``). A fixed share
#: here (a quarter, round 11) left the worker idle a third of the time: the writes alone are about a third of
#: the rebuild's CPU.
FIRST_MADE_HERE = 2

Row = tuple[Any, ...]
RangeRows = tuple[list[Row], list[Row], Shipments, int]  # events' rows, weapons' rows, shipments, log rows read


@dataclass(frozen=True)
class LogFile:
    """Where a worker reads the log: the library's SQLite events table in a file (not a database in memory)."""

    database: str  # the name the library opened it by (a path or a ``file:`` URI)
    table: str
    as_uuid: bool  # the library writes stream ids as UUIDs
    copy_envelopes: bool = True  # False: the views' own log, whose rows are made without their envelopes

    @classmethod
    def of(cls, recorder: Any, *, copy_envelopes: bool = True) -> LogFile | None:
        """The file of ``recorder``'s log, None if it is not the library's SQLite table in a file."""
        from eventsourcing.sqlite import SQLiteApplicationRecorder

        if not isinstance(recorder, SQLiteApplicationRecorder) or recorder.datastore.pool.is_sqlite_memory_mode:
            return None
        return cls(recorder.datastore.pool.db_name, recorder.events_table_name,
                   recorder.datastore.originator_id_type == "uuid", copy_envelopes)


def id_ranges(count: int) -> list[tuple[str | None, str | None]]:
    """(low, high) bounds of ranges of stream ids, about ``RANGE_ROWS`` log rows each for ``count`` rows of
    UUID ids (evenly spread; bounds of four hex digits, so at most 65,536): each id, whatever its text, falls
    in exactly one, and the ranges are in id order."""
    ranges = max(1, min(0x10000, count // RANGE_ROWS))
    bounds = [f"{i * 0x10000 // ranges:04x}" for i in range(1, ranges)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def range_rows(log: LogFile, low: str | None, high: str | None, until: int) -> RangeRows:
    """The rows of the streams with ids from ``low`` to ``high`` (``sqlite_rows_in_stream_order``) up to
    position ``until``, as ``rows_by_stream`` makes them. Run on a worker; raises ``NotPlain`` as it does."""
    # Without cyclic collections, as this process's writes run (``projections.rebuild_aside``): the rows kept
    # till the range ends set them off, each walking every row kept.
    with contextlib.closing(sqlite3.connect(log.database, uri=True)) as connection, cyclic_gc_paused():
        connection.execute("PRAGMA query_only=ON")
        shipments = Shipments()
        events: list[Row] = []
        weapons: list[Row] = []
        rows = sqlite_rows_in_stream_order(connection, log.table, log.as_uuid, low, high)
        read = 0

        def reads(count: int, _until: int) -> None:  # told at the end, the rows read
            nonlocal read
            read = count

        # One statement: one snapshot of the range (the log only grows at its end: positions past ``until``).
        for event_rows, weapon in stream_rows(rows, until, shipments, reads, copy_envelopes=log.copy_envelopes):
            events += event_rows
            if weapon is not None:
                weapons.append(weapon)
        return events, weapons, shipments, read


def rows_from_workers(pool: Executor, log: LogFile, count: int, until: int,
                      shipments: Shipments) -> Iterator[tuple[list[Row], list[Row], int]]:
    """(events' rows, weapons' rows, log rows read so far) of each range of ``id_ranges(count)`` in order, up to
    position ``until``, their shipments merged into ``shipments``: the first ``FIRST_MADE_HERE`` made in this
    process, the others by ``pool``'s workers meanwhile. While the range next in order is not back from a
    worker, this process makes a range of the workers' share rather than wait (at a worker's start, while it
    writes less than a worker makes, on a busy machine): their next one not handed out yet or, once all are,
    the last one handed out that no worker has started (kept until its turn, at most ``RANGES_AHEAD`` of them).
    Raises what making a range raised (``NotPlain``); the ranges not started yet are then not started."""
    ranges = id_ranges(count)
    theirs = iter(range(FIRST_MADE_HERE, len(ranges)))
    pending: dict[int, Future[RangeRows]] = {}
    made: dict[int, RangeRows] = {}  # ranges of the workers' share made here while waiting for one of theirs

    def hand_out() -> None:
        while len(pending) < RANGES_AHEAD and (index := next(theirs, None)) is not None:
            pending[index] = pool.submit(range_rows, log, *ranges[index], until)

    def spare_range() -> int | None:
        if (index := next(theirs, None)) is not None:
            return index
        # All handed out (the log's end): the queue of a worker would keep this process waiting for up to
        # RANGES_AHEAD ranges made one after the other.
        for index in sorted(pending, reverse=True):
            if pending[index].cancel():
                del pending[index]
                return index
        return None

    read = 0
    try:
        for index, (low, high) in enumerate(ranges):
            hand_out()
            future = pending.pop(index, None)
            if future is not None:
                while not future.done() and len(made) < RANGES_AHEAD and (spare := spare_range()) is not None:
                    made[spare] = range_rows(log, *ranges[spare], until)
                found_rows = future.result()
            else:
                found_rows = made.pop(index) if index in made else range_rows(log, low, high, until)
            events, weapons, found, rows = found_rows
            shipments.merge(found)
            read += rows
            yield events, weapons, read
    finally:
        for future in pending.values():
            future.cancel()
