"""The national reference table in the node's own database (SQLite or PostgreSQL): the one place
that knows its SQL.

One row per entry (``reference_entries``), keyed by the id upper-cased, with the keys matching
compares (``domain.reference``: make, model, calibres) beside the entry as written. The table is
the node's own working data, not a signed record (docs/reference-table.md says why). It shares
the registry's connection pool; statements are written once with ``?`` placeholders
(``nodes.accounts.database.Statements``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.sqlite import SQLiteDatastore

from domain.errors import InvalidField
from domain.reference import CALIBRE_SEPARATOR, ReferenceEntry, calibre_key, make_key, model_key, text_key
from nodes.accounts.database import Statements
from nodes.reference.errors import ReferenceTableDamaged
from nodes.registry.application import Registry
from nodes.registry.storage import sql_datastore, translated_errors

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore

TABLE = "reference_entries"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (ref_key TEXT PRIMARY KEY, ref_id TEXT NOT NULL, make TEXT NOT NULL, "
    "model TEXT NOT NULL, type TEXT NOT NULL, calibres TEXT NOT NULL, country TEXT NOT NULL, source TEXT NOT NULL, "
    "make_key TEXT NOT NULL, model_key TEXT NOT NULL, calibre_keys TEXT NOT NULL, search_key TEXT NOT NULL, "
    "loaded_at BIGINT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_make_model ON {TABLE} (make_key, model_key)",
)
_COLUMNS = ("ref_key", "ref_id", "make", "model", "type", "calibres", "country", "source", "make_key", "model_key",
            "calibre_keys", "search_key", "loaded_at")
#: Key of the PostgreSQL advisory lock held while the table is created ("refs").
_DDL_LOCK = 0x72656673

#: Most entries one search lists.
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Criteria:
    """What ``search`` looks for: ``text`` anywhere in make, model, type or calibres; ``make``,
    ``model`` and ``calibre`` whole (by their keys, so ``S&W`` finds Smith & Wesson). Empty: any."""

    text: str = ""
    make: str = ""
    model: str = ""
    calibre: str = ""


class ReferenceTable:
    """The reference table of the node whose registry is given; creates the table on first use."""

    def __init__(self, registry: Registry):
        self._datastore: SQLiteDatastore | PostgresDatastore = sql_datastore(registry.recorder)
        self._postgres = not isinstance(self._datastore, SQLiteDatastore)
        if not self._exists():
            self._create()

    def _exists(self) -> bool:
        """Whether the table exists (asked in a reading transaction: most opens only read)."""
        with self._transaction("reading the reference table", commit=False) as sql:
            if self._postgres:
                row = sql.one("SELECT to_regclass(?) IS NOT NULL AS found", (TABLE,))
            else:
                row = sql.one("SELECT COUNT(*) > 0 AS found FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (TABLE,))
        return bool(row["found"])

    def _create(self) -> None:
        with self._transaction("creating the reference table", commit=True) as sql:
            if self._postgres:
                sql.run("SELECT pg_advisory_xact_lock(?)", (_DDL_LOCK,))
            for statement in _DDL:
                sql.run(statement)

    @contextlib.contextmanager
    def _transaction(self, action: str, *, commit: bool) -> Iterator[Statements]:
        """``StorageError`` naming ``action`` if the database fails."""
        with translated_errors(action), self._datastore.transaction(commit=commit) as cursor:
            yield Statements(cursor, self._postgres)

    # --- writing ---------------------------------------------------------------------------------

    def load(self, entries: Iterable[ReferenceEntry], *, replace: bool = False) -> int:
        """Add ``entries`` in one transaction, each replacing the entry with its id (any case);
        ``replace``: the table holds these entries only afterwards. Returns how many were written."""
        rows = [_row(entry, int(time.time())) for entry in entries]
        with self._transaction("loading the reference table", commit=True) as sql:
            if replace:
                sql.run(f"DELETE FROM {TABLE}")
            for row in rows:
                sql.run(f"DELETE FROM {TABLE} WHERE ref_key = ?", (row[0],))
                sql.run(f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                        row)
        return len(rows)

    # --- reading ---------------------------------------------------------------------------------

    def count(self) -> int:
        with self._transaction("reading the reference table", commit=False) as sql:
            row = sql.one(f"SELECT COUNT(*) AS n FROM {TABLE}")
        return int(row["n"])

    def get(self, ref_id: str) -> ReferenceEntry | None:
        """The entry with id ``ref_id`` (any case), or None."""
        with self._transaction("reading the reference table", commit=False) as sql:
            row = sql.one(f"SELECT * FROM {TABLE} WHERE ref_key = ?", (ref_id.strip().upper(),))
        return _entry(row) if row else None

    def candidates(self, make: str, model: str) -> list[ReferenceEntry]:
        """The entries of make ``make`` and model ``model`` (compared by their keys)."""
        with self._transaction("reading the reference table", commit=False) as sql:
            rows = sql.all(f"SELECT * FROM {TABLE} WHERE make_key = ? AND model_key = ? ORDER BY ref_key",
                           (make_key(make), model_key(model)))
        return [_entry(row) for row in rows]

    def search(self, criteria: Criteria, *, limit: int = 100) -> tuple[int, list[ReferenceEntry]]:
        """(how many entries meet every criterion, the first ``limit`` of them by make, model and id)."""
        conditions: list[tuple[str, tuple[str, ...]]] = []
        if criteria.text.strip():
            for name, calibre in _words(criteria.text):
                conditions.append(("search_key LIKE ? OR calibre_keys LIKE ? OR calibre_keys LIKE ?",
                                   (f"%{name}%", f"%{name}%", f"%|{calibre}|%")))
        if criteria.make.strip():
            conditions.append(("make_key = ?", (make_key(criteria.make),)))
        if criteria.model.strip():
            conditions.append(("model_key = ?", (model_key(criteria.model),)))
        if criteria.calibre.strip():
            conditions.append(("calibre_keys LIKE ?", (f"%|{calibre_key(criteria.calibre)}|%",)))
        where = " AND ".join(f"({clause})" for clause, _ in conditions) or "1 = 1"
        params = tuple(p for _, values in conditions for p in values)
        with self._transaction("searching the reference table", commit=False) as sql:
            total = int(sql.one(f"SELECT COUNT(*) AS n FROM {TABLE} WHERE {where}", params)["n"])
            rows = sql.all(f"SELECT * FROM {TABLE} WHERE {where} ORDER BY make_key, model_key, ref_key LIMIT ?",
                           (*params, limit))
        return total, [_entry(row) for row in rows]

    def entries(self) -> list[ReferenceEntry]:
        """Every entry (for matching many descriptions at once)."""
        with self._transaction("reading the reference table", commit=False) as sql:
            rows = sql.all(f"SELECT * FROM {TABLE} ORDER BY ref_key")
        return [_entry(row) for row in rows]


def _words(text: str) -> list[tuple[str, str]]:
    """For each word of ``text``: its key, looked for inside makes, models, types and calibres' keys
    ("38" finds .38 Special), and its key as a calibre, one of the entry's ("9mm" finds 9x19mm)."""
    return [(text_key(word), calibre_key(word)) for word in text.split() if text_key(word)]


def _row(entry: ReferenceEntry, loaded_at: int) -> tuple[Any, ...]:
    calibre_keys = entry.calibre_keys
    # A word typed is looked for inside these keys: "wesson" finds Smith & Wesson, "hk" Heckler & Koch.
    searched = [make_key(entry.make), text_key(entry.make), model_key(entry.model), text_key(entry.type)]
    return (entry.ref_id.upper(), entry.ref_id, entry.make, entry.model, entry.type,
            CALIBRE_SEPARATOR.join(entry.calibres), entry.country, entry.source, make_key(entry.make),
            model_key(entry.model), "|" + "|".join(calibre_keys) + "|", "|" + "|".join(searched) + "|",
            loaded_at)


def _entry(row: Any) -> ReferenceEntry:
    """The entry of a stored row, checked as a loaded one is; ``ReferenceTableDamaged`` if it is none."""
    try:
        return ReferenceEntry.read(ref_id=row["ref_id"], make=row["make"], model=row["model"], type=row["type"],
                                   calibres=row["calibres"], country=row["country"], source=row["source"])
    except InvalidField as e:
        raise ReferenceTableDamaged(f"the reference table's row {str(row['ref_key'])[:40]!r} is damaged: {e}; "
                                    "load the table again ('armsledger reference import --replace FILE')") from None
