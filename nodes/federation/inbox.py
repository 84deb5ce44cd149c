"""The inbox: what this node received from its partners, in its own database.

Accepted partner envelopes (bytes exactly as received), kept partner checkpoints,
quarantine entries and cosignatures of our checkpoints, as stored events of one
eventsourcing ``ProcessRecorder`` (tables ``inbox_events`` and ``inbox_tracking``);
``record`` writes a batch and its tracking row in ONE transaction, so re-reading
Kafka after a crash has no effect. Tracking rows also hold the relay's positions.
The layout is in docs/federation.md ("Inbox").
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Self

from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore, SQLiteProcessRecorder
from eventsourcing.utils import Environment, get_topic, retry

from ledger.checkpoint import Checkpoint
from ledger.encoding import canonical_encode
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from nodes.federation.inbox_proofs import (
    KeptProof,
    create_statement,
    keep_sqlite,
    open_sqlite_table,
    select_proofs,
    select_sqlite,
)
from nodes.federation.inbox_records import (  # noqa: F401  (re-exported: the inbox's records and ids)
    COSIGNATURE,
    EVENTS_TABLE,
    GOSSIPED,
    INBOX_NAME,
    INTERNAL_PREFIX,
    KIND_ALARM,
    KIND_ERROR,
    PARTNER_CHECKPOINT,
    QUARANTINE_RESOLVED,
    QUARANTINED,
    TRACKING_TABLE,
    Cosignature,
    GossipedCheckpoint,
    InboxBatch,
    ParkedEntry,
    QuarantineEntry,
    checkpoints_stream_id,
    cosignature_id,
    now_us,
    quarantine_id,
    received_stream_id,
    unresolved,
)
from nodes.registry.paging import notifications, paged
from nodes.registry.storage import eventsourcing_env, translated_errors
from projections.sqlite_tracking import TablesCreatedByOneAtATime, create_tracking_table, use_tracking_table

_PAGE = 1000
#: Page cache of the SQLite connection that writes a batch, in KiB (SQLite's default: 2 MiB). The records' key of
#: random streams dirties pages all over its index; at 100,000 records held they no longer stayed in the default
#: cache, and a batch cost about a quarter more CPU (docs/benchmarks.md, Replication).
_WRITER_CACHE_KIB = 32 * 1024
_IN_CHUNK = 500  # ids per IN (...) list: SQLite caps bound parameters per statement


class Inbox:
    """Received partner records, checkpoints, quarantine and positions. Close when done."""

    def __init__(self, recorder: ProcessRecorder, factory: InfrastructureFactory | None = None):
        self.recorder = recorder
        self._factory = factory
        self._queries = _Queries(recorder)
        self._newest_written = 0  # the newest row ``record`` wrote, where the recorder tells it (PostgreSQL)

    @classmethod
    def open(cls, db: str) -> Inbox:
        """Open (creating the tables if missing) the inbox in database ``db``.

        ``db`` is a SQLite file path or a ``postgresql://`` URL, as for the registry;
        raises ``ConfigurationError`` for anything else, ``StorageError`` if the
        database cannot be opened.
        """
        env = eventsourcing_env(db)
        if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
            # The library names SQLite tables "stored_events" and "tracking" whatever the
            # application: the registry's. The inbox needs tables of its own.
            env["PROCESS_RECORDER_TOPIC"] = get_topic(_SQLiteInboxRecorder)
        else:
            # Named by its topic: psycopg is imported only when a PostgreSQL inbox is opened.
            env.update({"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4",
                        "PROCESS_RECORDER_TOPIC": "nodes.federation.inbox_postgres:PostgresInboxRecorder"})
        with translated_errors("opening the inbox"):
            factory = InfrastructureFactory.construct(Environment(INBOX_NAME, env))
            recorder = factory.process_recorder()
            inbox = cls(recorder, factory)
            inbox._queries.create_indexes()
            inbox._queries.create_proofs_table()
        return inbox

    def close(self) -> None:
        if self._factory is not None:
            self._factory.close()
            self._factory = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading: accepted records ---------------------------------------------------------

    def received(self, *, node: str, stream: str) -> list[Envelope]:
        """Accepted envelopes of partner ``node``'s ``stream``, in version order."""
        with self._reading("reading received records"):
            stored = self.recorder.select_events(received_stream_id(node, str(stream)))
        return [Envelope.from_bytes(s.state) for s in stored]

    def received_about(self, stream: str, nodes: Iterable[str]) -> list[Envelope]:
        """Accepted envelopes of ``stream`` from each of ``nodes`` (a weapon's id is the same
        everywhere), node by node in the order given, each in version order: one query for them all."""
        ids = [received_stream_id(node, str(stream)) for node in nodes]
        with self._reading("reading received records"):
            rows = self._queries.select_streams(list(dict.fromkeys(ids)))
        by_stream: dict[uuid.UUID, list[tuple[int, bytes]]] = {}
        for originator_id, version, state in rows:
            by_stream.setdefault(originator_id, []).append((version, state))
        return [Envelope.from_bytes(state) for node_id in ids for _, state in sorted(by_stream.get(node_id, ()))]

    def received_notifications(self, start: int, limit: int) -> list[tuple[int, Envelope]]:
        """Up to ``limit`` accepted envelopes with notification id >= ``start``, in arrival order.

        Ids have gaps (bookkeeping rows are skipped; PostgreSQL sequences skip too): resume
        from the last id returned + 1. An empty list means nothing more is there now. Rows are
        told apart by their bytes, not by the unsigned topic column. Raises ``EncodingError``
        for a received record whose bytes are not an envelope (``armsledger verify`` names it).
        """
        found: list[tuple[int, Envelope]] = []
        with self._reading("reading received records"):
            for n in notifications(self.recorder, start=start, limit=max(limit, _PAGE)):
                envelope = _received_envelope(n)
                if envelope is not None:
                    found.append((n.id, envelope))
                    if len(found) == limit:
                        break
        return found

    def stored_rows(self) -> Iterator[Notification]:
        """Every row of the inbox, bookkeeping included, in arrival order (notifications with
        ``id``, ``originator_id``, ``originator_version``, ``topic`` and ``state``): what
        ``armsledger verify`` audits, without trusting the topic column to tell them apart. A damaged
        row is read as stored: its ``state`` may be ``None`` (NULL), for the audit to name it."""
        with self._reading("reading the inbox"):
            for page in paged(self._stored_page, _notification_id, limit=_PAGE):
                yield from page

    def _stored_page(self, start: int, limit: int) -> Sequence[Notification]:
        try:
            return self.recorder.select_notifications(start=start, limit=limit)
        except TypeError:
            # eventsourcing's PostgreSQL recorder fails on a NULL state (bytes(None)); SQLite reads None.
            if self._queries.sqlite:
                raise
            return self._queries.notifications_as_stored(start, limit)

    def max_notification_id(self) -> int:
        with self._reading("reading the inbox"):
            return self.recorder.max_notification_id() or 0

    def held(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[int, bytes]]:
        """For each (node, stream): the versions accepted so far and their bytes (one query per 500)."""
        by_id = {received_stream_id(node, stream): (node, stream) for node, stream in keys}
        found: dict[tuple[str, str], dict[int, bytes]] = {key: {} for key in by_id.values()}
        with self._reading("reading received records"):
            for originator_id, version, state in self._queries.select_streams(list(by_id)):
                found[by_id[originator_id]][version] = state
        return found

    def kept_proofs(self, *, node: str, stream: str) -> dict[int, KeptProof]:
        """The inclusion proofs ingest accepted partner ``node``'s ``stream`` with, by version
        (``nodes.federation.inbox_proofs``); records received before proofs were kept have none."""
        with self._reading("reading kept proofs"), self._queries.one_read() as cursor:
            if self._queries.sqlite:
                return select_sqlite(cursor, node, str(stream))
            return select_proofs(cursor, self._queries.datastore.schema, node, str(stream))

    # --- reading: checkpoints, cosignatures, quarantine -----------------------------------

    def partner_checkpoints(self, node: str) -> list[Checkpoint]:
        """Every checkpoint kept from partner ``node``, smallest size first."""
        with self._reading("reading partner checkpoints"):
            stored = self.recorder.select_events(checkpoints_stream_id(node))
        return sorted((Checkpoint.from_bytes(s.state) for s in stored), key=lambda c: c.size)

    def newest_partner_checkpoint(self, node: str) -> Checkpoint | None:
        """The checkpoint last kept from partner ``node`` (ingest keeps them in size order: the largest), or None."""
        with self._reading("reading partner checkpoints"):
            stored = self.recorder.select_events(checkpoints_stream_id(node), desc=True, limit=1)
        return Checkpoint.from_bytes(stored[0].state) if stored else None

    def newest_partner_checkpoints(self, after: Mapping[str, int]) -> tuple[int, dict[str, Checkpoint]]:
        """For each partner of ``after``, the checkpoint last kept from it if its row came after row
        ``after[partner]`` (0: wherever it is); and the newest row of the inbox, as of the same read.

        One query, whatever the history: each partner's newest row is looked up by its stream's index.
        Rows are only ever added, in the order of their ids (the newest is never deleted), so asking again
        with ``after`` the newest row returned reads only what was kept since. Only committed rows are read:
        a checkpoint refused, or in a batch that rolled back, is never among them.
        """
        streams = {checkpoints_stream_id(node): (node, position) for node, position in after.items()}
        with self._reading("reading partner checkpoints"):
            newest, rows = self._queries.newest_rows({stream: position for stream, (_, position) in streams.items()})
        return newest, {streams[stream][0]: Checkpoint.from_bytes(state) for stream, state in rows}

    def cosignatures(self) -> list[Cosignature]:
        """Every cosignature partners sent for our checkpoints, in arrival order."""
        return [Cosignature.from_bytes(n.state) for n in self._by_topic((COSIGNATURE,))]

    def gossiped(self) -> list[GossipedCheckpoint]:
        """Every checkpoint of a third state that partners gossiped and we kept as their claim, in arrival order."""
        return [GossipedCheckpoint.from_bytes(n.state) for n in self._by_topic((GOSSIPED,))]

    def quarantined(self, *, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Messages still in quarantine, in arrival order (``ParkedEntry.summary``): ``id`` is the
        entry's notification id; ``received_at`` microseconds since the epoch; ``kind`` "alarm" or "error".

        A page: the first ``limit`` (all if None) with an id above ``after``; the next page starts
        after the last id returned. Reads only the rows of the page.
        """
        found: list[dict[str, Any]] = []
        with self._reading("reading the quarantine"):
            while limit is None or len(found) < limit:
                wanted = _PAGE if limit is None else min(_PAGE, limit - len(found))
                rows = self._queries.unresolved_quarantine(after, wanted)
                found += [ParkedEntry.read(n, state).summary() for n, state in rows]
                if len(rows) < wanted:
                    break
                after = rows[-1][0]
        return found

    def alarm_count(self) -> int:
        """How many unresolved quarantine entries are alarms, settled or not (``nodes.federation.alarms``)."""
        return len(self.alarms())

    def alarms(self) -> list[ParkedEntry]:
        """The unresolved quarantine entries that are alarms, in arrival order; the database looks
        for them, and only the rows it finds are read here."""
        with self._reading("reading the quarantine"):
            found = [ParkedEntry.read(n, state) for n, state in self._queries.alarm_candidates()]
        return [p for p in found if p.entry.kind == KIND_ALARM]

    def expire_quarantine(self, max_entries: int, max_bytes: int) -> int:
        """Delete the oldest quarantine entries that are not alarms (with their resolution) until at most
        ``max_entries`` entries of at most ``max_bytes`` in all are stored; returns how many expired.

        Alarms (evidence of a fork) never expire: with enough of them the quarantine stays over its cap.
        The newest row of the inbox is never deleted, so its notification id is never reused.
        """
        expired = 0
        with translated_errors("expiring quarantine entries"):
            entries, size = self._queries.quarantine_size()
            after = 0
            while entries > max_entries or size > max_bytes:
                rows = self._queries.oldest_quarantine(after, _PAGE)
                if not rows:
                    break
                doomed = []
                for notification_id, originator_id, length, kind in rows:
                    after = notification_id
                    if kind == KIND_ALARM:
                        continue
                    doomed.append((notification_id, originator_id))
                    entries, size = entries - 1, size - length
                    if entries <= max_entries and size <= max_bytes:
                        break
                expired += self._queries.delete_entries(doomed)
        return expired

    def parked(self, reasons: Iterable[str] | None = None) -> list[ParkedEntry]:
        """Unresolved quarantine entries (with the message bytes), in arrival order; the rows of
        resolved entries are not read."""
        wanted = None if reasons is None else set(reasons)
        found: list[ParkedEntry] = []
        after = 0
        with self._reading("reading the quarantine"):
            while rows := self._queries.unresolved_quarantine(after, _PAGE):
                entries = [ParkedEntry.read(n, state) for n, state in rows]
                found += [p for p in entries if wanted is None or p.entry.reason in wanted]
                after = rows[-1][0]
        return found

    def _by_topic(self, topics: Sequence[str]) -> Iterator[Notification]:
        with self._reading("reading the inbox"):
            yield from notifications(self.recorder, topics=topics, limit=_PAGE)

    def existing(self, originator_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``originator_ids`` have at least one stored event."""
        with self._reading("reading the inbox"):
            return {row[0] for row in self._queries.select_streams(list(set(originator_ids)))}

    # --- writing ---------------------------------------------------------------------------

    def record(self, batch: InboxBatch, tracking: Tracking | None = None) -> bool:
        """Write ``batch`` and ``tracking`` in one transaction.

        Returns False, having written nothing, when another writer got there first (a
        stored event with one of the ids, a tracking row at or beyond ``tracking``, or a
        stream of ``batch.chains`` holding another number of versions than it says):
        re-read the state and the position, then try again. Raises ``StorageError`` when
        the database fails.
        """
        stored = batch.stored_events()
        if not stored and tracking is None:
            return True
        with translated_errors("recording received messages"):
            try:
                ids = self.recorder.insert_events(stored, tracking=tracking, proofs=batch.proofs, chains=batch.chains)
            except IntegrityError:
                return False
        self._newest_written = max([self._newest_written, *(ids or ())])
        return True

    def newest_recorded(self) -> int:
        """A notification id at or after the newest row ``record`` wrote in this process: that row's id as the
        PostgreSQL insert returned it (no read), else the newest row of the inbox (read; on SQLite a read costs no
        round trip). Where the reactions to what was recorded have run up to (``nodes.federation.sync``)."""
        return self._newest_written or self.max_notification_id()

    # --- positions -------------------------------------------------------------------------

    def position(self, name: str) -> int:
        """The tracked position ``name`` (0 if never tracked)."""
        with self._reading("reading a position"):
            return self.recorder.max_tracking_id(name) or 0

    def positions(self, prefix: str) -> dict[str, int]:
        """Every tracked position whose name starts with ``prefix``: name -> position (one read)."""
        with self._reading("reading positions"):
            return self._queries.tracked(prefix)

    def advance(self, name: str, position: int) -> None:
        """Track ``position`` for ``name`` unless it is there already or beyond (positions never go back)."""
        self.advance_all({name: position})

    def advance_all(self, positions: Mapping[str, int]) -> None:
        """``advance`` each name of ``positions`` to its position, in one statement (one commit).

        Nothing is read first: the statement moves a position only forward, so a process that tracked one
        further meanwhile keeps its position, and the others still move.
        """
        if positions:
            with translated_errors("recording positions"):
                self._queries.advance_tracking(positions)

    def _reading(self, action: str) -> contextlib.AbstractContextManager[None]:
        return translated_errors(action)

    def partner_checkpoints_at(self, node: str, sizes: Iterable[int]) -> dict[int, Checkpoint]:
        """The checkpoints kept from partner ``node`` at ``sizes``, by size (a size none was kept at is absent).

        What a trace answer's checkpoints are compared with, without parsing every checkpoint kept from
        that partner. The database looks among that partner's rows only (the primary key's range) for
        those whose bytes hold ``"size": n`` for a wanted ``n`` as canonical msgpack encodes it: a kept
        checkpoint parses only when canonical (``Checkpoint.from_bytes``), so each one of a wanted size
        is found; the rows found are parsed here and any of another size dropped. Raises
        ``StorageError`` if the database fails, ``CheckpointError`` for a row found that does not parse.
        """
        wanted = sorted({int(size) for size in sizes})
        found: dict[int, Checkpoint] = {}
        if not wanted:
            return found
        queries = self._queries
        stream = checkpoints_stream_id(node)
        contains = "instr(state, ?) > 0" if queries.sqlite else "position(%s::bytea in state) > 0"
        p = queries._param()
        with self._reading("reading partner checkpoints"):
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                asked = set(chunk)
                markers = [canonical_encode("size") + canonical_encode(size) for size in chunk]
                # In version order, as ``partner_checkpoints`` reads them: the last of one size wins there too.
                rows = queries.read(f"SELECT state FROM {queries.table} WHERE originator_id = {p} "
                                    f"AND ({' OR '.join([contains] * len(chunk))}) ORDER BY originator_version",
                                    (queries._stream_id(stream), *markers))
                for row in rows:
                    checkpoint = Checkpoint.from_bytes(bytes(row["state"]))
                    if checkpoint.size in asked:
                        found[checkpoint.size] = checkpoint
        return found




class _SQLiteInboxRecorder(TablesCreatedByOneAtATime, SQLiteProcessRecorder):
    """The library's SQLite process recorder on tables ``inbox_events`` and ``inbox_tracking``, which
    also writes the kept proofs (``inbox_proofs``, by their records' row ids) in the same transaction."""

    def __init__(self, datastore: SQLiteDatastore, **_: Any):
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        use_tracking_table(self, TRACKING_TABLE)

    def construct_create_table_statements(self) -> list[str]:
        return [
            (f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (originator_id TEXT, originator_version INTEGER, "
             "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"),
            create_tracking_table(TRACKING_TABLE),
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # Called by eventsourcing inside the transaction that stores the events. The application
        # recorder inserts row by row to collect each notification id, which the inbox never asks
        # for (``Inbox.record``): the aggregate recorder's one executemany writes the same rows, in
        # the same order, so with the same rowids; then the tracking row, as the process recorder does.
        c.execute(f"PRAGMA cache_size = -{_WRITER_CACHE_KIB}")  # per batch: the pool's connections come and go
        proofs = kwargs.get("proofs") or ()
        if proofs:  # the newest row before the batch: its proofs go beside rows after it
            # The write lock first, as BEGIN IMMEDIATE would take it (the library begins with a plain BEGIN): a
            # read first pins a snapshot, and the insert after it then fails at once ("database is locked",
            # SQLITE_BUSY_SNAPSHOT) when another process (a command, serve) wrote meanwhile, instead of waiting.
            c.execute(f"UPDATE {TRACKING_TABLE} SET notification_id = notification_id WHERE 0")
            c.execute(f"SELECT MAX(rowid) AS n FROM {EVENTS_TABLE}")
            newest = c.fetchone()["n"] or 0
        SQLiteAggregateRecorder._insert_events(self, c, stored_events)
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is not None:
            self._insert_tracking(c, tracking)
        if proofs:
            keep_sqlite(c, proofs, newest)
        # After the rows, in the write transaction: the counts are those the batch commits with.
        chains: Mapping[uuid.UUID, int] = kwargs.get("chains") or {}
        if chains:
            c.execute(f"SELECT 1 FROM json_each(?) AS s WHERE (SELECT COUNT(*) FROM {EVENTS_TABLE} "
                      "WHERE originator_id = s.key) <> s.value LIMIT 1",
                      (json.dumps({stream.hex: count for stream, count in chains.items()}),))
            if c.fetchone() is not None:  # the transaction rolls back
                raise IntegrityError("a received chain changed since it was read")
        return None


class _Queries:
    """The few reads the recorder API lacks, in each SQL dialect."""

    def __init__(self, recorder: ProcessRecorder):
        self.recorder = recorder
        self.datastore = recorder.datastore  # type: ignore[attr-defined]
        self.sqlite = isinstance(self.datastore, SQLiteDatastore)
        if self.sqlite:
            self.table = EVENTS_TABLE
        else:
            self.table = f'"{self.datastore.schema}"."{recorder.events_table_name}"'  # type: ignore[attr-defined]

    def _id_column(self) -> str:
        return "rowid" if self.sqlite else "notification_id"

    def _param(self) -> str:
        return "?" if self.sqlite else "%s"

    def _stream_id(self, stream: uuid.UUID) -> Any:
        return stream.hex if self.sqlite else stream  # as the library stores it in each dialect

    def one_read(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor for ONE read statement: on PostgreSQL in autocommit, one round trip where a read-only
        transaction of its own makes three (BEGIN, the statement, ROLLBACK) and sees the same rows (one
        statement reads one snapshot, in or out of a transaction); on SQLite, where a transaction costs no
        round trip, in a read transaction as the library's reads are."""
        return self.datastore.transaction(commit=False) if self.sqlite else self.datastore.cursor()

    def read(self, statement: str, params: Sequence[Any]) -> list[Any]:
        """The rows of one read statement (``one_read``; on PostgreSQL tried again on a dropped connection)."""
        if not self.sqlite:
            return self._alone_on_postgres(statement, params)
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall())

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _alone_on_postgres(self, statement: str, params: Sequence[Any]) -> list[Any]:
        """Run one statement in autocommit on PostgreSQL (atomic alone: one round trip, where a transaction
        of its own makes three), tried again on a dropped connection as the library's PostgreSQL recorder
        does; its rows (none for a write)."""
        with self.datastore.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def newest_rows(self, streams: Mapping[uuid.UUID, int]) -> tuple[int, list[tuple[uuid.UUID, bytes]]]:
        """(the newest row's id, [(stream, state) of the newest version of each of ``streams`` whose row came
        after the row given for it]) in one statement: each stream's newest version found by its index."""
        id_, p = self._id_column(), self._param()
        newest = (f"SELECT * FROM (SELECT {id_} AS n, originator_id AS o, state AS s FROM {self.table} "
                  f"WHERE originator_id = {p} ORDER BY originator_version DESC LIMIT 1) AS c{{}} WHERE n > {p}")
        parts = [newest.format(i) for i in range(len(streams))]
        parts.append(f"SELECT MAX({id_}) AS n, NULL AS o, NULL AS s FROM {self.table}")
        params = [value for stream, after in streams.items() for value in (self._stream_id(stream), after)]
        rows = self.read(" UNION ALL ".join(parts), params)
        top = max((int(r["n"]) for r in rows if r["o"] is None and r["n"] is not None), default=0)
        return top, [(_as_uuid(r["o"]), bytes(r["s"])) for r in rows if r["o"] is not None]

    def _tracking_table(self) -> str:
        if self.sqlite:
            return TRACKING_TABLE
        return f'"{self.datastore.schema}"."{self.recorder.tracking_table_name}"'  # type: ignore[attr-defined]

    def tracked(self, prefix: str) -> dict[str, int]:
        """Every tracking row whose name starts with ``prefix``: name -> position."""
        rows = self.read(f"SELECT application_name, notification_id FROM {self._tracking_table()} "
                         f"WHERE substr(application_name, 1, {self._param()}) = {self._param()}",
                         [len(prefix), prefix])
        return {str(row["application_name"]): int(row["notification_id"]) for row in rows}

    def advance_tracking(self, positions: Mapping[str, int]) -> None:
        """Move each tracked position of ``positions`` (name -> position) forward, never back, in one statement:
        the library's single-row tracking rule (one row per name, its position only raised)."""
        table, p = self._tracking_table(), self._param()
        ordered = sorted(positions.items())  # rows always locked in one order: concurrent writers never deadlock
        values = ", ".join([f"({p}, {p})"] * len(ordered))
        statement = (f"INSERT INTO {table} (application_name, notification_id) VALUES {values} "
                     "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id "
                     f"WHERE {table}.notification_id < excluded.notification_id")
        params = [value for name, position in ordered for value in (name, position)]
        if self.sqlite:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(statement, params)
        else:
            self._alone_on_postgres(statement, params)

    def unresolved_quarantine(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(notification id, state) of up to ``limit`` unresolved quarantine entries after ``after``, in order."""
        id_, p = self._id_column(), self._param()
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT q.{id_} AS n, q.state AS state FROM {self.table} q WHERE q.topic = {p} AND q.{id_} > {p} "
                f"AND NOT EXISTS (SELECT 1 FROM {self.table} r WHERE r.originator_id = q.originator_id "
                f"AND r.originator_version = 2) ORDER BY q.{id_} LIMIT {p}", (QUARANTINED, after, limit))
            return [(int(r["n"]), bytes(r["state"])) for r in cursor.fetchall()]

    def alarm_candidates(self) -> list[tuple[int, bytes]]:
        """(notification id, state) of unresolved quarantine entries whose bytes hold the canonical ``"kind": "alarm"``
        (a message's own bytes may hold it too: the caller decodes to be sure)."""
        marker = canonical_encode("kind") + canonical_encode(KIND_ALARM)
        id_, p = self._id_column(), self._param()
        found = "instr(q.state, ?) > 0" if self.sqlite else "position(%s::bytea in q.state) > 0"
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT q.{id_} AS n, q.state AS state FROM {self.table} q WHERE q.topic = {p} AND {found} "
                f"AND NOT EXISTS (SELECT 1 FROM {self.table} r WHERE r.originator_id = q.originator_id "
                f"AND r.originator_version = 2) ORDER BY q.{id_}", (QUARANTINED, marker))
            return [(int(r["n"]), bytes(r["state"])) for r in cursor.fetchall()]

    def quarantine_size(self) -> tuple[int, int]:
        """(entries, bytes of their rows) of the quarantine, resolved entries included."""
        p = self._param()
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(state)), 0) AS size FROM {self.table} "
                           f"WHERE topic = {p}", (QUARANTINED,))
            row = cursor.fetchone()
            return int(row["n"]), int(row["size"])

    def oldest_quarantine(self, after: int, limit: int) -> list[tuple[int, Any, int, str]]:
        """(notification id, originator id, row bytes, kind) of up to ``limit`` quarantine entries after
        ``after``, oldest first; never the newest row of the table."""
        id_, p = self._id_column(), self._param()
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT {id_} AS n, originator_id, state FROM {self.table} WHERE topic = {p} AND {id_} > {p} "
                f"AND {id_} < (SELECT MAX({id_}) FROM {self.table}) ORDER BY {id_} LIMIT {p}",
                (QUARANTINED, after, limit))
            rows = cursor.fetchall()
        found = []
        for r in rows:
            state = bytes(r["state"])
            try:
                kind = QuarantineEntry.from_bytes(state).kind
            except Exception:  # an unreadable entry is no alarm  # noqa: BLE001
                kind = KIND_ERROR
            found.append((int(r["n"]), r["originator_id"], len(state), kind))
        return found

    def delete_entries(self, entries: list[tuple[int, Any]]) -> int:
        """Delete the quarantine rows ``entries`` (notification id, originator id) and their resolutions."""
        if not entries:
            return 0
        p = self._param()
        with self.datastore.transaction(commit=True) as cursor:
            for start in range(0, len(entries), _IN_CHUNK):
                chunk = [originator_id for _, originator_id in entries[start:start + _IN_CHUNK]]
                cursor.execute(f"DELETE FROM {self.table} WHERE originator_id IN ({', '.join([p] * len(chunk))}) "
                               f"AND topic IN ({p}, {p})", (*chunk, QUARANTINED, QUARANTINE_RESOLVED))
        return len(entries)

    def notifications_as_stored(self, start: int, limit: int) -> list[Notification]:
        """Up to ``limit`` rows from notification id ``start`` on, a NULL state read as ``None`` (PostgreSQL)."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT notification_id, originator_id, originator_version, topic, state FROM {self.table} "
                           "WHERE notification_id >= %s ORDER BY notification_id LIMIT %s", (start, limit))
            return [Notification(id=r["notification_id"], originator_id=r["originator_id"],
                                 originator_version=r["originator_version"], topic=r["topic"],
                                 state=None if r["state"] is None else bytes(r["state"]))  # type: ignore[arg-type]
                    for r in cursor.fetchall()]

    def create_proofs_table(self) -> None:
        if self.sqlite:
            open_sqlite_table(self.datastore)  # moves proofs kept in the layout before, if any
            return
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(create_statement(self.datastore.schema))

    def create_indexes(self) -> None:
        # Quarantine, checkpoints and cosignatures are listed by topic.
        name = "inbox_events_topic_idx"
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {self.table} (topic)")

    def select_streams(self, originator_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, int, bytes]]:
        """(originator id, version, state) of every stored event of ``originator_ids``: one statement per 500
        ids (``read``), each its own snapshot. What ingest checks against them is held again by the write: a
        version stored meanwhile makes ``Inbox.record`` a conflict (the primary key), never a second copy."""
        rows: list[tuple[uuid.UUID, int, bytes]] = []
        for start in range(0, len(originator_ids), _IN_CHUNK):
            chunk = originator_ids[start:start + _IN_CHUNK]
            if self.sqlite:
                found = self.read(f"SELECT originator_id, originator_version, state FROM {self.table} "
                                  f"WHERE originator_id IN ({', '.join('?' * len(chunk))})", [i.hex for i in chunk])
            else:
                found = self.read(f"SELECT originator_id, originator_version, state FROM {self.table} "
                                  "WHERE originator_id = ANY(%b)", (chunk,))  # binary: a third of the CPU here
            rows += [(_as_uuid(r["originator_id"]), r["originator_version"], bytes(r["state"])) for r in found]
        return rows


def _received_envelope(notification: Notification) -> Envelope | None:
    """The envelope a row holds, or None for a bookkeeping row (checkpoint, quarantine, cosignature)."""
    try:
        return Envelope.from_bytes(notification.state)
    except LedgerError:
        if notification.topic.startswith(INTERNAL_PREFIX):
            return None
        raise


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _notification_id(notification: Notification) -> int:
    return notification.id
