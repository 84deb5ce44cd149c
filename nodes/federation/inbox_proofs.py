"""The inclusion proofs of received partner records, kept beside them in the inbox.

Ingest proves every partner record against a checkpoint of its origin before it accepts it
(docs/federation.md, "Ingest"). This side table keeps that proof: (origin, stream, version) ->
(checkpoint size, leaf index, RFC 9162 audit path), so that an evidence bundle
(docs/evidence.md) can show a court the proof ingest relied on. It is written by the inbox's
recorder in the same transaction as the records (``Inbox.record``): a record is never held
without the proof it was accepted with, except records received before the table existed.

Both dialects: SQLite (``?``) and PostgreSQL (``%s``, in the inbox's schema).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ledger.hashing import HASH_SIZE

PROOFS_TABLE = "inbox_proofs"


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


def create_statement(schema: str | None) -> str:
    integer, blob = ("INTEGER", "BLOB") if schema is None else ("BIGINT", "BYTEA")
    return (f"CREATE TABLE IF NOT EXISTS {table_name(schema)} (origin TEXT NOT NULL, stream TEXT NOT NULL, "
            f"version {integer} NOT NULL, checkpoint_size {integer} NOT NULL, leaf_index {integer} NOT NULL, "
            f"audit_path {blob} NOT NULL, PRIMARY KEY (origin, stream, version))")


def insert_proofs(cursor: Any, schema: str | None, proofs: Sequence[KeptProof]) -> None:
    """Insert ``proofs`` with ``cursor`` (inside the caller's transaction); a proof already kept for a
    record stays as it is (a redelivered record is a duplicate, never stored twice)."""
    if not proofs:
        return
    p = "?" if schema is None else "%s"
    cursor.executemany(
        f"INSERT INTO {table_name(schema)} (origin, stream, version, checkpoint_size, leaf_index, audit_path) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (origin, stream, version) DO NOTHING",
        [proof.row() for proof in proofs])


def select_proofs(cursor: Any, schema: str | None, origin: str, stream: str) -> dict[int, KeptProof]:
    """The proofs kept of ``origin``'s ``stream``, by version."""
    p = "?" if schema is None else "%s"
    cursor.execute(f"SELECT version, checkpoint_size, leaf_index, audit_path FROM {table_name(schema)} "
                   f"WHERE origin = {p} AND stream = {p}", (origin, stream))
    found = {}
    for row in cursor.fetchall():
        path = bytes(row["audit_path"])
        found[int(row["version"])] = KeptProof(
            origin, stream, int(row["version"]), int(row["checkpoint_size"]), int(row["leaf_index"]),
            tuple(path[i:i + HASH_SIZE] for i in range(0, len(path), HASH_SIZE)))
    return found


def proofs_schema(recorder: Any) -> str | None:
    """The PostgreSQL schema of ``recorder``'s datastore, None for SQLite."""
    schema = getattr(recorder.datastore, "schema", None)
    return schema if isinstance(schema, str) else None
