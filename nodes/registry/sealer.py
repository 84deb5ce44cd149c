"""The sealer: follows the node's log, keeps its Merkle tree and signs checkpoints.

It reads the notification log (the registry's global order), appends
``envelope_leaf(envelope.hash)`` for each record to an in-memory RFC 9162
``MerkleTree``, and when the log has grown since the last checkpoint, signs
a new one with the node key (DESIGN.md, "The log"). It stores, in the
registry's own database (SQLite or PostgreSQL), in one transaction:

``armsledger_checkpoints``
    one row per signed checkpoint (size PRIMARY KEY, root, timestamp, signer,
    sig, and the checkpoint's canonical ``bytes``, which are what counts);
``armsledger_leaves``
    the leaf index: leaf ``leaf_index`` is the record at notification
    ``position``, stream, version, envelope hash. It lets a restarted sealer
    resume without re-reading the log, lets the relay find a record's leaf,
    and lets ``armsledger verify`` name a deleted record. Every checkpoint
    vouches for it: its leaves must rebuild the signed roots. It is indexed by
    leaf and by position only, so that a seal appends to both indexes; a stream's
    leaves are found through the log's own index of streams (``leaves_of``);
``armsledger_frontiers``
    per checkpoint size, the roots of the complete subtrees that make up its
    tree (``MerkleTree.frontier``, 32 bytes each, concatenated). A restarted
    sealer resumes from the latest one, checked against the checkpoint's root,
    instead of reading and hashing the whole leaf index;
``armsledger_nodes``
    the root of every complete subtree of 256 leaves or more (height, position,
    hash), written with the checkpoint that completes it. A proof that needs
    nodes older than the frontier a sealer resumed from is made of these and of
    the hashes of at most a few runs of 256 leaf rows, O(log n) rows read
    whatever the log's size, and is served only once it verifies against the
    signed root. A store sealed before these were written gets them the first
    time such a proof is asked: the leaf index is then read whole, once, checked
    as before.

A log that grew by more than 100,000 records since the last seal (an import-csv) is sealed a
checkpoint per 100,000: the leaves waiting to be stored stay that few.

Several processes may seal at once: sizes are primary keys, a duplicate of
the same size and root is ignored, and a different root for a size already
signed raises ``CheckpointError``: the log was rewritten, or forked.
"""

from __future__ import annotations

import contextlib
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from uuid import UUID

from eventsourcing.sqlite import SQLiteDatastore

from ledger.audit import SealedLeaf
from ledger.checkpoint import Checkpoint, envelope_leaf, sign_checkpoint
from ledger.envelope import Envelope
from ledger.errors import CheckpointError, LedgerError, VerificationError
from ledger.hashing import HASH_SIZE
from ledger.keys import Ed25519PrivateKey
from ledger.merkle import (
    MerkleTree,
    NodeId,
    consistency_proof_from_nodes,
    consistency_proof_nodes,
    inclusion_proofs_from_nodes,
    inclusion_proofs_nodes,
)
from ledger.proofs import verify_consistency, verify_inclusions
from nodes.registry.paging import notification_pages
from nodes.registry.sealed_mark import SealedMark
from nodes.registry.storage import columns, pipelined_transaction, translated_errors

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification
    from eventsourcing.postgres import PostgresDatastore

    from nodes.registry.application import Registry
    from nodes.registry.identity import NodeIdentity

CHECKPOINTS_TABLE = "armsledger_checkpoints"
LEAVES_TABLE = "armsledger_leaves"
FRONTIERS_TABLE = "armsledger_frontiers"
NODES_TABLE = "armsledger_nodes"

_FOLLOW_BATCH = 1000
# Rows of the leaf index read at a time when the tree is loaded.
_LEAF_PAGE = 10_000
_SEAL_ATTEMPTS = 3
# Records sealed per checkpoint at most when the log grew by more since the last seal.
_SEAL_CHUNK = 100_000
# Subtrees of 2**_STORED_HEIGHT leaves and more have their roots in NODES_TABLE (one row per 128 leaves);
# a smaller one is hashed again from one read of at most 2**_STORED_HEIGHT leaf rows.
_STORED_HEIGHT = 8
# Subtree roots asked for in one query.
_NODES_PER_QUERY = 200
# A proof of a leaf older than the tree a sealer resumed at costs ~15 us made of stored subtree roots and leaf rows,
# each proof checked; the whole leaf index read, hashed and checked once costs ~3 us a leaf, and then a proof ~1.5 us
# in a run. Once a sealer has been asked for the proofs of this share of those leaves (a restarted relay
# with a backlog), it reads the whole index, as long as the tree is no larger than _WHOLE_TREE_MOST leaves: ~70 bytes
# a leaf are held then (~18 MB at most; `node run` and `sync` have a 150 MB budget, docs/benchmarks.md "Resources").
_WHOLE_TREE_SHARE = 1 / 6
_WHOLE_TREE_MOST = 1 << 18
# PostgreSQL: the function that stores a seal (``_Tables.store``), and the advisory lock held while it is created.
_SEAL_FUNCTION = "armsledger_seal"
_DDL_LOCK = 0x7365616C  # "seal"


class _Cursor(Protocol):
    """A cursor of either datastore (sqlite3 or psycopg); rows are read by column name."""

    def execute(self, query: str, params: Sequence[object] = ..., /) -> object: ...

    def executemany(self, query: str, params: Iterable[Sequence[object]], /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class _StatementCursors:
    """A pipelined transaction's cursor (PostgreSQL) whose every statement runs on a psycopg cursor of its own.

    In pipeline mode psycopg gives a cursor each result of its statements as the pipeline reads it, and a fetch
    waits only when the cursor holds no result yet: on one cursor, a fetch could take an earlier statement's
    result, read in while the later one was sent ("the last operation didn't produce records (command status:
    INSERT 0 1)", seen in a seal after 1,000 new records). A cursor per statement holds its own result only, so
    its fetch waits for exactly that.
    """

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._last: Any = None

    def execute(self, query: str, params: Sequence[object] | None = None, /) -> object:
        self._last = self._connection.cursor()
        return self._last.execute(query, params)

    def executemany(self, query: str, params: Iterable[Sequence[object]], /) -> object:
        self._last = self._connection.cursor()
        return self._last.executemany(query, params)

    def fetchone(self) -> Any:
        return self._last.fetchone()

    def fetchall(self) -> list[Any]:
        return self._last.fetchall()


@dataclass(frozen=True)
class ReadAfter:
    """Every record of the log after ``position`` when they were read (``notifications``, in log order):
    what a sealer that followed the log to ``position`` or beyond would read next (``Sealer.seal``)."""

    position: int
    notifications: Sequence[Notification]


@dataclass(frozen=True)
class CheckpointRow:
    """A stored checkpoint row as it is in the table, columns and signed bytes alike."""

    size: int
    root: bytes
    timestamp: int
    signer: str
    sig: bytes
    bytes: bytes


class Sealer:
    """Seals ``registry``'s log with ``identity``'s node key.

    Reading (checkpoints, proofs) works on a locked node; ``seal()`` needs the
    node's private key.
    """

    def __init__(self, registry: Registry, identity: NodeIdentity, *, clock: Callable[[], int] | None = None,
                 mark: SealedMark | None = None):
        self.registry = registry
        self.identity = identity
        self.mark = mark  # what was sealed, kept outside the database (``nodes.registry.sealed_mark``)
        self._clock = clock or (lambda: time.time_ns() // 1000)
        self._tables = _Tables(registry.recorder.datastore,  # type: ignore[attr-defined]
                               registry.recorder.events_table_name)  # type: ignore[attr-defined]
        self._lock = threading.RLock()
        self._tree: MerkleTree | None = None
        # The notification id of each leaf from leaf _positions_start on (8 bytes each): those this sealer
        # followed or read beyond the checkpoint it resumed at; the leaf index answers for older ones.
        self._positions = array("q")
        self._positions_start = 0
        # The leaves not yet in LEAVES_TABLE as far as this sealer knows.
        self._pending = _PendingLeaves()
        self._next_position = 1
        self._stored_size = -1  # the log size at this sealer's last stored or found checkpoint
        # The checkpoint this sealer stored last, and the size of the newest stored before it then.
        self._last_stored: tuple[int, Checkpoint] | None = None
        # The latest checkpoint row as this sealer last stored or read it under the sealers' lock: the next seal
        # stores over it without reading the table first (``_seal_over_known``).
        self._latest: CheckpointRow | None = None
        # How many proofs of leaves older than the tree resumed this sealer made of stored subtree roots.
        self._old_proofs = 0

    # --- sealing ----------------------------------------------------------------------

    def seal(self, *, mark_later: bool = False, read_after: ReadAfter | None = None) -> Checkpoint | None:
        """Sign and store a checkpoint if the log grew since the latest one; return it, else None.

        With ``mark_later`` the sealer's mark is written in the background (the relay: its
        partners need the checkpoint, not the mark's fsync); the next ``seal`` or ``wait_for_mark``
        waits for it and raises its error. ``read_after``: every record logged after a position, as
        the caller read them just now (the relay's look at its log); when this sealer followed the
        log to that position at least, it takes them instead of reading them again.

        Raises ``CheckpointError`` when the log no longer agrees with the
        latest checkpoint (records deleted or altered since: run ``armsledger
        verify``) or when another checkpoint of the same size has another
        root; ``StorageError`` when the database fails; ``KeyError`` when the
        node is locked.
        """
        return self._seal(mark_later, read_after)[0]

    def seal_or_latest(self, *, mark_later: bool = False) -> Checkpoint | None:
        """A checkpoint that covers every record logged before the call: the one ``seal`` stores, or, when the log
        has not grown, the latest one, as the seal's check read it (not read again); None before the first record.
        Raises what ``seal`` raises."""
        sealed, standing = self._seal(mark_later, None)
        if sealed is not None:
            return sealed
        if standing is not None:
            return Checkpoint.from_bytes(standing.bytes)
        return self.latest_checkpoint()

    def _seal(self, mark_later: bool, read_after: ReadAfter | None) -> tuple[Checkpoint | None, CheckpointRow | None]:
        """``seal``'s work: (the checkpoint stored, or None; the latest row the check found standing over an
        unchanged log, or None)."""
        key = self.identity.private_keys[self.identity.node_key_id]
        with self._lock:
            self.wait_for_mark()
            sealed_before: Checkpoint | None = None
            while True:
                # A log that grew by millions (an import-csv) is sealed a checkpoint per _SEAL_CHUNK records:
                # the leaves pending (64 bytes each) are then never more than that many.
                tree = self._follow(most=_SEAL_CHUNK, read_after=read_after)
                read_after = None
                if len(self._pending) < _SEAL_CHUNK:
                    break
                sealed_before = self._seal_followed(key, tree, mark_later=False) or sealed_before
            standing = self._unchanged(tree) if len(tree) == self._stored_size else None
            if standing is not None:
                return sealed_before, standing
            return self._seal_followed(key, tree, mark_later=mark_later) or sealed_before, None

    def _seal_followed(self, key: Ed25519PrivateKey, tree: MerkleTree, *, mark_later: bool) -> Checkpoint | None:
        """Seal ``tree``, what ``_follow`` returned, as ``seal`` does; the checkpoint signed, or None."""
        with self._lock:
            sealed = self._seal_over_known(key, tree)
            if sealed is None:
                sealed = self._seal_over_read(key, tree)
            sealed_over, sealed_now = sealed
            self._stored_size = len(tree)
            if sealed_now is not None:
                self._last_stored = (sealed_over, sealed_now)
            if sealed_now is not None and self.mark is not None:
                # After the commit: the mark never names a checkpoint not stored.
                if mark_later:
                    self.mark.advance_later(sealed_now)
                else:
                    self.mark.advance(sealed_now)
        return sealed_now

    def _seal_over_known(self, key: Ed25519PrivateKey, tree: MerkleTree) -> tuple[int, Checkpoint | None] | None:
        """Seal ``tree`` over the checkpoint this sealer last stored or read under the sealers' lock, without reading
        the table first: the store (one statement on PostgreSQL) checks under the lock that it is still the latest
        and stores nothing otherwise. Only when the mark names that checkpoint too (or none), so that the checks
        a sealing transaction makes of the latest row and of the mark hold of it. (size sealed over, checkpoint),
        or None when it was not the latest (or is not known, or the tree was resumed beyond it): read then."""
        known = self._latest
        if known is None or known.size >= len(tree) or known.size < tree.resumed_at:
            return None
        marked = self._read_mark()
        if marked is not None and (marked.size, marked.root) != (known.size, known.root):
            return None
        if tree.root(known.size) != known.root:
            return None  # the sealing transaction names the difference
        self._pending.drop_below(known.size)
        checkpoint = self._signed(key, tree)
        with translated_errors("sealing a checkpoint"):
            stored = self._tables.store(None, known, checkpoint, self._pending.rows(), tree.frontier(),
                                        _completed_nodes(tree, known.size, len(tree)))
        if stored is None:
            self._latest = None
            return None
        return known.size, self._stored(checkpoint, stored)

    def _seal_over_read(self, key: Ed25519PrivateKey, tree: MerkleTree) -> tuple[int, Checkpoint | None]:
        """Seal ``tree`` in a transaction that takes the sealers' lock and reads the latest checkpoint first;
        (size sealed over, checkpoint or None when there was nothing to seal)."""
        for _ in range(_SEAL_ATTEMPTS):
            with (translated_errors("sealing a checkpoint"),
                  self._tables.transaction(commit=True, pipelined=True) as cursor):
                self._tables.lock_out_other_sealers(cursor)
                latest = self._tables.latest(cursor)
                if latest is None or latest.size <= len(tree):
                    self._check_mark(cursor, latest, self._read_mark())
                    return (latest.size if latest is not None else 0), self._seal_in(cursor, key, latest, tree)
                sealed = latest.size  # another sealer saw newer records: read them and retry
            tree = self._follow()
        raise CheckpointError(
            f"the log holds {len(tree)} records but a checkpoint sealed {sealed}: "
            "sealed records were deleted (run armsledger verify)",
            expected=sealed, calculated=len(tree),
        )

    def wait_for_mark(self) -> None:
        """Wait for the mark a ``seal(mark_later=True)`` is writing; raise what writing it raised."""
        if self.mark is not None:
            self.mark.wait()

    def _unchanged(self, tree: MerkleTree) -> CheckpointRow | None:
        """The latest checkpoint's row when the log has not grown since this sealer last stored (or found) it
        and the table and the mark still agree with it: ``seal`` has nothing to do, and no sealer's lock
        is taken. The same checks as a sealing transaction, read only; None sends ``seal`` there."""
        # The mark before the table: a mark is written after its checkpoint is committed, so the
        # table read next holds what any mark read here names (SQLite reads one snapshot).
        marked = self._read_mark()
        with translated_errors("sealing a checkpoint"), self._tables.transaction(commit=False) as cursor:
            latest = self._tables.latest(cursor)
            if latest is None or latest.size != len(tree):
                return None
            self._check_mark(cursor, latest, marked)
        if tree.root(latest.size) != latest.root:
            return None  # the sealing transaction names the difference
        return latest

    def _read_mark(self) -> Checkpoint | None:
        return self.mark.read() if self.mark is not None else None

    def _check_mark(self, cursor: _Cursor, latest: CheckpointRow | None, marked: Checkpoint | None) -> None:
        """Refuse to seal when the table lacks ``marked``, what the mark says was sealed: never seal again what
        was sealed before (after the checkpoint rows were deleted, records would be re-sealed from below)."""
        if self.mark is None or marked is None:
            return
        # The row of the latest checkpoint, already read, is the one the mark names unless rows went missing.
        stored = latest if latest is not None and latest.size == marked.size else self._tables.at(cursor, marked.size)
        if stored is None or stored.root != marked.root:
            newest = f"the newest stored is at size {latest.size}" if latest else "no checkpoint is stored"
            found = "is missing from" if stored is None else "has another root in"
            raise CheckpointError(
                f"refusing to seal: the checkpoint at size {marked.size} that this node signed "
                f"({self.mark.path}) {found} the checkpoint table ({newest}): checkpoint rows were "
                "deleted or rewritten; records sealed before would be sealed again (run armsledger verify)",
                expected=marked.root, calculated=stored.root if stored else None,
            )

    def _seal_in(self, cursor: _Cursor, key: Ed25519PrivateKey, latest: CheckpointRow | None,
                 tree: MerkleTree) -> Checkpoint | None:
        size = len(tree)
        if latest is not None:
            if latest.size < tree.resumed_at:  # checkpoint rows were deleted since this sealer resumed
                tree = self._whole_tree(cursor)
            if tree.root(latest.size) != latest.root:
                raise CheckpointError(
                    f"the log's first {latest.size} records no longer have the root of the checkpoint "
                    "at that size: sealed records were altered or deleted (run armsledger verify)",
                    expected=latest.root, calculated=tree.root(latest.size),
                )
            # Its leaves were stored with it, by whichever sealer signed it: not written again.
            self._pending.drop_below(latest.size)
            self._latest = latest
            if latest.size == size:
                return None
        if size == 0:
            return None
        checkpoint = self._signed(key, tree)
        stored = self._tables.store(cursor, latest, checkpoint, self._pending.rows(), tree.frontier(),
                                    _completed_nodes(tree, latest.size if latest else 0, size))
        assert stored is not None, "the latest checkpoint does not move while the sealers' lock is held"
        return self._stored(checkpoint, stored)

    def _signed(self, key: Ed25519PrivateKey, tree: MerkleTree) -> Checkpoint:
        return sign_checkpoint(key, self.identity.state, len(tree), tree.root(), self._clock())

    def _stored(self, checkpoint: Checkpoint, stored: CheckpointRow) -> Checkpoint:
        """The checkpoint stored at the size of ``checkpoint`` (just signed): ``stored``, the row read back, when it
        is that checkpoint; raises ``CheckpointError`` when another root was there (raised in a sealing transaction,
        it rolls it back, leaves, frontier and subtree roots included; a store over the latest expected cannot meet
        one: a row of a size beyond the latest would be the latest)."""
        if stored.root != checkpoint.root:
            raise CheckpointError(
                f"a checkpoint at size {checkpoint.size} with another root is stored already: the log was "
                "rewritten or forked (run armsledger verify)",
                expected=stored.root, calculated=checkpoint.root,
            )
        self._pending = _PendingLeaves(checkpoint.size)
        self._latest = stored
        return Checkpoint.from_bytes(stored.bytes)

    def _follow(self, most: int | None = None, read_after: ReadAfter | None = None) -> MerkleTree:
        """Load the tree at first use, then append the records logged since; return it. With ``most``, stop
        after the page that takes the leaves pending to ``most`` or more. ``read_after``: as ``seal``'s."""
        tree = self._tree if self._tree is not None else self._load()
        pages: Iterator[Sequence[Notification]]
        if read_after is not None and read_after.position < self._next_position:
            # Every record after read_after.position, so every one from _next_position on, when they were read.
            taken = [n for n in read_after.notifications if n.id >= self._next_position]
            pages = iter([taken] if taken else [])
        else:
            pages = notification_pages(self.registry.recorder, start=self._next_position, limit=_FOLLOW_BATCH)
        while most is None or len(self._pending) < most:
            with translated_errors("reading the log"):
                notifications = next(pages, None)
            if notifications is None:
                return tree
            for notification in notifications:
                try:
                    digest = Envelope.from_bytes(notification.state).hash
                except LedgerError as e:
                    raise CheckpointError(
                        f"refusing to seal: the record at position {notification.id} is not an envelope "
                        f"({e}); run armsledger verify"
                    ) from e
                index = tree.append(envelope_leaf(digest))
                self._positions.append(notification.id)
                self._pending.append(index, notification.id, notification.originator_id,
                                     notification.originator_version, digest)
            self._next_position = notifications[-1].id + 1
        return tree

    def _load(self) -> MerkleTree:
        """The tree at the latest checkpoint, resumed from its frontier (``_resumed``), with any leaf
        rows stored beyond it; the whole leaf index read and hashed only when the latest checkpoint has
        no frontier or no last leaf row (a store from before frontiers were stored, or a damaged one)."""
        with translated_errors("loading the leaf index"), self._tables.transaction(commit=False) as cursor:
            # The checkpoint first: its leaves and frontier were committed with it or before, so what is
            # read next covers it even while another process seals (read committed).
            latest = self._tables.latest(cursor)
            resumed = self._resumed(cursor, latest) if latest is not None else None
            tree, last_position = resumed or (MerkleTree(), 0)
            positions = array("q")
            for expected, (index, position, digest) in enumerate(self._tables.leaves(cursor, start=len(tree)),
                                                                 start=len(tree)):
                if index != expected:
                    raise CheckpointError(f"the leaf index skips from {expected - 1} to {index}: "
                                          "run armsledger verify")
                tree.append(envelope_leaf(digest))
                positions.append(position)
        if latest is not None and (latest.size > len(tree) or tree.root(latest.size) != latest.root):
            raise CheckpointError(
                f"the leaf index does not rebuild the checkpoint at size {latest.size}: run armsledger verify"
            )
        self._tree, self._positions, self._positions_start = tree, positions, tree.resumed_at
        self._pending = _PendingLeaves(len(tree))
        self._next_position = (positions[-1] if positions else last_position) + 1
        return tree

    def _resumed(self, cursor: _Cursor, latest: CheckpointRow) -> tuple[MerkleTree, int] | None:
        """The tree of ``latest`` resumed from the frontier stored with it, and the log position of its last
        leaf; None when either is not stored. Raises ``CheckpointError`` when the frontier does not give
        the checkpoint's root: a cold sealer trusts the frontier only that far, as it trusts the leaf index."""
        frontier = self._tables.frontier(cursor, latest.size)
        last = self._tables.leaf_position(cursor, latest.size - 1)
        if frontier is None or last is None:
            return None
        try:
            tree = MerkleTree.resume(latest.size, frontier)
        except ValueError as e:
            raise CheckpointError(
                f"the frontier stored with the checkpoint at size {latest.size} is malformed ({e}): "
                f"run armsledger verify (deleting its row from {FRONTIERS_TABLE} makes the sealer read "
                "the whole leaf index instead)"
            ) from e
        if tree.root() != latest.root:
            raise CheckpointError(
                f"the frontier stored with the checkpoint at size {latest.size} does not rebuild the checkpoint's "
                f"root: run armsledger verify (deleting its row from {FRONTIERS_TABLE} makes the sealer read the "
                "whole leaf index instead)",
                expected=latest.root, calculated=tree.root(),
            )
        return tree, last

    def _whole_tree(self, cursor: _Cursor | None = None) -> MerkleTree:
        """The tree held, with every node: when a proof needs a node older than the size the tree was resumed
        at that ``NODES_TABLE`` lacks (a store sealed before it was written), the leaves below it are read from
        the leaf index, checked against the root the tree was resumed at (the one its checkpoint signed), and
        the tree held is replaced by the whole one. The subtree roots it completes below that size are stored
        (in ``cursor``'s transaction, else in one of their own), so the next process finds them."""
        tree = self._tree
        assert tree is not None, "the tree is loaded before it is read"
        base = tree.resumed_at
        if base == 0:
            return tree
        if cursor is None:
            with translated_errors("loading the leaf index"), self._tables.transaction(commit=False) as cursor:
                whole = self._whole_tree_in(cursor, tree, base, store_nodes=False)
            with translated_errors("storing subtree roots"), self._tables.transaction(commit=True) as cursor:
                self._tables.insert_nodes(cursor, _completed_nodes(whole, 0, base))
            return whole
        return self._whole_tree_in(cursor, tree, base, store_nodes=True)

    def _whole_tree_in(self, cursor: _Cursor, tree: MerkleTree, base: int, *, store_nodes: bool) -> MerkleTree:
        whole = MerkleTree()
        for expected, (index, _, digest) in enumerate(self._tables.leaves(cursor, stop=base)):
            if index != expected:
                raise CheckpointError(f"the leaf index skips from {expected - 1} to {index}: run armsledger verify")
            whole.append(envelope_leaf(digest))
        if len(whole) != base or whole.root() != tree.root(base):
            raise CheckpointError(
                f"the leaf index does not rebuild the checkpoint at size {base}: run armsledger verify"
            )
        for leaf in tree.leaf_hashes(base):
            whole.append(leaf)
        self._tree = whole
        if store_nodes:
            self._tables.insert_nodes(cursor, _completed_nodes(whole, 0, base))
        return whole

    # --- reading ----------------------------------------------------------------------

    def latest_checkpoint(self) -> Checkpoint | None:
        """The stored checkpoint of the largest size, or None before the first seal."""
        with translated_errors("reading checkpoints"), self._tables.transaction(commit=False) as cursor:
            latest = self._tables.latest(cursor)
        return Checkpoint.from_bytes(latest.bytes) if latest else None

    def checkpoints(self, after: int = 0) -> list[Checkpoint]:
        """Every stored checkpoint larger than ``after``, smallest size first. Raises ``CheckpointError``
        for an unreadable row."""
        return [Checkpoint.from_bytes(row.bytes) for row in self.checkpoint_rows(after)]

    def stored_after(self, size: int) -> list[Checkpoint] | None:
        """What ``checkpoints(after=size)`` read just after this sealer's last seal, without reading: the one
        checkpoint it stored, when the newest stored before it had ``size`` (sealers store in size order, one
        at a time). None otherwise (read them). Checkpoints other processes stored since are not in it."""
        last = self._last_stored
        return [last[1]] if last is not None and last[0] == size else None

    def newest_checkpoints(self, limit: int) -> tuple[list[Checkpoint], int]:
        """The ``limit`` stored checkpoints of the largest sizes, largest first, and how many are stored
        (a page for a desk, without reading every checkpoint)."""
        with translated_errors("reading checkpoints"), self._tables.transaction(commit=False) as cursor:
            rows, count = self._tables.newest(cursor, limit)
        return [Checkpoint.from_bytes(row.bytes) for row in rows], count

    def checkpoint_rows(self, after: int = 0) -> list[CheckpointRow]:
        """Every stored checkpoint row (larger than ``after``) as stored (the audit compares columns
        with the signed bytes)."""
        with translated_errors("reading checkpoints"), self._tables.transaction(commit=False) as cursor:
            return self._tables.checkpoint_rows(cursor, after)

    def sealed_leaves(self) -> list[SealedLeaf]:
        """The stored leaf index, by leaf index."""
        with translated_errors("reading the leaf index"), self._tables.transaction(commit=False) as cursor:
            return self._tables.sealed_leaves(cursor)

    def sealed_leaves_from(self, start: int = 0) -> Iterator[SealedLeaf]:
        """The stored leaf index from leaf ``start`` on, by leaf index, read a page at a time (each page in a
        read transaction of its own): a verify of millions of records does not hold them all at once."""
        while True:
            with translated_errors("reading the leaf index"), self._tables.transaction(commit=False) as cursor:
                page = self._tables.sealed_leaves_page(cursor, start, _LEAF_PAGE)
            yield from page
            if len(page) < _LEAF_PAGE:
                return
            start = page[-1].index + 1

    def sealed_hash_pages(self, start: int = 0) -> Iterator[tuple[int, int, list[bytes]]]:
        """The stored leaf index from leaf ``start`` on as ``sealed_leaves_from`` reads it, a page at a time: (first
        leaf index, last leaf index, the envelope hashes of the page in leaf index order). What a verify compares
        with the log's leaves, without a ``SealedLeaf`` made of each row."""
        while True:
            with translated_errors("reading the leaf index"), self._tables.transaction(commit=False) as cursor:
                first, last, hashes = self._tables.sealed_hashes_page(cursor, start, _LEAF_PAGE)
            if hashes:
                yield first, last, hashes
            if len(hashes) < _LEAF_PAGE:
                return
            start = last + 1

    def sealed_leaf(self, index: int) -> SealedLeaf | None:
        """The stored leaf at leaf ``index``, or None if none is stored there."""
        with translated_errors("reading the leaf index"), self._tables.transaction(commit=False) as cursor:
            return self._tables.leaf_at(cursor, index)

    def leaves_of(self, stream: str) -> dict[int, tuple[int, bytes]]:
        """The sealed leaves of ``stream``'s records: version -> (leaf index, envelope hash), from the leaf index:
        the leaf rows of ``stream`` whose position holds a record of ``stream`` in the log."""
        return self.leaves_of_streams((stream,))[str(stream)]

    def leaves_of_streams(self, streams: Iterable[str]) -> dict[str, dict[int, tuple[int, bytes]]]:
        """``leaves_of`` each of ``streams``, by stream, read by one statement (on PostgreSQL one round trip)."""
        with translated_errors("reading the leaf index"), self._tables.one_read() as cursor:
            return self._tables.leaves_of_many(cursor, [str(stream) for stream in dict.fromkeys(streams)])

    def leaf_with_hash(self, envelope_hash: bytes) -> SealedLeaf | None:
        """The sealed leaf of the record whose envelope hash is ``envelope_hash``, or None."""
        with translated_errors("reading the leaf index"), self._tables.transaction(commit=False) as cursor:
            return self._tables.leaf_with_hash(cursor, envelope_hash)

    def leaf_index(self, position: int) -> int:
        """The leaf index of the record at notification ``position``; ``KeyError`` if it has none yet."""
        with self._lock:
            if position >= self._next_position:
                self._follow()  # a record logged since: the positions held already answer older ones
            held = self._positions
            if held and position >= held[0]:
                found = bisect_left(held, position)
                if found == len(held) or held[found] != position:
                    raise KeyError(f"no record at log position {position}")
                return self._positions_start + found
        # Older than what this sealer followed: one indexed row of the leaf index, not every position held.
        with translated_errors("reading the leaf index"), self._tables.transaction(commit=False) as cursor:
            index = self._tables.leaf_index_at(cursor, position)
        if index is None:
            raise KeyError(f"no record at log position {position}")
        return index

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 PATH(index, D_size) for ``size`` (default: the latest checkpoint's size).

        Requires ``0 <= index < size <= records in the log``; ``ValueError`` otherwise.
        """
        return self.inclusion_proofs([index], size)[0]

    def inclusion_proofs(self, indexes: Sequence[int], size: int | None = None) -> list[list[bytes]]:
        """``inclusion_proof(index, size)`` for each of ``indexes``, in order, with the subtree roots
        their paths share computed once (``MerkleTree.inclusion_proofs``). Same requirements.

        Proofs of leaves older than the tree held are built from the stored subtree roots and leaf rows, until
        this sealer was asked for a share of them (``_WHOLE_TREE_SHARE``): then the whole leaf index is read once.
        Raises ``CheckpointError`` when such a proof does not verify against the signed root (it is never
        served), or when the whole leaf index does not rebuild the root the tree was resumed at."""
        with self._lock:
            tree = self._follow_to(size)
            size = self._sealed_size() if size is None else size
            if not indexes:
                # No proof needs a node older than the tree held (the relay asks for none at the end of each pass):
                # the tree held only checks ``size``, where the whole leaf index would be read and held.
                return tree.inclusion_proofs((), size)
            old = sum(1 for index in indexes if 0 <= index < tree.resumed_at) if size <= len(tree) else 0
            if old and not self._whole_tree_pays(tree, old):
                proofs = self._stored_inclusion_proofs(tree, indexes, size)
                if proofs is not None:
                    self._old_proofs += old
                    return proofs
            return self._tree_from(tree, min(indexes, default=0)).inclusion_proofs(indexes, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 PROOF(size1, D_size2) (default ``size2``: the latest checkpoint's size).

        Requires ``0 < size1 <= size2 <= records in the log``; ``ValueError`` otherwise.
        """
        with self._lock:
            tree = self._follow_to(size2)
            size2 = self._sealed_size() if size2 is None else size2
            if 0 < size1 < tree.resumed_at and size1 <= size2 <= len(tree):
                proof = self._stored_consistency_proof(tree, size1, size2)
                if proof is not None:
                    return proof
            return self._tree_from(tree, size1).consistency_proof(size1, size2)

    def _follow_to(self, size: int | None) -> MerkleTree:
        # A proof within the tree held needs no read of the log (the relay asks one per record).
        if self._tree is None or size is None or size > len(self._tree):
            return self._follow()
        return self._tree

    def _whole_tree_pays(self, tree: MerkleTree, old: int) -> bool:
        """Whether ``old`` more proofs of leaves older than ``tree`` was resumed at are better made from the whole
        tree (``_WHOLE_TREE_SHARE``): a caller that has asked for that share of them is proving a backlog."""
        resumed = tree.resumed_at
        return resumed <= _WHOLE_TREE_MOST and self._old_proofs + old >= resumed * _WHOLE_TREE_SHARE

    def _stored_inclusion_proofs(self, tree: MerkleTree, indexes: Sequence[int], size: int) -> list[list[bytes]] | None:
        """The proofs of ``indexes`` in the tree of ``size`` (at most the tree held) made of the subtree roots
        the tree holds, those stored and the leaf rows around each leaf, checked against the checkpoint of
        ``size``; None when that checkpoint or a stored root or leaf row is missing (the caller reads the
        whole leaf index instead). Raises ``ValueError`` for an index outside the tree of ``size``."""
        needed = set(inclusion_proofs_nodes(indexes, size))
        needed.update((0, index) for index in indexes)  # each leaf's own hash, to check its proof
        with translated_errors("reading subtree roots"), self._tables.transaction(commit=False) as cursor:
            signed = self._tables.at(cursor, size)
            nodes = self._nodes(cursor, tree, needed) if signed is not None else None
        if signed is None or nodes is None:
            return None
        proofs = inclusion_proofs_from_nodes(indexes, size, nodes)
        try:
            verify_inclusions(indexes, size, [nodes[(0, index)] for index in indexes], proofs,
                              Checkpoint.from_bytes(signed.bytes).root)
        except VerificationError as e:
            self._refuse_stored_nodes(size, e)
        return proofs

    def _stored_consistency_proof(self, tree: MerkleTree, size1: int, size2: int) -> list[bytes] | None:
        """As ``_stored_inclusion_proofs``, the consistency proof from ``size1`` to ``size2``, checked against
        the checkpoints of both sizes; None when either is not stored or a subtree root is missing."""
        with translated_errors("reading subtree roots"), self._tables.transaction(commit=False) as cursor:
            first, second = self._tables.at(cursor, size1), self._tables.at(cursor, size2)
            signed = first is not None and second is not None
            nodes = self._nodes(cursor, tree, set(consistency_proof_nodes(size1, size2))) if signed else None
        if first is None or second is None or nodes is None:
            return None
        proof = consistency_proof_from_nodes(size1, size2, nodes)
        try:
            verify_consistency(size1, size2, Checkpoint.from_bytes(first.bytes).root,
                               Checkpoint.from_bytes(second.bytes).root, proof)
        except VerificationError as e:
            self._refuse_stored_nodes(size2, e)
        return proof

    def _nodes(self, cursor: _Cursor, tree: MerkleTree, needed: set[NodeId]) -> dict[NodeId, bytes] | None:
        """The root of each subtree ``needed``: from the tree held, else from ``NODES_TABLE`` (the large ones),
        else hashed from the leaf rows of its run of 2**_STORED_HEIGHT leaves; None when one is not stored."""
        found: dict[NodeId, bytes] = {}
        stored: list[NodeId] = []
        runs: dict[int, list[NodeId]] = {}  # first leaf of a run of leaves -> the small subtrees in it
        for height, position in needed:
            held = tree.held_node(height, position)
            if held is not None:
                found[(height, position)] = held
            elif height >= _STORED_HEIGHT:
                stored.append((height, position))
            else:
                first = (position << height) >> _STORED_HEIGHT << _STORED_HEIGHT
                runs.setdefault(first, []).append((height, position))
        found.update(self._tables.nodes(cursor, stored))
        if len(found) < len(needed) - sum(map(len, runs.values())):
            return None  # a store sealed before subtree roots were stored
        for start, small in runs.items():
            stop = max((position + 1) << height for height, position in small)
            run = MerkleTree()
            for expected, (index, _, digest) in enumerate(self._tables.leaves(cursor, start=start, stop=stop),
                                                          start=start):
                if index != expected:
                    return None  # leaf rows missing: the whole leaf index is read, and names the gap
                run.append(envelope_leaf(digest))
            if len(run) != stop - start:
                return None
            for height, position in small:
                node = run.held_node(height, position - (start >> height))
                assert node is not None, "a run holds every complete subtree of its leaves"
                found[(height, position)] = node
        return found

    def _refuse_stored_nodes(self, size: int, error: VerificationError) -> NoReturn:
        """Raise ``CheckpointError`` for a proof made of stored subtree roots and leaf rows that does not lead
        to the signed root of ``size``: the leaf index's own error when it does not rebuild the tree held
        (read whole to tell), else one naming the subtree roots."""
        self._whole_tree()
        raise CheckpointError(
            f"a proof made of the subtree roots stored in {NODES_TABLE} does not verify against the signed root "
            f"of the checkpoint at size {size} ({error.args[0]}): they or that checkpoint's row were altered; run "
            f"armsledger verify (deleting the rows of {NODES_TABLE} makes proofs read the whole leaf index instead)",
            expected=error.expected, calculated=error.calculated,
        ) from error

    def _tree_from(self, tree: MerkleTree, first: int) -> MerkleTree:
        """``tree``, or the whole tree when a proof of leaf (or from size) ``first`` needs nodes older than
        the size it was resumed at; a ``first`` below 0 is left to the proof's precondition."""
        return self._whole_tree() if 0 <= first < tree.resumed_at else tree

    def _sealed_size(self) -> int:
        latest = self.latest_checkpoint()
        return latest.size if latest else 0


class _PendingLeaves:
    """Leaves ``start``, ``start + 1``, ... appended to the tree but not stored yet, kept as columns:
    a first seal of millions of records holds arrays, not a tuple of objects per leaf."""

    def __init__(self, start: int = 0):
        self.start = start
        self._positions = array("q")
        self._versions = array("q")
        self._hashes = bytearray()  # 32 bytes per leaf
        # 16 bytes per leaf, the stream's UUID: a str per leaf took some 90 bytes (170 MB after an
        # import-csv of 1.8M records). A stream id that is no UUID is kept by the leaf's offset.
        self._streams = bytearray()
        self._other_streams: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._positions)

    def append(self, index: int, position: int, stream: UUID | str, version: int, envelope_hash: bytes) -> None:
        """Requires ``index`` to be the leaf after the last one held (the tree appends in order)."""
        if index != self.start + len(self):
            raise ValueError(f"leaf {index} appended after leaf {self.start + len(self) - 1}")
        if isinstance(stream, UUID):
            self._streams += stream.bytes
        else:
            self._other_streams[len(self)] = str(stream)
            self._streams += bytes(16)
        self._positions.append(position)
        self._versions.append(version)
        self._hashes += envelope_hash

    def drop_below(self, index: int) -> None:
        """Forget the leaves below leaf ``index`` (stored already)."""
        count = min(max(index - self.start, 0), len(self))
        if count:
            del self._positions[:count]
            del self._versions[:count]
            del self._hashes[:32 * count]
            del self._streams[:16 * count]
            self._other_streams = {offset - count: stream for offset, stream in self._other_streams.items()
                                   if offset >= count}
            self.start += count

    def rows(self) -> Iterator[tuple[int, int, str, int, bytes]]:
        """(leaf index, position, stream, version, envelope hash) of each leaf held, in order."""
        hashes, streams, others = self._hashes, self._streams, self._other_streams
        for i in range(len(self)):
            stream = others.get(i) or str(UUID(bytes=bytes(streams[16 * i:16 * (i + 1)])))
            yield (self.start + i, self._positions[i], stream, self._versions[i], bytes(hashes[32 * i:32 * (i + 1)]))


def _completed_nodes(tree: MerkleTree, old: int, new: int) -> Iterator[tuple[int, int, bytes]]:
    """(height, position, root) of each subtree of 2**_STORED_HEIGHT leaves or more that the tree completes
    when it grows from ``old`` to ``new`` leaves and holds: all of them unless it was resumed beyond ``old``
    (checkpoint rows deleted since), and a proof that needs one left out reads the whole leaf index."""
    for height in range(_STORED_HEIGHT, new.bit_length()):
        for position in range(old >> height, new >> height):
            node = tree.held_node(height, position)
            if node is not None:
                yield height, position, node


def _sealed_leaf(row: Any) -> SealedLeaf:
    return SealedLeaf(row["leaf_index"], row["stream"], row["version"], bytes(row["envelope_hash"]))


#: Streams whose leaves one statement reads (``_Tables.leaves_of_many``).
_STREAMS_A_READ = 100

class _Tables:
    """The sealer's tables on the registry's datastore: the one place that knows the SQL dialects."""

    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore, events_table: str):
        """``events_table``: the name of the registry's log table in ``datastore`` (a stream's leaves are
        found through its index of streams)."""
        self.datastore = datastore
        if isinstance(datastore, SQLiteDatastore):
            self._placeholder, prefix, integer, blob = "?", "", "INTEGER", "BLOB"
            self._events_table, self._events_position = events_table, "rowid"
        else:  # eventsourcing.postgres.PostgresDatastore
            self._placeholder, prefix, integer, blob = "%s", f'"{datastore.schema}".', "BIGINT", "BYTEA"
            self._events_table, self._events_position = f'"{datastore.schema}"."{events_table}"', "notification_id"
        self.checkpoints_table = prefix + CHECKPOINTS_TABLE
        if isinstance(datastore, SQLiteDatastore):
            # A write as the transaction's first statement takes SQLite's one
            # write lock, waiting for it; a transaction that read first could
            # not upgrade once another sealer had written ("database is locked").
            self._lock_statement = f"DELETE FROM {self.checkpoints_table} WHERE 0"
        else:
            # Self-conflicting, so sealers queue; readers are not blocked.
            self._lock_statement = f"LOCK TABLE {self.checkpoints_table} IN SHARE ROW EXCLUSIVE MODE"
        self.leaves_table = prefix + LEAVES_TABLE
        self.frontiers_table = prefix + FRONTIERS_TABLE
        self.nodes_table = prefix + NODES_TABLE
        self.ddl = [
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints_table} ("
            f"size {integer} PRIMARY KEY, root {blob} NOT NULL, timestamp {integer} NOT NULL, "
            f"signer TEXT NOT NULL, sig {blob} NOT NULL, bytes {blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.leaves_table} ("
            f"leaf_index {integer} PRIMARY KEY, position {integer} NOT NULL, stream TEXT NOT NULL, "
            f"version {integer} NOT NULL, envelope_hash {blob} NOT NULL)",
            # No index by stream: with a random stream per record, each leaf written touched a random page of
            # it (a seal of 100,000 leaves at 1,000,000 cost five times one at 100,000 on SQLite). A stream's
            # leaves are found through the log's index of streams instead (``leaves_of``).
            f"DROP INDEX IF EXISTS {prefix}{LEAVES_TABLE}_stream",
            # A record's leaf is looked up by its log position (the relay), older ones than a sealer holds.
            f"CREATE INDEX IF NOT EXISTS {LEAVES_TABLE}_position ON {self.leaves_table} (position)",
            f"CREATE TABLE IF NOT EXISTS {self.frontiers_table} (size {integer} PRIMARY KEY, frontier {blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes_table} (height {integer} NOT NULL, position {integer} NOT NULL, "
            f"hash {blob} NOT NULL, PRIMARY KEY (height, position))",
        ]
        if not isinstance(datastore, SQLiteDatastore):
            # Processes that open the store at once would fail each other's CREATE OR REPLACE FUNCTION ("tuple
            # concurrently updated"): one at a time.
            self.ddl = [f"SELECT pg_advisory_xact_lock({_DDL_LOCK})", *self.ddl, self._seal_function(prefix)]
            # %b: in binary (in text, psycopg quotes each array's bytes by regular expression).
            self._seal_statement = (
                f"SELECT * FROM {prefix}{_SEAL_FUNCTION}(%b::bigint, %b::bytea, %b, %b, %b, %b, %b, %b, %b, "
                "%b::bigint[], %b::bigint[], %b::text[], %b::bigint[], %b::bytea[], %b::bigint[], %b::bigint[], "
                "%b::bytea[])")
        self._created = False

    def _seal_function(self, prefix: str) -> str:
        """``store`` on PostgreSQL as one function: the sealers' lock, the latest checkpoint compared with the one
        expected (``over_``; nothing stored, no row returned, when it is another), the rows, the checkpoint, and
        the row stored at its size returned. A lock taken in a function lasts until its transaction ends."""
        return (
            f"CREATE OR REPLACE FUNCTION {prefix}{_SEAL_FUNCTION}(over_size BIGINT, over_root BYTEA, "
            "new_size BIGINT, new_root BYTEA, new_timestamp BIGINT, new_signer TEXT, new_sig BYTEA, new_bytes BYTEA, "
            "new_frontier BYTEA, "
            "leaf_indexes BIGINT[], leaf_positions BIGINT[], leaf_streams TEXT[], leaf_versions BIGINT[], "
            "leaf_hashes BYTEA[], node_heights BIGINT[], node_positions BIGINT[], node_hashes BYTEA[]) "
            f"RETURNS SETOF {self.checkpoints_table} LANGUAGE plpgsql AS $$ "
            "DECLARE latest_size BIGINT; latest_root BYTEA; "
            "BEGIN "
            f"    {self._lock_statement}; "
            f"    SELECT size, root INTO latest_size, latest_root FROM {self.checkpoints_table} "
            "        ORDER BY size DESC LIMIT 1; "
            "    IF latest_size IS DISTINCT FROM over_size OR latest_root IS DISTINCT FROM over_root THEN "
            "        RETURN; "
            "    END IF; "
            f"    INSERT INTO {self.leaves_table} (leaf_index, position, stream, version, envelope_hash) "
            "        SELECT * FROM unnest(leaf_indexes, leaf_positions, leaf_streams, leaf_versions, leaf_hashes) "
            "        ON CONFLICT (leaf_index) DO NOTHING; "
            f"    INSERT INTO {self.frontiers_table} (size, frontier) VALUES (new_size, new_frontier) "
            "        ON CONFLICT (size) DO NOTHING; "
            f"    INSERT INTO {self.nodes_table} (height, position, hash) "
            "        SELECT * FROM unnest(node_heights, node_positions, node_hashes) "
            "        ON CONFLICT (height, position) DO NOTHING; "
            f"    INSERT INTO {self.checkpoints_table} (size, root, timestamp, signer, sig, bytes) "
            "        VALUES (new_size, new_root, new_timestamp, new_signer, new_sig, new_bytes) "
            "        ON CONFLICT (size) DO NOTHING; "
            f"    RETURN QUERY SELECT * FROM {self.checkpoints_table} WHERE size = new_size; "
            "END $$")

    @contextlib.contextmanager
    def one_read(self) -> Iterator[_Cursor]:
        """A cursor for ONE read statement: on PostgreSQL in autocommit (one statement reads one snapshot; a
        read-only transaction of its own would cost three round trips), on SQLite in a read transaction."""
        if not self._created or isinstance(self.datastore, SQLiteDatastore):
            with self.transaction(commit=False) as cursor:
                yield cursor
            return
        with self.datastore.cursor() as cursor:
            yield cursor

    @contextlib.contextmanager
    def transaction(self, *, commit: bool, pipelined: bool = False) -> Iterator[_Cursor]:
        """A transaction's cursor. ``pipelined`` (PostgreSQL): statements are sent without waiting for the
        answers of those before, which a read (``fetchone``) waits for all at once: a seal then costs three
        round trips to the server (begin, the lock and the latest checkpoint; the inserts and the read back
        of the checkpoint; the commit with the pipeline's end) instead of nine. The begin and the commit are
        statements of the pipeline (psycopg's ``transaction()`` would wait for each of them, and sync once
        more before the commit). An error of any statement, the commit's included, is raised at the next
        wait; the transaction is then rolled back, as is one left by an error raised in the block."""
        if not self._created:
            with self.datastore.transaction(commit=True) as cursor:
                for statement in self.ddl:
                    cursor.execute(statement)
            self._created = True
        if pipelined and not isinstance(self.datastore, SQLiteDatastore):
            with (self.datastore.get_connection() as connection,  # in autocommit: the block's begin is ours
                  pipelined_transaction(connection, commit=commit)):
                yield _StatementCursors(connection)
            return
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def lock_out_other_sealers(self, cursor: _Cursor) -> None:
        """Make other sealing transactions wait until this one ends; the first statement of a sealing transaction."""
        cursor.execute(self._lock_statement)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._placeholder)

    def latest(self, cursor: _Cursor) -> CheckpointRow | None:
        cursor.execute(f"SELECT * FROM {self.checkpoints_table} ORDER BY size DESC LIMIT 1")
        row = cursor.fetchone()
        return _checkpoint_row(row) if row else None

    def at(self, cursor: _Cursor, size: int) -> CheckpointRow | None:
        cursor.execute(self._sql(f"SELECT * FROM {self.checkpoints_table} WHERE size = ?"), (size,))
        row = cursor.fetchone()
        return _checkpoint_row(row) if row else None

    def newest(self, cursor: _Cursor, limit: int) -> tuple[list[CheckpointRow], int]:
        cursor.execute(self._sql(f"SELECT * FROM {self.checkpoints_table} ORDER BY size DESC LIMIT ?"), (limit,))
        rows = [_checkpoint_row(row) for row in cursor.fetchall()]
        cursor.execute(f"SELECT COUNT(*) AS n FROM {self.checkpoints_table}")
        return rows, int(cursor.fetchone()["n"])

    def checkpoint_rows(self, cursor: _Cursor, after: int = 0) -> list[CheckpointRow]:
        cursor.execute(self._sql(f"SELECT * FROM {self.checkpoints_table} WHERE size > ? ORDER BY size"), (after,))
        return [_checkpoint_row(row) for row in cursor.fetchall()]

    def leaves(self, cursor: _Cursor, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, int, bytes]]:
        """Every (leaf index, position, envelope hash) from leaf ``start`` (to before ``stop``), in order, read a
        page at a time: a node of millions of records must not hold them all as rows at once."""
        p = self._placeholder
        bound = "" if stop is None else f"AND leaf_index < {int(stop)} "
        while True:
            cursor.execute(f"SELECT leaf_index, position, envelope_hash FROM {self.leaves_table} "
                           f"WHERE leaf_index >= {p} {bound}ORDER BY leaf_index LIMIT {p}", (start, _LEAF_PAGE))
            rows = cursor.fetchall()
            for row in rows:
                yield row["leaf_index"], row["position"], bytes(row["envelope_hash"])
            if len(rows) < _LEAF_PAGE:
                return
            start = rows[-1]["leaf_index"] + 1

    def leaf_position(self, cursor: _Cursor, index: int) -> int | None:
        """The log position of leaf ``index``, or None if no row holds it."""
        cursor.execute(self._sql(f"SELECT position FROM {self.leaves_table} WHERE leaf_index = ?"), (index,))
        row = cursor.fetchone()
        return None if row is None else int(row["position"])

    def leaf_index_at(self, cursor: _Cursor, position: int) -> int | None:
        """The lowest leaf index stored for log ``position``, or None."""
        cursor.execute(self._sql(f"SELECT leaf_index FROM {self.leaves_table} WHERE position = ? "
                                 "ORDER BY leaf_index LIMIT 1"), (position,))
        row = cursor.fetchone()
        return None if row is None else int(row["leaf_index"])

    def frontier(self, cursor: _Cursor, size: int) -> list[bytes] | None:
        """The frontier stored with the checkpoint of ``size``, split into its 32-byte hashes; None if none."""
        cursor.execute(self._sql(f"SELECT frontier FROM {self.frontiers_table} WHERE size = ?"), (size,))
        row = cursor.fetchone()
        if row is None:
            return None
        stored = bytes(row["frontier"])
        return [stored[i:i + HASH_SIZE] for i in range(0, len(stored), HASH_SIZE)]

    def insert_frontier(self, cursor: _Cursor, size: int, frontier: Sequence[bytes]) -> None:
        """Store the frontier of the checkpoint of ``size`` unless one is stored (another sealer's, same root)."""
        cursor.execute(self._sql(f"INSERT INTO {self.frontiers_table} (size, frontier) VALUES (?, ?) "
                                 "ON CONFLICT (size) DO NOTHING"), (size, b"".join(frontier)))

    def nodes(self, cursor: _Cursor, wanted: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """The stored root of each subtree ``wanted`` (height, position) that has one."""
        found = {}
        for first in range(0, len(wanted), _NODES_PER_QUERY):
            chunk = wanted[first:first + _NODES_PER_QUERY]
            rows = ", ".join(["(?, ?)"] * len(chunk))
            cursor.execute(self._sql(f"SELECT height, position, hash FROM {self.nodes_table} "
                                     f"WHERE (height, position) IN (VALUES {rows})"),
                           [number for node in chunk for number in node])
            found.update({(row["height"], row["position"]): bytes(row["hash"]) for row in cursor.fetchall()})
        return found

    def insert_nodes(self, cursor: _Cursor, nodes: Iterable[tuple[int, int, bytes]]) -> None:
        """Store (height, position, hash) subtree roots, keeping any stored already (another sealer's, the same)."""
        cursor.executemany(self._sql(f"INSERT INTO {self.nodes_table} (height, position, hash) VALUES (?, ?, ?) "
                                     "ON CONFLICT (height, position) DO NOTHING"), nodes)

    def sealed_leaves(self, cursor: _Cursor) -> list[SealedLeaf]:
        cursor.execute(f"SELECT leaf_index, stream, version, envelope_hash FROM {self.leaves_table} "
                       "ORDER BY leaf_index")
        return [_sealed_leaf(row) for row in cursor.fetchall()]

    def sealed_leaves_page(self, cursor: _Cursor, start: int, limit: int) -> list[SealedLeaf]:
        p = self._placeholder
        cursor.execute(f"SELECT leaf_index, stream, version, envelope_hash FROM {self.leaves_table} "
                       f"WHERE leaf_index >= {p} ORDER BY leaf_index LIMIT {p}", (start, limit))
        return [_sealed_leaf(row) for row in cursor.fetchall()]

    def sealed_hashes_page(self, cursor: _Cursor, start: int, limit: int) -> tuple[int, int, list[bytes]]:
        p = self._placeholder
        cursor.execute(f"SELECT leaf_index, envelope_hash FROM {self.leaves_table} "
                       f"WHERE leaf_index >= {p} ORDER BY leaf_index LIMIT {p}", (start, limit))
        rows = cursor.fetchall()
        if not rows:
            return start, start - 1, []
        return rows[0]["leaf_index"], rows[-1]["leaf_index"], [bytes(row["envelope_hash"]) for row in rows]

    def leaf_at(self, cursor: _Cursor, index: int) -> SealedLeaf | None:
        return self._first_leaf(cursor, "leaf_index = ?", index)

    def leaves_of_many(self, cursor: _Cursor, streams: Sequence[str]) -> dict[str, dict[int, tuple[int, bytes]]]:
        """By stream, version -> (leaf index, envelope hash) of the leaf rows of each of ``streams`` at the positions
        of the log's records of that stream, in one statement: per stream two indexed reads (the log's by stream,
        the leaves' by position), the streams' reads joined by UNION ALL."""
        found: dict[str, dict[int, tuple[int, bytes]]] = {stream: {} for stream in streams}
        asked: list[tuple[object, str]] = []
        for stream in streams:
            stream_id: object = stream
            if self.datastore.originator_id_type == "uuid":  # the stream id as the library writes it
                try:
                    as_uuid = UUID(stream)
                except ValueError:
                    continue  # no record of the log has such a stream id
                stream_id = as_uuid.hex if isinstance(self.datastore, SQLiteDatastore) else as_uuid
            asked.append((stream_id, stream))
        one = (f"SELECT l.stream, l.leaf_index, l.version, l.envelope_hash FROM {self._events_table} e "
               f"JOIN {self.leaves_table} l ON l.position = e.{self._events_position} "
               "WHERE e.originator_id = ? AND l.stream = ?")
        # At most _STREAMS_A_READ streams a statement: SQLite takes 500 terms of a compound SELECT at most (a weapon
        # exported many times shows a shipment and a licence stream per export).
        for start in range(0, len(asked), _STREAMS_A_READ):
            part = asked[start:start + _STREAMS_A_READ]
            cursor.execute(self._sql(" UNION ALL ".join([one] * len(part)) + " ORDER BY 2"),
                           [value for pair in part for value in pair])
            for row in cursor.fetchall():
                found[row["stream"]][row["version"]] = (row["leaf_index"], bytes(row["envelope_hash"]))
        return found

    def leaf_with_hash(self, cursor: _Cursor, envelope_hash: bytes) -> SealedLeaf | None:
        return self._first_leaf(cursor, "envelope_hash = ?", envelope_hash)

    def _first_leaf(self, cursor: _Cursor, condition: str, value: object) -> SealedLeaf | None:
        """The stored leaf of lowest index meeting ``condition`` (one ``?``, for ``value``), or None."""
        cursor.execute(self._sql(f"SELECT leaf_index, stream, version, envelope_hash FROM {self.leaves_table} "
                                 f"WHERE {condition} ORDER BY leaf_index LIMIT 1"), (value,))
        row = cursor.fetchone()
        return None if row is None else _sealed_leaf(row)

    def insert_leaves(self, cursor: _Cursor, rows: Iterable[tuple[int, int, str, int, bytes]]) -> None:
        """Insert (leaf index, position, stream, version, envelope hash) rows."""
        # Another sealer may have stored some of them: same log, same leaves
        # (were they not, the checkpoint's root would differ and roll all back).
        cursor.executemany(
            self._sql(f"INSERT INTO {self.leaves_table} (leaf_index, position, stream, version, envelope_hash) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (leaf_index) DO NOTHING"),
            rows,
        )

    def store(self, cursor: _Cursor | None, over: CheckpointRow | None, checkpoint: Checkpoint,
              leaves: Iterable[tuple[int, int, str, int, bytes]], frontier: Sequence[bytes],
              nodes: Iterable[tuple[int, int, bytes]]) -> CheckpointRow | None:
        """Store ``checkpoint`` with its new leaf rows (leaf index, position, stream, version, envelope hash), its
        frontier and the subtree roots it completes (height, position, hash), if the latest checkpoint stored is
        still ``over`` (None: none is), under the sealers' lock; return the row stored at its size (ours, or
        another sealer's of the same size). None, having stored nothing, when ``over`` is not the latest.

        ``cursor``: a sealing transaction's, the lock taken (``lock_out_other_sealers``); None: in a transaction
        of its own, on PostgreSQL one statement (``_SEAL_FUNCTION``): one round trip."""
        if isinstance(self.datastore, SQLiteDatastore):
            if cursor is None:
                with self.transaction(commit=True) as cursor:
                    return self._store_statements(cursor, over, checkpoint, leaves, frontier, nodes)
            return self._store_statements(cursor, over, checkpoint, leaves, frontier, nodes)
        arguments = (over.size if over else None, over.root if over else None, checkpoint.size, checkpoint.root,
                     checkpoint.timestamp, checkpoint.signer, checkpoint.sig, checkpoint.to_bytes(), b"".join(frontier),
                     *columns(leaves, 5), *columns(nodes, 3))
        if cursor is not None:
            cursor.execute(self._seal_statement, arguments)
            row = cursor.fetchone()
        else:
            with self.datastore.get_connection() as connection:  # in autocommit: the statement is the transaction
                row = connection.execute(self._seal_statement, arguments, prepare=True).fetchone()
        return None if row is None or row["size"] is None else _checkpoint_row(row)

    def _store_statements(self, cursor: _Cursor, over: CheckpointRow | None, checkpoint: Checkpoint,
                          leaves: Iterable[tuple[int, int, str, int, bytes]], frontier: Sequence[bytes],
                          nodes: Iterable[tuple[int, int, bytes]]) -> CheckpointRow | None:
        """``store`` on SQLite, statement by statement (a statement costs no round trip there)."""
        self.lock_out_other_sealers(cursor)
        latest = self.latest(cursor)
        if _size_and_root(latest) != _size_and_root(over):
            return None
        self.insert_leaves(cursor, leaves)
        self.insert_frontier(cursor, checkpoint.size, frontier)
        self.insert_nodes(cursor, nodes)
        cursor.execute(
            self._sql(f"INSERT INTO {self.checkpoints_table} (size, root, timestamp, signer, sig, bytes) "
                      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (size) DO NOTHING"),
            (checkpoint.size, checkpoint.root, checkpoint.timestamp, checkpoint.signer, checkpoint.sig,
             checkpoint.to_bytes()),
        )
        cursor.execute(self._sql(f"SELECT * FROM {self.checkpoints_table} WHERE size = ?"), (checkpoint.size,))
        return _checkpoint_row(cursor.fetchone())


def _size_and_root(row: CheckpointRow | None) -> tuple[int, bytes] | None:
    return (row.size, row.root) if row is not None else None


def _checkpoint_row(row: Any) -> CheckpointRow:
    return CheckpointRow(size=row["size"], root=bytes(row["root"]), timestamp=row["timestamp"],
                         signer=row["signer"], sig=bytes(row["sig"]), bytes=bytes(row["bytes"]))
