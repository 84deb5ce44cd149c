"""The record part of a log audit: parse and verify in chunks, then walk the log in order.

Parsing and Ed25519 checks dominate the cost, so they run in chunks, on the
caller's executor when it passes one (``examine_chunk`` is what its workers
run); certificates, chains and the Merkle tree are kept in log order here.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple

from ledger.acceptance import (
    CERTIFICATE_TYPE,
    REGISTER_PREFIX,
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
    verify_signatures,
)
from ledger.audit_report import LogRecord, Problem, ProblemKind
from ledger.checkpoint import envelope_leaf
from ledger.envelope import GENESIS_PREV, Envelope
from ledger.errors import LedgerError
from ledger.keys import key_id
from ledger.merkle import MerkleTree

_REGISTER_MARKER = REGISTER_PREFIX.encode()

CHUNK_SIZE = 1000
IN_FLIGHT = 8
"""Chunks submitted to the executor ahead of the one being walked."""

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


class Summary(NamedTuple):
    """A parsed record, as a worker returns it (a ``SignedRecord``); ``sig_ok`` None: key unknown there."""

    stream: str
    version: int
    type: str
    authority: str
    recorded_at: int
    prev: bytes
    hash: bytes
    sig: bytes
    sig_ok: bool | None
    register: dict[str, Any] | None  # the body of a register record (``Authority.*``), else None


class Unreadable(NamedTuple):
    reason: str
    hash: bytes  # SHA-256 of the stored bytes: a stand-in leaf


def examine_chunk(chunk: list[bytes | None], keys: dict[str, bytes], vouched: int = 0) -> list[Summary | Unreadable]:
    """Parse, hash and verify one chunk of envelopes with the candidate ``keys`` (key id -> raw key).

    The signatures of the first ``vouched`` envelopes are taken as verified (``audit_log``'s ``vouched``).
    """
    parsed: list[Envelope | Unreadable] = []
    for data in chunk:
        if not isinstance(data, (bytes, bytearray)):  # a damaged row: NULL or another type
            parsed.append(Unreadable(f"the row holds {type(data).__name__}, not bytes", hashlib.sha256(b"").digest()))
            continue
        try:
            envelope = Envelope.from_bytes(data)
            envelope.hash  # noqa: B018 (hashed here, on the worker)
        except LedgerError as e:
            parsed.append(Unreadable(str(e), hashlib.sha256(data).digest()))
        else:
            parsed.append(envelope)
    envelopes = [e for e in parsed[vouched:] if isinstance(e, Envelope) and e.authority in keys]
    verified = dict(zip((id(e) for e in envelopes),
                        verify_signatures([(keys[e.authority], e.sig, e.hash) for e in envelopes])))
    verified.update((id(e), True) for e in parsed[:vouched] if isinstance(e, Envelope) and e.authority in keys)
    return [item if isinstance(item, Unreadable) else Summary(
        item.stream, item.version, item.type, item.authority, item.recorded_at, item.prev, item.hash, item.sig,
        verified.get(id(item)), dict(item.body) if item.type.startswith(REGISTER_PREFIX) else None)
        for item in parsed]


def examined(records: Iterator[LogRecord], candidate_keys: dict[str, bytes], executor: Executor | None,
             vouched: int = 0) -> Iterator[tuple[LogRecord, Summary | Unreadable]]:
    """Yield (record, summary) in log order, examining chunks here or on ``executor``; the signatures
    of the first ``vouched`` records are taken as verified."""
    if executor is None:
        for start, chunk in _chunks(records):
            _learn_certificates(chunk, candidate_keys)
            yield from zip(chunk, examine_chunk([r.envelope for r in chunk], candidate_keys,
                                                max(0, vouched - start)))
        return
    pending: deque[tuple[list[LogRecord], Future[list[Summary | Unreadable]]]] = deque()
    for start, chunk in _chunks(records):
        # Certificates are learnt before the chunk that holds them is
        # submitted, so a worker knows every key certified earlier in the log.
        _learn_certificates(chunk, candidate_keys)
        pending.append((chunk, executor.submit(examine_chunk, [r.envelope for r in chunk], dict(candidate_keys),
                                               max(0, vouched - start))))
        while len(pending) > IN_FLIGHT:
            done, future = pending.popleft()
            yield from zip(done, future.result())
    while pending:
        done, future = pending.popleft()
        yield from zip(done, future.result())


def _learn_certificates(chunk: list[LogRecord], candidate_keys: dict[str, bytes]) -> None:
    # Candidates only: which of them are really certified, and from when on,
    # is decided in log order by RecordWalk. A byte search finds the few
    # certificates without parsing every record here.
    marker = CERTIFICATE_TYPE.encode()
    for record in chunk:
        if not isinstance(record.envelope, (bytes, bytearray)) or marker not in record.envelope:
            continue
        try:
            public = Envelope.from_bytes(record.envelope).body.get("public_key")
        except LedgerError:
            continue  # RecordWalk reports it
        if isinstance(public, bytes) and len(public) == 32:
            candidate_keys[key_id(public)] = public


def _chunks(records: Iterator[LogRecord]) -> Iterator[tuple[int, list[LogRecord]]]:
    """(log index of its first record, chunk)."""
    chunk: list[LogRecord] = []
    start = 0
    for item in records:
        chunk.append(item)
        if len(chunk) >= CHUNK_SIZE:
            yield start, chunk
            start += len(chunk)
            chunk = []
    if chunk:
        yield start, chunk


class RecordWalk:
    """The log in order: certificates learnt, each record checked by ``ledger.acceptance``, leaves kept."""

    def __init__(self, node_key_raw: bytes, policy: Policy, partner: str | None = None,
                 revocations: dict[str, CertifiedKey] | None = None):
        self.certified: dict[str, CertifiedKey] = {}  # by valid earlier certificates
        # Every key of the register as a whole, with revocations recorded later than a record too.
        self.revocations = revocations or {}
        self.flagged: list[Problem] = []  # records signed by a key after the time it was revoked since
        self.signers = Signers(key_id(node_key_raw), node_key_raw, self.certified)
        self.candidate_keys: dict[str, bytes] = {self.signers.node_key_id: node_key_raw}
        self.policy = policy
        self.partner = partner
        # stream -> (highest version, its hash, or None when that record was unreadable)
        self.heads: dict[str, tuple[int | None, bytes | None]] = {}
        self.tree = MerkleTree()
        # per log index: stream, version, position, envelope hash
        self.leaves: list[tuple[str | None, int | None, int, bytes]] = []
        self.problems: list[Problem] = []

    def add(self, record: LogRecord, summary: Summary | Unreadable) -> None:
        position = record.position
        if isinstance(summary, Unreadable):
            self._problem(record.stream, record.version, position, ProblemKind.ENCODING,
                          f"stored bytes are not a signed envelope: {summary.reason}")
            if record.stream is not None:
                # The row's key stands in, so the stream's next version is not
                # also reported; its prev cannot be checked (hash unknown).
                self.heads[record.stream] = (record.version, None)
            # A stand-in leaf keeps the later records at their log index.
            self.tree.append(envelope_leaf(summary.hash))
            self.leaves.append((record.stream, record.version, position, summary.hash))
            return
        stream, version = summary.stream, summary.version
        self.tree.append(envelope_leaf(summary.hash))
        self.leaves.append((stream, version, position, summary.hash))
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
                self.signers = learn_node_key(summary, summary.register, self.signers, log_size=len(self.leaves))
            revoked = revoked_signer(summary, self.revocations)
            if revoked is not None:
                self.flagged.append(Problem(stream, version, position, ProblemKind.REVOKED,
                                            revoked_words(revoked), self.partner))
        self._check_chain(summary, position)

    def add_vouched(self, record: LogRecord, envelope_hash: bytes) -> None:
        """Take a record whose stored row is the one a verify passed before, with its ``envelope_hash`` as
        the sealer's leaf index holds it: its leaf and its stream's head, unparsed and unverified. A
        register record (``Authority.*``, found by a byte search) is parsed and learnt, its signature taken
        as verified. Precondition (the caller's): the row's bytes and columns are unchanged since that
        verify, and the leaves taken this way rebuild the root it verified.
        """
        envelope = record.envelope
        if isinstance(envelope, (bytes, bytearray)) and _REGISTER_MARKER in envelope:
            _learn_certificates([record], self.candidate_keys)
            self.add(record, examine_chunk([envelope], self.candidate_keys, vouched=1)[0])
            return
        self.tree.append(envelope_leaf(envelope_hash))
        self.leaves.append((record.stream, record.version, record.position, envelope_hash))
        if record.stream is not None:
            self.heads[record.stream] = (record.version, envelope_hash)

    def _check_chain(self, summary: Summary, position: int) -> None:
        stream, version = summary.stream, summary.version
        head = self.heads.get(stream)
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
        self.heads[stream] = (version, summary.hash)

    def _refused(self, summary: Summary, position: int, refusal: Refusal) -> None:
        self._problem(summary.stream, summary.version, position, KIND_OF[refusal.reason], refusal.detail)

    def _problem(self, stream: str | None, version: int | None, position: int, kind: ProblemKind,
                 reason: str) -> None:
        self.problems.append(Problem(stream, version, position, kind, reason, self.partner))
