"""Ingest: verify every message of this node's inbox topic and keep what holds.

For each message read from ``<prefix>.inbox.<OUR STATE>`` (DESIGN.md, "Federation over
Kafka"; issue 3, item 3), in log order:

``checkpoint``  from a trusted partner, signed by its node key; the first one kept of
                that partner is taken as is; every later one must be larger than the
                newest kept and come with an RFC 9162 consistency proof from exactly it
                (section 2.1.4.2). The same size with another root, a failing proof, or
                a proof from another size is a **fork or rewrite**: quarantined as an
                alarm and logged loudly. Kept checkpoints are cosigned as a witness
                (Ed25519 by our node key over SHA-256 of the checkpoint bytes); the
                cosignature of the newest is published to the partner's inbox when
                ingest is idle (``send_cosignatures``), off the path of replication.
``record``      a signed envelope of the partner (``envelope.node`` is the message's
                origin; the Kafka key is its stream, else it was replayed from another
                stream), by an authority key that the partner's node key certified in an
                ``Authority.Certified`` record we accepted (``Authority.*`` records are
                signed by the node key itself), whose kind may record that type
                (``domain.authority.PERMISSIONS``); its stream chain agrees with the
                versions we hold (the same version with other bytes is a fork alarm), and
                its Merkle inclusion proof leads to the root of the kept checkpoint of the
                size it names.
``cosignature`` a partner's witness signature over one of our own checkpoints.

Accepted envelopes are stored unchanged; everything else is quarantined with its
reason (``REASONS``). The consumer never stops for bad input.

Certificates and checkpoints first: the relay publishes in log order, and a log starts
with its authority certificates, and each batch's checkpoint precedes its records; so
in the normal course nothing waits. Should a record arrive before what it needs (an
origin not trusted *yet*, a certificate or a checkpoint not received yet), it is
**parked**: quarantined with a retryable reason (``PARKED``), and verified again, in
arrival order, as soon as the missing piece is there (the partner is trusted, the key
certified, the checkpoint kept). A settled entry is marked resolved and leaves the
quarantine list. So ``armsledger trust add`` after messages arrived loses nothing.

Batches: up to ``batch_size`` messages per database transaction, with the Kafka
position (``Tracking("kafka:<topic>@<topic id>", last offset + 1)``) in the same
transaction. The topic's identity is part of the name: a broker that lost its memory
re-creates the topic, and reading starts again at offset 0 of the new one. A large
batch's signatures are verified by a few worker processes while this one checks the
inclusion proofs.

A check that breaks on input nobody foresaw quarantines the message as
``unverifiable`` (with the traceback in the log) rather than stopping ingest.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Tracking

from domain.authority import PERMISSIONS, AuthorityKind
from ledger.checkpoint import Checkpoint, envelope_leaf, verify_checkpoint
from ledger.envelope import GENESIS_PREV, Envelope
from ledger.errors import LedgerError, VerificationError
from ledger.keys import Ed25519PublicKey, key_id, public_key_from_bytes, sign
from ledger.proofs import verify_consistency, verify_inclusion
from nodes.workers import start_pool
from nodes.errors import TransportError, TransportReset
from nodes.registry.identity import authorities_stream
from nodes.federation.inbox import (
    KIND_ALARM,
    KIND_ERROR,
    Cosignature,
    InboxBatch,
    ParkedEntry,
    QuarantineEntry,
    cosignature_id,
    now_us,
)
from nodes.federation.trust import Partner, TrustStore
from nodes.federation.wire import CheckpointMessage, CosignatureMessage, RecordMessage, decode_message, encode_message

log = logging.getLogger(__name__)

MALFORMED = "malformed"                 # not a message, envelope or checkpoint
UNTRUSTED = "untrusted-origin"          # origin not in the trust store (parked)
ORIGIN_MISMATCH = "origin-mismatch"     # the envelope or checkpoint is another node's
STREAM_MISMATCH = "stream-mismatch"     # Kafka key is not the envelope's stream: replayed elsewhere
UNCERTIFIED = "uncertified-authority"   # authority key not certified by the origin's node key (parked)
BAD_SIGNATURE = "bad-signature"
NOT_PERMITTED = "not-permitted"         # authority kind may not record this type
BROKEN_CHAIN = "broken-chain"           # version 1 with a prev, or a malformed certificate
FORK = "fork-or-rewrite"                # two histories: alarm
UNPROVEN = "unproven"                   # proved against a checkpoint not kept (yet) (parked)
BAD_PROOF = "bad-proof"                 # inclusion proof does not lead to the kept root
STALE_CHECKPOINT = "stale-checkpoint"   # older than the newest kept, not linkable to it
MISDIRECTED = "misdirected"             # a cosignature of a checkpoint that is not ours
UNVERIFIABLE = "unverifiable"           # a check failed unexpectedly (logged with its traceback)

REASONS = (MALFORMED, UNTRUSTED, ORIGIN_MISMATCH, STREAM_MISMATCH, UNCERTIFIED, BAD_SIGNATURE, NOT_PERMITTED,
           BROKEN_CHAIN, FORK, UNPROVEN, BAD_PROOF, STALE_CHECKPOINT, MISDIRECTED, UNVERIFIABLE)
PARKED = frozenset({UNTRUSTED, UNCERTIFIED, UNPROVEN})

BATCH_SIZE = 500
#: Batches with more signatures than this are verified by a pool of processes.
POOL_THRESHOLD = 200
POOL_SIZE = 2


def kafka_position(topic: str, topic_id: str | None) -> str:
    """Tracking name of the read position in ``topic`` (this incarnation of it)."""
    return f"kafka:{topic}@{topic_id or ''}"


@dataclass
class IngestReport:
    """What one or more ``Ingest.step`` calls did."""

    read: int = 0
    accepted: list[Envelope] = field(default_factory=list)
    duplicates: int = 0
    quarantined: int = 0
    alarms: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    resolved: int = 0
    resets: int = 0
    conflicts: int = 0

    def add(self, other: IngestReport) -> None:
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            setattr(self, name, mine + getattr(other, name))


@dataclass(frozen=True)
class _Incoming:
    topic: str
    offset: int
    key: bytes
    value: bytes
    received_at: int
    parked: ParkedEntry | None = None


class _Refused(Exception):
    def __init__(self, reason: str, detail: str, kind: str = KIND_ERROR):
        super().__init__(detail)
        self.reason, self.detail, self.kind = reason, detail, kind


class _Duplicate(Exception):
    pass


@dataclass
class _Knowledge:
    """What verification needs, loaded per origin from the inbox on first use."""

    partners: dict[str, Partner]
    certified: dict[tuple[str, str], tuple[bytes, AuthorityKind]] = field(default_factory=dict)  # raw key
    kept: dict[str, dict[int, Checkpoint]] = field(default_factory=dict)
    newest: dict[str, Checkpoint] = field(default_factory=dict)  # checkpoints are kept in size order
    loaded: set[str] = field(default_factory=set)


class Ingest:
    """Reads and verifies ``node``'s inbox topic through ``transport`` into ``inbox``.

    ``send(state, items)`` publishes (key, value) items to a partner's inbox (the relay's
    ``send``): used for cosignatures. Needs an unlocked node (cosigning signs). Not thread-safe.
    """

    def __init__(self, node: Any, transport: Any, inbox: Any, send: Callable[[str, Sequence[tuple[bytes, bytes]]], None],
                 *, batch_size: int = BATCH_SIZE, pool_size: int = POOL_SIZE):
        self.node = node
        self.transport = transport
        self.inbox = inbox
        self.send = send
        self.batch_size = batch_size
        self.pool_size = pool_size
        self.state = node.identity.state
        self.topic = transport.inbox_topic(self.state)
        self.topic_id: str | None = None
        self._knowledge: _Knowledge | None = None
        self._parked: list[ParkedEntry] | None = None
        self._own_checkpoints: dict[int, Checkpoint] = {}
        self._pool: ProcessPoolExecutor | None = None
        #: origin -> (key, value) of our cosignature of its newest kept checkpoint, not sent yet.
        self.cosignatures_due: dict[str, tuple[bytes, bytes]] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # --- one batch ------------------------------------------------------------------------

    def refresh(self) -> IngestReport:
        """Re-read the trust store; verify again the parked messages of newly trusted partners."""
        partners = TrustStore(self.node.settings.home).partners()
        if self._knowledge is None or self._knowledge.partners != partners:
            self._knowledge = _Knowledge(partners=partners)
        return self._retry_parked()

    def step(self, timeout_s: float) -> IngestReport:
        """Read one batch (waiting up to ``timeout_s`` for the first message), verify, record it.

        Returns what it did (``read == 0``: nothing was there). Raises ``TransportError``
        when the broker fails, ``StorageError`` when the database does; bad messages never raise.
        """
        report = IngestReport()
        if self.topic_id is None:
            self.topic_id = self.transport.ensure_topics([self.state]).get(self.topic)
        name = kafka_position(self.topic, self.topic_id)
        position = self.inbox.position(name)
        try:
            batch = self.transport.read(self.topic, position, self.batch_size, timeout_s,
                                        expected_topic_id=self.topic_id)
        except TransportReset as reset:
            log.warning("ingest: %s; reading the re-created topic from its start", reset)
            self.topic_id = reset.topic_id or self.transport.ensure_topics([self.state]).get(self.topic)
            report.resets += 1
            return report
        if not batch.records:
            return report
        tracking = Tracking(application_name=name, notification_id=batch.records[-1].offset + 1)
        return self.process([(r.offset, r.key, r.value) for r in batch], tracking=tracking)

    def process(self, records: Sequence[tuple[int, bytes | None, bytes | None]], *,
                tracking: Tracking | None = None) -> IngestReport:
        """Verify ``records`` ((offset, key, value) read from our inbox topic, in order) and record
        the outcome, with ``tracking`` (the position after them), in one transaction; then verify
        again the parked messages that what was accepted unblocks.

        Bad messages are quarantined, never raised. Raises ``StorageError`` when the database fails.
        """
        received_at = now_us()
        incoming = [_Incoming(self.topic, offset, key or b"", value or b"", received_at)
                    for offset, key, value in records]
        report = self._settle(incoming, tracking)
        report.read = len(incoming)
        if report.accepted or report.checkpoints:
            report.add(self._retry_parked())
        return report

    # --- verification and recording ------------------------------------------------------

    def _settle(self, incoming: list[_Incoming], tracking: Tracking | None) -> IngestReport:
        """Verify ``incoming`` in order and record the outcome (with ``tracking``) in one transaction."""
        knowledge = self._knowledge_now()
        run = _Run(self, knowledge, incoming)
        run.verify_all()
        report = run.report
        batch = run.batch
        batch.quarantined = _new_entries(self.inbox, batch.quarantined)
        if batch.cosignatures:
            held = self.inbox.existing([cosignature_id(c.witness, c.checkpoint) for c in batch.cosignatures])
            batch.cosignatures = [c for c in batch.cosignatures if cosignature_id(c.witness, c.checkpoint) not in held]
        if not self.inbox.record(batch, tracking):
            # Another ingest of this node recorded first: forget what we learnt, re-read.
            self._knowledge = None
            self._parked = None
            return IngestReport(conflicts=1)
        report.quarantined = len(batch.quarantined)
        report.alarms = sum(1 for e in batch.quarantined if e.kind == KIND_ALARM)
        for entry in batch.quarantined:
            log_ = log.error if entry.kind == KIND_ALARM else log.warning
            log_("%s: message from %r at %s[%d] quarantined: %s: %s", "ALARM" if entry.kind == KIND_ALARM
                 else "ingest", entry.origin, entry.topic, entry.offset, entry.reason, entry.detail)
        run.commit_knowledge()
        self.cosignatures_due.update(run.cosign_items)
        if self._parked is not None:
            resolved = {entry_id for entry_id, _ in batch.resolved}
            self._parked = [p for p in self._parked if p.entry.id not in resolved]
            self._parked += [ParkedEntry(0, e) for e in batch.quarantined if e.reason in PARKED]
        return report

    def send_cosignatures(self) -> int:
        """Publish the cosignatures due: one per origin, for the newest checkpoint kept since the last call.

        Called when ingest is idle (and at least every second when busy), never before a
        batch is committed: it vouches for the earlier checkpoints too (they are consistent
        with it), and one lost in a crash is made good by the next. Returns how many were sent.
        """
        due, self.cosignatures_due = self.cosignatures_due, {}
        sent = 0
        for origin, item in due.items():
            try:
                self.send(origin, [item])
                sent += 1
            except TransportError as e:
                log.warning("ingest: cosignature for %s not sent (%s); the next one covers it", origin, e)
        return sent

    def _retry_parked(self) -> IngestReport:
        """Verify again, in arrival order, the parked messages whose missing piece is now there."""
        report = IngestReport()
        while True:  # each round may unlock the next (a certificate, then the records it certifies)
            ready = self._ready_parked()
            progress = False
            for start in range(0, len(ready), self.batch_size):
                incoming = [_Incoming(p.entry.topic, p.entry.offset, p.entry.key, p.entry.message,
                                      p.entry.received_at, p) for p in ready[start:start + self.batch_size]]
                done = self._settle(incoming, None)
                report.add(done)
                progress = progress or bool(done.accepted or done.checkpoints or done.resolved)
            if not progress:
                return report

    def _ready_parked(self) -> list[ParkedEntry]:
        if self._parked is None:
            self._parked = sorted(self.inbox.parked(PARKED), key=lambda p: p.notification_id)
        knowledge = self._knowledge_now()
        ready = []
        for parked in self._parked:
            entry = parked.entry
            if entry.origin not in knowledge.partners:
                continue
            if entry.reason == UNTRUSTED:
                ready.append(parked)
                continue
            self._load(entry.origin)
            try:
                message = decode_message(entry.message)
                if entry.reason == UNCERTIFIED and isinstance(message, RecordMessage):
                    if (entry.origin, Envelope.from_bytes(message.envelope).authority) in knowledge.certified:
                        ready.append(parked)
                elif entry.reason == UNPROVEN and isinstance(message, RecordMessage):
                    if message.checkpoint_size in knowledge.kept.get(entry.origin, {}):
                        ready.append(parked)
            except LedgerError:
                continue
        return ready

    def _knowledge_now(self) -> _Knowledge:
        if self._knowledge is None:
            self._knowledge = _Knowledge(partners=TrustStore(self.node.settings.home).partners())
        return self._knowledge

    def _load(self, origin: str) -> None:
        """Load what we accepted from ``origin`` before: its certificates and kept checkpoints."""
        knowledge = self._knowledge_now()
        if origin in knowledge.loaded:
            return
        for envelope in self.inbox.received(node=origin, stream=str(authorities_stream(origin))):
            if envelope.type == "Authority.Certified":
                body = envelope.body
                knowledge.certified[(origin, body["key_id"])] = (bytes(body["public_key"]), AuthorityKind(body["kind"]))
        kept = self.inbox.partner_checkpoints(origin)
        knowledge.kept[origin] = {c.size: c for c in kept}
        if kept:
            knowledge.newest[origin] = kept[-1]
        knowledge.loaded.add(origin)

    def own_checkpoint(self, size: int) -> Checkpoint | None:
        if size not in self._own_checkpoints:
            newest = max(self._own_checkpoints, default=0)
            self._own_checkpoints.update((c.size, c) for c in self.node.sealer.checkpoints(after=newest))
        return self._own_checkpoints.get(size)

    def verify_signatures_later(self, tasks: list[tuple[bytes, bytes, bytes]]) -> Callable[[], list[bool]]:
        """Start verifying each (raw public key, signature, message); the result comes from calling
        what this returns. On ``pool_size`` worker processes when many, so that this process goes
        on meanwhile (``cryptography`` has no batch verification and holds the GIL).

        A pool that cannot start or breaks is given up (verification goes on here, slower):
        ingest never stops for it.
        """
        if len(tasks) < POOL_THRESHOLD or self.pool_size < 2:
            results = _verify_chunk(tasks)
            return lambda: results
        try:
            pool = self._started_pool()
            size = -(-len(tasks) // self.pool_size)
            futures = [pool.submit(_verify_chunk, tasks[i:i + size]) for i in range(0, len(tasks), size)]
        except (BrokenProcessPool, OSError, RuntimeError) as e:
            return self._without_pool(tasks, e)

        def results() -> list[bool]:
            try:
                return [ok for future in futures for ok in future.result()]
            except (BrokenProcessPool, OSError, RuntimeError) as e:
                return self._without_pool(tasks, e)

        return results

    def warm_up(self) -> None:
        """Start the verifying processes now, in the background (they take ~1 s to import)."""
        if self.pool_size >= 2:
            try:
                pool = self._started_pool()
                for _ in range(self.pool_size):
                    pool.submit(_verify_chunk, [])
            except (BrokenProcessPool, OSError, RuntimeError) as e:
                self._without_pool([], e)

    def _started_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = start_pool(self.pool_size)
        return self._pool

    def _without_pool(self, tasks: list[tuple[bytes, bytes, bytes]], error: BaseException) -> Callable[[], list[bool]]:
        log.warning("ingest: signature verification processes unavailable (%s); verifying here", error)
        self.close()
        self.pool_size = 1
        results = _verify_chunk(tasks)
        return lambda: results


def _verify_chunk(tasks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    results = []
    keys: dict[bytes, Ed25519PublicKey] = {}
    for public, sig, message in tasks:
        key = keys.get(public) or keys.setdefault(public, public_key_from_bytes(public))
        try:
            key.verify(sig, message)
            results.append(True)
        except Exception:
            results.append(False)
    return results


def _new_entries(inbox: Any, entries: list[QuarantineEntry]) -> list[QuarantineEntry]:
    """Entries not recorded yet (a redelivered bad message is the same entry), first of each."""
    unique = list({e.id: e for e in reversed(entries)}.values())[::-1]
    if not unique:
        return unique
    existing = inbox.existing([e.id for e in unique])
    return [e for e in unique if e.id not in existing]


class _Run:
    """Verification of one list of messages, in order, against the knowledge plus what it accepts."""

    def __init__(self, ingest: Ingest, knowledge: _Knowledge, incoming: list[_Incoming]):
        self.ingest = ingest
        self.knowledge = knowledge
        self.incoming = incoming
        self.batch = InboxBatch()
        self.report = IngestReport()
        self.cosign_items: dict[str, tuple[bytes, bytes]] = {}  # origin -> newest cosignature
        self.held: dict[tuple[str, str], dict[int, bytes]] = {}
        self.certified: dict[tuple[str, str], tuple[bytes, AuthorityKind]] = {}
        self.kept: dict[str, dict[int, Checkpoint]] = {}
        self.signature_ok: dict[int, bool] = {}
        self.inclusion_ok: dict[int, tuple[bytes, str | None]] = {}  # position -> (root, failure)

    # --- orchestration ---

    def verify_all(self) -> None:
        decoded = [self._decode(m) for m in self.incoming]
        for message, _ in decoded:
            origin = getattr(message, "origin", None)
            if origin in self.knowledge.partners:
                self.ingest._load(origin)
        self._prefetch(decoded)
        for position, (incoming, (message, envelope)) in enumerate(zip(self.incoming, decoded)):
            try:
                if isinstance(message, _Refused):
                    raise message
                if isinstance(message, RecordMessage):
                    self._record(position, incoming, message, envelope)
                elif isinstance(message, CheckpointMessage):
                    self._checkpoint(message)
                else:
                    self._cosignature(message)
                outcome = "accepted"
            except _Duplicate:
                self.report.duplicates += 1
                outcome = "duplicate"
            except _Refused as refused:
                outcome = self._quarantine(incoming, getattr(message, "origin", ""), refused)
            except Exception as e:  # a check that broke on input nobody foresaw: never stop for it
                log.exception("ingest: message at %s[%d] could not be checked", incoming.topic, incoming.offset)
                refused = _Refused(UNVERIFIABLE, f"could not be checked: {type(e).__name__}: {e}")
                outcome = self._quarantine(incoming, getattr(message, "origin", ""), refused)
            if incoming.parked is not None and outcome is not None:
                self.batch.resolved.append((incoming.parked.entry.id, outcome))
                self.report.resolved += 1

    def commit_knowledge(self) -> None:
        self.knowledge.certified.update(self.certified)
        for origin, kept in self.kept.items():
            self.knowledge.kept.setdefault(origin, {}).update(kept)
            self.knowledge.newest[origin] = kept[max(kept)]

    def _decode(self, incoming: _Incoming) -> tuple[Any, Envelope | None]:
        """(message, its envelope if a record), or (``_Refused``, None) for bytes that are neither."""
        try:
            message = decode_message(incoming.value)
        except (LedgerError, ValueError, TypeError) as e:
            return _Refused(MALFORMED, f"not a federation message: {e}"), None
        if not isinstance(message, RecordMessage):
            return message, None
        try:
            return message, Envelope.from_bytes(message.envelope)
        except LedgerError as e:
            return _Refused(MALFORMED, f"the record is not an envelope: {e}"), None

    def _prefetch(self, decoded: list[tuple[Any, Envelope | None]]) -> None:
        """What can be done for the whole list up front: one query for the versions we hold of
        every stream; the signatures with keys known now, on the verifying threads; meanwhile,
        here, the inclusion proofs against the checkpoints kept now."""
        keys = {(m.origin, e.stream) for m, e in decoded if e is not None}
        self.held = self.ingest.inbox.held(keys)
        tasks, positions = [], []
        for position, (message, envelope) in enumerate(decoded):
            if envelope is None:
                continue
            found = self._authority_key(message.origin, envelope)
            if found is not None and self.held[(message.origin, envelope.stream)].get(envelope.version) != message.envelope:
                tasks.append((found[0], envelope.sig, envelope.hash))
                positions.append(position)
        verified = self.ingest.verify_signatures_later(tasks)
        for position, (message, envelope) in enumerate(decoded):
            if envelope is None:
                continue
            checkpoint = self.knowledge.kept.get(message.origin, {}).get(message.checkpoint_size)
            if checkpoint is not None:
                self.inclusion_ok[position] = (checkpoint.root, _proves(message, envelope, checkpoint))
        self.signature_ok = dict(zip(positions, verified()))

    def _authority_key(self, origin: str, envelope: Envelope) -> tuple[bytes, AuthorityKind | None] | None:
        partner = self.knowledge.partners.get(origin)
        if partner is None:
            return None
        if envelope.type.startswith("Authority."):
            return (partner.node_public_key, None) if envelope.authority == partner.node_key_id else None
        found = self.certified.get((origin, envelope.authority)) or \
            self.knowledge.certified.get((origin, envelope.authority))
        if found is None:
            return None
        return found

    def _quarantine(self, incoming: _Incoming, origin: str, refused: _Refused) -> str | None:
        if incoming.parked is not None and incoming.parked.entry.reason == refused.reason:
            return None  # still waiting for the same thing: stays parked as it is
        self.batch.quarantined.append(QuarantineEntry(
            received_at=incoming.received_at, topic=incoming.topic, offset=incoming.offset,
            origin=origin if isinstance(origin, str) else "", reason=refused.reason, kind=refused.kind,
            detail=refused.detail, key=incoming.key, message=incoming.value,
        ))
        return f"quarantined again: {refused.reason}"

    def _partner(self, origin: str) -> Partner:
        partner = self.knowledge.partners.get(origin)
        if partner is None:
            raise _Refused(UNTRUSTED, f"{origin!r} is not a trusted partner (armsledger trust add)")
        return partner

    def _kept_at(self, origin: str, size: int) -> Checkpoint | None:
        return self.kept.get(origin, {}).get(size) or self.knowledge.kept.get(origin, {}).get(size)

    def _newest_kept(self, origin: str) -> Checkpoint | None:
        in_run = self.kept.get(origin)
        return in_run[max(in_run)] if in_run else self.knowledge.newest.get(origin)

    # --- records ---

    def _record(self, position: int, incoming: _Incoming, message: RecordMessage, envelope: Envelope) -> None:
        origin = message.origin
        partner = self._partner(origin)
        if envelope.node != origin:
            raise _Refused(ORIGIN_MISMATCH, f"a record of {envelope.node!r} sent as {origin}'s")
        if incoming.key != envelope.stream.encode():
            raise _Refused(STREAM_MISMATCH, f"Kafka key {incoming.key[:64]!r} is not the envelope's stream "
                                            f"{envelope.stream}: replayed from another stream")
        held = self.held.setdefault((origin, envelope.stream), {})
        if held.get(envelope.version) == message.envelope:
            raise _Duplicate
        what = f"{envelope.type} v{envelope.version} of {origin} stream {envelope.stream}"
        kind = self._check_authority(partner, envelope, what)
        ok = self.signature_ok.get(position)
        if ok is None:
            ok = _verify_chunk([(self._authority_key(origin, envelope)[0], envelope.sig, envelope.hash)])[0]
        if not ok:
            raise _Refused(BAD_SIGNATURE, f"{what}: signature does not verify for key {envelope.authority}")
        if kind is not None and kind not in PERMISSIONS[envelope.type]:
            raise _Refused(NOT_PERMITTED, f"{what}: a {kind.value} authority may not record {envelope.type}")
        self._check_chain(envelope, held, what)
        checkpoint = self._kept_at(origin, message.checkpoint_size)
        if checkpoint is None:
            raise _Refused(UNPROVEN, f"{what}: proved against {origin}'s checkpoint of size "
                                     f"{message.checkpoint_size}, which we have not kept")
        root, failure = self.inclusion_ok.get(position, (None, None))
        if root != checkpoint.root:
            failure = _proves(message, envelope, checkpoint)
        if failure is not None:
            raise _Refused(BAD_PROOF, f"{what}: inclusion proof fails against checkpoint {checkpoint.size}: {failure}")
        certificate = _certificate(envelope) if envelope.type == "Authority.Certified" else None
        held[envelope.version] = message.envelope
        self.batch.accepted.append((envelope, message.envelope))
        self.report.accepted.append(envelope)
        if certificate is not None:
            self.certified[(origin, certificate[0])] = certificate[1:]

    def _check_authority(self, partner: Partner, envelope: Envelope, what: str) -> AuthorityKind | None:
        """The kind of the certified authority that signed; ``None`` for the node key itself."""
        if envelope.type.startswith("Authority."):
            if envelope.type not in ("Authority.RegisterOpened", "Authority.Certified"):
                raise _Refused(NOT_PERMITTED, f"{what}: {envelope.type} is not a recordable event")
            if envelope.authority != partner.node_key_id:
                raise _Refused(NOT_PERMITTED, f"{what}: authority records are signed by the node key "
                                              f"{partner.node_key_id}, not {envelope.authority}")
            if envelope.stream != str(authorities_stream(partner.state)):
                raise _Refused(NOT_PERMITTED, f"{what}: not in {partner.state}'s register of authorities")
            if envelope.type == "Authority.Certified":
                _certificate(envelope)  # raises if malformed
            return None
        if envelope.type not in PERMISSIONS:
            raise _Refused(NOT_PERMITTED, f"{what}: {envelope.type} is not a recordable event")
        found = self._authority_key(partner.state, envelope)
        if found is None:
            raise _Refused(UNCERTIFIED, f"{what}: authority key {envelope.authority} is not certified by "
                                        f"{partner.state}'s node key in any record we hold")
        return found[1]

    def _check_chain(self, envelope: Envelope, held: dict[int, bytes], what: str) -> None:
        version = envelope.version
        if version in held:
            raise _Refused(FORK, f"{what}: we hold another record at this version: "
                                 f"{envelope.node} has two histories", KIND_ALARM)
        if version == 1 and envelope.prev != GENESIS_PREV:
            raise _Refused(BROKEN_CHAIN, f"{what}: the first version must start the chain")
        previous = held.get(version - 1)
        if previous is not None and Envelope.from_bytes(previous).hash != envelope.prev:
            raise _Refused(FORK, f"{what}: prev is not the hash of the version {version - 1} we hold: "
                                 f"{envelope.node} has two histories", KIND_ALARM)
        following = held.get(version + 1)
        if following is not None and Envelope.from_bytes(following).prev != envelope.hash:
            raise _Refused(FORK, f"{what}: the version {version + 1} we hold does not follow it: "
                                 f"{envelope.node} has two histories", KIND_ALARM)

    # --- checkpoints ---

    def _checkpoint(self, message: CheckpointMessage) -> None:
        origin = message.origin
        partner = self._partner(origin)
        try:
            checkpoint = Checkpoint.from_bytes(message.checkpoint)
        except LedgerError as e:
            raise _Refused(MALFORMED, f"not a checkpoint: {e}")
        if checkpoint.origin != origin:
            raise _Refused(ORIGIN_MISMATCH, f"a checkpoint of {checkpoint.origin!r} sent as {origin}'s")
        what = f"{origin}'s checkpoint at size {checkpoint.size}"
        try:
            verify_checkpoint(checkpoint, partner.public_key)
        except VerificationError as e:
            raise _Refused(BAD_SIGNATURE, f"{what}: {e}")
        same_size = self._kept_at(origin, checkpoint.size)
        if same_size is not None:
            if same_size.root == checkpoint.root:
                raise _Duplicate
            raise self._alarm(f"{what}: another root than the checkpoint of that size we kept")
        newest = self._newest_kept(origin)
        if newest is not None:
            if checkpoint.size < newest.size:
                raise _Refused(STALE_CHECKPOINT, f"{what}: older than the newest we kept ({newest.size}) "
                                                 "and not one of those we kept")
            if message.previous_size != newest.size:
                raise self._alarm(f"{what}: proved consistent from size {message.previous_size}, "
                                  f"not from the newest we kept ({newest.size})")
            try:
                verify_consistency(newest.size, checkpoint.size, newest.root, checkpoint.root, message.consistency)
            except VerificationError as e:
                raise self._alarm(f"{what}: not an extension of the one at size {newest.size} we kept: {e}")
        version = len(self.knowledge.kept.get(origin, {})) + len(self.kept.get(origin, {})) + 1
        self.kept.setdefault(origin, {})[checkpoint.size] = checkpoint
        self.batch.checkpoints.append((checkpoint, version))
        self.report.checkpoints += 1
        self._cosign(origin, message.checkpoint)

    def _alarm(self, detail: str) -> _Refused:
        return _Refused(FORK, detail, KIND_ALARM)

    def _cosign(self, origin: str, checkpoint_bytes: bytes) -> None:
        # DESIGN.md "The log": partners cosign as witnesses, so a node cannot show
        # different histories to different partners without being caught.
        identity = self.ingest.node.identity
        key = identity.private_keys[identity.node_key_id]
        cosignature = CosignatureMessage(origin=identity.state, checkpoint=checkpoint_bytes,
                                         witness_key=identity.node_key_id,
                                         sig=sign(key, hashlib.sha256(checkpoint_bytes).digest()))
        self.cosign_items[origin] = (identity.state.encode(), encode_message(cosignature))

    # --- cosignatures of our checkpoints ---

    def _cosignature(self, message: CosignatureMessage) -> None:
        witness = message.origin
        partner = self._partner(witness)
        if message.witness_key != partner.node_key_id:
            raise _Refused(BAD_SIGNATURE, f"cosignature by key {message.witness_key}, not {witness}'s node key")
        ok = _verify_chunk([(partner.node_public_key, message.sig, hashlib.sha256(message.checkpoint).digest())])[0]
        if not ok:
            raise _Refused(BAD_SIGNATURE, f"{witness}'s cosignature does not verify")
        try:
            checkpoint = Checkpoint.from_bytes(message.checkpoint)
        except LedgerError as e:
            raise _Refused(MALFORMED, f"cosigned bytes are not a checkpoint: {e}")
        own = self.ingest.node.identity
        if checkpoint.origin != own.state:
            raise _Refused(MISDIRECTED, f"{witness} cosigned {checkpoint.origin}'s checkpoint, not ours")
        mine = self.ingest.own_checkpoint(checkpoint.size)
        if mine is None or mine.root != checkpoint.root:
            raise self._alarm(f"{witness} cosigned a checkpoint of ours at size {checkpoint.size} "
                              "that is not the one we signed")
        if any(c.witness == witness and c.checkpoint == message.checkpoint for c in self.batch.cosignatures):
            raise _Duplicate
        self.batch.cosignatures.append(Cosignature(witness=witness, witness_key=message.witness_key,
                                                   checkpoint=message.checkpoint, sig=message.sig,
                                                   received_at=now_us()))
        self.report.cosignatures += 1


def _proves(message: RecordMessage, envelope: Envelope, checkpoint: Checkpoint) -> str | None:
    """None if the message's inclusion proof leads to ``checkpoint``'s root, else why not."""
    try:
        verify_inclusion(message.index, checkpoint.size, envelope_leaf(envelope.hash), message.proof, checkpoint.root)
    except VerificationError as e:
        return str(e)
    return None


def _certificate(envelope: Envelope) -> tuple[str, bytes, AuthorityKind]:
    """(key id, raw public key, kind) of an ``Authority.Certified`` record; ``_Refused`` if malformed."""
    body = envelope.body
    try:
        public = bytes(body["public_key"])
        public_key_from_bytes(public)
        kind = AuthorityKind(body["kind"])
    except (KeyError, ValueError, TypeError, LedgerError) as e:
        raise _Refused(BROKEN_CHAIN, f"certificate v{envelope.version} of {envelope.node} is malformed: {e}")
    if key_id(public) != body.get("key_id"):
        raise _Refused(BROKEN_CHAIN, f"certificate v{envelope.version} of {envelope.node}: key_id is not "
                                     "the id of public_key")
    return body["key_id"], public, kind

