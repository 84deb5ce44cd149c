"""Ingest: verify every message of this node's inbox topic and keep what holds.

Reads ``<prefix>.inbox.<OUR STATE>`` in batches, checks each message in order
(``nodes.federation.ingest_run``: records by the acceptance rule, checkpoints,
cosignatures), and records what was accepted, quarantined or parked together
with the Kafka position in one transaction. Parked messages (waiting for a
partner, certificate or checkpoint) are checked again once what they miss is
there. The protocol is in docs/federation.md ("Ingest").
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventsourcing.persistence import Tracking

from ledger.acceptance import learn_register
from ledger.checkpoint import Checkpoint
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from nodes.errors import TransportError, TransportReset
from nodes.federation.gossip import SignedCheckpoints
from nodes.federation.inbox_records import (
    KIND_ALARM,
    KIND_ERROR,
    ParkedEntry,
    QuarantineEntry,
    cosignature_id,
    message_digest,
    now_us,
)
from nodes.federation.ingest_checks import Checked, check_messages, verdicts, with_verdicts
from nodes.federation.ingest_reasons import (  # noqa: F401  (re-exported: the reasons quarantine entries name)
    BAD_PROOF,
    BAD_SIGNATURE,
    BROKEN_CHAIN,
    FORK,
    INVALID_FIELD,
    MALFORMED,
    MISDIRECTED,
    NOT_PERMITTED,
    ORIGIN_MISMATCH,
    OVERSIZED,
    PARKED,
    REACTION_FAILED,
    REASONS,
    STALE_CHECKPOINT,
    STREAM_MISMATCH,
    UNCERTIFIED,
    UNPROVEN,
    UNTRUSTED,
    UNVERIFIABLE,
)
from nodes.federation.ingest_run import Incoming, IngestReport, Knowledge, Run
from nodes.federation.key_following import catch_up, follow
from nodes.federation.signature_pool import POOL_SIZE, POOL_THRESHOLD, SignaturePool
from nodes.federation.trust import TrustStore
from nodes.federation.wire import RecordMessage, claimed_origin, decode_message
from nodes.federation.witness import cosignature_item
from nodes.registry.identity import authorities_stream
from projections.batch import cyclic_gc_paused

if TYPE_CHECKING:
    from nodes.ports import Inbox, Node, Transport

__all__ = ["BATCH_SIZE", "POOL_THRESHOLD", "REASONS", "Ingest", "IngestReport", "kafka_position"]

log = logging.getLogger(__name__)

BATCH_SIZE = 500
#: A batch of fewer messages is checked against the chains as this process knows them (``Ingest.held``).
ASSUMED_BELOW = 32


def kafka_position(topic: str, topic_id: str | None) -> str:
    """Tracking name of the read position in ``topic`` (this incarnation of it)."""
    return f"kafka:{topic}@{topic_id or ''}"


class Ingest:
    """Reads and verifies ``node``'s inbox topic through ``transport`` into ``inbox``.

    ``send(state, items)`` publishes (key, value) items to a partner's inbox (the relay's
    ``send``): used for cosignatures. Needs an unlocked node (cosigning signs). Not thread-safe.
    """

    def __init__(self, node: Node, transport: Transport, inbox: Inbox,
                 send: Callable[[str, Sequence[tuple[bytes, bytes]]], None], *,
                 batch_size: int = BATCH_SIZE, pool_size: int = POOL_SIZE):
        self.node = node
        self.transport = transport
        self.inbox = inbox
        self.send = send
        self.batch_size = batch_size
        self.max_message_bytes = node.settings.max_message_bytes
        self.signatures = SignaturePool(pool_size)
        self.state = node.identity.state
        self.topic = transport.inbox_topic(self.state)
        self.topic_id: str | None = None
        self._knowledge: Knowledge | None = None
        self._trust = TrustStore(node.settings.home)  # its files read again only when they changed
        self._parked: list[ParkedEntry] | None = None
        self._chains = _KnownChains()
        #: Whether a large batch's streams that start in it are assumed new, not read (``held``).
        self._new_streams_unread = True
        self._own_checkpoints: dict[int, Checkpoint] = {}
        #: Gossiped checkpoints whose signature verified (``check_gossip``): the same ones come again and again.
        self.gossip_signatures = SignedCheckpoints()
        self._caught_up = False
        self._ahead: _Read | None = None  # the batch read after the last one recorded, being checked
        #: (tracking name, position) where the read position is, as the last ``step`` left it (read or recorded)
        #: or ``position`` read it; None when unknown (no step yet, a conflict, a reset, a failure).
        self.reached: tuple[str, int] | None = None
        #: origin -> its newest kept checkpoint, not cosigned and sent yet (``send_cosignatures`` signs it).
        self.cosignatures_due: dict[str, Checkpoint] = {}
        #: (partner, (key, value)) answers to its witness requests (``nodes.federation.witness``), not sent yet.
        self.replies_due: list[tuple[str, tuple[bytes, bytes]]] = []

    def close(self) -> None:
        self.signatures.close()

    # --- one batch ------------------------------------------------------------------------

    def refresh(self) -> IngestReport:
        """Re-read the trust store; verify again the parked messages of newly trusted partners."""
        self._catch_up()
        partners = self._trust.partners()
        if self._knowledge is None or self._knowledge.partners != partners:
            self._knowledge = Knowledge(partners=partners)
        return self._retry_parked()

    def step(self, timeout_s: float) -> IngestReport:
        """Read one batch (waiting up to ``timeout_s`` for the first message), verify, record it.

        A full batch is followed at once by a read of what the broker has sent already, whose
        bytes the verifying processes check while this batch is recorded; the next call records
        it, if the position is still where this call left it (else it is read again).

        The position is where the last step left it (``position``), not read again: in this process
        only a step moves it. Another process's ingest of this node that moved it meanwhile is met
        as one that records between a step's read and its record always was: a position is only
        ever raised and what was kept has ids of its own, so the record is refused as a conflict
        (or adds nothing twice), and the step after a conflict reads the position.

        Returns what it did (``read == 0``: nothing was there). Raises ``TransportError``
        when the broker fails, ``StorageError`` when the database does; bad messages never raise.
        """
        report = IngestReport()
        if self.topic_id is None:
            self.topic_id = self.transport.ensure_topics([self.state]).get(self.topic)
        name, position = kafka_position(self.topic, self.topic_id), self.position()
        self.reached = None  # until this step says where it leaves it
        batch, self._ahead = self._ahead, None
        if batch is None or batch.name != name or batch.position != position:
            try:
                batch = self._read(name, position, timeout_s)
            except TransportReset as reset:
                log.warning("ingest: %s; reading the re-created topic from its start", reset)
                self.topic_id = reset.topic_id or self.transport.ensure_topics([self.state]).get(self.topic)
                report.resets += 1
                return report
        if batch is None:
            self.reached = (name, position)
            return report
        if len(batch.records) >= self.batch_size:
            with contextlib.suppress(TransportReset), cyclic_gc_paused():  # the next step reads again and meets it
                self._ahead = self._read(name, batch.tracking.notification_id, 0)
        done = self._settle(batch.incoming, batch.tracking, batch.oversized, batch.checked)
        done.read = len(batch.records)
        if done.conflicts:
            self._ahead = None
        else:
            self.reached = (name, batch.tracking.notification_id)
            if done.accepted or done.checkpoints:
                done.add(self._retry_parked())
        return done

    def position(self) -> int:
        """Our read position in our inbox topic (as ``topic_id`` names it): where the last step left it
        (``reached``), else read from the inbox and remembered there."""
        name = kafka_position(self.topic, self.topic_id)
        if self.reached is None or self.reached[0] != name:
            self.reached = (name, self.inbox.position(name))
        return self.reached[1]

    def process(self, records: Sequence[tuple[int, bytes | None, bytes | None]], *,
                tracking: Tracking | None = None) -> IngestReport:
        """Verify ``records`` ((offset, key, value) read from our inbox topic, in order) and record
        the outcome, with ``tracking`` (the position after them), in one transaction; then verify
        again the parked messages that what was accepted unblocks.

        A message over ``Settings.max_message_bytes`` is quarantined as ``oversized`` keeping only
        its hash, size, offset and origin. Bad messages are quarantined, never raised. Raises
        ``StorageError`` when the database fails.
        """
        self.reached = None  # ``tracking`` may move the position: the next step reads it
        incoming, oversized = self._received(records)
        report = self._settle(incoming, tracking, oversized)
        report.read = len(records)
        if report.accepted or report.checkpoints:
            report.add(self._retry_parked())
        return report

    def _read(self, name: str, position: int, timeout_s: float) -> _Read | None:
        """The batch from ``position`` (None if nothing came within ``timeout_s``), its bytes given
        to the verifying processes. Raises ``TransportReset`` as ``Transport.read`` does."""
        batch = self.transport.read(self.topic, position, self.batch_size, timeout_s,
                                    expected_topic_id=self.topic_id)
        if not batch.records:
            return None
        records = [(r.offset, r.key, r.value) for r in batch]
        incoming, oversized = self._received(records)
        return _Read(name, position, records, incoming, oversized, self._checks_later(incoming),
                     Tracking(application_name=name, notification_id=batch.records[-1].offset + 1))

    def _received(self, records: Sequence[tuple[int, bytes | None, bytes | None]],
                  ) -> tuple[list[Incoming], list[QuarantineEntry]]:
        """The messages to verify, and the entries of those over ``max_message_bytes``."""
        received_at = now_us()
        incoming, oversized = [], []
        for offset, key, value in records:
            key, value = key or b"", value or b""
            if len(key) + len(value) > self.max_message_bytes:
                oversized.append(self._oversized(offset, key, value, received_at))
            else:
                incoming.append(Incoming(self.topic, offset, key, value, received_at))
        return incoming, oversized

    def _checks_later(self, incoming: Sequence[Incoming]) -> Callable[[], list[Checked]]:
        """Start ``check_messages`` of ``incoming`` with who may sign for each partner as known now
        (on the verifying processes when there are many); what this returns gives the results."""
        knowledge = self._knowledge_now()
        for origin in knowledge.partners:
            self.load(origin)
        signers = {origin: partner.signers(dict(knowledge.certified.get(origin, {})))
                   for origin, partner in knowledge.partners.items()}
        values = [i.value for i in incoming]
        if not self.signatures.sends(len(values)):
            checked = check_messages(values, signers)
            return lambda: checked
        sent = self.signatures.map_later(verdicts, values, signers)
        return lambda: with_verdicts(values, sent())

    # --- verification and recording ------------------------------------------------------

    def _oversized(self, offset: int, key: bytes, value: bytes, received_at: int) -> QuarantineEntry:
        digest = message_digest(key, value)
        size = len(key) + len(value)
        return QuarantineEntry(
            received_at=received_at, topic=self.topic, offset=offset, origin=claimed_origin(value),
            reason=OVERSIZED, kind=KIND_ERROR, key=b"", message=b"", size=size, digest=digest,
            detail=f"{size} bytes, over the maximum of {self.max_message_bytes} (ARMSLEDGER_MAX_MESSAGE_BYTES): "
                   f"not kept; SHA-256 of key and value {digest.hex()}")

    def _settle(self, incoming: list[Incoming], tracking: Tracking | None,
                oversized: Sequence[QuarantineEntry] = (),
                checked: Callable[[], list[Checked]] | None = None) -> IngestReport:
        """Verify ``incoming`` in order and record the outcome (with ``tracking``, and the ``oversized``
        entries) in one transaction. ``checked``: gives ``check_messages`` of ``incoming`` (default:
        started here)."""
        # A batch makes tens of objects per message (the checks' results, the rows), freed by their reference
        # counts; they also set off the cyclic collector every 700, whose older generations walk every object
        # of the process: a sixth of this process's CPU (docs/benchmarks.md, Replication). The few cycles (a
        # refusal with its traceback) are collected after.
        with cyclic_gc_paused():
            return self._settle_checked(incoming, tracking, oversized, checked)

    def _settle_checked(self, incoming: list[Incoming], tracking: Tracking | None,
                        oversized: Sequence[QuarantineEntry],
                        checked: Callable[[], list[Checked]] | None) -> IngestReport:
        checks = (checked or self._checks_later(incoming))()
        knowledge = self._knowledge_now()
        # A small batch (a record or two on the latency path) is checked against the chains as this process last
        # wrote or read them, without a read: one round trip less. The write refuses it if a chain is not so
        # (``InboxBatch.chains``): another writer, a stream this process has not met; then the chains are read and
        # the batch checked again, as a larger one always is.
        # A larger one reads the chains, but for the streams it starts (a version 1 in it), assumed to hold what this
        # process knows of them (nothing, for a new stream): the write checks those counts too.
        assume = len(incoming) < ASSUMED_BELOW
        while True:
            run = Run(self, knowledge, incoming, checks, assume=assume)
            run.verify_all()
            batch = run.batch
            batch.quarantined = _new_entries(self.inbox, [*oversized, *batch.quarantined])
            if batch.cosignatures:
                held = self.inbox.existing([cosignature_id(c.witness, c.checkpoint) for c in batch.cosignatures])
                batch.cosignatures = [c for c in batch.cosignatures
                                      if cosignature_id(c.witness, c.checkpoint) not in held]
            if self.inbox.record(batch, tracking):
                break
            self._chains.forget(run.held)
            if not run.assumed:
                # Another ingest of this node recorded first: forget what we learnt, re-read.
                self._knowledge = None
                self._parked = None
                self._chains.clear()
                return IngestReport(conflicts=1)
            # Checked again against every chain read; the streams a batch starts are read too until they are new again
            # (a redelivery of records held would otherwise be checked twice per batch).
            assume, self._new_streams_unread = False, False
        self._chains.learn(run.held)  # as committed: what was held, and what the batch added
        report = run.report
        report.quarantined = len(batch.quarantined)
        report.alarms = sum(1 for e in batch.quarantined if e.kind == KIND_ALARM)
        if batch.quarantined:
            self._expire_quarantine()
        for entry in batch.quarantined:
            log_ = log.error if entry.kind == KIND_ALARM else log.warning
            log_("%s: message from %r at %s[%d] quarantined: %s: %s", "ALARM" if entry.kind == KIND_ALARM
                 else "ingest", entry.origin, entry.topic, entry.offset, entry.reason, entry.detail)
        for after, announcement in run.rotations.values():
            follow(self.node, after, announcement)  # recorded, then the file: a crash between, ``catch_up``
        run.commit_knowledge()
        self.cosignatures_due.update(run.to_cosign)
        self.replies_due += run.replies
        if self._parked is not None:
            resolved = {entry_id for entry_id, _ in batch.resolved}
            self._parked = [p for p in self._parked if p.entry.id not in resolved]
            self._parked += [ParkedEntry(0, e) for e in batch.quarantined if e.reason in PARKED]
        return report

    def held(self, keys: Iterable[tuple[str, str]], *, assume: bool, starting: Collection[tuple[str, str]] = (),
             ) -> tuple[dict[tuple[str, str], dict[int, bytes]], bool]:
        """For each (origin, stream) of ``keys``, the versions held and their bytes (each a dict of its own, for the
        caller to add to), and whether any was assumed rather than read: when ``assume``, every one as this process
        last wrote or read it, none for a stream it does not know; else read from the inbox, but for the streams of
        ``starting`` (those the batch holds a version 1 of), assumed as well unless the last such assumption met a
        stream held already. What is assumed goes into the batch's ``chains``, which the write checks."""
        if assume:
            return {key: self._chains.versions(key) for key in keys}, True
        keys = set(keys)
        unread = keys.intersection(starting) if self._new_streams_unread else set()
        held = self.inbox.held(keys - unread) if len(unread) < len(keys) else {}  # remembered once written
        if unread:
            held.update((key, self._chains.versions(key)) for key in unread)
        elif starting and not any(held[key] for key in keys.intersection(starting)):
            self._new_streams_unread = True  # read, and new: the next ones are assumed again
        return held, bool(unread)

    def _expire_quarantine(self) -> None:
        settings = self.node.settings
        expired = self.inbox.expire_quarantine(settings.quarantine_max_entries, settings.quarantine_max_bytes)
        if expired:
            log.warning("ingest: the quarantine is over its cap (ARMSLEDGER_QUARANTINE_ENTRIES=%d, "
                        "ARMSLEDGER_QUARANTINE_BYTES=%d): its %d oldest entries other than alarms expired",
                        settings.quarantine_max_entries, settings.quarantine_max_bytes, expired)
            self._parked = None  # some of those waiting may be gone

    def send_cosignatures(self) -> int:
        """Publish the cosignatures due: one per origin, for the newest checkpoint kept since the last call.

        Called when ingest is idle (and at least every second when busy), never before a
        batch is committed: it vouches for the earlier checkpoints too (they are consistent
        with it), and one lost in a crash is made good by the next. Returns how many were sent.
        """
        due, self.cosignatures_due = self.cosignatures_due, {}
        identity = self.node.identity
        return self._send_each(((origin, cosignature_item(identity, checkpoint)) for origin, checkpoint in due.items()),
                               "cosignature", "the next one covers it")

    def send_witness_replies(self) -> int:
        """Publish the answers to witness requests read since the last call; returns how many were sent.
        One lost (broker away) is not sent again: the requester names us as silent and may ask again."""
        due, self.replies_due = self.replies_due, []
        return self._send_each(due, "answer to a witness request", "the requester may ask again")

    def _send_each(self, due: Iterable[tuple[str, tuple[bytes, bytes]]], what: str, otherwise: str) -> int:
        """Publish each (state, item); one the broker refuses is logged and dropped. Returns how many were sent."""
        sent = 0
        for state, item in due:
            try:
                self.send(state, [item])
                sent += 1
            except TransportError as e:
                log.warning("ingest: %s for %s not sent (%s); %s", what, state, e, otherwise)
        return sent

    def _retry_parked(self) -> IngestReport:
        """Verify again, in arrival order, the parked messages whose missing piece is now there."""
        report = IngestReport()
        while True:  # each round may unlock the next (a certificate, then the records it certifies)
            ready = self._ready_parked()
            progress = False
            for start in range(0, len(ready), self.batch_size):
                incoming = [Incoming(p.entry.topic, p.entry.offset, p.entry.key, p.entry.message,
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
            self.load(entry.origin)
            try:
                message = decode_message(entry.message)
                if not isinstance(message, RecordMessage):
                    continue
                if entry.reason == UNCERTIFIED:
                    unblocked = Envelope.from_bytes(message.envelope).authority in knowledge.certified.get(
                        entry.origin, {})
                else:
                    unblocked = entry.reason == UNPROVEN and message.checkpoint_size in knowledge.kept.get(
                        entry.origin, {})
                if unblocked:
                    ready.append(parked)
            except LedgerError:
                continue
        return ready

    def _catch_up(self) -> None:
        """Once per ingest: finish the partners' node key rotations a crash left half followed."""
        if not self._caught_up:
            for state in catch_up(self.node, self.inbox):
                log.warning("ingest: %s's node key rotation, left half followed when ingest last stopped, is "
                            "followed to its end (recorded, trust file written)", state)
            self._caught_up = True

    def _knowledge_now(self) -> Knowledge:
        if self._knowledge is None:
            self._catch_up()
            self._knowledge = Knowledge(partners=self._trust.partners())
        return self._knowledge

    def load(self, origin: str) -> None:
        """Load what we accepted from ``origin`` before: its certificates and kept checkpoints."""
        knowledge = self._knowledge_now()
        if origin in knowledge.loaded:
            return
        certified = knowledge.certified.setdefault(origin, {})
        for envelope in self.inbox.received(node=origin, stream=str(authorities_stream(origin))):
            learn_register(envelope.type, envelope.body, certified)  # accepted, so signed by the node key
        kept = self.inbox.partner_checkpoints(origin)
        knowledge.kept[origin] = {c.size: c for c in kept}
        if kept:
            knowledge.newest[origin] = kept[-1]
        knowledge.loaded.add(origin)

    def own_checkpoint(self, size: int) -> Checkpoint | None:
        """Our stored checkpoint at ``size`` (what a partner cosigned), or None. Those stored since the last look
        are read, unless this process's sealer stored the one asked right after the newest known (a cosignature
        of what our last relay pass sent): then it is taken as the sealer read it back, without a read."""
        if size not in self._own_checkpoints:
            newest = max(self._own_checkpoints, default=0)
            self._own_checkpoints.update((c.size, c) for c in self.node.sealer.stored_after(newest) or ())
        if size not in self._own_checkpoints:
            newest = max(self._own_checkpoints, default=0)
            self._own_checkpoints.update((c.size, c) for c in self.node.sealer.checkpoints(after=newest))
        return self._own_checkpoints.get(size)

    def warm_up(self) -> None:
        """Start the verifying processes now, in the background (they take ~1 s to import)."""
        self.signatures.warm_up()


def _new_entries(inbox: Inbox, entries: list[QuarantineEntry]) -> list[QuarantineEntry]:
    """Entries not recorded yet (a redelivered bad message is the same entry), first of each."""
    unique = list({e.id: e for e in reversed(entries)}.values())[::-1]
    if not unique:
        return unique
    existing = inbox.existing([e.id for e in unique])
    return [e for e in unique if e.id not in existing]


@dataclass(frozen=True)
class _Read:
    """A batch read from position ``position`` of tracking ``name``: its (offset, key, value) records,
    the messages to verify and the entries of the oversized, the checks of their bytes (started),
    and the position after it."""

    name: str
    position: int
    records: list[tuple[int, bytes | None, bytes | None]]
    incoming: list[Incoming]
    oversized: list[QuarantineEntry]
    checked: Callable[[], list[Checked]]
    tracking: Tracking


class _KnownChains:
    """The partner chains (origin, stream) -> {version: bytes} this process last read or wrote: a hint, never
    trusted alone (``Ingest.held``: the write checks each count). The newest ``limit`` streams met are kept."""

    def __init__(self, limit: int = 4096):
        self.limit = limit
        self._chains: dict[tuple[str, str], dict[int, bytes]] = {}

    def versions(self, key: tuple[str, str]) -> dict[int, bytes]:
        """A copy of what is known of ``key``'s chain (empty if nothing is)."""
        return dict(self._chains.get(key, ()))

    def learn(self, chains: Mapping[tuple[str, str], dict[int, bytes]]) -> None:
        """Remember ``chains`` as they are now in the inbox (read, or committed), newest last."""
        for key, versions in chains.items():
            self._chains.pop(key, None)
            self._chains[key] = versions
        for key in list(itertools.islice(self._chains, max(0, len(self._chains) - self.limit))):
            del self._chains[key]

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        for key in keys:
            self._chains.pop(key, None)

    def clear(self) -> None:
        self._chains.clear()
