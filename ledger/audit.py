"""Offline audit of a node's log: signatures, certificates, stream chains and checkpoints.

``audit_log`` is a pure function over the stored bytes: it needs no database,
no private key and no clock, only the records in log order, the checkpoints,
and the node's public key (the one key a partner or auditor trusts). It checks:

1. every record is a canonical envelope (and, when the caller passes the
   database row's own key, that the row holds the envelope it claims to);
2. every signature, against a key looked up in the log itself:
   ``Authority.Certified`` records must be signed by the node key, and every
   other record by an authority key that such a certificate, earlier in the
   log, certified; the node key signs only ``Authority.*`` records;
3. every stream's chain: versions 1..n without gaps, each ``prev`` the hash of
   the previous version (DESIGN.md, "The signed envelope");
4. the log against its checkpoints: each checkpoint's signature by the node
   key; the Merkle root (RFC 9162 section 2.1.1) of the log's first ``size``
   leaves equals the latest checkpoint's root; each checkpoint is consistent
   with the next one (section 2.1.4) by a proof built from the log as stored.
   Records beyond the latest checkpoint are reported as unsealed (not a
   failure); fewer records than a checkpoint's size means sealed records
   were deleted (a failure);
5. when the caller passes the sealer's index of leaves: that it rebuilds
   every checkpoint's root; and, when the log disagrees with a checkpoint,
   which sealed records were deleted, altered, inserted or moved.

Every finding is a ``Problem`` naming the stream, version and log position
where they are known. Signature checks dominate the cost (Ed25519 verify is
~5-8k/s per core), so large logs are parsed and verified on a process pool,
in chunks, while the chains and the Merkle tree are kept in this process.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.context
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from ledger.checkpoint import Checkpoint, envelope_leaf, verify_checkpoint
from ledger.envelope import GENESIS_PREV, Envelope
from ledger.errors import ConsistencyProofError, LedgerError, VerificationError
from ledger.keys import Ed25519PublicKey, key_id, public_bytes, public_key_from_bytes
from ledger.merkle import MerkleTree
from ledger.proofs import verify_consistency

CERTIFICATE_TYPE = "Authority.Certified"
"""Envelope type of an authority certificate; body ``{key_id, public_key, kind, name}`` (nodes.registry.identity)."""

NODE_RECORD_PREFIX = "Authority."
"""The node key signs only records whose type starts with this: its register of authority keys."""

POOL_THRESHOLD = 4000
"""Logs at least this long are verified on a process pool; shorter ones in this process."""

CHUNK_SIZE = 1000


class ProblemKind(StrEnum):
    ENCODING = "encoding"  # stored bytes are not a canonical envelope
    MISFILED = "misfiled"  # the database row holds the envelope of another stream or version
    SIGNATURE = "signature"  # Ed25519 signature does not verify
    CERTIFICATE = "certificate"  # signer not certified (before use), or a bad certificate
    CHAIN = "chain"  # version gap, out-of-order version, or prev hash mismatch
    CHECKPOINT = "checkpoint"  # a checkpoint is malformed or not signed by the node key
    ROOT = "root"  # the log's Merkle root differs from the latest checkpoint's
    CONSISTENCY = "consistency"  # two checkpoints are not consistent over the log as stored
    DELETED = "deleted"  # a sealed record is missing from the log
    ALTERED = "altered"  # a sealed record is present with another hash
    INSERTED = "inserted"  # a record inside the sealed range that no checkpoint sealed
    MOVED = "moved"  # a sealed record sits at another log index than it was sealed at
    INDEX = "index"  # the sealer's leaf index disagrees with the signed checkpoints


@dataclass(frozen=True)
class Problem:
    """One finding. ``position`` is the record's place in the log (notification id) when known."""

    stream: str | None
    version: int | None
    position: int | None
    kind: ProblemKind
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "version": self.version, "position": self.position,
                "kind": self.kind.value, "reason": self.reason}

    def __str__(self) -> str:
        where = []
        if self.stream is not None:
            where.append(f"stream {self.stream}")
        if self.version is not None:
            where.append(f"version {self.version}")
        if self.position is not None:
            where.append(f"position {self.position}")
        return f"[{self.kind.value}] {' '.join(where) + ': ' if where else ''}{self.reason}"


@dataclass(frozen=True)
class AuditReport:
    """What ``audit_log`` found. ``ok`` holds when there is no problem; unsealed records are not one."""

    events_checked: int
    streams_checked: int
    checkpoint_size: int  # size of the latest well-signed checkpoint (0 if none)
    checkpoints_checked: int
    unsealed: int  # records beyond the latest checkpoint
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def with_problems(self, problems: Iterable[Problem]) -> AuditReport:
        """A copy with ``problems`` added (for checks made outside the pure audit, e.g. on table rows)."""
        return AuditReport(self.events_checked, self.streams_checked, self.checkpoint_size,
                           self.checkpoints_checked, self.unsealed, self.problems + tuple(problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "streams_checked": self.streams_checked,
            "checkpoint_size": self.checkpoint_size,
            "checkpoints_checked": self.checkpoints_checked,
            "unsealed": self.unsealed,
            "problems": [p.to_dict() for p in self.problems],
        }


class LogRecord(NamedTuple):
    """A stored record: its log position and envelope bytes, and optionally the row's own (stream, version) key."""

    position: int
    envelope: bytes
    stream: str | None = None
    version: int | None = None


class SealedLeaf(NamedTuple):
    """One entry of the sealer's leaf index: leaf ``index`` is ``stream`` ``version`` with ``envelope_hash``."""

    index: int
    stream: str
    version: int
    envelope_hash: bytes


def audit_log(
    records: Iterable[LogRecord | tuple],
    checkpoints: Iterable[Checkpoint],
    node_public_key: Ed25519PublicKey | bytes,
    *,
    origin: str | None = None,
    sealed: Sequence[SealedLeaf | tuple] | None = None,
    workers: int | None = None,
) -> AuditReport:
    """Audit a log; see the module docstring for what is checked.

    ``records`` are in log order, as ``LogRecord`` or tuples ``(position,
    envelope bytes[, row stream, row version])``. ``origin``, when given, is
    the state every checkpoint must name. ``sealed`` is the sealer's leaf
    index: checked against the checkpoints, then used to name the records
    when the log disagrees with them.
    ``workers``: processes for signature checks (default: all CPUs for logs of
    ``POOL_THRESHOLD`` records or more; 1 checks in this process).

    Never raises for what it finds in the data: every finding is a
    ``Problem`` in the report.
    """
    node_key = node_public_key if isinstance(node_public_key, Ed25519PublicKey) else public_key_from_bytes(
        node_public_key)
    walk = _LogWalk(key_id(node_key), public_bytes(node_key))
    for record, summary in _examined(iter(records), walk.candidate_keys, workers):
        walk.add(record, summary)
    checked = _CheckpointCheck(walk, node_key, origin)
    checked.run(list(checkpoints))
    if sealed is not None:
        sealed = sorted((SealedLeaf(*leaf) for leaf in sealed), key=lambda leaf: leaf.index)
        if checked.index_rebuilds_checkpoints(sealed) and checked.disagrees:
            checked.name_records(sealed)
    latest = checked.latest_size
    return AuditReport(
        events_checked=len(walk.leaves),
        streams_checked=len(walk.heads),
        checkpoint_size=latest,
        checkpoints_checked=checked.count,
        unsealed=max(0, len(walk.leaves) - latest),
        problems=tuple(walk.problems + checked.problems),
    )


# --- parsing and signature checks (run in worker processes for large logs) ----------------

# A record's summary: (stream, version, type, authority, prev, hash, sig_ok, certificate body, sig)
# with sig_ok None when the worker did not know the key; or ("bad", reason, sha256 of bytes).
_Summary = tuple

_worker_keys: dict[bytes, Ed25519PublicKey] = {}


def _examine_chunk(chunk: list[bytes], keys: dict[str, bytes]) -> list[_Summary]:
    """Parse, hash and verify one chunk of envelopes with the candidate ``keys`` (key id -> raw key)."""
    out = []
    for data in chunk:
        try:
            envelope = Envelope.from_bytes(data)
            digest = envelope.hash
        except LedgerError as e:
            out.append(("bad", str(e), hashlib.sha256(data).digest()))
            continue
        raw = keys.get(envelope.authority)
        sig_ok = None if raw is None else _verifies(raw, envelope.sig, digest)
        certificate = dict(envelope.body) if envelope.type == CERTIFICATE_TYPE else None
        out.append((envelope.stream, envelope.version, envelope.type, envelope.authority, envelope.prev,
                    digest, sig_ok, certificate, envelope.sig if sig_ok is None else b""))
    return out


def _verifies(raw_key: bytes, sig: bytes, digest: bytes) -> bool:
    key = _worker_keys.get(raw_key)
    if key is None:
        key = _worker_keys[raw_key] = public_key_from_bytes(raw_key)
    try:
        key.verify(sig, digest)
    except Exception:  # InvalidSignature, or a signature of the wrong length
        return False
    return True


def _examined(records: Iterator, candidate_keys: dict[str, bytes], workers: int | None
              ) -> Iterator[tuple[LogRecord, _Summary]]:
    """Yield (record, summary) in log order, examining chunks here or on a process pool."""
    first = _take(records, POOL_THRESHOLD)
    if workers is None:
        workers = _cpu_count() if len(first) >= POOL_THRESHOLD else 1
    chunks = _chunks(first, records)
    if workers <= 1:
        for chunk in chunks:
            _learn_certificates(chunk, candidate_keys)
            yield from zip(chunk, _examine_chunk([r.envelope for r in chunk], candidate_keys))
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        pending: deque[tuple[list[LogRecord], Future]] = deque()
        for chunk in chunks:
            # Certificates are learnt before the chunk that holds them is
            # submitted, so a worker knows every key certified earlier in the log.
            _learn_certificates(chunk, candidate_keys)
            pending.append((chunk, pool.submit(_examine_chunk, [r.envelope for r in chunk], dict(candidate_keys))))
            while len(pending) > 2 * workers:
                done, future = pending.popleft()
                yield from zip(done, future.result())
        while pending:
            done, future = pending.popleft()
            yield from zip(done, future.result())


def _pool_context() -> multiprocessing.context.BaseContext:
    """How to start workers: fork when it is safe, else a fresh interpreter.

    Forking is fast and re-imports nothing, but only safe while this process
    runs one thread: a thread of a database pool could hold a lock at the
    moment of the fork that the child would then wait for forever. Otherwise
    workers come from a fork server, which, like spawn, imports the main
    module again: a script calling this must guard its entry point with
    ``if __name__ == "__main__"`` (the ``armsledger`` console script does).
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _learn_certificates(chunk: list[LogRecord], candidate_keys: dict[str, bytes]) -> None:
    # Candidates only: which of them are really certified, and from when on,
    # is decided in log order by _LogWalk. A byte search finds the few
    # certificates without parsing every record here.
    marker = CERTIFICATE_TYPE.encode()
    for record in chunk:
        if marker not in record.envelope:
            continue
        try:
            public = Envelope.from_bytes(record.envelope).body.get("public_key")
        except LedgerError:
            continue  # _LogWalk reports it
        if isinstance(public, bytes) and len(public) == 32:
            candidate_keys[key_id(public)] = public


def _take(records: Iterator, count: int) -> list[LogRecord]:
    taken = []
    for item in records:
        taken.append(item if isinstance(item, LogRecord) else LogRecord(*item))
        if len(taken) >= count:
            break
    return taken


def _chunks(first: list[LogRecord], rest: Iterator) -> Iterator[list[LogRecord]]:
    for start in range(0, len(first), CHUNK_SIZE):
        yield first[start:start + CHUNK_SIZE]
    while chunk := _take(rest, CHUNK_SIZE):
        yield chunk


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --- in log order: certificates, chains, Merkle leaves ------------------------------------

class _LogWalk:
    def __init__(self, node_key_id: str, node_key_raw: bytes):
        self.node_key_id = node_key_id
        self.candidate_keys: dict[str, bytes] = {node_key_id: node_key_raw}
        self.certified: dict[str, bytes] = {}  # key id -> raw public key, by valid earlier certificates
        # stream -> (highest version, its hash, or None when that record was unreadable)
        self.heads: dict[str, tuple[int, bytes | None]] = {}
        self.tree = MerkleTree()
        # per log index: stream, version, position, envelope hash
        self.leaves: list[tuple[str | None, int | None, int, bytes]] = []
        self.problems: list[Problem] = []

    def add(self, record: LogRecord, summary: _Summary) -> None:
        position = record.position
        if summary[0] == "bad":
            self._problem(record.stream, record.version, position, ProblemKind.ENCODING,
                          f"stored bytes are not a signed envelope: {summary[1]}")
            if record.stream is not None:
                # The row's key stands in, so the stream's next version is not
                # also reported; its prev cannot be checked (hash unknown).
                self.heads[record.stream] = (record.version, None)
            # A stand-in leaf keeps the later records at their log index.
            self.tree.append(envelope_leaf(summary[2]))
            self.leaves.append((record.stream, record.version, position, summary[2]))
            return
        stream, version, type_, authority, prev, digest, sig_ok, certificate, sig = summary
        self.tree.append(envelope_leaf(digest))
        self.leaves.append((stream, version, position, digest))
        if record.stream is not None and (record.stream, record.version) != (stream, version):
            self._problem(stream, version, position, ProblemKind.MISFILED,
                          f"the row of stream {record.stream} version {record.version} holds this envelope")
        signed = self._check_signer(stream, version, position, type_, authority, digest, sig_ok, sig)
        if type_ == CERTIFICATE_TYPE and signed:
            self._check_certificate(stream, version, position, authority, certificate)
        self._check_chain(stream, version, position, prev, digest)

    def _check_signer(self, stream, version, position, type_, authority, digest, sig_ok, sig) -> bool:
        """True when the record is validly signed by a key allowed to sign it."""
        if authority == self.node_key_id:
            raw = self.candidate_keys[authority]
            if not type_.startswith(NODE_RECORD_PREFIX):
                self._problem(stream, version, position, ProblemKind.CERTIFICATE,
                              f"{type_} is signed by the node key, which signs only {NODE_RECORD_PREFIX}* records")
                return False
        else:
            raw = self.certified.get(authority)
            if raw is None:
                self._problem(stream, version, position, ProblemKind.CERTIFICATE,
                              f"{type_} is signed by key {authority}, which no earlier "
                              f"{CERTIFICATE_TYPE} record of the node key certifies")
                return False
        if sig_ok is None:  # the worker did not know the key: check here
            sig_ok = _verifies(raw, sig, digest)
        if not sig_ok:
            self._problem(stream, version, position, ProblemKind.SIGNATURE,
                          f"{type_}: Ed25519 signature does not verify for key {authority}")
        return sig_ok

    def _check_certificate(self, stream, version, position, authority, body) -> None:
        # Only a certificate signed by the node key certifies anything.
        if authority != self.node_key_id:
            self._problem(stream, version, position, ProblemKind.CERTIFICATE,
                          f"certificate signed by key {authority}, not by the node key {self.node_key_id}")
            return
        public, claimed = body.get("public_key"), body.get("key_id")
        if not (isinstance(public, bytes) and len(public) == 32 and isinstance(body.get("kind"), str)
                and isinstance(body.get("name"), str)):
            self._problem(stream, version, position, ProblemKind.CERTIFICATE,
                          "certificate body needs public_key (32 bytes), key_id, kind and name")
            return
        if claimed != key_id(public):
            self._problem(stream, version, position, ProblemKind.CERTIFICATE,
                          f"certificate names key id {claimed!r} for a key whose id is {key_id(public)}")
            return
        self.certified[claimed] = public

    def _check_chain(self, stream, version, position, prev, digest) -> None:
        head = self.heads.get(stream)
        last_version, last_hash = head if head else (0, GENESIS_PREV)
        if version > last_version + 1:
            missing = (f"version {last_version + 1}" if version == last_version + 2
                       else f"versions {last_version + 1}..{version - 1}")
            follows = f"follows version {last_version}" if head else "is the first record of its stream"
            self._problem(stream, version, position, ProblemKind.CHAIN,
                          f"version {version} {follows}: {missing} missing")
        elif version <= last_version:
            self._problem(stream, version, position, ProblemKind.CHAIN,
                          f"version {version} comes after version {last_version} of its stream "
                          "(reordered or duplicated record)")
            return  # keep the head: later versions still link to it
        elif last_hash is not None and prev != last_hash:
            self._problem(stream, version, position, ProblemKind.CHAIN,
                          f"prev is not the hash of version {last_version}: a record before it was "
                          "altered or replaced")
        self.heads[stream] = (version, digest)

    def _problem(self, stream, version, position, kind, reason) -> None:
        self.problems.append(Problem(stream, version, position, kind, reason))


# --- checkpoints against the recomputed tree ---------------------------------------------

class _CheckpointCheck:
    def __init__(self, walk: _LogWalk, node_key: Ed25519PublicKey, origin: str | None):
        self.walk = walk
        self.node_key = node_key
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
            try:
                verify_checkpoint(checkpoint, self.node_key)
            except VerificationError as e:
                self._problem(ProblemKind.CHECKPOINT, f"checkpoint at size {checkpoint.size}: {e}")
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
        failures = []
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
                f"(positions {leaves[lo][2]}..{leaves[hi - 1][2]})")

    def index_rebuilds_checkpoints(self, sealed: list[SealedLeaf]) -> bool:
        """Whether the sealer's leaf index rebuilds every checkpoint's root; a problem if not.

        The index is trusted only as far as the checkpoints vouch for it.
        """
        prefix = sealed[:self.latest_size]
        if not self.disagrees and len(prefix) == self.latest_size and all(
                leaf.index == i and leaf.envelope_hash == log_leaf[3]
                for i, (leaf, log_leaf) in enumerate(zip(prefix, self.walk.leaves))):
            return True  # the same leaves as the log's, whose roots are checked already
        index_tree = MerkleTree()
        for expected, leaf in enumerate(prefix):
            if leaf.index != expected or len(leaf.envelope_hash) != 32:
                break
            index_tree.append(envelope_leaf(leaf.envelope_hash))
        bad = [c.size for c in self.valid if c.size > len(index_tree) or index_tree.root(c.size) != c.root]
        if bad:
            self._problem(ProblemKind.INDEX,
                          f"the sealer's leaf index does not rebuild the checkpoint at size {bad[0]}: "
                          "it was altered, so it cannot name the records that differ")
        return not bad

    def name_records(self, sealed: list[SealedLeaf]) -> None:
        """Name the records that differ from what the checkpoints sealed, by the (authenticated) leaf index."""
        latest = self.latest_size
        in_log = {(stream, version): (index, position, digest)
                  for index, (stream, version, position, digest) in enumerate(self.walk.leaves)}
        sealed_keys = set()
        moved = []
        for leaf in sealed[:latest]:
            key = (leaf.stream, leaf.version)
            sealed_keys.add(key)
            found = in_log.get(key)
            if found is None:
                self._problem(ProblemKind.DELETED,
                              f"sealed at log index {leaf.index}, missing from the log", leaf.stream, leaf.version)
                continue
            index, position, digest = found
            if digest != leaf.envelope_hash:
                self._problem(ProblemKind.ALTERED,
                              f"sealed with hash {leaf.envelope_hash.hex()}, stored with another",
                              leaf.stream, leaf.version, position)
            elif index != leaf.index:
                moved.append((leaf, index, position))
        for index, (stream, version, position, _) in enumerate(self.walk.leaves[:latest]):
            if (stream, version) not in sealed_keys:
                self._problem(ProblemKind.INSERTED,
                              f"at log index {index}, inside the sealed range, but never sealed",
                              stream, version, position)
        if not any(p.kind in (ProblemKind.DELETED, ProblemKind.ALTERED, ProblemKind.INSERTED)
                   for p in self.problems):
            # Only then is an index shift news rather than an echo of a deletion.
            for leaf, index, position in moved:
                self._problem(ProblemKind.MOVED, f"sealed at log index {leaf.index}, now at {index}",
                              leaf.stream, leaf.version, position)

    def _problem(self, kind, reason, stream=None, version=None, position=None) -> None:
        self.problems.append(Problem(stream, version, position, kind, reason))
