"""The checkpoint part of a log audit: signed checkpoints against the tree recomputed from the log.

Each checkpoint's signature by the node key that was current when it was made (the log
hands the node key over by ``Authority.NodeKeyChanged`` records: ``checkpoint_refusal``); the latest one's root over the
log as stored (RFC 9162 section 2.1.1); each consistent with the next (section
2.1.4); and, with the sealer's leaf index, which sealed records were deleted,
altered, inserted or moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice

from ledger.acceptance import NodeKey
from ledger.audit_records import RecordWalk
from ledger.audit_report import Problem, ProblemKind, SealedLeaf
from ledger.checkpoint import Checkpoint, envelope_leaf, verify_checkpoint
from ledger.errors import ConsistencyProofError, VerificationError
from ledger.keys import public_key_from_bytes
from ledger.merkle import MerkleTree
from ledger.proofs import verify_consistency


def checkpoint_refusal(checkpoint: Checkpoint, node_keys: Mapping[str, NodeKey]) -> str | None:
    """Why ``checkpoint`` is not signed by the origin's node key of its time, or ``None`` when it is.

    ``node_keys``: every node key of the origin (``Signers.node_keys``); a key that handed over
    to the next one signs no checkpoint beyond its announcement (``NodeKey.last_size``).
    """
    key = node_keys.get(checkpoint.signer)
    if key is None:
        return f"signed by key {checkpoint.signer!r}, which is no node key of this log ({', '.join(node_keys)})"
    if key.last_size is not None and checkpoint.size > key.last_size:
        return (f"signed by node key {key.key_id}, which handed over to its successor at log size "
                f"{key.last_size}: it seals nothing beyond that")
    try:
        verify_checkpoint(checkpoint, public_key_from_bytes(key.public_key))
    except VerificationError as e:
        return str(e)
    return None


class CheckpointCheck:
    """The checkpoints of one log, checked against the ``RecordWalk`` of its records."""

    def __init__(self, walk: RecordWalk, node_keys: Mapping[str, NodeKey], origin: str | None):
        self.walk = walk
        self.node_keys = node_keys
        self.origin = origin
        self.problems: list[Problem] = []
        self.valid: list[Checkpoint] = []
        self.count = 0
        self.disagrees = False

    @property
    def latest_size(self) -> int:
        return self.valid[-1].size if self.valid else 0

    def run(self, checkpoints: list[Checkpoint]) -> None:
        by_size: dict[int, Checkpoint] = {}
        for checkpoint in checkpoints:
            self.count += 1
            why = checkpoint_refusal(checkpoint, self.node_keys)
            if why is not None:
                self._problem(ProblemKind.CHECKPOINT, f"checkpoint at size {checkpoint.size}: {why}")
                continue
            if self.origin is not None and checkpoint.origin != self.origin:
                self._problem(ProblemKind.CHECKPOINT,
                              f"checkpoint at size {checkpoint.size} is of origin {checkpoint.origin!r}, "
                              f"not {self.origin!r}")
                continue
            other = by_size.setdefault(checkpoint.size, checkpoint)
            if other.root != checkpoint.root:
                self.disagrees = True
                self._problem(ProblemKind.CONSISTENCY,
                              f"two checkpoints at size {checkpoint.size} have different roots "
                              f"({other.root.hex()} and {checkpoint.root.hex()}): the node forked its log")
        self.valid = [by_size[size] for size in sorted(by_size) if size > 0]
        if self.valid:
            self._check_latest(self.valid[-1])
            self._check_consecutive()

    def check_witnessed(self, witnessed: Sequence[tuple[str, Checkpoint]]) -> None:
        """Each (who, checkpoint) held outside the table: signed by the node key, stored, and reached by the
        log with its root (RFC 9162 section 2.1.1). A witness that holds more than the log is how the
        deletion of the newest records together with their checkpoints shows."""
        stored = {c.size: c for c in self.valid}
        tree, size = self.walk.tree, len(self.walk.tree)
        for who, checkpoint in witnessed:
            what = f"{who} holds our checkpoint at size {checkpoint.size}"
            why = checkpoint_refusal(checkpoint, self.node_keys)
            if why is not None:
                self._problem(ProblemKind.WITNESS, f"{what}, not signed by the node key: {why}")
                continue
            if checkpoint.size > size:
                self._problem(ProblemKind.WITNESS,
                              f"{what} but the log holds only {size} records: sealed records were deleted "
                              f"({checkpoint.size - size} missing)")
            elif checkpoint.size and tree.root(checkpoint.size) != checkpoint.root:
                self._problem(ProblemKind.WITNESS,
                              f"{what} with root {checkpoint.root.hex()}, but the first {checkpoint.size} records "
                              f"of the log have root {tree.root(checkpoint.size).hex()}: sealed records were "
                              "altered, deleted, inserted or reordered")
            kept = stored.get(checkpoint.size)
            if kept is None:
                newest = f"the newest is at size {self.latest_size}" if self.valid else "it holds none"
                self._problem(ProblemKind.WITNESS,
                              f"{what}, which the checkpoint table lacks ({newest}): checkpoint rows were deleted")
            elif kept.root != checkpoint.root:
                self._problem(ProblemKind.WITNESS,
                              f"{what} with root {checkpoint.root.hex()}, the table's has root {kept.root.hex()}: "
                              "the node signed two histories")

    def check_consistent_with(self, earlier: Checkpoint) -> None:
        """The latest checkpoint is consistent with ``earlier`` (one checked as witnessed already) by a proof
        built from the log as stored (RFC 9162 section 2.1.4)."""
        tree, latest = self.walk.tree, self.valid[-1] if self.valid else None
        if latest is None or latest.size > len(tree) or earlier.size > latest.size:
            return  # reported already: no checkpoint, records deleted, or a mark the table lacks
        try:
            verify_consistency(earlier.size, latest.size, earlier.root, latest.root,
                               tree.consistency_proof(earlier.size, latest.size))
        except ConsistencyProofError as e:
            self.disagrees = True
            self._problem(ProblemKind.CONSISTENCY,
                          f"the latest checkpoint (size {latest.size}) is not consistent with the verified mark "
                          f"(size {earlier.size}) over the log as stored: {e}")

    def _check_latest(self, latest: Checkpoint) -> None:
        tree, size = self.walk.tree, len(self.walk.tree)
        if latest.size > size:
            self.disagrees = True
            self._problem(ProblemKind.DELETED,
                          f"the log holds {size} records but the latest checkpoint sealed {latest.size}: "
                          f"sealed records were deleted ({latest.size - size} missing)")
            return
        calculated = tree.root(latest.size)
        if calculated != latest.root:
            self.disagrees = True
            self._problem(ProblemKind.ROOT,
                          f"the Merkle root of the first {latest.size} records is {calculated.hex()}, "
                          f"the latest checkpoint says {latest.root.hex()}: sealed records were altered, "
                          "deleted, inserted or reordered")

    def _check_consecutive(self) -> None:
        # RFC 9162 section 2.1.4: each checkpoint must be a prefix of the next,
        # by a proof built from the log as stored.
        tree, size = self.walk.tree, len(self.walk.tree)
        failures: list[tuple[Checkpoint, Checkpoint, ConsistencyProofError]] = []
        for older, newer in zip(self.valid, self.valid[1:]):
            if newer.size > size:
                break
            proof = tree.consistency_proof(older.size, newer.size)
            try:
                verify_consistency(older.size, newer.size, older.root, newer.root, proof)
            except ConsistencyProofError as e:
                failures.append((older, newer, e))
        if not failures:
            return
        self.disagrees = True
        older, newer, error = failures[0]
        where = self._positions(older.size, newer.size) if tree.root(older.size) == older.root else ""
        more = f" ({len(failures) - 1} later pairs of checkpoints fail too)" if len(failures) > 1 else ""
        self._problem(ProblemKind.CONSISTENCY,
                      f"checkpoint at size {older.size} is not consistent with checkpoint at size "
                      f"{newer.size} over the log as stored: {error}{where}{more}")

    def _positions(self, lo: int, hi: int) -> str:
        leaves = self.walk.leaves
        return (f"; the first {lo} records match, so the change lies among log indexes {lo}..{hi - 1} "
                f"(positions {leaves.position(lo)}..{leaves.position(hi - 1)})")

    def index_rebuilds_checkpoints(self, sealed: Callable[[], Iterable[SealedLeaf]],
                                   hash_pages: Callable[[], Iterable[tuple[int, int, Sequence[bytes]]]] | None = None
                                   ) -> bool:
        """Whether the sealer's leaf index rebuilds every checkpoint's root; a problem if not.

        ``sealed()`` reads the index from the walk's first leaf on (``LeafLog.base``), in leaf index order;
        it is read a second time only when it differs from the log. ``hash_pages()``, when given, reads the
        same as pages (first leaf index, last leaf index, envelope hashes), compared with the log instead of
        ``sealed()`` (which is then read only when they differ). The index is trusted only as far as the
        checkpoints vouch for it.
        """
        leaves, latest = self.walk.leaves, self.latest_size
        if not self.disagrees and (self._pages_are_the_log(hash_pages()) if hash_pages is not None
                                   else self._index_is_the_log(sealed())):
            return True  # the same leaves as the log's, whose roots are checked already
        base = leaves.base
        index_tree = MerkleTree.resume(base, self.walk.tree.frontier(base)) if base else MerkleTree()
        for expected, leaf in enumerate(islice(sealed(), max(0, latest - base)), start=base):
            if leaf.index != expected or len(leaf.envelope_hash) != 32:
                break
            index_tree.append(envelope_leaf(leaf.envelope_hash))
        bad = [c.size for c in self.valid if c.size > len(index_tree) or index_tree.root(c.size) != c.root]
        if bad:
            self._problem(ProblemKind.INDEX,
                          f"the sealer's leaf index does not rebuild the checkpoint at size {bad[0]}: "
                          "it was altered, so it cannot name the records that differ")
        return not bad

    def _index_is_the_log(self, sealed: Iterable[SealedLeaf]) -> bool:
        """Whether the index holds, up to the latest checkpoint, the log's own leaves at their log indexes."""
        leaves = self.walk.leaves
        base, wanted = leaves.base, self.latest_size - leaves.base
        if wanted > len(leaves):
            return False
        hashes, count = leaves.hashes(), 0
        for offset, leaf in enumerate(islice(sealed, max(0, wanted))):
            if leaf.index != base + offset or leaf.envelope_hash != hashes[offset * 32:offset * 32 + 32]:
                return False
            count += 1
        return count == max(0, wanted)

    def _pages_are_the_log(self, pages: Iterable[tuple[int, int, Sequence[bytes]]]) -> bool:
        """``_index_is_the_log`` over hash pages: each page's leaves are at consecutive indexes from where the
        last one ended (leaf indexes are a key: rising, so consecutive when a page holds as many as it spans),
        each hash 32 bytes, and together they are the log's hashes there. False also sends the caller the
        slow way (``_index_is_the_log``'s verdict, leaf by leaf), so it may be False where that is True."""
        leaves = self.walk.leaves
        base, wanted = leaves.base, self.latest_size - leaves.base
        if wanted > len(leaves):
            return False
        hashes, count = leaves.hashes(), 0
        for first, last, page in pages:
            if count >= wanted:
                break
            if first != base + count or last - first + 1 != len(page):
                return False
            page = page[:wanted - count]
            if set(map(len, page)) != {32} or b"".join(page) != hashes[count * 32:(count + len(page)) * 32]:
                return False
            count += len(page)
        return count == max(0, wanted)

    def name_records(self, sealed: list[SealedLeaf]) -> None:
        """Name the records that differ from what the checkpoints sealed, by the (authenticated) leaf index
        (``sealed``: from the walk's first leaf on, in leaf index order)."""
        latest, leaves = self.latest_size, self.walk.leaves
        in_log = {leaves.key(index): index for index in range(leaves.base, leaves.size)}
        sealed_keys: set[tuple[str | None, int | None]] = set()
        moved: list[tuple[SealedLeaf, int, int]] = []
        for leaf in sealed[:max(0, latest - leaves.base)]:
            key = (leaf.stream, leaf.version)
            sealed_keys.add(key)
            index = in_log.get(key)
            if index is None:
                self._problem(ProblemKind.DELETED,
                              f"sealed at log index {leaf.index}, missing from the log", leaf.stream, leaf.version)
                continue
            position = leaves.position(index)
            if leaves.envelope_hash(index) != leaf.envelope_hash:
                self._problem(ProblemKind.ALTERED,
                              f"sealed with hash {leaf.envelope_hash.hex()}, stored with another",
                              leaf.stream, leaf.version, position)
            elif index != leaf.index:
                moved.append((leaf, index, position))
        for index in range(leaves.base, min(latest, leaves.size)):
            stream, version = leaves.key(index)
            if (stream, version) not in sealed_keys:
                self._problem(ProblemKind.INSERTED,
                              f"at log index {index}, inside the sealed range, but never sealed",
                              stream, version, leaves.position(index))
        if not any(p.kind in (ProblemKind.DELETED, ProblemKind.ALTERED, ProblemKind.INSERTED)
                   for p in self.problems):
            # Only then is an index shift news rather than an echo of a deletion.
            for leaf, index, position in moved:
                self._problem(ProblemKind.MOVED, f"sealed at log index {leaf.index}, now at {index}",
                              leaf.stream, leaf.version, position)

    def _problem(self, kind: ProblemKind, reason: str, stream: str | None = None, version: int | None = None,
                 position: int | None = None) -> None:
        self.problems.append(Problem(stream, version, position, kind, reason))
