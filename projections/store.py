"""The views' tables and the interface every backend implements.

A store is an eventsourcing ``TrackingRecorder`` (see ``sqlite_store`` and
``postgres_store``): it writes a batch's view rows and the tracking row
(application name, last notification id) in ONE transaction, using the
library's own tracking statement, which refuses a position that does not
advance. So a crash between batches loses nothing and a batch is never
applied twice, even by two processes catching up at once.

Tables (the same on SQLite and PostgreSQL but for the type of ``envelope``
and how the serial columns are indexed for ``LIKE``)::

    view_events            one row per projected record, key (stream, node, version):
                           its header, sequence_on, month, and the signed envelope as stored,
                           NULL for a record of the views' own log (``ViewStore.own_log``: the
                           log's row at notification_id holds it)
    view_weapons           one row per weapon: marking, normalised marking key and serial
                           (and the serial reversed, for suffix search), description,
                           status, holder, place, since, flags, opened_by, and the
                           lifecycle position of the last record folded in (last_*);
                           make, model and calibre indexed case-insensitively (lower)
    view_shipments         one row per shipment: export facts, exported_on, received_on
    view_shipment_weapons  (shipment_id, weapon_id)
    views_tracking         eventsourcing's single-row-per-application tracking table

SQL here is written once with ``?`` parameters; the PostgreSQL store turns
them into ``%s``.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder

from domain.weapon_state import Status, WeaponState
from ledger.envelope import Envelope
from ledger.errors import EncodingError
from projections.batch import ProjectedBatch, ViewEvent
from projections.errors import MissingRecord, TrackingConflict
from projections.weapon_state import WeaponView, weapon_row

TRACKING_TABLE = "views_tracking"
VIEW_TABLES = ("view_events", "view_weapons", "view_shipments", "view_shipment_weapons")
# Raise when the tables below change: views of an older layout are dropped
# when opened (they are rebuilt from the log by the next catch-up).
SCHEMA_VERSION = 3
SCHEMA_TRACKING_NAME = "__views_schema__"

# {bytes}: binary column type; {serial}: type of the serial columns searched with
# LIKE; {pattern_ops}: operator class that lets a B-tree index serve LIKE.
TABLES_DDL = (
    """CREATE TABLE IF NOT EXISTS view_events (
        stream TEXT NOT NULL,
        node TEXT NOT NULL,
        version BIGINT NOT NULL,
        notification_id BIGINT,
        type TEXT NOT NULL,
        occurred_on BIGINT NOT NULL,
        sequence_on BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        month TEXT NOT NULL,
        authority TEXT NOT NULL,
        envelope {bytes},
        PRIMARY KEY (stream, node, version))""",
    """CREATE TABLE IF NOT EXISTS view_weapons (
        weapon_id TEXT PRIMARY KEY,
        opened_by TEXT NOT NULL,
        manufacturer TEXT NOT NULL,
        country TEXT NOT NULL,
        serial TEXT NOT NULL,
        marking_key TEXT NOT NULL,
        serial_key {serial} NOT NULL,
        serial_key_reversed {serial} NOT NULL,
        type TEXT NOT NULL,
        make TEXT NOT NULL,
        model TEXT NOT NULL,
        calibre TEXT NOT NULL,
        year INTEGER NOT NULL,
        status TEXT NOT NULL,
        holder TEXT NOT NULL,
        place TEXT NOT NULL,
        since BIGINT,
        flags TEXT NOT NULL,
        last_sequence_on BIGINT NOT NULL,
        last_node TEXT NOT NULL,
        last_version BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS view_weapons_marking ON view_weapons (marking_key)",
    "CREATE INDEX IF NOT EXISTS view_weapons_serial ON view_weapons (serial_key{pattern_ops})",
    "CREATE INDEX IF NOT EXISTS view_weapons_serial_reversed ON view_weapons (serial_key_reversed{pattern_ops})",
    "CREATE INDEX IF NOT EXISTS view_weapons_make ON view_weapons (lower(make))",
    "CREATE INDEX IF NOT EXISTS view_weapons_model ON view_weapons (lower(model))",
    "CREATE INDEX IF NOT EXISTS view_weapons_calibre ON view_weapons (lower(calibre))",
    """CREATE TABLE IF NOT EXISTS view_shipments (
        shipment_id TEXT PRIMARY KEY,
        node TEXT NOT NULL DEFAULT '',
        export_licence TEXT NOT NULL DEFAULT '',
        import_authorization TEXT NOT NULL DEFAULT '',
        from_state TEXT NOT NULL DEFAULT '',
        to_state TEXT NOT NULL DEFAULT '',
        transit TEXT NOT NULL DEFAULT '',
        consignee TEXT NOT NULL DEFAULT '',
        exported_on BIGINT,
        received_on BIGINT,
        received_by_node TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS view_shipments_open ON view_shipments (received_on, exported_on)",
    """CREATE TABLE IF NOT EXISTS view_shipment_weapons (
        shipment_id TEXT NOT NULL,
        weapon_id TEXT NOT NULL,
        PRIMARY KEY (shipment_id, weapon_id))""",
)

# A rebuild by stream (``projections.rebuild_aside``) writes fresh tables of these names, with the
# primary keys of the views' tables but without the indexes of their queries, and renames them into place.
ASIDE_SUFFIX = "_rebuild"
ASIDE_TABLES = tuple(f"{table}{ASIDE_SUFFIX}" for table in VIEW_TABLES)
_CREATE_TABLE = "CREATE TABLE IF NOT EXISTS "
# The tables' statements, creating the fresh tables instead; the indexes', made on the views' tables.
_ASIDE_TABLES_DDL = tuple(ddl.replace(f"{_CREATE_TABLE}{ddl.split()[5]} (",
                                      f"CREATE TABLE {ddl.split()[5]}{ASIDE_SUFFIX} (", 1)
                          for ddl in TABLES_DDL if ddl.startswith(_CREATE_TABLE))
INDEXES_DDL = tuple(ddl for ddl in TABLES_DDL if not ddl.startswith(_CREATE_TABLE))


@dataclass(frozen=True)
class AsideIndex:
    """One index of the queries (``INDEXES_DDL``) made on a fresh table under a name of its own (the views'
    index keeps its name till the swap), for a backend that renames it in the swap."""

    name: str
    table: str
    ddl: str  # the statement that makes it on the fresh table, with the dialect's placeholders

    @property
    def aside_name(self) -> str:
        return f"{self.name}{ASIDE_SUFFIX}"


def _aside_index(ddl: str) -> AsideIndex:
    # "CREATE INDEX IF NOT EXISTS <name> ON <table> (<columns>)"
    name, table = ddl.split()[5], ddl.split()[7]
    return AsideIndex(name, table, f"CREATE INDEX {name}{ASIDE_SUFFIX} ON {table}{ASIDE_SUFFIX} "
                                   + ddl.split(f" ON {table} ", 1)[1])


ASIDE_INDEXES = tuple(_aside_index(ddl) for ddl in INDEXES_DDL)
assert all(index.ddl.replace(f"{index.name}{ASIDE_SUFFIX} ON {index.table}{ASIDE_SUFFIX} ",
                             f"IF NOT EXISTS {index.name} ON {index.table} ") == ddl
           for index, ddl in zip(ASIDE_INDEXES, INDEXES_DDL, strict=True))
assert len(_ASIDE_TABLES_DDL) == len(VIEW_TABLES) and all(
    f"CREATE TABLE {table} (" in ddl for table, ddl in zip(ASIDE_TABLES, _ASIDE_TABLES_DDL, strict=True))
#: The views' primary keys, as ``TABLES_DDL`` declares them.
PRIMARY_KEYS = {"view_events": "stream, node, version", "view_weapons": "weapon_id",
                "view_shipments": "shipment_id", "view_shipment_weapons": "shipment_id, weapon_id"}
# The fresh tables without their primary keys, for a backend that adds them after the rows (``ViewStore.keys_last``):
# a key column stays NOT NULL, as a primary key makes it on PostgreSQL.
_ASIDE_TABLES_UNKEYED_DDL = tuple(
    ddl.replace(f",\n        PRIMARY KEY ({PRIMARY_KEYS[table]}))", ")").replace(
        f"{PRIMARY_KEYS[table]} TEXT PRIMARY KEY,", f"{PRIMARY_KEYS[table]} TEXT NOT NULL,")
    for table, ddl in zip(VIEW_TABLES, _ASIDE_TABLES_DDL, strict=True))
assert all("PRIMARY KEY" in ddl and "PRIMARY KEY" not in unkeyed
           for ddl, unkeyed in zip(_ASIDE_TABLES_DDL, _ASIDE_TABLES_UNKEYED_DDL, strict=True))


@dataclass(frozen=True)
class RowsInto:
    """Rows of one kind that a batch writes into ``table``, and what a conflicting row does.

    ``columns`` are (name, PostgreSQL type) in row order. A batch holds at
    most one row per conflict key where ``on_conflict`` updates (PostgreSQL
    refuses to update one row twice in one statement): ``projections.batch``
    merges them.
    """

    name: str
    table: str
    columns: tuple[tuple[str, str], ...]
    on_conflict: str

    @property
    def column_list(self) -> str:
        return ", ".join(name for name, _ in self.columns)

    @property
    def insert_values(self) -> str:
        """INSERT of one row (``?`` parameters) with the conflict clause."""
        return (f"INSERT INTO {self.table} ({self.column_list}) VALUES ({', '.join('?' * len(self.columns))}) "
                f"{self.on_conflict}")


def _update_all(key: str, columns: tuple[tuple[str, str], ...]) -> str:
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(
        f"{name} = excluded.{name}" for name, _ in columns if name != key)


EVENT_ROWS = RowsInto("events", "view_events", (
    ("stream", "text"), ("node", "text"), ("version", "int8"), ("notification_id", "int8"), ("type", "text"),
    ("occurred_on", "int8"), ("sequence_on", "int8"), ("recorded_at", "int8"), ("month", "text"),
    ("authority", "text"), ("envelope", "bytea"),
), "ON CONFLICT (stream, node, version) DO NOTHING")
_WEAPON_COLUMNS = (
    ("weapon_id", "text"), ("opened_by", "text"), ("manufacturer", "text"), ("country", "text"), ("serial", "text"),
    ("marking_key", "text"), ("serial_key", "text"), ("serial_key_reversed", "text"), ("type", "text"),
    ("make", "text"), ("model", "text"), ("calibre", "text"), ("year", "int4"), ("status", "text"),
    ("holder", "text"), ("place", "text"), ("since", "int8"), ("flags", "text"), ("last_sequence_on", "int8"),
    ("last_node", "text"), ("last_version", "int8"),
)
WEAPON_ROWS = RowsInto("weapons", "view_weapons", _WEAPON_COLUMNS, _update_all("weapon_id", _WEAPON_COLUMNS))
_SHIPMENT_COLUMNS = (
    ("shipment_id", "text"), ("node", "text"), ("export_licence", "text"), ("import_authorization", "text"),
    ("from_state", "text"), ("to_state", "text"), ("transit", "text"), ("consignee", "text"), ("exported_on", "int8"),
)
SHIPMENT_ROWS = RowsInto("shipments", "view_shipments", _SHIPMENT_COLUMNS,
                         _update_all("shipment_id", _SHIPMENT_COLUMNS))
SHIPMENT_WEAPON_ROWS = RowsInto("shipment_weapons", "view_shipment_weapons",
                                (("shipment_id", "text"), ("weapon_id", "text")),
                                "ON CONFLICT (shipment_id, weapon_id) DO NOTHING")
# The earliest confirmation wins whatever order confirmations arrive in (they
# may come from partner nodes); SET expressions all see the old row.
_EARLIER = "view_shipments.received_on IS NULL OR excluded.received_on < view_shipments.received_on"
RECEIPT_ROWS = RowsInto(
    "receipts", "view_shipments", (("shipment_id", "text"), ("received_on", "int8"), ("received_by_node", "text")),
    "ON CONFLICT (shipment_id) DO UPDATE SET "
    f"received_by_node = CASE WHEN {_EARLIER} THEN excluded.received_by_node "
    "ELSE view_shipments.received_by_node END, "
    f"received_on = CASE WHEN {_EARLIER} THEN excluded.received_on ELSE view_shipments.received_on END",
)
#: The rows a rebuild by stream writes into each fresh table (``ASIDE_TABLES``), as ``projections.projected_rows``
#: makes them: no conflict clause, as a plain log gives each key once (a taken key fails the write).
ASIDE_ROWS = {
    "view_events": RowsInto("events", "view_events" + ASIDE_SUFFIX, EVENT_ROWS.columns, ""),
    "view_weapons": RowsInto("weapons", "view_weapons" + ASIDE_SUFFIX, WEAPON_ROWS.columns, ""),
    "view_shipments": RowsInto("shipments", "view_shipments" + ASIDE_SUFFIX,
                               (*SHIPMENT_ROWS.columns, *RECEIPT_ROWS.columns[1:]), ""),
    "view_shipment_weapons": RowsInto("shipment_weapons", "view_shipment_weapons" + ASIDE_SUFFIX,
                                      SHIPMENT_WEAPON_ROWS.columns, ""),
}
SELECT_EVENT_COLUMNS = "e.stream, e.node, e.version, e.notification_id, e.type, e.occurred_on, e.sequence_on, " \
                       "e.recorded_at, e.authority"


@dataclass(frozen=True)
class OwnLog:
    """The log in the views' own database whose records ``view_events`` holds without their envelopes: the row
    of the library's events table ``events_table`` whose ``position`` column is a record's notification id
    holds it (``sql_table``: the table as the store's SQL names it)."""

    name: str  # the application name the log is projected under (its tracking name)
    events_table: str
    sql_table: str
    position: str


@dataclass
class WriteTransaction:
    """One read-write transaction of the views (``ViewStore.transaction``): its cursor, and the
    names of what the backend set up in it for ``_insert`` (PostgreSQL's staging tables)."""

    cursor: Any
    prepared: set[str] = field(default_factory=set)


class ViewStore(TrackingRecorder):
    """Tables of the views plus tracking, in one database. Backends: SQLite, PostgreSQL.

    A backend is also an eventsourcing tracking recorder (``create_table``,
    ``insert_tracking``, ``max_tracking_id``) whose ``datastore.transaction``
    yields a DB-API cursor returning rows addressable by column name.
    """

    datastore: Any
    #: How the statements' ``{bytes}``, ``{serial}`` and ``{pattern_ops}`` are written on this backend.
    dialect: dict[str, str]
    #: Whether a rebuild aside writes its fresh tables without primary keys and adds them once they are filled
    #: (``_index_aside``): one index built from the rows, instead of one entry inserted per row. A taken key
    #: then fails the swap, not the write, and the views stay as they were all the same.
    keys_last = False
    #: A rebuild aside commits its fresh tables about this often (``projections.rebuild_aside``).
    aside_transaction_seconds = 1.0
    #: The log whose records are kept without their envelopes (``references``); None: every envelope is copied.
    own_log: OwnLog | None = None

    # --- what each backend provides ----------------------------------------------------

    @abstractmethod
    def sql(self, statement: str) -> str:
        """``statement`` in the backend's parameter style."""

    @abstractmethod
    def select_in(self, cursor: Any, statement: str, values: Collection[str]) -> list[Any]:
        """Rows of ``statement``, whose one parameter ``?`` stands for a column = one of ``values``.

        Written ``column IN ?``; each backend says it its own way (a list of
        parameters in chunks, or ``= ANY(array)``).
        """

    def load_weapons(self, weapon_ids: Collection[str],
                     within: WriteTransaction | None = None) -> dict[str, WeaponView]:
        """Stored state of those of these weapons that have one (as ``within`` sees it, if given)."""
        with self._reading_within(within) as cursor:
            rows = self.select_in(cursor, "SELECT * FROM view_weapons WHERE weapon_id IN ?", weapon_ids)
        return {row["weapon_id"]: weapon_view(row) for row in rows}

    def load_weapon_events(self, weapon_ids: Collection[str],
                           within: WriteTransaction | None = None) -> list[ViewEvent]:
        """Projected records of these weapons (any order; as ``within`` sees them, if given).

        Raises ``MissingRecord`` when the row of the own log that holds a record's envelope is gone or changed."""
        with self._reading_within(within) as cursor:
            rows = self.select_in(cursor, f"SELECT {SELECT_EVENT_COLUMNS}, {self.envelope_of('e')} AS envelope "
                                          "FROM view_events e WHERE e.stream IN ?", weapon_ids)
        return [self.view_event(row) for row in rows]

    @abstractmethod
    def own_log_named(self, name: str) -> OwnLog:
        """Where the library keeps the log of the application ``name`` in the views' own database."""

    @abstractmethod
    def _same_database(self, recorder: Any) -> bool:
        """Whether ``recorder`` is the library's application recorder of the views' own database."""

    def references(self, name: str, recorder: Any) -> bool:
        """Whether the records of the log of ``recorder``, projected under ``name``, are kept without their
        envelopes: it is the views' ``own_log``. A log of another name or database has them copied."""
        own = self.own_log
        return (own is not None and name == own.name and self._same_database(recorder)
                and getattr(recorder, "events_table_name", None) == own.events_table)

    def envelope_of(self, alias: str) -> str:
        """SQL of the envelope of the ``view_events`` row ``alias``: its copy, or the own log's row."""
        own = self.own_log
        if own is None:
            return f"{alias}.envelope"
        return (f"COALESCE({alias}.envelope, (SELECT l.state FROM {own.sql_table} l "
                f"WHERE l.{own.position} = {alias}.notification_id))")

    @abstractmethod
    def _clear(self, cursor: Any) -> None:
        """Empty every view table and forget every tracked position (``_clear_tracking``)."""

    def _clear_tracking(self, cursor: Any) -> None:
        # Kept: the library's migration marker and the layout version.
        cursor.execute(self.sql(f"DELETE FROM {TRACKING_TABLE} WHERE application_name NOT IN (?, ?)"),
                       (self.table_migration_identifier, SCHEMA_TRACKING_NAME))  # type: ignore[attr-defined]

    # --- layout --------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Drop views written by an older version of this code (any layout but ``SCHEMA_VERSION``'s) and make
        this layout's tables, in one transaction.

        Two processes opening old views at once: the second looks again under the write lock, finds the
        layout the first made and changes nothing (it neither drops the first's views nor records the
        layout twice).
        """
        if self.max_tracking_id(SCHEMA_TRACKING_NAME) == SCHEMA_VERSION:
            return
        with self.transaction() as transaction:
            cursor = transaction.cursor
            self._lock_tracking(cursor)
            if self._layout_version(cursor) == SCHEMA_VERSION:  # made by another process since the look above
                return
            for table in VIEW_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            self._clear_tracking(cursor)
            cursor.execute(self.sql(f"DELETE FROM {TRACKING_TABLE} WHERE application_name = ?"),
                           (SCHEMA_TRACKING_NAME,))
            for ddl in TABLES_DDL:
                cursor.execute(ddl.format(**self.dialect))
            self._insert_tracking(cursor, Tracking(SCHEMA_TRACKING_NAME, SCHEMA_VERSION))  # type: ignore[attr-defined]

    def _lock_tracking(self, cursor: Any) -> None:
        """Whatever the backend needs, beyond ``transaction``'s start, for the transaction to hold the tracking
        table against every other writer until it ends."""

    def _layout_version(self, cursor: Any) -> int | None:
        rows = self.select(cursor, f"SELECT notification_id FROM {TRACKING_TABLE} WHERE application_name = ?",
                           (SCHEMA_TRACKING_NAME,))
        return rows[0]["notification_id"] if rows else None

    # --- writing -----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[WriteTransaction]:
        """One read-write transaction, committed at the end, rolled back if the block raises.

        ``write``s given it are applied together or not at all; loads given it
        see what they wrote. It holds the tracking row of each application
        written from the first ``write`` to the end: keep it short.
        """
        with self.datastore.transaction(commit=True) as cursor:
            self._begin_writing(cursor)
            yield WriteTransaction(cursor)

    def _begin_writing(self, cursor: Any) -> None:
        """Whatever the backend needs at the start of a read-write transaction whose reads come first."""

    def write(self, batch: ProjectedBatch, tracking: Tracking, within: WriteTransaction | None = None) -> None:
        """Apply ``batch`` and record ``tracking`` atomically (in ``within``, if given, else in a transaction
        of their own).

        Raises ``TrackingConflict`` unless ``tracking`` is past the recorded
        position of its application; the transaction then applies nothing
        (the caller leaves ``within`` by the exception, which rolls it back).
        """
        if within is None:
            with self.transaction() as transaction:
                self._write(transaction, batch, tracking)
        else:
            self._write(within, batch, tracking)

    def _write(self, transaction: WriteTransaction, batch: ProjectedBatch, tracking: Tracking) -> None:
        cursor = transaction.cursor
        # Tracking first: on PostgreSQL its row lock makes a concurrent
        # catch-up wait here and then fail, instead of racing on the views.
        try:
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]
        except IntegrityError as e:
            raise TrackingConflict(
                f"views: position {tracking.notification_id} of {tracking.application_name} "
                "was recorded meanwhile") from e
        new_weapons = batch.new_weapon_ids
        if batch.events:
            # Mostly new: a record is projected once, but another log may hold it too.
            self._insert_new(transaction, EVENT_ROWS, [e.row() for e in batch.events])
        if new_weapons:
            self._insert_new(transaction, WEAPON_ROWS, [weapon_row(w) for w in batch.weapons
                                                        if w.weapon_id in new_weapons])
        for rows_into, rows in (
            (WEAPON_ROWS, [weapon_row(w) for w in batch.weapons if w.weapon_id not in new_weapons]),
            (SHIPMENT_ROWS, [s.row() for s in batch.shipments]),
            (SHIPMENT_WEAPON_ROWS, batch.shipment_weapons),
            (RECEIPT_ROWS, [r.row() for r in batch.receipts]),
        ):
            if rows:
                self._insert(transaction, rows_into, rows)

    def clear(self) -> None:
        """Empty the views and forget every tracked position, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            self._clear(cursor)

    def _insert(self, transaction: WriteTransaction, rows_into: RowsInto, rows: Sequence[tuple]) -> None:
        """Write ``rows`` (non-empty) as ``rows_into`` says; a backend may do it faster than this."""
        transaction.cursor.executemany(self.sql(rows_into.insert_values), rows)

    def _insert_new(self, transaction: WriteTransaction, rows_into: RowsInto, rows: Sequence[tuple]) -> None:
        """``_insert``, for rows that most likely have no row of their key in the table yet: a backend
        may then write them faster while no key is taken, as long as the effect is ``_insert``'s."""
        if rows:
            self._insert(transaction, rows_into, rows)

    # --- a rebuild aside (``projections.rebuild_aside``) --------------------------------

    def create_aside(self) -> None:
        """Fresh, empty ``ASIDE_TABLES`` (any a rebuild left behind dropped first), in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            self._drop_aside(cursor)
            for ddl in _ASIDE_TABLES_UNKEYED_DDL if self.keys_last else _ASIDE_TABLES_DDL:
                cursor.execute(ddl.format(**self.dialect))

    def drop_aside(self) -> None:
        """No ``ASIDE_TABLES`` any more (none is no error)."""
        with self.datastore.transaction(commit=True) as cursor:
            self._drop_aside(cursor)

    @staticmethod
    def _drop_aside(cursor: Any) -> None:
        for table in ASIDE_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

    @contextlib.contextmanager
    def writing_aside(self) -> Iterator[None]:
        """The span of one rebuild's ``aside_transaction``s and ``swap_aside``: a backend may run work of its
        own beside them meanwhile (SQLite copies the committed WAL into the file), ended when the block ends."""
        yield

    @contextlib.contextmanager
    def aside_transaction(self) -> Iterator[WriteTransaction]:
        """A transaction that writes ``ASIDE_TABLES`` (``insert_aside``) and nothing else: what it writes is
        not read before ``swap_aside`` commits, so it need not reach the disk before that commit does."""
        with self.datastore.transaction(commit=True) as cursor:
            yield WriteTransaction(cursor)

    def insert_aside(self, transaction: WriteTransaction, rows_into: RowsInto, rows: Sequence[tuple]) -> None:
        """Write ``rows`` (non-empty, no key taken) into ``rows_into``'s fresh table (one of ``ASIDE_ROWS``)."""
        transaction.cursor.executemany(self.sql(rows_into.insert_values), rows)

    def swap_aside(self, tracking: Tracking) -> None:
        """In one transaction: the views' tables dropped, ``ASIDE_TABLES`` renamed in their place and given the
        indexes of the queries (and their primary keys, if ``keys_last``), every tracked position forgotten and
        ``tracking`` recorded. A backend may make the fresh tables' keys and indexes before that transaction
        (``_index_aside``) and only rename them in it."""
        self._index_aside()
        with self.swap_transaction() as transaction:
            cursor = transaction.cursor
            for table in VIEW_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            for table in VIEW_TABLES:
                cursor.execute(f"ALTER TABLE {table}{ASIDE_SUFFIX} RENAME TO {table}")
            self._index_swapped(cursor)
            self._clear_tracking(cursor)
            self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def swap_transaction(self) -> contextlib.AbstractContextManager[WriteTransaction]:
        """The transaction of ``swap_aside``: ``transaction``'s, unless a backend drops tables faster otherwise."""
        return self.transaction()

    def _index_aside(self) -> None:
        """Whatever the backend makes of the filled ``ASIDE_TABLES`` before ``swap_aside``'s transaction."""

    def _index_swapped(self, cursor: Any) -> None:
        """The swapped-in tables given the indexes of the queries, in ``swap_aside``'s transaction."""
        for ddl in INDEXES_DDL:
            cursor.execute(ddl.format(**self.dialect))

    # --- reading -----------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor in a read-only transaction: several queries see one state of the views."""
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    @contextlib.contextmanager
    def _reading_within(self, within: WriteTransaction | None) -> Iterator[Any]:
        if within is None:
            with self.reading() as cursor:
                yield cursor
        else:
            yield within.cursor

    @abstractmethod
    def query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one statement, run on its own (one round trip on PostgreSQL: no BEGIN/ROLLBACK)."""

    def select(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor.execute(self.sql(statement), tuple(params))
        return list(cursor.fetchall())

    @staticmethod
    def view_event(row: Any) -> ViewEvent:
        """A ``view_events`` row (``SELECT_EVENT_COLUMNS`` and ``envelope_of``) as a ``ViewEvent``; raises as
        ``held_record`` does."""
        envelope = held_record(row)
        return ViewEvent(
            stream=row["stream"], node=row["node"], version=row["version"], notification_id=row["notification_id"],
            type=row["type"], occurred_on=row["occurred_on"], sequence_on=row["sequence_on"],
            recorded_at=row["recorded_at"], authority=row["authority"], envelope=bytes(row["envelope"]),
            body=envelope.body,
        )


def held_record(row: Any) -> Envelope:
    """The record of a ``view_events`` row read with ``ViewStore.envelope_of`` (and its ``stream``, ``node``,
    ``version`` and ``notification_id``). The bytes may be the own log's row, changed since it was projected:
    they are parsed as a catch-up parses them. Raises ``MissingRecord`` when that row is gone or holds
    another record or bytes that are not a canonical envelope (``armsledger verify`` names each)."""
    if row["envelope"] is None:
        raise MissingRecord(f"views: the log holds no record at position {row['notification_id']} "
                            f"(one of {row['stream']}), which the views hold: run armsledger verify")
    try:
        envelope = Envelope.from_bytes(bytes(row["envelope"]))
    except EncodingError as e:
        raise MissingRecord(f"views: the log's row at position {row['notification_id']} is not a readable record "
                            f"(version {row['version']} of {row['stream']}: {e}): run armsledger verify") from e
    if (envelope.stream, envelope.node, envelope.version) != (row["stream"], row["node"], row["version"]):
        raise MissingRecord(f"views: the log's record at position {row['notification_id']} is not the one the "
                            f"views hold (version {row['version']} of {row['stream']}): run armsledger verify")
    return envelope


def weapon_view(row: Any) -> WeaponView:
    """A ``view_weapons`` row as the ``WeaponView`` it was written from.

    The state keeps what the row holds; the fields the views do not store
    (marks, the awaited receipt, ...) start empty: no column depends on them.
    """
    marking = {k: row[k] for k in ("manufacturer", "country", "serial")}
    state = WeaponState(
        marking=marking if any(marking.values()) else {}, type=row["type"], make=row["make"], model=row["model"],
        calibre=row["calibre"], year=row["year"], status=Status(row["status"]) if row["status"] else None,
        holder=row["holder"], place=row["place"], flags=tuple(f for f in row["flags"].split(",") if f))
    return WeaponView(weapon_id=row["weapon_id"], opened_by=row["opened_by"], state=state, since=row["since"],
                      last=(row["last_sequence_on"], row["last_node"], row["last_version"]))
