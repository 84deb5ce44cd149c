"""A rebuild from zero written aside: the log read stream by stream into fresh tables, swapped in at the end.

For a plain log (``projections.projected_rows``) the rows of a rebuild come out in the views' key
order, each weapon's row whole when its stream ends. They are written into fresh tables
(``projections.store.ASIDE_TABLES``) that have the views' primary keys (on PostgreSQL not even those:
``ViewStore.keys_last``) but not the indexes of their queries, so each write appends to its B-trees
instead of inserting at random places. One transaction then drops the views' tables, renames the fresh
ones in their place, makes the query indexes and records the tracked position (on PostgreSQL the keys left
for last, the query indexes and the planner's statistics are made on the filled fresh tables first, two
at a time, and the swap only renames them)::

    processed = rebuild_aside(views.store, node.registry, until=None, progress=None)
    if processed is None:   # not a plain log: nothing changed, rebuild in position order
        ...

A large SQLite log's rows are made on a worker process while this one writes them (``projections.range_rows``).
Until that commit the views stay as they were: a crash leaves them whole beside fresh tables that
the next rebuild drops, never views that look complete and are not.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import Tracking

from projections.batch import cyclic_gc_paused
from projections.log_pages import extent
from projections.projected_rows import NotPlain, Shipments, rows_by_stream
from projections.range_rows import LogFile, rows_from_workers
from projections.read_ahead import ItemsAhead, can_read_ahead
from projections.store import ASIDE_ROWS, ViewStore

if TYPE_CHECKING:
    from projections.views import EnvelopeLog, Progress, StartWorkers

#: Rows of ``view_events`` written at a time.
WRITE_ROWS = 2000
AHEAD = True
#: A log of this many rows or more, in an SQLite file, has its rows made on ``WORKERS`` worker processes
#: (``projections.range_rows``) when the caller gives a way to start them: a worker's start is about 0.1 s.
WORKERS_FROM = 10_000
WORKERS = 1

Row = tuple[Any, ...]
Chunk = tuple[list[Row], list[Row], int]  # events' rows, weapons' rows, the log's rows read


def rebuild_aside(store: ViewStore, log: EnvelopeLog, until: int | None, progress: Progress | None,
                  start_workers: StartWorkers | None = None) -> int | None:
    """The views of ``store`` rebuilt from ``log`` up to position ``until`` (all of it if
    None) as the module says, every tracked position forgotten but ``log``'s; returns the number of its
    notifications processed. ``progress(done, total)``: the log's rows read so far, of those up to ``until``.

    ``start_workers``: how to start worker processes; given, a log of ``WORKERS_FROM`` rows or more in an
    SQLite file on a machine of several cores has its rows made on ``WORKERS`` of them (``projections.range_rows``),
    else they are made here, on a thread ahead of the writes (``AHEAD``).

    Returns None, having changed nothing, for a log this path does not rebuild: empty, not the library's
    SQLite or PostgreSQL table, an SQLite database in memory (its reader and writer take turns), or not
    plain (``NotPlain``); ``Views.rebuild`` then projects it in position order. Raises what reading the log
    or writing the views raises, the views left as they were.
    """
    found = extent(log.recorder, until) if can_read_ahead(log.recorder) else None
    if found is None or found[0] == 0:
        return None
    count, end = found
    copy_envelopes = not store.references(log.name, log.recorder)
    # With one core, a worker would only add its start and the pickling of its rows.
    log_file = LogFile.of(log.recorder, copy_envelopes=copy_envelopes) if (
        start_workers is not None and count >= WORKERS_FROM and (os.cpu_count() or 1) > 1) else None
    store.create_aside()
    try:
        # On SQLite, with the WAL copied into the file beside the writes (``ViewStore.writing_aside``).
        with store.writing_aside():
            shipments = Shipments()
            if log_file is not None and start_workers is not None:
                with start_workers(WORKERS) as pool:
                    try:
                        _write_aside(store, rows_from_workers(pool, log_file, count, end, shipments), progress, count)
                    finally:
                        pool.shutdown(wait=True, cancel_futures=True)
            elif AHEAD:
                with ItemsAhead(_chunks(log.recorder, end, shipments, copy_envelopes)) as ahead:
                    _write_aside(store, iter(ahead), progress, count)
            else:
                _write_aside(store, _chunks(log.recorder, end, shipments, copy_envelopes), progress, count)
            with store.aside_transaction() as transaction:
                for table, rows in (("view_shipments", shipments.shipment_rows()),
                                    ("view_shipment_weapons", shipments.shipment_weapon_rows())):
                    if rows:
                        store.insert_aside(transaction, ASIDE_ROWS[table], rows)
            store.swap_aside(Tracking(log.name, end))
    except NotPlain:
        store.drop_aside()
        return None
    except BaseException:
        with contextlib.suppress(Exception):  # what failed may fail this too: its own error is the one to see
            store.drop_aside()
        raise
    if progress is not None:
        progress(count, count)
    return count


def _chunks(recorder: Any, end: int, shipments: Shipments, copy_envelopes: bool) -> Iterator[Chunk]:
    """The events' and weapons' rows of ``recorder``'s log up to ``end`` (``rows_by_stream``), some
    ``WRITE_ROWS`` events' rows at a time, each with the number of the log's rows read to make it."""
    read = 0

    def reads(rows: int, _until: int) -> None:
        nonlocal read
        read = rows

    events: list[Row] = []
    weapons: list[Row] = []
    for event_rows, weapon in rows_by_stream(recorder, end, shipments, reads, copy_envelopes=copy_envelopes):
        events += event_rows
        if weapon is not None:
            weapons.append(weapon)
        if len(events) >= WRITE_ROWS:
            yield events, weapons, read
            events, weapons = [], []
    if events or weapons:
        yield events, weapons, read


def _write_aside(store: ViewStore, chunks: Iterator[Chunk], progress: Progress | None, count: int) -> None:
    """``chunks`` written into the fresh tables, a transaction about every ``store.aside_transaction_seconds``;
    ``progress`` told the log's rows read (at most ``count``) after each."""
    events_into, weapons_into = ASIDE_ROWS["view_events"], ASIDE_ROWS["view_weapons"]
    exhausted = False
    while not exhausted:
        with store.aside_transaction() as transaction, cyclic_gc_paused():
            started = time.monotonic()
            while time.monotonic() - started < store.aside_transaction_seconds:
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                events, weapons, read = chunk
                if events:
                    store.insert_aside(transaction, events_into, events)
                if weapons:
                    store.insert_aside(transaction, weapons_into, weapons)
                if progress is not None:
                    progress(min(read, count), count)


