"""The one adapter between armsledger and its databases.

Turns a ``--db`` value into the environment of the ``eventsourcing`` library
(SQLite module or PostgreSQL module), and translates third-party database
exceptions into ``StorageError`` in exactly one place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

from nodes.errors import ConfigurationError, StorageError


def eventsourcing_env(db: str) -> dict[str, str]:
    """Environment for ``eventsourcing`` persistence from a SQLite path or a PostgreSQL URL."""
    if db.startswith(("postgresql://", "postgres://")):
        url = urlparse(db)
        if not url.path.strip("/"):
            raise ConfigurationError(f"--db {masked_dsn(db)!r}: the PostgreSQL URL names no database")
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
        raise ConfigurationError(f"--db {masked_dsn(db)!r}: expected a SQLite file path or a postgresql:// URL")
    _create_private(db)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": db,
        "SQLITE_LOCK_TIMEOUT": "30",
        "ORIGINATOR_ID_TYPE": "uuid",
    }


def masked_dsn(db: str) -> str:
    """``db`` with the password of a URL (any scheme) replaced by ``***``, for messages and logs."""
    if "://" not in db:
        return db
    try:
        parts = urlsplit(db)
        password = parts.password
    except ValueError:  # not even a URL: hide everything after the scheme's user part
        return db.split("://", 1)[0] + "://***"
    if password is None:
        return db
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


def _create_private(path: str) -> None:
    """Create the SQLite file readable by its owner only (it holds holders' names).

    SQLite gives its -wal and -shm files the mode of the database file, so they are private
    too. An existing file keeps its mode; ``:memory:`` and URIs are left alone.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    # An existing file is kept as it is; a missing folder is SQLite's to report, as before.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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
