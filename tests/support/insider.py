"""What an insider with access to a node's files and database can do behind its back (for tamper tests)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import psycopg


def sql(db: str, statement: str, *params) -> list:
    """Run ``statement`` (with ``?`` placeholders) on database ``db`` itself, outside the node."""
    if db.startswith("postgresql://"):
        with psycopg.connect(db, autocommit=True) as connection:
            cursor = connection.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        return connection.execute(statement, params).fetchall()
    finally:
        connection.close()


def events_table(db: str) -> str:
    """The table of a node's own log: eventsourcing names it by the application in PostgreSQL."""
    return "armsledger_events" if db.startswith("postgresql://") else "stored_events"


def row_id(db: str, originator: uuid.UUID | str):
    """An originator id as the database holds it: hex text in SQLite, uuid in PostgreSQL (eventsourcing's choice)."""
    value = uuid.UUID(str(originator))
    return value if db.startswith("postgresql://") else value.hex


def swap_authority_keys(home: Path, first: str, second: str) -> None:
    """Swap the key ids of two authority kinds in node.json: the node then signs ``first``'s records
    with ``second``'s key (its certificate says ``second``) and the other way round."""
    path = Path(home) / "node.json"
    document = json.loads(path.read_text())
    ids = document["authorities"]
    ids[first], ids[second] = ids[second], ids[first]
    path.write_text(json.dumps(document))


def swap_signing_keys(node, first: str, second: str) -> None:
    """Swap the key ids of two authority kinds in an open node (a node whose code misbehaves): it then
    signs ``first``'s records with ``second``'s key. Swapped in node.json instead, the node refuses to
    open for signing, since its log certifies each key for one kind."""
    ids = node.identity.authority_key_ids
    ids[first], ids[second] = ids[second], ids[first]


def set_topic(db: str, table: str, stream: uuid.UUID | str, version: int, topic: str) -> None:
    """Rewrite the unsigned topic column of row (``stream``, ``version``) of ``table``; the signed bytes stay."""
    sql(db, f"UPDATE {table} SET topic = ? WHERE originator_id = ? AND originator_version = ?",
        topic, row_id(db, stream), version)
