"""The one adapter between armsledger and its databases.

Turns a ``--db`` value into the environment of the ``eventsourcing`` library
(SQLite module or PostgreSQL module), and translates third-party database
exceptions into ``StorageError`` in exactly one place.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from urllib.parse import unquote, urlparse

from nodes.errors import ConfigurationError, StorageError


def eventsourcing_env(db: str) -> dict[str, str]:
    """Environment for ``eventsourcing`` persistence from a SQLite path or a PostgreSQL URL."""
    if db.startswith(("postgresql://", "postgres://")):
        url = urlparse(db)
        if not url.path.strip("/"):
            raise ConfigurationError(f"--db {db!r}: the PostgreSQL URL names no database")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
            "POSTGRES_HOST": url.hostname or "localhost",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "ORIGINATOR_ID_TYPE": "uuid",
        }
    if "://" in db:
        raise ConfigurationError(f"--db {db!r}: expected a SQLite file path or a postgresql:// URL")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": db,
        "SQLITE_LOCK_TIMEOUT": "30",
        "ORIGINATOR_ID_TYPE": "uuid",
    }


@contextlib.contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Re-raise database failures during ``action`` as ``StorageError``."""
    try:
        yield
    except (sqlite3.Error, OSError) as e:
        raise StorageError(f"{action}: {e}") from e
    except Exception as e:
        if type(e).__module__.startswith(("psycopg", "psycopg_pool")):
            raise StorageError(f"{action}: {e}") from e
        raise
