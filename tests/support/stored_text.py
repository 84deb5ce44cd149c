"""Every value stored in a node's database, table by table, as text: to show what a copy of it reveals."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg


def stored_values(db: str) -> Iterator[tuple[str, bytes]]:
    """(table, value as bytes) for every non-NULL cell of every table of ``db`` (SQLite path or PostgreSQL URL)."""
    if db.startswith(("postgresql://", "postgres://")):
        with psycopg.connect(db) as connection:
            tables = [row[0] for row in connection.execute(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'")]
            for table in tables:
                for row in connection.execute(f"SELECT * FROM {table}"):  # noqa: S608 - names from the catalogue
                    yield from ((table, _bytes(value)) for value in row if value is not None)
        return
    with sqlite3.connect(db) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the catalogue
                yield from ((table, _bytes(value)) for value in row if value is not None)


def _bytes(value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")
