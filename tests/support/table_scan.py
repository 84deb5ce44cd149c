"""Every table of a node's database read with plain SQL, as someone holding a copy of it would: where a
value (a name, say) still appears in any column of any row."""

from __future__ import annotations

from insider import sql


def tables(db: str) -> list[str]:
    """Every table of ``db`` (SQLite file or the PostgreSQL database of one test)."""
    if db.startswith("postgresql://"):
        return [name for (name,) in sql(db, "SELECT table_name FROM information_schema.tables WHERE table_schema "
                                            "NOT IN ('pg_catalog', 'information_schema')")]
    return [name for (name,) in sql(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]


def rows_holding(db: str, needle: bytes) -> list[tuple[str, int]]:
    """(table, row number) of every row of ``db`` with a column whose text or bytes contain ``needle``."""
    found = []
    for table in tables(db):
        for number, row in enumerate(sql(db, f'SELECT * FROM "{table}"')):
            if any(needle in _bytes(value) for value in row):
                found.append((table, number))
    return found


def _bytes(value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8", "replace") if value is not None else b""
