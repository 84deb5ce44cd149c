"""Compare the stored views with a fresh projection of the log: rows edited, added or removed by hand.

The rows a rebuild would write, up to the position the stored views say they
reached, are made in memory from the log read stream by stream
(``projections.projected_rows``), or, for a log that is not plain there, by
projecting it into scratch views (SQLite in a temporary directory, written as a
rebuild); every table is compared row by row: both sides in key order, a batch
at a time, merged, so memory stays flat whatever the size of the views::

    for mismatch in compare_views(node.views, node.registry):
        print(mismatch)   # view_weapons weapon_id=...: column status: expected 'destroyed', found 'registered'
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from projections.errors import UnreadableLog
from projections.projected_rows import NotPlain, Shipments, rows_by_stream
from projections.sqlite_store import SQLiteViewStore
from projections.store import (
    EVENT_ROWS,
    RECEIPT_ROWS,
    SHIPMENT_ROWS,
    SHIPMENT_WEAPON_ROWS,
    TRACKING_TABLE,
    VIEW_TABLES,
    WEAPON_ROWS,
    ViewStore,
)
from projections.views import EnvelopeLog, Progress, Views

KEYS = {
    "view_events": ("stream", "node", "version"),
    "view_weapons": ("weapon_id",),
    "view_shipments": ("shipment_id",),
    "view_shipment_weapons": ("shipment_id", "weapon_id"),
}
assert set(KEYS) == set(VIEW_TABLES), "every view table is compared"
_KEY_NAMES = {**KEYS, TRACKING_TABLE: ("application_name",)}
_INTEGER_KEYS = frozenset({"version"})
READ_BATCH = 2000  # rows fetched at a time from each side
# The columns of view_shipments: the export facts, then the receipt (the key once).
_SHIPMENT_TABLE_COLUMNS = (*SHIPMENT_ROWS.columns, *RECEIPT_ROWS.columns[1:])

Row = tuple[Any, ...]


@dataclass(frozen=True)
class ViewMismatch:
    """One row of ``table`` that differs from the projection of the log.

    ``expected`` / ``found`` are the rows (column to value) or None when
    the row is missing on that side.
    """

    table: str
    key: tuple[Any, ...]
    expected: dict[str, Any] | None
    found: dict[str, Any] | None

    def __str__(self) -> str:
        where = f"{self.table} " + ", ".join(f"{n}={v}" for n, v in zip(_KEY_NAMES[self.table], self.key, strict=True))
        if self.found is None:
            return f"{where}: row missing (the log projects it)"
        if self.expected is None:
            return f"{where}: row found that the log does not project"
        return where + ": " + "; ".join(
            f"column {name}: expected {self.expected[name]!r}, found {self.found.get(name)!r}"
            for name in self.expected if self.expected[name] != self.found.get(name))


def compare_views(views: Views, log: EnvelopeLog, progress: Progress | None = None, *,
                  canonical_known: bool = False) -> Iterator[ViewMismatch]:
    """Every row of ``views`` that differs from ``log`` projected up to the views' tracked position.

    A tracked position past the end of ``log`` is a mismatch too. Only
    ``log``'s records are projected: views that also hold other logs
    (partners' records) report those rows as found without being projected.
    The stored views are read in one read transaction (on PostgreSQL a
    repeatable-read one), their position with them, so a catch-up that
    commits meanwhile (a command, ``node run``) changes nothing read.
    Raises ``UnreadableLog`` if a row of ``log`` cannot be read (a NULL
    state, an originator id that is not a UUID). ``progress`` is told how far the
    fresh projection is (``Views.catch_up``).

    The log is read by stream and its rows made in memory (``projections.projected_rows``), merged
    with the stored rows as they come; a log that is not plain there is projected into scratch views
    instead, as a rebuild is (``compare_with_scratch_views``), which finds the same for a plain log.
    The mismatches are yielded once the comparison is over.

    ``canonical_known``: the caller checks that every row of ``log`` is a canonical envelope (``verify``'s log
    audit does) and uses the mismatches only if they all are: the rows made in memory are then decoded without
    that check again (``projections.projected_rows``).
    """
    with _snapshot(views.store) as stored:
        position = stored.position(log.name)
        end = log.recorder.max_notification_id() or 0
        try:
            found = _compare_in_memory(stored, log.recorder, min(position, end), progress, canonical_known,
                                       copy_envelopes=not views.store.references(log.name, log.recorder))
        except (NotPlain, TypeError, ValueError):  # the latter: what a record the fold cannot take raises there
            found = None
    if found is None:
        yield from compare_with_scratch_views(views, log, progress)
        return
    if position > end:  # the views would skip the records still to come at these positions
        yield ViewMismatch(TRACKING_TABLE, (log.name,), {"notification_id": end}, {"notification_id": position})
    for table in KEYS:
        yield from found[table]


def _compare_in_memory(stored: _Snapshot, recorder: Any, until: int, progress: Progress | None,
                       canonical_known: bool = False, copy_envelopes: bool = True) -> dict[str, list[ViewMismatch]]:
    """The mismatches of each table, the log's rows made in memory up to position ``until``; ``NotPlain``."""
    found: dict[str, list[ViewMismatch]] = {table: [] for table in KEYS}
    merges: list[_Merge] = []
    try:
        for table, columns in (("view_events", EVENT_ROWS.columns), ("view_weapons", WEAPON_ROWS.columns)):
            merges.append(_Merge(table, columns, stored.table(table, KEYS[table], collated=False), found[table]))
        events, weapons = merges
        shipments = Shipments()
        for event_rows, weapon_row in rows_by_stream(recorder, until, shipments, progress,
                                                     canonical_known=canonical_known, copy_envelopes=copy_envelopes):
            for row in event_rows:
                events.add(row)
            if weapon_row is not None:
                weapons.add(weapon_row)
        events.finish()
        weapons.finish()
        for table, columns, rows in (("view_shipments", _SHIPMENT_TABLE_COLUMNS, shipments.shipment_rows()),
                                     ("view_shipment_weapons", SHIPMENT_WEAPON_ROWS.columns,
                                      shipments.shipment_weapon_rows())):
            merges.append(merge := _Merge(table, columns, stored.table(table, KEYS[table], collated=False),
                                          found[table]))
            for row in rows:
                merge.add(row)
            merge.finish()
        return found
    finally:
        # A comparison that gives up (``NotPlain``) leaves the stored tables' cursors open: closed here, inside
        # their transaction, not whenever they are collected, which on PostgreSQL would close a server-side
        # cursor in whatever transaction the pooled connection runs by then, and abort that one.
        for merge in merges:
            merge.close()


class _Merge:
    """The rows a table should hold, given one by one in key order, merged with the rows it holds (read in key
    order): each difference goes to ``found``. Rows given, or read, out of key order (Python's order of the key
    tuples) raise ``NotPlain``: the stored rows may come in the database's order of its index, which for the
    keys of a sound store is the same."""

    def __init__(self, table: str, columns: Sequence[tuple[str, str]], stored: tuple[Sequence[str], Iterator[Row]],
                 found: list[ViewMismatch]):
        self.table, self.found = table, found
        self.names = [name for name, _ in columns]
        self.f_names, self.f_rows = stored
        self.same_columns = list(self.f_names) == self.names
        self.e_key, self.f_key = _key_of(self.names, KEYS[table]), _key_of(self.f_names, KEYS[table])
        self.last: tuple[Any, ...] | None = None
        self.f: Row | None = None
        self.fk: tuple[Any, ...] | None = None
        self._next_found()

    def _next_found(self) -> None:
        """Read the next stored row into ``f`` and its key into ``fk`` (both None at the end)."""
        f = next(self.f_rows, None)
        if f is None:
            self.f = self.fk = None
            return
        fk = self.f_key(f)
        if self.fk is not None and not self.fk < fk:
            raise NotPlain(f"{self.table}: stored rows read out of key order")
        self.f, self.fk = f, fk

    def add(self, e: Row) -> None:
        key = self.e_key(e)
        if self.last is not None and not self.last < key:
            raise NotPlain(f"{self.table}: rows made out of key order")
        self.last = key
        while self.fk is not None and self.fk < key:
            self._found_only()
        f = self.f
        if f is not None and self.fk == key:
            if not (self.same_columns and e == f):
                e_row, f_row = dict(zip(self.names, e, strict=True)), dict(zip(self.f_names, f, strict=True))
                if e_row != f_row:
                    self.found.append(ViewMismatch(self.table, key, e_row, f_row))
            self._next_found()
        else:
            self.found.append(ViewMismatch(self.table, key, dict(zip(self.names, e, strict=True)), None))

    def _found_only(self) -> None:
        """The stored row ``f`` is one the log does not project."""
        assert self.f is not None and self.fk is not None
        self.found.append(ViewMismatch(self.table, self.fk, None, dict(zip(self.f_names, self.f, strict=True))))
        self._next_found()

    def close(self) -> None:
        """Stop reading the stored rows (closes their cursor); nothing is read after."""
        close = getattr(self.f_rows, "close", None)
        if close is not None:
            close()

    def finish(self) -> None:
        """The rows held beyond the last one given."""
        while self.f is not None:
            self._found_only()


def compare_with_scratch_views(views: Views, log: EnvelopeLog,
                               progress: Progress | None = None) -> Iterator[ViewMismatch]:
    """``compare_views`` by the reference path: ``log`` projected into scratch views as a rebuild does (SQLite
    in a temporary directory, written without waiting for the disk), then each table merged with the stored one.
    Reads ``views`` and ``log``, writes only to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="armsledger-views-") as scratch_dir, \
            Views.open({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                        "SQLITE_DBNAME": str(Path(scratch_dir) / "views.db")}) as scratch, \
            _snapshot(views.store) as stored:
        cast(SQLiteViewStore, scratch.store).durable = False  # in a temporary directory, removed at the end
        scratch.REBUILD_ASIDE = False  # in position order: the reference, not the by-stream rows it checks
        position = stored.position(log.name)
        end = log.recorder.max_notification_id() or 0
        try:
            # The scratch views start empty: projected as a rebuild is (several batches per transaction,
            # no look-up of weapons not written yet).
            scratch.rebuild(log, progress, until=min(position, end))
        except (TypeError, ValueError) as e:  # what the library and the parser raise on such rows
            raise UnreadableLog(f"the log could not be projected to compare the views with: {e}") from e
        if position > end:  # the views would skip the records still to come at these positions
            yield ViewMismatch(TRACKING_TABLE, (log.name,), {"notification_id": end},
                               {"notification_id": position})
        referenced = views.store.references(log.name, log.recorder)
        with _snapshot(scratch.store) as fresh:
            for table, key in KEYS.items():
                expected = fresh.table(table, key)
                if table == "view_events" and referenced:  # the stored views read these envelopes from the log
                    expected = _without_envelopes(*expected)
                yield from _compare_table(table, key, expected, stored.table(table, key))


class _Snapshot:
    """One state of a view store, read through ``cursor`` (inside a read transaction)."""

    def __init__(self, store: ViewStore, cursor: Any):
        self.store, self.cursor = store, cursor
        self.postgres = not isinstance(store, SQLiteViewStore)

    def position(self, name: str) -> int:
        return cast(int | None, self.store._max_tracking_id(name, self.cursor)) or 0  # type: ignore[attr-defined]

    def table(self, table: str, key: Sequence[str], collated: bool = True) -> tuple[Sequence[str], Iterator[Row]]:
        """(column names, rows of ``table`` ordered by ``key``).

        Text keys are ordered by code point on both backends (SQLite's BINARY collation, PostgreSQL's "C":
        byte order of UTF-8, which is code point order), the order Python compares them in: their default
        text collations need not agree. ``collated=False``: on PostgreSQL, in the order of the column's own
        collation, which the table's key index serves without sorting the table (the caller checks the order
        as it reads: for a sound store's keys, UUIDs and state codes, it is code point order too).
        """
        collate = ' COLLATE "C"' if self.postgres else " COLLATE BINARY"
        if self.postgres and not collated:
            collate = ""
        order = ", ".join(name if name in _INTEGER_KEYS else name + collate for name in key)
        statement = f"SELECT * FROM {table} ORDER BY {order}"
        if not self.postgres:
            # A cursor of its own (eventsourcing's wrapper tells no column names): tables are read side by side.
            cursor = self.cursor.sqlite_cursor.connection.cursor()
            # Plain tuples, not the connection's sqlite3.Row: a row equal to the one made is then found equal in C,
            # not by a dict of each (as every row of a sound store was).
            cursor.row_factory = None
            cursor.execute(statement)
            names = [column[0] for column in cursor.description]
            return names, _fetched(cursor, tuple)
        from psycopg.rows import tuple_row  # imported here: a SQLite node needs no psycopg

        # Server side: a batch at a time; tuples, not the library's dicts (a dict per row: a third of reading it).
        # Binary: the envelopes come as stored, not hex-encoded by the server and decoded here.
        named = self.cursor.connection.cursor(name=f"compare_{table}", row_factory=tuple_row, binary=True)
        named.execute(statement)
        names = [column.name for column in named.description]
        return names, _fetched(named, _plain_values, close=True)


@contextlib.contextmanager
def _snapshot(store: ViewStore) -> Iterator[_Snapshot]:
    with store.datastore.transaction(commit=False) as cursor:
        snapshot = _Snapshot(store, cursor)
        if snapshot.postgres:  # one snapshot for every statement of the transaction
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Idle while the log is projected afresh, for longer than eventsourcing's session timeout allows.
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        yield snapshot


def _without_envelopes(names: Sequence[str], rows: Iterator[Row]) -> tuple[Sequence[str], Iterator[Row]]:
    """``view_events`` rows (``names``) as views that keep their log's envelopes in the log hold them."""
    at = list(names).index("envelope")
    return names, (row[:at] + (None,) + row[at + 1:] for row in rows)


def _fetched(cursor: Any, plain: Callable[[Any], Row], close: bool = False) -> Iterator[Row]:
    try:
        while rows := cursor.fetchmany(READ_BATCH):
            yield from map(plain, rows)
    finally:
        if close:
            cursor.close()


def _plain_values(row: Row) -> Row:
    # psycopg gives bytea as bytes: the row is kept as it is, checked in C, unless a value is a memoryview.
    if memoryview not in map(type, row):
        return row
    return tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)


def _compare_table(table: str, key: Sequence[str], expected: tuple[Sequence[str], Iterator[Row]],
                   found: tuple[Sequence[str], Iterator[Row]]) -> Iterator[ViewMismatch]:
    """Merge two key-ordered row sequences ((column names, rows)) and name what differs."""
    (e_names, e_rows), (f_names, f_rows) = expected, found
    e_key, f_key = _key_of(e_names, key), _key_of(f_names, key)
    same_columns = list(e_names) == list(f_names)
    e, f = next(e_rows, None), next(f_rows, None)
    while e is not None or f is not None:
        if f is None or (e is not None and e_key(e) < f_key(f)):
            assert e is not None
            yield ViewMismatch(table, e_key(e), dict(zip(e_names, e, strict=True)), None)
            e = next(e_rows, None)
        elif e is None or f_key(f) < e_key(e):
            yield ViewMismatch(table, f_key(f), None, dict(zip(f_names, f, strict=True)))
            f = next(f_rows, None)
        else:
            if not (same_columns and e == f):
                e_row, f_row = dict(zip(e_names, e, strict=True)), dict(zip(f_names, f, strict=True))
                if e_row != f_row:
                    yield ViewMismatch(table, e_key(e), e_row, f_row)
            e, f = next(e_rows, None), next(f_rows, None)


def _key_of(names: Sequence[str], key: Sequence[str]) -> Callable[[Row], tuple[Any, ...]]:
    indexes = [list(names).index(name) for name in key]
    if len(indexes) == 1:
        index = indexes[0]
        return lambda row: (row[index],)
    return cast(Callable[[Row], tuple[Any, ...]], itemgetter(*indexes))
