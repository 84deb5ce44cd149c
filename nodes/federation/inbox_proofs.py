"""The inclusion proofs of received partner records, kept beside them in the inbox.

Ingest proves every partner record against a checkpoint of its origin before it accepts it
(docs/federation.md, "Ingest"). This side table keeps that proof: (origin, stream, version) ->
(checkpoint size, leaf index, RFC 9162 audit path), so that an evidence bundle
(docs/evidence.md) can show a court the proof ingest relied on. It is written by the inbox's
recorder in the same transaction as the records (``Inbox.record``): a record is never held
without the proof it was accepted with, except records received before the table existed.

Two layouts. PostgreSQL (``%s``, in the inbox's schema) keys a proof by (origin, stream, version).
SQLite keys it by its record's row id in ``inbox_events``: new proofs go at the table's end, with no
index of their own, where a key of random streams dirtied pages all over a second index at every
commit (docs/benchmarks.md, Replication). ``open_sqlite_table`` moves an inbox kept in the first
layout to the second.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from ledger.hashing import HASH_SIZE
from nodes.federation.inbox_records import EVENTS_TABLE, received_stream_id

log = logging.getLogger(__name__)

PROOFS_TABLE = "inbox_proofs"
#: Where ``open_sqlite_table`` leaves the proofs of the first layout that have no record beside them.
UNMATCHED_TABLE = "inbox_proofs_unmatched"


class KeptProof(NamedTuple):
    """Where a received record sits in its origin's log: leaf ``leaf_index`` of the tree of
    ``checkpoint_size`` leaves, with ``audit_path`` (RFC 9162 section 2.1.3.1, lowest sibling first)."""

    origin: str
    stream: str
    version: int
    checkpoint_size: int
    leaf_index: int
    audit_path: tuple[bytes, ...]

    def row(self) -> tuple[str, str, int, int, int, bytes]:
        return (self.origin, self.stream, self.version, self.checkpoint_size, self.leaf_index,
                b"".join(self.audit_path))


def table_name(schema: str | None) -> str:
    """The table, qualified by the PostgreSQL ``schema`` (None: SQLite)."""
    return PROOFS_TABLE if schema is None else f'"{schema}".{PROOFS_TABLE}'


def proofs_schema(recorder: Any) -> str | None:
    """The PostgreSQL schema of ``recorder``'s datastore, None for SQLite."""
    schema = getattr(recorder.datastore, "schema", None)
    return schema if isinstance(schema, str) else None


def _path(stored: bytes) -> tuple[bytes, ...]:
    return tuple(stored[i:i + HASH_SIZE] for i in range(0, len(stored), HASH_SIZE))


# --- PostgreSQL: keyed by (origin, stream, version) ----------------------------------------------

def create_statement(schema: str) -> str:
    """The statement that creates the table in PostgreSQL's ``schema``, if missing."""
    return (f"CREATE TABLE IF NOT EXISTS {table_name(schema)} (origin TEXT NOT NULL, stream TEXT NOT NULL, "
            "version BIGINT NOT NULL, checkpoint_size BIGINT NOT NULL, leaf_index BIGINT NOT NULL, "
            "audit_path BYTEA NOT NULL, PRIMARY KEY (origin, stream, version))")


def insert_proofs(cursor: Any, schema: str, proofs: Sequence[KeptProof]) -> None:
    """Insert ``proofs`` with ``cursor`` (inside the caller's transaction, PostgreSQL); a proof already kept
    for a record stays as it is (a redelivered record is a duplicate, never stored twice)."""
    if not proofs:
        return
    cursor.executemany(
        f"INSERT INTO {table_name(schema)} (origin, stream, version, checkpoint_size, leaf_index, audit_path) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (origin, stream, version) DO NOTHING",
        [proof.row() for proof in proofs])


def select_proofs(cursor: Any, schema: str, origin: str, stream: str) -> dict[int, KeptProof]:
    """The proofs kept of ``origin``'s ``stream``, by version (PostgreSQL)."""
    cursor.execute(f"SELECT version, checkpoint_size, leaf_index, audit_path FROM {table_name(schema)} "
                   "WHERE origin = %s AND stream = %s", (origin, stream))
    return {int(row["version"]): KeptProof(origin, stream, int(row["version"]), int(row["checkpoint_size"]),
                                           int(row["leaf_index"]), _path(bytes(row["audit_path"])))
            for row in cursor.fetchall()}


# --- SQLite: keyed by the record's row id ---------------------------------------------------------

_SQLITE_CREATE = (f"CREATE TABLE IF NOT EXISTS {PROOFS_TABLE} (record INTEGER PRIMARY KEY, "
                  "checkpoint_size INTEGER NOT NULL, leaf_index INTEGER NOT NULL, audit_path BLOB NOT NULL)")


def keep_sqlite(cursor: Any, proofs: Sequence[KeptProof], after: int) -> None:
    """Keep ``proofs`` with ``cursor``, inside the transaction that has just inserted their records (SQLite):
    each beside the row of its record, found by the records' key among the rows after row id ``after`` (the
    newest before the batch). A proof of no record of the batch is not kept: records and proofs come in
    pairs (``InboxBatch``), and a record held already is a duplicate, its proof kept as it was. A proof kept
    for a row id of the batch before (a row deleted and its id taken again: not met, received records are
    never deleted) is replaced: the row id now names this record."""
    if not proofs:
        return
    cursor.executemany(
        f"INSERT OR REPLACE INTO {PROOFS_TABLE} (record, checkpoint_size, leaf_index, audit_path) "
        f"SELECT rowid, ?, ?, ? FROM {EVENTS_TABLE} WHERE originator_id = ? AND originator_version = ? "
        "AND rowid > ?",
        [(p.checkpoint_size, p.leaf_index, b"".join(p.audit_path), received_stream_id(p.origin, p.stream).hex,
          p.version, after) for p in proofs])


def select_sqlite(cursor: Any, origin: str, stream: str) -> dict[int, KeptProof]:
    """The proofs kept of ``origin``'s ``stream``, by version (SQLite): its records' rows by their key, each
    proof by its record's row id."""
    cursor.execute(f"SELECT e.originator_version AS version, p.checkpoint_size, p.leaf_index, p.audit_path "
                   f"FROM {EVENTS_TABLE} e JOIN {PROOFS_TABLE} p ON p.record = e.rowid WHERE e.originator_id = ?",
                   (received_stream_id(origin, stream).hex,))
    return {int(row["version"]): KeptProof(origin, stream, int(row["version"]), int(row["checkpoint_size"]),
                                           int(row["leaf_index"]), _path(bytes(row["audit_path"])))
            for row in cursor.fetchall()}


def open_sqlite_table(datastore: Any) -> None:
    """Create the SQLite table if missing; if it is in PostgreSQL's layout (as SQLite inboxes
    were kept before), move its proofs to the layout by row id, in one write transaction.

    Each proof goes beside its record's row. A proof whose record is not there (not met: they are written
    together, and received records are never deleted) is not dropped: it stays in ``inbox_proofs_unmatched``,
    in the first layout, and a warning says how many. Several processes opening the inbox at once: one moves
    the proofs, the others wait for its lock (the datastore's lock timeout) and then find the new layout.
    Requires the inbox's events table to exist."""
    if _sqlite_layout(datastore) == "record":
        return
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # the lock first: the layout is looked at again under it
        try:
            columns = _columns(cursor)
            if not columns:
                cursor.execute(_SQLITE_CREATE)
            elif "record" not in columns:
                _move_to_rowid_layout(cursor)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


def _sqlite_layout(datastore: Any) -> str | None:
    with datastore.transaction(commit=False) as cursor:
        columns = _columns(cursor)
    return None if not columns else "record" if "record" in columns else "origin"


def _columns(cursor: Any) -> set[str]:
    cursor.execute(f"PRAGMA table_info({PROOFS_TABLE})")
    return {str(row["name"]) for row in cursor.fetchall()}


def _move_to_rowid_layout(cursor: Any) -> None:
    cursor.execute(f"ALTER TABLE {PROOFS_TABLE} RENAME TO {UNMATCHED_TABLE}")
    cursor.execute(_SQLITE_CREATE)
    # The records' originator ids are made in Python (``received_stream_id``): one per stream, in a table of
    # this connection's own, for the database to join the proofs to their records by the records' key.
    cursor.execute("CREATE TEMP TABLE inbox_proofs_streams (origin TEXT, stream TEXT, originator_id TEXT, "
                   "PRIMARY KEY (origin, stream))")
    cursor.execute(f"SELECT DISTINCT origin, stream FROM {UNMATCHED_TABLE}")
    streams = [(str(r["origin"]), str(r["stream"])) for r in cursor.fetchall()]
    cursor.executemany("INSERT INTO temp.inbox_proofs_streams VALUES (?, ?, ?)",
                       [(origin, stream, received_stream_id(origin, stream).hex) for origin, stream in streams])
    matched = (f"FROM {UNMATCHED_TABLE} o JOIN temp.inbox_proofs_streams s ON s.origin = o.origin "
               f"AND s.stream = o.stream JOIN {EVENTS_TABLE} e ON e.originator_id = s.originator_id "
               "AND e.originator_version = o.version")
    cursor.execute(f"INSERT INTO {PROOFS_TABLE} (record, checkpoint_size, leaf_index, audit_path) "
                   f"SELECT e.rowid, o.checkpoint_size, o.leaf_index, o.audit_path {matched} ORDER BY e.rowid")
    cursor.execute(f"DELETE FROM {UNMATCHED_TABLE} WHERE rowid IN (SELECT o.rowid {matched})")
    cursor.execute("DROP TABLE temp.inbox_proofs_streams")
    cursor.execute(f"SELECT (SELECT COUNT(*) FROM {PROOFS_TABLE}) AS moved, (SELECT COUNT(*) FROM {UNMATCHED_TABLE}) "
                   "AS left")
    row = cursor.fetchone()
    moved, left = int(row["moved"]), int(row["left"])
    if not left:
        cursor.execute(f"DROP TABLE {UNMATCHED_TABLE}")
    log.info("inbox: %d kept proofs moved to the layout by row id", moved)
    if left:
        log.warning("inbox: %d kept proofs have no record in the inbox; kept as they were in %s",
                    left, UNMATCHED_TABLE)
