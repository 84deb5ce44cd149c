"""The accounts' tables in the node's own database (SQLite or PostgreSQL), and one way to query them.

The connection pools are eventsourcing's datastores, opened from the same ``--db`` value as
the registry (``nodes.registry.storage.eventsourcing_env``). Statements are written once with
``?`` placeholders and types both databases read alike (TEXT, BIGINT; flags as 0/1). Every
database failure leaves here as ``StorageError``; the one failure callers act on, a unique
key taken by a concurrent writer, as ``Taken``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import InfrastructureFactory, IntegrityError
from eventsourcing.utils import Environment

from nodes.registry.storage import eventsourcing_env, sql_datastore, translated_errors

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore
    from eventsourcing.sqlite import SQLiteDatastore

TABLES_DDL = (
    "CREATE TABLE IF NOT EXISTS officer_users (user_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "role TEXT NOT NULL, password_hash TEXT NOT NULL, enabled INTEGER NOT NULL, created_at BIGINT NOT NULL)",
    # Only a SHA-256 hash of a token or session id is kept: a copy of the database signs no one in.
    "CREATE TABLE IF NOT EXISTS officer_tokens (token_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, "
    "user_id TEXT NOT NULL REFERENCES officer_users (user_id), label TEXT NOT NULL, "
    "created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT)",
    "CREATE INDEX IF NOT EXISTS officer_tokens_user ON officer_tokens (user_id)",
    "CREATE TABLE IF NOT EXISTS officer_sessions (session_hash TEXT PRIMARY KEY, "
    "user_id TEXT NOT NULL REFERENCES officer_users (user_id), csrf_token TEXT NOT NULL, "
    "created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS officer_sessions_user ON officer_sessions (user_id)",
    # subject: "user:NAME" or "address:ADDRESS"; in the database so that every service process counts them.
    "CREATE TABLE IF NOT EXISTS officer_signin_failures (subject TEXT NOT NULL, at BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS officer_signin_failures_subject ON officer_signin_failures (subject, at)",
)

#: Key of the PostgreSQL advisory lock held while the tables are created ("acct"): service
#: processes starting together would otherwise race on CREATE TABLE IF NOT EXISTS.
_DDL_LOCK = 0x61636374


class Taken(Exception):
    """A unique key (a user's name) was taken by a concurrent writer, or a key it refers to removed."""


class Statements:
    """One transaction's cursor, taking ``?`` placeholders on either database."""

    def __init__(self, cursor: Any, postgres: bool):
        self._cursor = cursor
        self._postgres = postgres

    def run(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(statement.replace("?", "%s") if self._postgres else statement, tuple(params))

    def one(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """The first row (columns by name), or None."""
        self.run(statement, params)
        return self._cursor.fetchone()

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        self.run(statement, params)
        return list(self._cursor.fetchall())


class AccountsDatabase:
    """The pool of connections to the accounts' tables. Close when done."""

    def __init__(self, db: str):
        """Open ``db`` (a SQLite path or a ``postgresql://`` URL) and create the tables if absent.

        ``ConfigurationError`` for another ``db``; ``StorageError`` if the database fails.
        """
        env = eventsourcing_env(db)
        #: Transactions that wrote, by this object (read-only ones do not count): who holds something
        #: read from the accounts knows it may have changed when this moves.
        self.writes = 0
        self.postgres = env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        if self.postgres:
            env.update({"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "8"})
        with translated_errors("opening the accounts", integrity_passes=True):
            self._factory = InfrastructureFactory.construct(Environment("accounts", env))
        self._datastore: SQLiteDatastore | PostgresDatastore = sql_datastore(self._factory)
        try:
            with self.transaction("creating the accounts' tables") as sql:
                if self.postgres:
                    sql.run("SELECT pg_advisory_xact_lock(?)", (_DDL_LOCK,))
                for statement in TABLES_DDL:
                    sql.run(statement)
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def transaction(self, action: str, *, commit: bool = True) -> Iterator[Statements]:
        """A transaction, committed when the block ends without an error (unless ``commit`` is False).

        ``Taken`` when a unique key is violated; ``StorageError`` naming ``action`` for any other failure.
        """
        with translated_errors(action, integrity_passes=True):
            try:
                with self._datastore.transaction(commit=commit) as cursor:
                    yield Statements(cursor, self.postgres)
                if commit:
                    self.writes += 1
            except IntegrityError as e:
                raise Taken(str(e)) from e

    def close(self) -> None:
        with contextlib.suppress(AttributeError):
            self._factory.close()


