"""The rows a rebuild of the views writes, made in memory from the log read stream by stream (for ``compare``).

A rebuild projects the log in position order and writes it batch by batch; comparing the stored
views with it needs only its rows, in the views' key order. Read by stream (the order of the log's
primary key), each stream's records come together and in version order, so its ``view_events`` rows
and its weapon's ``view_weapons`` row are made when the stream ends, already in key order, and
nothing is written. Shipments gather records of several streams (an export names its shipment), so
their rows are kept by shipment until the log ends: a few per export, not per record.

Both orders give the same rows for a *plain* log only: every row an envelope (``Envelope.from_bytes``),
each stream's records of one node with positions and their envelopes' versions rising together, the
streams' ids as the library reads them, and markings, flags and corrections that the views store and load back unchanged
(a rebuild continues a weapon's fold from its stored row at each batch: ``projections.store.weapon_view``).
For any other log ``rows_by_stream`` raises ``NotPlain``, and the caller projects it as a rebuild does.

A caller that checks elsewhere that every row is a canonical envelope (``verify``'s log audit) may have the
rows decoded without that check (``canonical_known``): their values are the same for canonical bytes, and
what is made of any other row is to be thrown away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sqlite3
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any

import msgpack

from domain.event_types import CORRECTED, WEAPON_EVENT_TYPES
from ledger.envelope import Envelope, envelope_fields
from ledger.errors import EncodingError
from projections.batch import (
    PROJECTED_EVENT_TYPES,
    SHIPMENT_FACT_TYPES,
    ProjectedBatch,
    ViewEvent,
    collect_shipment_facts,
)
from projections.weapon_state import fold, weapon_row

#: Rows of the log fetched at a time.
READ_BATCH = 1000
#: Shipment facts, receipts and shipment weapons kept at most before the comparison gives up on this path.
SHIPMENT_ROWS_LIMIT = 200_000
_UUID_HEX = re.compile(r"[0-9a-f]{32}")
_MARKING_KEYS = frozenset({"manufacturer", "country", "serial"})
_ONLY_STR = frozenset({str})
_ENVELOPE_FIELDS = frozenset(field.name for field in dataclasses.fields(Envelope))

Row = tuple[Any, ...]


class NotPlain(Exception):
    """The log is not one whose rows ``rows_by_stream`` makes as a rebuild makes them."""


class Shipments:
    """The shipment rows of the records seen so far: the last export facts (in log position order), the
    earliest receipt (the first in the log of equal dates), the weapons each names."""

    def __init__(self) -> None:
        self._facts: dict[str, tuple[int, Row]] = {}
        self._receipts: dict[str, tuple[int, int, str]] = {}
        self._weapons: set[tuple[str, str]] = set()

    def add(self, position: int, event: ViewEvent) -> None:
        found = ProjectedBatch(position, 1)
        collect_shipment_facts(event, found)
        for facts in found.shipments:
            self._keep_facts(facts.shipment_id, (position, facts.row()))
        for receipt in found.receipts:
            self._keep_receipt(receipt.shipment_id, (receipt.received_on, position, receipt.node))
        self._weapons.update(found.shipment_weapons)
        self._check_size()

    def merge(self, other: Shipments) -> None:
        """The rows of the records seen by ``other`` too, as if this one had seen them."""
        for shipment_id, facts in other._facts.items():
            self._keep_facts(shipment_id, facts)
        for shipment_id, receipt in other._receipts.items():
            self._keep_receipt(shipment_id, receipt)
        self._weapons |= other._weapons
        self._check_size()

    def _keep_facts(self, shipment_id: str, facts: tuple[int, Row]) -> None:
        kept = self._facts.get(shipment_id)
        if kept is None or kept[0] < facts[0]:
            self._facts[shipment_id] = facts

    def _keep_receipt(self, shipment_id: str, receipt: tuple[int, int, str]) -> None:
        earliest = self._receipts.get(shipment_id)
        if earliest is None or receipt[:2] < earliest[:2]:
            self._receipts[shipment_id] = receipt

    def _check_size(self) -> None:
        if len(self._facts) + len(self._receipts) + len(self._weapons) > SHIPMENT_ROWS_LIMIT:
            raise NotPlain("too many shipments to keep in memory")

    def shipment_rows(self) -> list[Row]:
        """``view_shipments`` rows in key order (a receipt without facts: the columns' defaults)."""
        rows = []
        for shipment_id in sorted(self._facts.keys() | self._receipts.keys()):
            facts = self._facts.get(shipment_id)
            receipt = self._receipts.get(shipment_id)
            rows.append((*(facts[1] if facts else (shipment_id, "", "", "", "", "", "", "", None)),
                         *((receipt[0], receipt[2]) if receipt else (None, ""))))
        return rows

    def shipment_weapon_rows(self) -> list[Row]:
        return sorted(self._weapons)


def rows_by_stream(recorder: Any, until: int, shipments: Shipments, progress: Any = None, *,
                   canonical_known: bool = False, copy_envelopes: bool = True
                   ) -> Iterator[tuple[list[Row], Row | None]]:
    """For each stream of ``recorder``'s log with records projected at positions up to ``until``, in the order
    of its id: (its ``view_events`` rows in version order, its ``view_weapons`` row or None). Shipment facts go
    to ``shipments``. ``progress(rows read, until)`` is told every ``READ_BATCH`` rows and at the end.

    Requires the library's SQLite or PostgreSQL recorder. Raises ``NotPlain`` (see the module docstring) when
    the log is not plain; the rows yielded until then are not to be used. ``canonical_known``: the rows are
    decoded without checking that they are canonical envelopes; what is made is right only if they all are.
    ``copy_envelopes`` False: the rows of the views' own log, without their envelopes (``project_parsed``).
    """
    # Closed here, not when collected: the read holds a pooled connection, which a pool closed by then refuses.
    with contextlib.closing(_rows_in_stream_order(recorder)) as log_rows:
        yield from stream_rows(log_rows, until, shipments, progress, canonical_known=canonical_known,
                               copy_envelopes=copy_envelopes)


def stream_rows(log_rows: Iterable[tuple[int, bytes | None]], until: int, shipments: Shipments,
                progress: Any = None, *, canonical_known: bool = False, copy_envelopes: bool = True
                ) -> Iterator[tuple[list[Row], Row | None]]:
    """``rows_by_stream`` of ``log_rows``: (position, stored bytes) of a log's rows in the order of its primary
    key (stream id, version), all of the log or the streams of a range of ids (``projections.range_rows``)."""
    # The fields by name, not an Envelope (a sixth of the parse): the same verdict as Envelope.from_bytes.
    parse = _decoded if canonical_known else envelope_fields
    stream: str | None = None
    node = ""
    records: list[tuple[int, dict[str, Any], bytes]] = []
    shared: dict[str, str] = {}
    read = 0
    for position, state in log_rows:
        read += 1
        if progress is not None and read % READ_BATCH == 0:
            progress(read, until)
        if position > until:
            continue
        if state is None:
            raise NotPlain("a row holds no bytes")
        try:
            fields = parse(state)
        except EncodingError as e:
            raise NotPlain("a row is not an envelope") from e
        if fields["type"] not in PROJECTED_EVENT_TYPES:
            continue
        if fields["stream"] != stream:
            if records:
                yield _stream_rows(records, shipments, shared, copy_envelopes)
            stream, node, records = fields["stream"], fields["node"], []
        elif fields["node"] != node or position < records[-1][0] or fields["version"] <= records[-1][1]["version"]:
            # A version that does not rise: a record stored twice (replayed), whose views' key repeats.
            raise NotPlain("a stream's records are of several nodes, or out of position or version order")
        records.append((position, fields, state))
    if records:
        yield _stream_rows(records, shipments, shared, copy_envelopes)
    if progress is not None:
        progress(read, until)


def _decoded(data: bytes) -> dict[str, Any]:
    """``data``'s fields as ``envelope_fields`` gives them when ``data`` is a canonical envelope, without
    checking that it is one (a third of the parse); a value of another shape is parsed by ``envelope_fields``,
    which names what is wrong with it."""
    try:
        value = msgpack.unpackb(data, raw=False, use_list=False, strict_map_key=True)
    except Exception:  # noqa: BLE001 - msgpack raises several unrelated types; the parser words the error
        return envelope_fields(data)
    if type(value) is not dict or value.keys() != _ENVELOPE_FIELDS:
        return envelope_fields(data)
    return value


def _stream_rows(records: list[tuple[int, dict[str, Any], bytes]], shipments: Shipments,
                 shared: dict[str, str], copy_envelopes: bool) -> tuple[list[Row], Row | None]:
    """The rows of one stream's records (one node, in version and position order, each its fields by name),
    as a rebuild makes them; ``shared`` gives one object for each type and authority seen (see below)."""
    rows: list[Row] = []
    weapon_events: list[ViewEvent] = []
    chain_end: int | None = None
    # One object for the stream's id and node in all its rows, and for each type and authority (equal values):
    # rows pickled (``projections.range_rows``) write each once, and are read back a quarter faster.
    stream, node = records[0][1]["stream"], records[0][1]["node"]
    for position, fields, state in records:
        record_type, occurred_on = fields["type"], fields["occurred_on"]
        sequence_on = occurred_on
        if record_type in WEAPON_EVENT_TYPES:
            _check_loads_back(record_type, fields["version"], fields["body"])
            # The running maximum of occurred_on along the weapon's chain of this node (projections.batch).
            sequence_on = occurred_on if chain_end is None or chain_end < occurred_on else chain_end
            chain_end = sequence_on
        authority = fields["authority"]
        event = ViewEvent(stream, node, fields["version"], position, shared.setdefault(record_type, record_type),
                          occurred_on, sequence_on, fields["recorded_at"], shared.setdefault(authority, authority),
                          state if copy_envelopes else None, fields["body"])
        rows.append(event.row())
        if record_type in WEAPON_EVENT_TYPES:
            weapon_events.append(event)
        if record_type in SHIPMENT_FACT_TYPES:
            shipments.add(position, event)
    # One node's records in version order: in lifecycle order already (``projections.weapon_state``).
    weapon = weapon_row(fold(stream, weapon_events, in_order=True)) if weapon_events else None
    return rows, weapon


def _check_loads_back(record_type: str, version: int, body: Mapping[str, Any]) -> None:
    """``NotPlain`` unless a weapon folded with this record reads back from its stored row as it was folded:
    markings of text under the three keys the row stores, flags that the row's comma-joined column splits back,
    a correction of an earlier record of its stream (so that a fold continued after it needs it no more)."""
    if record_type == CORRECTED:
        target, values = body.get("record_version"), body.get("new_values")
        if not isinstance(target, int) or target >= version:
            raise NotPlain("a correction of a record that is not earlier")
        if isinstance(values, Mapping):
            _check_plain_values(values)
    else:
        _check_plain_values(body)


def _check_plain_values(values: Mapping[str, Any]) -> None:
    # The types msgpack gives (a dict, a tuple) are tested first: a weapon's every record is checked.
    marking = values.get("marking")
    if marking is not None and not ((type(marking) is dict or isinstance(marking, Mapping))
                                    and marking.keys() <= _MARKING_KEYS
                                    and _ONLY_STR.issuperset(map(type, marking.values()))):  # each a str
        raise NotPlain("a marking the views do not store as it is")
    flags = values.get("flags")
    if flags is not None and not (isinstance(flags, tuple | list)
                                  and all(type(f) is str and f and "," not in f for f in flags)):
        raise NotPlain("flags the views do not store as they are")


def _rows_in_stream_order(recorder: Any) -> Generator[tuple[int, bytes | None]]:
    """(position, stored bytes) of every row of the log, by stream id and version (the table's primary key)."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as cursor:
            yield from sqlite_rows_in_stream_order(cursor.sqlite_cursor.connection, recorder.events_table_name,
                                                   recorder.datastore.originator_id_type == "uuid")
        return
    # Imported here: a SQLite node needs no psycopg.
    from eventsourcing.postgres import PostgresApplicationRecorder
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL("SELECT notification_id, state FROM {schema}.{table} ORDER BY originator_id, "
                        "originator_version").format(schema=Identifier(recorder.datastore.schema),
                                                     table=Identifier(recorder.events_table_name))
        with recorder.datastore.transaction(commit=False) as cursor:
            # Idle between batches while the rows are compared, for longer than the library's session timeout.
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            # Binary: the envelopes come as they are stored, not hex-encoded by the server and decoded here
            # (a read of 20,000 rows: 1.1-1.4 -> 0.5-0.7 us of CPU and about a third less wall time per row).
            with cursor.connection.cursor(name="compare_log", row_factory=tuple_row, binary=True) as rows:
                rows.execute(statement)
                while batch := rows.fetchmany(READ_BATCH):
                    for position, state in batch:
                        yield position, None if state is None else bytes(state)
        return
    raise NotPlain("a log that is not the library's SQLite or PostgreSQL table")


def sqlite_rows_in_stream_order(connection: sqlite3.Connection, table: str, as_uuid: bool,
                                low: str | None = None, high: str | None = None) -> Iterator[tuple[int, bytes | None]]:
    """(position, stored bytes) of the rows of the library's SQLite events ``table`` by stream id and version,
    those of the streams with ids from ``low`` (included) to ``high`` (excluded) if given. ``as_uuid``: the
    library writes the ids as UUIDs (32 hex digits), and ``NotPlain`` is raised for one that is not."""
    where = " AND ".join(condition for condition, bound in (("originator_id >= ?", low), ("originator_id < ?", high))
                         if bound is not None)
    log_rows = connection.cursor()
    log_rows.row_factory = None  # plain tuples, not a library connection's sqlite3.Row (a fifth of reading a row)
    log_rows.execute(
        f"SELECT rowid, originator_id, state FROM {table} {'WHERE ' + where if where else ''} "
        "ORDER BY originator_id, originator_version", tuple(bound for bound in (low, high) if bound is not None))
    match = _UUID_HEX.fullmatch
    checked = None  # the stream id checked last: a stream's rows come together, checked once
    while batch := log_rows.fetchmany(READ_BATCH):
        for position, stream, state in batch:
            if as_uuid and stream != checked:
                if type(stream) is not str or match(stream) is None:
                    raise NotPlain("a stream id not written as the library writes a UUID")
                checked = stream
            yield position, state
