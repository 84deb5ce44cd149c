"""The record part of a log audit: parse and verify in chunks, then walk the log in order.

Parsing and Ed25519 checks dominate the cost, so they run in chunks, on the
caller's executor when it passes one (``ledger.audit_chunks.examine_chunk_plain`` is what its
workers run); certificates, chains and the Merkle tree are kept in log order here.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import Any
from uuid import UUID

from ledger.acceptance import (
    CERTIFICATE_TYPE,
    CertifiedKey,
    Policy,
    Reason,
    Refusal,
    Signers,
    check_link,
    check_row,
    check_signed,
    learn_node_key,
    learn_register,
    revoked_signer,
    revoked_words,
)
from ledger.audit_chunks import Summary, Unreadable, as_examined, examine_chunk, examine_chunk_plain
from ledger.audit_report import LogRecord, Problem, ProblemKind
from ledger.checkpoint import envelope_leaf
from ledger.envelope import GENESIS_PREV, Envelope
from ledger.errors import LedgerError
from ledger.hashing import HASH_SIZE
from ledger.keys import key_id
from ledger.merkle import MerkleTree

CHUNK_SIZE = 1000
IN_FLIGHT = 8
"""Chunks submitted to the executor ahead of the one being walked."""
TREE_RUN = 4096
"""Leaves a walk adds to its Merkle tree at a time."""

KIND_OF = {
    Reason.UNCERTIFIED: ProblemKind.CERTIFICATE,
    Reason.REGISTER: ProblemKind.CERTIFICATE,
    Reason.CERTIFICATE: ProblemKind.CERTIFICATE,
    Reason.SIGNATURE: ProblemKind.SIGNATURE,
    Reason.PERMISSION: ProblemKind.PERMISSION,
    Reason.CHAIN: ProblemKind.CHAIN,
    Reason.INCLUSION: ProblemKind.ROOT,
    Reason.ROW: ProblemKind.MISFILED,
    Reason.RETIRED: ProblemKind.RETIRED,
}
"""How an audit reports each refusal of ``ledger.acceptance``."""


def examined(records: Iterator[LogRecord], candidate_keys: dict[str, bytes],
             executor: Executor | None) -> Iterator[tuple[LogRecord, Summary | Unreadable]]:
    """Yield (record, summary) in log order, examining chunks here or on ``executor``."""
    if executor is None:
        for chunk in _chunks(records):
            envelopes = [r.envelope for r in chunk]
            _learn_certificates(envelopes, candidate_keys)
            yield from zip(chunk, examine_chunk(envelopes, candidate_keys))
        return
    pending: deque[tuple[list[LogRecord], Future[list[tuple[Any, ...]]]]] = deque()
    for chunk in _chunks(records):
        # Certificates are learnt before the chunk that holds them is
        # submitted, so a worker knows every key certified earlier in the log.
        envelopes = [r.envelope for r in chunk]
        _learn_certificates(envelopes, candidate_keys)
        pending.append((chunk, executor.submit(examine_chunk_plain, envelopes, dict(candidate_keys))))
        while len(pending) > IN_FLIGHT:
            done, future = pending.popleft()
            yield from zip(done, as_examined(future.result()))
    while pending:
        done, future = pending.popleft()
        yield from zip(done, as_examined(future.result()))


def _learn_certificates(envelopes: list[bytes | None], candidate_keys: dict[str, bytes]) -> None:
    # Candidates only: which of them are really certified, and from when on,
    # is decided in log order by RecordWalk. A byte search finds the few
    # certificates without parsing every record here: first in the whole chunk at once, which mostly holds none.
    marker = CERTIFICATE_TYPE.encode()
    try:
        if marker not in b"".join(envelopes):  # type: ignore[arg-type]  # a damaged row raises TypeError
            return
    except TypeError:  # a row that holds no bytes: each row searched alone
        pass
    for data in envelopes:
        if not isinstance(data, (bytes, bytearray)) or marker not in data:
            continue
        try:
            public = Envelope.from_bytes(data).body.get("public_key")
        except LedgerError:
            continue  # RecordWalk reports it
        if isinstance(public, bytes) and len(public) == 32:
            candidate_keys[key_id(public)] = public


def _chunks(records: Iterator[LogRecord]) -> Iterator[list[LogRecord]]:
    chunk: list[LogRecord] = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class LeafLog:
    """The walk's leaves from log index ``base`` on, packed: per leaf its envelope hash (32 bytes), log
    position and version (8 bytes each) and stream (16 bytes when it is a UUID's canonical text, which every
    stream of a sound log is; any other value kept aside). A log of a million records holds about 64 MB
    here instead of a tuple of four objects per record."""

    def __init__(self, base: int = 0):
        self.base = base
        self._hashes = bytearray()
        self._positions = array("q")
        self._versions = array("q")
        self._streams = bytearray()
        self._odd: dict[int, str | None] = {}  # streams that are no canonical UUID text, by offset
        self._odd_versions: dict[int, int] = {}  # versions beyond 64 bits, by offset

    def __len__(self) -> int:
        return len(self._positions)

    @property
    def size(self) -> int:
        """The log size the leaves reach: ``base`` and the leaves held."""
        return self.base + len(self._positions)

    def append(self, stream: bytes | str | None, version: int | None, position: int, envelope_hash: bytes) -> None:
        """Keep the next leaf: ``stream`` as ``stream_key`` gives it, ``envelope_hash`` of 32 bytes (a SHA-256)."""
        if type(stream) is bytes:
            self._streams += stream
        else:
            self._odd[len(self._positions)] = stream  # type: ignore[assignment]  # str or None
            self._streams += bytes(16)
        self._hashes += envelope_hash
        self._positions.append(position)
        if version is not None and not _NO_VERSION < version < 2 ** 63:  # a signed version may be any integer
            self._odd_versions[len(self._versions)] = version
            version = None
        self._versions.append(_NO_VERSION if version is None else version)

    def envelope_hash(self, index: int) -> bytes:
        """The envelope hash of leaf ``index`` (a log index from ``base``)."""
        at = (index - self.base) * 32
        return bytes(self._hashes[at:at + 32])

    def position(self, index: int) -> int:
        return self._positions[index - self.base]

    def version(self, index: int) -> int | None:
        offset = index - self.base
        version = self._versions[offset]
        return self._odd_versions.get(offset) if version == _NO_VERSION else version

    def key(self, index: int) -> tuple[str | None, int | None]:
        """(stream, version) of leaf ``index``."""
        offset = index - self.base
        if offset in self._odd:
            stream = self._odd[offset]
        else:
            stream = str(UUID(bytes=bytes(self._streams[offset * 16:offset * 16 + 16])))
        return stream, self.version(index)

    def packed_streams(self) -> memoryview:
        """The streams, 16 bytes each, from ``base`` on (zeros where ``key`` keeps another value aside)."""
        return memoryview(self._streams)

    def hashes(self) -> memoryview:
        """The envelope hashes, 32 bytes each, from ``base`` on."""
        return memoryview(self._hashes)


class HeadTable:
    """Each stream's head for ``RecordWalk``, keyed by ``stream_key``: the log index of its leaf in ``leaves``
    (``-1 - index`` when that record was unreadable), or any other value (a head before the walk's start).

    A stream of a sound log is a UUID, and its head is one of the walk's leaves, which holds that UUID's 16
    bytes: such an entry is one 8-byte slot of an open-addressing table whose key is read back from the
    leaf, not a dict entry with a key and a value object of its own (about 140 bytes). Any other key or
    value goes to a dict.
    """

    def __init__(self, leaves: LeafLog):
        self._leaves = leaves
        self._slots = array("q", bytes(8 * 1024))  # 0: free; else 2 * (leaf offset + 1) + (1: unreadable)
        self._used = 0
        self._other: dict[bytes | str | None, int | tuple[int, bytes]] = {}
        # (key, its slot) of the last ``get``: the walk reads a stream's head, then sets it (one probe, not two).
        self._last: tuple[bytes, int] | None = None

    def __len__(self) -> int:
        return self._used + len(self._other)

    def __contains__(self, key: bytes | str | None) -> bool:
        return self.get(key) is not None

    def get(self, key: bytes | str | None) -> int | tuple[int, bytes] | None:
        if type(key) is bytes:
            at = self._find(key)
            self._last = (key, at)
            slot = self._slots[at]
            if slot:
                offset, unreadable = (slot >> 1) - 1, slot & 1
                index = self._leaves.base + offset
                return -1 - index if unreadable else index
        return self._other.get(key)

    def __setitem__(self, key: bytes | str | None, value: int | tuple[int, bytes]) -> None:
        """Set the head of ``key``. Requires: a head before the walk's start (not an int) is set only for a key
        that has no head among the walk's leaves (``ValueError`` otherwise)."""
        if type(key) is not bytes or type(value) is not int:
            if type(key) is bytes and self._slots[self._find(key)]:
                raise ValueError("a head among the walk's leaves is not replaced by one before its start")
            self._other[key] = value
            return
        index, unreadable = (value, 0) if value >= 0 else (-1 - value, 1)
        self._other.pop(key, None)
        last, self._last = self._last, None
        at = last[1] if last is not None and last[0] is key else self._find(key)
        if not self._slots[at]:
            self._used += 1
        self._slots[at] = 2 * (index - self._leaves.base + 1) + unreadable
        if 2 * self._used > len(self._slots):
            self._grow()

    def _find(self, key: bytes) -> int:
        """The slot of ``key``, or the free slot where it would go (linear probing)."""
        slots, streams, mask = self._slots, self._leaves.packed_streams(), len(self._slots) - 1
        at = hash(key) & mask
        while slot := slots[at]:
            offset = ((slot >> 1) - 1) * 16
            if streams[offset:offset + 16] == key:
                return at
            at = (at + 1) & mask
        return at

    def _grow(self) -> None:
        self._last = None
        old = self._slots
        self._slots = array("q", bytes(16 * len(old)))
        streams, mask = self._leaves.packed_streams(), len(self._slots) - 1
        for slot in old:
            if slot:
                offset = ((slot >> 1) - 1) * 16
                at = hash(bytes(streams[offset:offset + 16])) & mask
                while self._slots[at]:
                    at = (at + 1) & mask
                self._slots[at] = slot


_NO_VERSION = -(2 ** 63)
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def stream_key(stream: str | None) -> bytes | str | None:
    """``stream`` as the walk keys it: the 16 bytes of a UUID's canonical text, any other value as it is."""
    if type(stream) is str and len(stream) == 36 and _CANONICAL_UUID.fullmatch(stream):
        return bytes.fromhex(stream.replace("-", ""))
    return stream


class RecordWalk:
    """The log in order: certificates learnt, each record checked by ``ledger.acceptance``, leaves kept.

    ``start`` and ``frontier``: a walk that resumes at log index ``start`` (``verify --since``), its tree
    restarted from the ``frontier`` of the log at that size (``MerkleTree.resume``).
    """

    def __init__(self, node_key_raw: bytes, policy: Policy, partner: str | None = None,
                 revocations: dict[str, CertifiedKey] | None = None, *, start: int = 0,
                 frontier: Sequence[bytes] = ()):
        self.certified: dict[str, CertifiedKey] = {}  # by valid earlier certificates
        # Every key of the register as a whole, with revocations recorded later than a record too.
        self.revocations = revocations or {}
        self.flagged: list[Problem] = []  # records signed by a key after the time it was revoked since
        self.signers = Signers(key_id(node_key_raw), node_key_raw, self.certified)
        self.candidate_keys: dict[str, bytes] = {self.signers.node_key_id: node_key_raw}
        self.policy = policy
        self.partner = partner
        self._tree = MerkleTree.resume(start, frontier) if start else MerkleTree()
        self.leaves = LeafLog(start)
        self._untreed = 0  # leaves not in the tree yet (``tree``)
        # stream (``stream_key``) -> its head: the log index of its highest version (its version and hash are
        # the leaf's), ``-1 - index`` when that record was unreadable (hash unknown), or (version, hash) of a
        # head before ``start``. Packed: a log holds as many streams as weapons.
        self.heads = HeadTable(self.leaves)
        self.problems: list[Problem] = []

    def add(self, record: LogRecord, summary: Summary | Unreadable) -> None:
        position = record.position
        if isinstance(summary, Unreadable):
            self._problem(record.stream, record.version, position, ProblemKind.ENCODING,
                          f"stored bytes are not a signed envelope: {summary.reason}")
            key = stream_key(record.stream)
            # A stand-in leaf keeps the later records at their log index.
            self._leaf(key, record.version, position, summary.hash)
            if record.stream is not None:
                # The row's key stands in, so the stream's next version is not
                # also reported; its prev cannot be checked (hash unknown).
                self.heads[key] = -self.leaves.size  # -1 - the index of the leaf just appended
            return
        stream, version = summary.stream, summary.version
        key = stream_key(stream)
        self._leaf(key, version, position, summary.hash)
        if record.stream != stream or record.version != version or record.topic != summary.type:
            row = check_row(summary, stream=record.stream, version=record.version, topic=record.topic)
            if row is not None:
                self._refused(summary, position, row)
        # A worker verified with the key of that id (a key id is a hash of its key).
        refusal = check_signed(summary, self.signers, self.policy, signature_ok=summary.sig_ok,
                               body=summary.register)
        if refusal is not None:
            self._refused(summary, position, refusal)
        else:
            if summary.register is not None:
                learn_register(summary.type, summary.register, self.certified)
                self.signers = learn_node_key(summary, summary.register, self.signers, log_size=self.leaves.size)
            revoked = revoked_signer(summary, self.revocations)
            if revoked is not None:
                self.flagged.append(Problem(stream, version, position, ProblemKind.REVOKED,
                                            revoked_words(revoked), self.partner))
        self._check_chain(summary, key, position)

    @property
    def tree(self) -> MerkleTree:
        """The Merkle tree of the leaves walked so far."""
        self._grow_tree()
        return self._tree

    def _leaf(self, key: bytes | str | None, version: int | None, position: int, envelope_hash: bytes) -> None:
        self.leaves.append(key, version, position, envelope_hash)
        self._untreed += 1
        if self._untreed >= TREE_RUN:
            self._grow_tree()

    def _grow_tree(self) -> None:
        """Add the leaves not in the tree yet, as one run (``MerkleTree.extend``: a call per leaf and a loop per
        append cost as much as the leaf's hashes)."""
        behind, self._untreed = self._untreed, 0
        if not behind:
            return
        with self.leaves.hashes() as hashes:  # released before the leaves grow again
            new = bytes(hashes[(len(self.leaves) - behind) * HASH_SIZE:])
        self._tree.extend(b"".join([envelope_leaf(new[at:at + HASH_SIZE]) for at in range(0, len(new), HASH_SIZE)]))

    def learn_earlier(self, record: LogRecord) -> None:
        """Learn a register record (``Authority.*``) that lies before ``start``, in log order: a verify passed it
        then. Its signature is verified again (the register is short); one that no longer verifies was altered
        since, and is a problem. Its leaf and chain are not the walk's (they are before ``start``)."""
        _learn_certificates([record.envelope], self.candidate_keys)
        summary = examine_chunk([record.envelope], self.candidate_keys)[0]
        refusal = (Refusal(Reason.REGISTER, summary.reason) if isinstance(summary, Unreadable)
                   else check_signed(summary, self.signers, self.policy, signature_ok=summary.sig_ok,
                                     body=summary.register))
        if refusal is not None:
            self._problem(record.stream, record.version, record.position, ProblemKind.ALTERED,
                          f"a register record before the verified mark no longer passes ({refusal.detail}): it "
                          "was altered since that verify (a full verify names what changed)")
            return
        if isinstance(summary, Summary) and summary.register is not None:
            learn_register(summary.type, summary.register, self.certified)
            # Its exact log index is not read; each checkpoint the walk checks is at least ``start``.
            self.signers = learn_node_key(summary, summary.register, self.signers, log_size=self.leaves.base)

    def streams_unknown(self, batch: Iterable[tuple[LogRecord, Summary | Unreadable]]) -> list[str]:
        """The streams of ``batch`` whose head the walk does not hold (their last record may lie before ``start``)."""
        unknown: set[str] = set()
        for record, summary in batch:
            stream = record.stream if isinstance(summary, Unreadable) else summary.stream
            if stream is not None and stream_key(stream) not in self.heads:
                unknown.add(stream)
        return sorted(unknown)

    def adopt_heads(self, earlier: Mapping[str, tuple[int, bytes | None]]) -> None:
        """Take the last record before ``start`` of each stream of ``earlier``: (its version, its stored bytes).
        Stored bytes that are no envelope stand in by their SHA-256, so that the next record's link fails:
        that record was altered since the verify that passed it."""
        for stream, (version, data) in earlier.items():
            key = stream_key(stream)
            if key in self.heads:
                continue
            try:
                head = Envelope.from_bytes(data).hash if isinstance(data, (bytes, bytearray)) else None
            except LedgerError:
                head = None
            if head is None:
                head = hashlib.sha256(data if isinstance(data, (bytes, bytearray)) else b"").digest()
            self.heads[key] = (version, head)

    def head(self, key: bytes | str | None) -> tuple[int | None, bytes | None] | None:
        """(highest version, its hash, or None when that record was unreadable) of the stream keyed ``key``."""
        head = self.heads.get(key)
        if head is None or type(head) is tuple:
            return head
        assert isinstance(head, int)
        if head >= 0:
            return self.leaves.version(head), self.leaves.envelope_hash(head)
        return self.leaves.version(-1 - head), None

    def _check_chain(self, summary: Summary, key: bytes | str | None, position: int) -> None:
        stream, version = summary.stream, summary.version
        head = self.head(key)
        last_version, last_hash = head if head else (0, GENESIS_PREV)
        last_version = last_version or 0
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
        elif last_hash is not None and check_link(summary, previous=last_hash) is not None:
            self._problem(stream, version, position, ProblemKind.CHAIN,
                          f"prev is not the hash of version {last_version}: a record before it was "
                          "altered or replaced")
        self.heads[key] = self.leaves.size - 1  # the record just added

    def _refused(self, summary: Summary, position: int, refusal: Refusal) -> None:
        self._problem(summary.stream, summary.version, position, KIND_OF[refusal.reason], refusal.detail)

    def _problem(self, stream: str | None, version: int | None, position: int, kind: ProblemKind,
                 reason: str) -> None:
        self.problems.append(Problem(stream, version, position, kind, reason, self.partner))
