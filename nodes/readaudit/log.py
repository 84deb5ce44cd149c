"""``ReadAudit``: append who read what, list the entries, seal them, verify them.

Each ``append`` writes one entry chained to the one before (``nodes.readaudit.entry``) in one
transaction that holds the writers' lock (``nodes.readaudit.tables``), so concurrent appenders,
threads or processes, get one gapless chain. When the node key is at hand (the service, an
unlocked node), the same transaction signs a checkpoint over every entry so far: an entry is sealed
the moment it is written, and the cost, one Ed25519 signature and an O(log n) root of the RFC 9162
tree held in memory, is small beside the read it records. A locked node (a CLI read) appends
chained entries only; the next append with the key, or ``seal()``, seals them.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Self

from domain.errors import InvalidField
from ledger.audit import Problem
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.errors import CheckpointError
from ledger.hashing import leaf_hash
from ledger.merkle import MerkleTree
from nodes.readaudit.check import check_read_audit, read_audit_origin
from nodes.readaudit.entry import GENESIS_PREV, READ_ACTIONS, ReadEntry, check_read, new_entry
from nodes.readaudit.tables import Cursor, Tables
from nodes.registry.storage import translated_errors

if TYPE_CHECKING:
    from nodes.accounts.officer import Officer
    from nodes.registry.identity import NodeIdentity

__all__ = ["READ_ACTIONS", "ReadAudit", "ReadEntry"]

MAX_LIMIT = 10_000
"""Most entries one ``entries`` call returns."""

_PAGE = 1000


class ReadAudit:
    """The read audit of a node's database. Safe to share between threads; close when done."""

    def __init__(self, tables: Tables, identity: NodeIdentity, *, clock: Callable[[], int] | None = None):
        self._tables = tables
        self._identity = identity
        self._origin = read_audit_origin(identity.state)
        self._clock = clock or (lambda: time.time_ns() // 1000)
        self._lock = threading.Lock()
        self._tree: MerkleTree | None = None  # leaves of the entries as stored, while the key is at hand

    @classmethod
    def open(cls, db: str, identity: NodeIdentity, *, clock: Callable[[], int] | None = None) -> ReadAudit:
        """Open the read audit in the node's database ``db`` (SQLite path or postgresql:// URL), creating
        its tables if absent. ``clock``: µs since the epoch (tests). ``StorageError`` if the database fails."""
        tables = Tables(db)
        try:
            with translated_errors("creating the read audit's tables"):
                tables.create()
        except BaseException:
            tables.close()
            raise
        return cls(tables, identity, clock=clock)

    def close(self) -> None:
        self._tables.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------------

    def append(self, officer: Officer, action: str, subject: str, purpose: str = "") -> ReadEntry:
        """Record that ``officer`` read ``subject`` (``action``: one of ``READ_ACTIONS``) for ``purpose``.

        Returns the entry once committed (sealed too when the node key is at hand). Raises
        ``InvalidField`` naming ``action``, ``subject`` or ``purpose`` when one is not acceptable
        (nothing is written); ``CheckpointError`` when sealed entries no longer give their signed
        root (the audit was tampered with: nothing is written, run ``armsledger verify``);
        ``StorageError`` when the database fails.
        """
        action, subject, purpose = check_read(action, subject, purpose)
        with self._lock, self._writing("appending to the read audit") as cursor:
            last = self._tables.last_entry(cursor)
            entry = new_entry(self._origin, last.seq + 1 if last else 1, self._clock(), officer.user_id,
                              officer.name, officer.role.value, action, subject, purpose,
                              last.hash if last else GENESIS_PREV)
            self._tables.insert_entry(cursor, entry)
            self._seal_in(cursor, entry.at)
        return entry

    def seal(self) -> Checkpoint | None:
        """Sign a checkpoint over every entry if some are not sealed yet; return it, else None.

        ``KeyError`` when the node is locked; ``CheckpointError`` and ``StorageError`` as ``append``.
        """
        if not self._can_seal():
            raise KeyError("the node key is locked: sealing the read audit needs ARMSLEDGER_PASSPHRASE")
        with self._lock, self._writing("sealing the read audit") as cursor:
            return self._seal_in(cursor, self._clock())

    def _can_seal(self) -> bool:
        return self._identity.node_key_id in self._identity.private_keys

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[Cursor]:
        """A committing transaction holding the writers' lock; requires ``self._lock``."""
        try:
            with translated_errors(action), self._tables.transaction(commit=True) as cursor:
                self._tables.lock(cursor)
                yield cursor
        except BaseException:
            self._tree = None  # it may hold leaves of entries rolled back: reload at the next seal
            raise

    def _seal_in(self, cursor: Cursor, now: int) -> Checkpoint | None:
        if not self._can_seal():
            return None
        tree = self._follow(cursor)
        latest = self._tables.latest_checkpoint(cursor)
        if latest is not None and latest[0] >= len(tree):
            return None
        key = self._identity.private_keys[self._identity.node_key_id]
        checkpoint = sign_checkpoint(key, self._origin, len(tree), tree.root(), now)
        self._tables.insert_checkpoint(cursor, checkpoint.size, checkpoint.to_bytes())
        return checkpoint

    def _follow(self, cursor: Cursor) -> MerkleTree:
        """The tree brought up to the entries stored; checked against the latest checkpoint when loaded.

        Requires the writers' lock (no entry is being added meanwhile)."""
        tree = self._tree
        loading = tree is None
        if tree is None:
            tree = MerkleTree()
        for seq, digest in self._tables.hashes_after(cursor, len(tree)):
            if seq != len(tree) + 1:
                raise CheckpointError(f"read audit: entry {seq} follows entry {len(tree)}: entries were deleted "
                                      "(run armsledger verify)")
            tree.append(leaf_hash(digest))
        if loading:
            latest = self._tables.latest_checkpoint(cursor)
            if latest is not None:
                size, data = latest
                sealed = Checkpoint.from_bytes(data)
                if size > len(tree) or tree.root(size) != sealed.root:
                    raise CheckpointError(f"read audit: the entries no longer give the root signed at size {size}: "
                                          "sealed entries were altered or deleted (run armsledger verify)")
        self._tree = tree
        return tree

    # --- reading ---------------------------------------------------------------------------------

    def entries(self, *, user: str | None = None, weapon: str | None = None, since: int | None = None,
                until: int | None = None, limit: int = 100, before: int | None = None) -> list[ReadEntry]:
        """Entries newest first: by ``user`` (sign-in name or user id), of ``weapon`` (entries whose
        subject is that weapon id, or that text: a serial searched), at or after ``since`` and before
        ``until`` (µs since the epoch), with ``seq`` below ``before`` (the next page: the last ``seq``
        returned); at most ``limit``.

        ``InvalidField`` naming ``limit`` outside 1..MAX_LIMIT; ``StorageError`` if the database fails.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidField(f"must be from 1 to {MAX_LIMIT}, got {limit}", field="limit")
        conditions: list[tuple[str, tuple[object, ...]]] = []
        if user is not None:
            conditions.append(("user_name = ? OR user_id = ?", (user, user)))
        if weapon is not None:
            conditions.append(("subject = ?", (_as_subject(weapon),)))
        if since is not None:
            conditions.append(("at >= ?", (since,)))
        if until is not None:
            conditions.append(("at < ?", (until,)))
        if before is not None:
            conditions.append(("seq < ?", (before,)))
        with translated_errors("reading the read audit"), self._tables.transaction(commit=False) as cursor:
            return self._tables.select(cursor, conditions, limit)

    def verify(self, *, executor: Executor | None = None) -> list[Problem]:
        """Every problem of the stored entries and checkpoints (``nodes.readaudit.check``); empty: intact.

        Needs no private key. ``executor``: where checkpoint signatures are verified (None: here).
        ``StorageError`` if the database fails."""
        return _verified(self._tables, self._identity, executor)


def verify_read_audit(db: str, identity: NodeIdentity, *, executor: Executor | None = None) -> list[Problem]:
    """``ReadAudit.verify`` of the node's database ``db`` without creating anything: a node from
    before the read audit (no tables) has no problem. ``StorageError`` if the database fails."""
    tables = Tables(db)
    try:
        with translated_errors("reading the read audit"):
            if not tables.exist():
                return []
        return _verified(tables, identity, executor)
    finally:
        tables.close()


def _verified(tables: Tables, identity: NodeIdentity, executor: Executor | None) -> list[Problem]:
    with translated_errors("reading the read audit"), tables.transaction(commit=False) as cursor:
        # Entries first, then checkpoints, each page read whole: one cursor serves both in turn.
        return check_read_audit(_all_entries(tables, cursor), _checkpoint_pages(tables, cursor),
                                identity.node_keys, read_audit_origin(identity.state), executor=executor)


def _as_subject(weapon: str) -> str:
    """A weapon id as reads record it (``str(UUID)``, lower case), or the text as given (a serial)."""
    try:
        return str(uuid.UUID(weapon.strip()))
    except ValueError:
        return weapon.strip()


def _all_entries(tables: Tables, cursor: Cursor) -> Iterator[ReadEntry]:
    after = 0
    while page := tables.entries_page(cursor, after, _PAGE):
        yield from page
        after = page[-1].seq


def _checkpoint_pages(tables: Tables, cursor: Cursor) -> Iterator[list[tuple[int, bytes]]]:
    after = 0
    while page := tables.checkpoints_page(cursor, after, _PAGE):
        yield page
        after = page[-1][0]
