"""``IdentityVault``: private holders' identities, encrypted one by one, in the node's own database.

Table ``person_identities``, one row per holder reference: the identity as AES-GCM ciphertext under a
random 256-bit data key of its own (the reference is the associated data, so a row cannot be moved to
another reference), that data key wrapped with AES-GCM under the node's key-encryption key
(``nodes.persons.kek``), and a blind index (HMAC-SHA-256 of the normalised name and date of birth under
a key derived from the KEK) to find the same person again without any name in the table. Erasure
deletes the wrapped key, the ciphertext and the blind index in one transaction (crypto-shredding);
the reference row stays, with ``erased_at``, so that records naming it still resolve to "erased".
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import msgpack
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain.person import Identity, PersonErased, UnknownPerson, check_person_reference, new_person_reference
from nodes.accounts.database import Statements
from nodes.errors import NodeFileDamaged
from nodes.persons.kek import load_or_create_kek
from nodes.registry.storage import eventsourcing_env, sql_datastore, translated_errors
from nodes.settings import Settings

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore
    from eventsourcing.sqlite import SQLiteDatastore

TABLE = "person_identities"
#: The private keys of this node's disclosure requests (``nodes.persons.disclosure``), wrapped under the KEK.
ANSWER_KEYS = "disclosure_answer_keys"
_NONCE = 12
#: Blind indexes looked up per query by ``find_many`` (under SQLite's 999 parameters).
_FIND_PAGE = 500
#: Rows per INSERT statement of ``store_sealed`` (5 parameters each: under SQLite's 999).
_INSERT_PAGE = 150
#: Key of the PostgreSQL advisory lock held while the table is created ("pers").
_DDL_LOCK = 0x70657273


def _ddl(blob: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (ref TEXT PRIMARY KEY, blind_index TEXT, wrapped_key {blob}, "
        f"sealed {blob}, created_at BIGINT NOT NULL, erased_at BIGINT)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_blind ON {TABLE} (blind_index)",
        f"CREATE TABLE IF NOT EXISTS {ANSWER_KEYS} (request TEXT PRIMARY KEY, wrapped_key {blob}, "
        "created_at BIGINT NOT NULL, destroyed_at BIGINT)",
    )


class IdentityVault:
    """The identities of the private holders of one node. Open with ``IdentityVault.open``; close when done.

    Errors: ``UnknownPerson`` / ``PersonErased`` (field ``person``) for a reference without a readable
    identity, ``InvalidField`` for a malformed reference, ``StorageError`` if the database fails,
    ``NodeFileDamaged`` if a row does not decrypt under this node's KEK.
    """

    def __init__(self, db: str, kek: bytes):
        """Requires ``len(kek) == 32``. Opens ``db`` (SQLite path or postgresql:// URL), creating the table."""
        if len(kek) != 32:
            raise ValueError("the key-encryption key is 32 bytes")
        self._kek = AESGCM(kek)
        self._index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                               info=b"armsledger person blind index").derive(kek)
        env = eventsourcing_env(db)
        self._postgres = env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        if self._postgres:
            env.update({"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "4"})
        with translated_errors("opening the identity vault"):
            self._factory = InfrastructureFactory.construct(Environment("persons", env))
        self._datastore: SQLiteDatastore | PostgresDatastore = sql_datastore(self._factory)
        try:
            with self._transaction("creating the identity vault") as sql:
                if self._postgres:
                    sql.run("SELECT pg_advisory_xact_lock(?)", (_DDL_LOCK,))
                for statement in _ddl("BYTEA" if self._postgres else "BLOB"):
                    sql.run(statement)
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, settings: Settings) -> IdentityVault:
        """The vault in ``settings.db`` under the node's KEK (created on first use: ``nodes.persons.kek``)."""
        return cls(settings.db, load_or_create_kek(settings))

    def close(self) -> None:
        with contextlib.suppress(AttributeError):
            self._factory.close()

    def __enter__(self) -> IdentityVault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------

    def add(self, identity: Identity) -> str:
        """Store ``identity`` under a new random holder reference, and return the reference."""
        return self.add_many([identity])[0]

    def add_many(self, identities: list[Identity]) -> list[str]:
        """Store each identity under a new reference, all in one transaction; the references in the same order."""
        rows = [self.seal(identity) for identity in identities]
        with self._transaction("adding holders") as sql:
            store_sealed(sql, rows)
        return [row.ref for row in rows]

    def seal(self, identity: Identity) -> SealedIdentity:
        """``identity`` under a new reference, encrypted as stored; nothing is written (``store_sealed`` does,
        in the caller's transaction: a migration's batch writes its new holders with the records naming them)."""
        ref = new_person_reference()
        data_key = AESGCM.generate_key(bit_length=256)
        sealed = _seal(AESGCM(data_key), msgpack.packb(identity.as_dict()), ref)
        return SealedIdentity(ref, self._blind_index(identity), _seal(self._kek, data_key, ref), sealed,
                              int(time.time()))

    def erase(self, ref: str) -> None:
        """Destroy the identity of ``ref``: its wrapped data key, ciphertext and blind index, in one transaction.

        Idempotent; the reference row stays with ``erased_at``. ``UnknownPerson`` for a reference never stored.
        """
        ref = check_person_reference(ref)
        with self._transaction("erasing a holder") as sql:
            if not self._postgres:  # freed pages are overwritten, not left readable in the file
                sql.run("PRAGMA secure_delete = ON")
            row = sql.one(f"SELECT erased_at FROM {TABLE} WHERE ref = ?", (ref,))
            if row is None:
                raise UnknownPerson(f"no holder {ref} in this node", field="person")
            if row["erased_at"] is None:
                sql.run(f"UPDATE {TABLE} SET wrapped_key = NULL, sealed = NULL, blind_index = NULL, erased_at = ? "
                        "WHERE ref = ?", (int(time.time()), ref))

    def discard(self, ref: str) -> None:
        """Remove ``ref``'s row altogether: only for a reference just added that no record came to name
        (the record was refused). Unlike ``erase``, leaves no trace; unknown references are ignored."""
        ref = check_person_reference(ref)
        with self._transaction("discarding an unused holder reference") as sql:
            if not self._postgres:
                sql.run("PRAGMA secure_delete = ON")
            sql.run(f"DELETE FROM {TABLE} WHERE ref = ?", (ref,))

    def keep_answer_key(self, request: str, private_key: bytes) -> None:
        """Keep the private key of this node's disclosure request ``request``, wrapped under the KEK (the
        request id is the associated data)."""
        with self._transaction("keeping a disclosure key") as sql:
            sql.run(f"INSERT INTO {ANSWER_KEYS} (request, wrapped_key, created_at) VALUES (?, ?, ?)",
                    (request, _seal(self._kek, private_key, _answer_context(request)), int(time.time())))

    def answer_key(self, request: str) -> bytes | None:
        """The private key of disclosure request ``request``; None once destroyed. ``UnknownPerson`` (field
        ``request``) if this node never kept one; ``NodeFileDamaged`` if it does not open under the KEK."""
        with self._transaction("reading a disclosure key", commit=False) as sql:
            row = sql.one(f"SELECT wrapped_key, destroyed_at FROM {ANSWER_KEYS} WHERE request = ?", (request,))
        if row is None:
            raise UnknownPerson(f"this node keeps no key for disclosure request {request}", field="request")
        if row["destroyed_at"] is not None:
            return None
        try:
            return _open(self._kek, bytes(row["wrapped_key"]), _answer_context(request))
        except (InvalidTag, ValueError) as e:
            raise NodeFileDamaged(f"the key of disclosure request {request} does not decrypt under this node's "
                                  "key-encryption key: restore the KEK file (or the database) from backup") from e

    def destroy_answer_key(self, request: str) -> None:
        """Destroy the private key of disclosure request ``request`` (crypto-shredding what was released to
        it); idempotent, a request without a key is ignored."""
        with self._transaction("destroying a disclosure key") as sql:
            if not self._postgres:
                sql.run("PRAGMA secure_delete = ON")
            sql.run(f"UPDATE {ANSWER_KEYS} SET wrapped_key = NULL, destroyed_at = ? "
                    "WHERE request = ? AND destroyed_at IS NULL", (int(time.time()), request))

    def forget_answer_key(self, request: str) -> None:
        """Remove the key of a request that was not recorded (its recording failed): leaves no trace."""
        with self._transaction("discarding a disclosure key") as sql:
            sql.run(f"DELETE FROM {ANSWER_KEYS} WHERE request = ?", (request,))

    # --- reading -------------------------------------------------------------------------------

    def identity(self, ref: str) -> Identity:
        """The identity behind ``ref``. ``PersonErased`` if it was erased, ``UnknownPerson`` if never stored."""
        ref = check_person_reference(ref)
        with self._transaction("reading a holder", commit=False) as sql:
            row = sql.one(f"SELECT wrapped_key, sealed, erased_at FROM {TABLE} WHERE ref = ?", (ref,))
        if row is None:
            raise UnknownPerson(f"no holder {ref} in this node", field="person")
        if row["erased_at"] is not None:
            raise PersonErased(f"the identity of {ref} was erased", field="person")
        try:
            data_key = _open(self._kek, bytes(row["wrapped_key"]), ref)
            fields = msgpack.unpackb(_open(AESGCM(data_key), bytes(row["sealed"]), ref))
            return Identity(**{k: str(fields[k]) for k in ("name", "date_of_birth", "address", "id_document")})
        except (InvalidTag, ValueError, TypeError, KeyError, msgpack.UnpackException) as e:
            raise NodeFileDamaged(f"the identity of {ref} does not decrypt under this node's key-encryption key: "
                                  "restore the KEK file (or the database) from backup") from e

    def find(self, identity: Identity) -> str | None:
        """The oldest reference not erased with the same normalised name and date of birth, or None."""
        with self._transaction("finding a holder", commit=False) as sql:
            row = sql.one(f"SELECT ref FROM {TABLE} WHERE blind_index = ? ORDER BY created_at, ref LIMIT 1",
                          (self._blind_index(identity),))
        return None if row is None else str(row["ref"])

    def find_many(self, identities: list[Identity]) -> dict[str, str]:
        """``find`` for many identities in one query (a migration's batch): matching key -> the oldest reference
        not erased, for those the vault holds already."""
        wanted = {self._blind_index(identity): identity.matching_key() for identity in identities}
        found: dict[str, str] = {}
        indexes = list(wanted)
        with self._transaction("finding holders", commit=False) as sql:
            for start in range(0, len(indexes), _FIND_PAGE):
                page = indexes[start:start + _FIND_PAGE]
                rows = sql.all(f"SELECT ref, blind_index FROM {TABLE} WHERE blind_index IN "
                               f"({', '.join('?' * len(page))}) ORDER BY created_at DESC, ref DESC", tuple(page))
                for row in rows:  # newest first: the oldest of a blind index is written last
                    found[wanted[str(row["blind_index"])]] = str(row["ref"])
        return found

    def is_erased(self, ref: str) -> bool:
        """Whether ``ref``'s identity was erased; ``UnknownPerson`` if it was never stored."""
        ref = check_person_reference(ref)
        with self._transaction("reading a holder", commit=False) as sql:
            row = sql.one(f"SELECT erased_at FROM {TABLE} WHERE ref = ?", (ref,))
        if row is None:
            raise UnknownPerson(f"no holder {ref} in this node", field="person")
        return row["erased_at"] is not None

    def references(self) -> list[str]:
        """Every holder reference stored, erased ones included, in order."""
        with self._transaction("listing holders", commit=False) as sql:
            return [str(row["ref"]) for row in sql.all(f"SELECT ref FROM {TABLE} ORDER BY ref")]

    # --- internals -----------------------------------------------------------------------------

    def _blind_index(self, identity: Identity) -> str:
        mac = hmac.HMAC(self._index_key, hashes.SHA256())
        mac.update(identity.matching_key().encode("utf-8"))
        return mac.finalize().hex()

    @contextlib.contextmanager
    def _transaction(self, action: str, *, commit: bool = True) -> Iterator[Statements]:
        with translated_errors(action), self._datastore.transaction(commit=commit) as cursor:
            yield Statements(cursor, self._postgres)


class SealedIdentity(NamedTuple):
    """A holder's row as ``IdentityVault.seal`` makes it: nothing in it is readable without the KEK."""

    ref: str
    blind_index: str
    wrapped_key: bytes
    sealed: bytes
    created_at: int


def store_sealed(sql: Statements, rows: Sequence[SealedIdentity]) -> None:
    """Insert ``rows`` (from ``IdentityVault.seal`` of a vault open on the same database) through ``sql``, in
    its transaction. Requires the table (opening the vault creates it); a reference stored already fails
    the transaction (the database's uniqueness)."""
    for start in range(0, len(rows), _INSERT_PAGE):  # a statement per page, not per row: one round trip
        page = rows[start:start + _INSERT_PAGE]
        sql.run(f"INSERT INTO {TABLE} (ref, blind_index, wrapped_key, sealed, created_at) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?)"] * len(page)), [value for row in page for value in row])


def _seal(aead: AESGCM, plaintext: bytes, ref: str) -> bytes:
    """A random 96-bit nonce followed by the AES-GCM ciphertext, with ``ref`` as associated data."""
    nonce = secrets.token_bytes(_NONCE)
    return nonce + aead.encrypt(nonce, plaintext, ref.encode("ascii"))


def _answer_context(request: str) -> str:
    return f"disclosure-request:{request}"


def _open(aead: AESGCM, sealed: bytes, ref: str) -> bytes:
    return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], ref.encode("ascii"))
