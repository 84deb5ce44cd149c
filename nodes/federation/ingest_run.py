"""The checks of one list of inbox messages, in order: records by the acceptance rule,
checkpoints by consistency with those kept, cosignatures of our own checkpoints.

``Run`` verifies against what ingest knows (``Knowledge``) plus what the run itself
accepts, and collects an ``InboxBatch`` that ingest writes in one transaction.
The protocol is in docs/federation.md ("Ingest").
"""

from __future__ import annotations

import logging
from collections import ChainMap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ledger.acceptance import (
    REGISTER_PREFIX,
    CertifiedKey,
    Refusal,
    Signers,
    check_inclusion,
    check_inclusions,
    check_link,
    check_signed,
    learn_register,
    signer,
)
from ledger.audit_checkpoints import checkpoint_refusal
from ledger.checkpoint import Checkpoint
from ledger.envelope import GENESIS_PREV, Envelope
from ledger.errors import LedgerError, SignatureError, VerificationError
from ledger.keys import public_key_from_bytes
from ledger.proofs import verify_consistency
from ledger.signed_proof import verify_proof_signature
from nodes.acceptance import DomainPolicy
from nodes.federation.gossip import check_gossip
from nodes.federation.inbox_proofs import KeptProof
from nodes.federation.inbox_records import (
    KIND_ALARM,
    Cosignature,
    InboxBatch,
    ParkedEntry,
    QuarantineEntry,
    now_us,
    received_stream_id,
)
from nodes.federation.ingest_checks import Checked, certified_ahead
from nodes.federation.ingest_reasons import (
    BAD_PROOF,
    BAD_SIGNATURE,
    BROKEN_CHAIN,
    FORK,
    INVALID_FIELD,
    MALFORMED,
    MISDIRECTED,
    ORIGIN_MISMATCH,
    STALE_CHECKPOINT,
    STREAM_MISMATCH,
    UNPROVEN,
    UNTRUSTED,
    UNVERIFIABLE,
    Duplicate,
    Refused,
)
from nodes.federation.key_following import announced
from nodes.federation.trust import Partner
from nodes.federation.wire import (
    CheckpointMessage,
    CosignatureMessage,
    GossipMessage,
    Message,
    RecordMessage,
    WitnessReply,
    WitnessRequest,
)
from nodes.federation.witness import answer_witness, cosignature_problem

if TYPE_CHECKING:
    from nodes.federation.ingest import Ingest

log = logging.getLogger(__name__)

#: A message as decoded, or why it could not be.
Decoded = Message | Refused


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


class Incoming(NamedTuple):
    """A message to verify: where it was read, its bytes, when; ``parked``: its entry when verified again."""

    topic: str
    offset: int
    key: bytes
    value: bytes
    received_at: int
    parked: ParkedEntry | None = None


@dataclass
class Knowledge:
    """What verification needs, loaded per origin from the inbox on first use."""

    partners: dict[str, Partner]
    certified: dict[str, dict[str, CertifiedKey]] = field(default_factory=dict)  # origin -> key id -> key
    kept: dict[str, dict[int, Checkpoint]] = field(default_factory=dict)
    newest: dict[str, Checkpoint] = field(default_factory=dict)  # checkpoints are kept in size order
    loaded: set[str] = field(default_factory=set)


class Run:
    """Verification of one list of messages, in order, against the knowledge plus what it accepts."""

    def __init__(self, ingest: Ingest, knowledge: Knowledge, incoming: list[Incoming], checked: list[Checked], *,
                 assume: bool = False):
        """``checked``: ``check_messages`` of the incoming values, in order. ``assume``: check the records against
        the chains as this process last knew them (``Ingest.held``), not read again; either way the batch says what
        it assumed (``InboxBatch.chains``), and the write refuses it if the chains are not so."""
        self.ingest = ingest
        self.assume = assume
        self.knowledge = knowledge
        self.incoming = incoming
        self.checked = checked
        self.batch = InboxBatch()
        self.report = IngestReport()
        #: origin -> the newest of its checkpoints kept in this run: cosigned when sent (``cosignature_item``).
        self.to_cosign: dict[str, Checkpoint] = {}
        self.replies: list[tuple[str, tuple[bytes, bytes]]] = []  # (to, item): answers to witness requests
        self.held: dict[tuple[str, str], dict[int, bytes]] = {}
        self.assumed = False  # whether a chain of ``held`` was assumed, not read (``Ingest.held``)
        self.certified: dict[str, dict[str, CertifiedKey]] = {}
        self.kept: dict[str, dict[int, Checkpoint]] = {}
        #: position -> (raw key, whether the record's signature verifies with it), found ahead of its turn.
        self.signature_ok: dict[int, tuple[bytes, bool]] = {}
        self._policies: dict[str, _RememberedPolicy] = {}
        self._signers_of: dict[str, tuple[Partner, Signers]] = {}  # origin -> (partner, its signers)
        self.inclusion_ok: dict[int, tuple[bytes, Refusal | None]] = {}  # position -> (root, failure)
        #: (origin, checkpoint size) -> its records, in order, whose checkpoint was not kept before the run.
        self.unproved: dict[tuple[str, int], list[tuple[int, RecordMessage, Envelope]]] = {}
        #: origin -> (the partner after its node key rotation, the announcement) accepted in this run.
        self.rotations: dict[str, tuple[Partner, Envelope]] = {}

    # --- orchestration ---

    def verify_all(self) -> None:
        decoded = [self._decode(checked) for checked in self.checked]
        for origin in {getattr(message, "origin", None) for message, _ in decoded}:  # each origin once
            if origin in self.knowledge.partners:
                self.ingest.load(origin)
        self._prefetch(decoded)
        for position, (incoming, (message, envelope)) in enumerate(zip(self.incoming, decoded)):
            try:
                if isinstance(message, Refused):
                    raise message
                if isinstance(message, RecordMessage):
                    assert envelope is not None
                    self._record(position, incoming, message, envelope)
                elif isinstance(message, CheckpointMessage):
                    self._checkpoint(message)
                elif isinstance(message, GossipMessage):
                    check_gossip(self, message)
                elif isinstance(message, (WitnessRequest, WitnessReply)):
                    answer_witness(self, message)
                else:
                    self._cosignature(message)
                outcome: str | None = "accepted"
            except Duplicate:
                self.report.duplicates += 1
                outcome = "duplicate"
            except Refused as refused:
                outcome = self._quarantine(incoming, getattr(message, "origin", ""), refused)
            except Exception as e:  # a check that broke on input nobody foresaw: never stop for it
                log.exception("ingest: message at %s[%d] could not be checked", incoming.topic, incoming.offset)
                unforeseen = Refused(UNVERIFIABLE, f"could not be checked: {type(e).__name__}: {e}")
                outcome = self._quarantine(incoming, getattr(message, "origin", ""), unforeseen)
            if incoming.parked is not None and outcome is not None:
                self.batch.resolved.append((incoming.parked.entry.id, outcome))
                self.report.resolved += 1
        # Every chain a record was checked against, with what it holds once the accepted are written.
        self.batch.chains = {received_stream_id(origin, stream): len(versions)
                             for (origin, stream), versions in self.held.items()}

    def commit_knowledge(self) -> None:
        for origin, (after, _) in self.rotations.items():
            self.knowledge.partners[origin] = after
        for origin, keys in self.certified.items():
            self.knowledge.certified.setdefault(origin, {}).update(keys)
        for origin, kept in self.kept.items():
            self.knowledge.kept.setdefault(origin, {}).update(kept)
            self.knowledge.newest[origin] = kept[max(kept)]

    def _decode(self, checked: Checked) -> tuple[Decoded, Envelope | None]:
        """(message, its envelope if a record), or (``Refused``, None) for bytes that are neither."""
        if checked.message is None:
            return Refused(MALFORMED, checked.malformed), None
        return checked.message, checked.envelope

    def _prefetch(self, decoded: list[tuple[Decoded, Envelope | None]]) -> None:
        """What can be done for the whole list up front: the versions we hold of every stream (one
        query, but for the streams taken as known: ``Ingest.held``); the signatures with keys known now, or
        certified earlier in the list (``certified_ahead``), that the checks of the bytes did not verify with the
        same key, on the verifying processes; meanwhile, here, the inclusion proofs against the checkpoints kept
        now."""
        records = [(position, message, envelope) for position, (message, envelope) in enumerate(decoded)
                   if isinstance(message, RecordMessage) and envelope is not None]
        self.held, self.assumed = self.ingest.held({(m.origin, e.stream) for _, m, e in records}, assume=self.assume,
                                                   starting={(m.origin, e.stream) for _, m, e in records
                                                             if e.version == 1})
        tasks, positions = [], []
        ahead: dict[str, Signers] = {}  # origin -> its signers, widened by the certificates met so far
        for position, message, envelope in records:
            if message.origin not in self.knowledge.partners:
                continue
            signers = ahead.get(message.origin) or self._signers(self._partner(message.origin))
            ahead[message.origin] = certified_ahead(signers, envelope)
            found = signer(envelope, signers)
            if isinstance(found, Refusal):
                continue
            checked = self.checked[position].signature
            if checked is not None and checked[0] == found[0]:
                self.signature_ok[position] = checked
            elif self.held[(message.origin, envelope.stream)].get(envelope.version) != message.envelope:
                tasks.append((found[0], envelope.sig, envelope.hash))
                positions.append(position)
        verified = self.ingest.signatures.verify_later(tasks)
        by_checkpoint: dict[tuple[str, int], list[tuple[int, RecordMessage, Envelope]]] = {}
        for position, message, envelope in records:
            by_checkpoint.setdefault((message.origin, message.checkpoint_size), []).append(
                (position, message, envelope))
        for (origin, size), proved in by_checkpoint.items():
            checkpoint = self.knowledge.kept.get(origin, {}).get(size)
            if checkpoint is not None:
                self._check_inclusions(proved, checkpoint)
            else:  # its checkpoint may be kept earlier in the list (a relay pass sends it first): ``_proved``
                self.unproved[(origin, size)] = proved
        self.signature_ok.update((position, (task[0], ok)) for position, task, ok in zip(positions, tasks, verified()))

    def _check_inclusions(self, proved: list[tuple[int, RecordMessage, Envelope]], checkpoint: Checkpoint) -> None:
        """The verdicts of ``check_inclusion`` of each of ``proved`` (position, message, envelope) against
        ``checkpoint``, found together (``check_inclusions``: paths that meet are walked once)."""
        failures = check_inclusions([e for _, _, e in proved], [m.index for _, m, _ in proved],
                                    [m.proof for _, m, _ in proved], checkpoint)
        for (position, _, _), failure in zip(proved, failures):
            self.inclusion_ok[position] = (checkpoint.root, failure)

    def _proved(self, position: int, message: RecordMessage, envelope: Envelope, checkpoint: Checkpoint,
                ) -> Refusal | None:
        """``check_inclusion``'s verdict on the record at ``position`` against ``checkpoint``: found ahead of its
        turn, or, the first time a record proved against a checkpoint kept earlier in this run comes, with those
        of the run's records after it proved against the same checkpoint."""
        root, failure = self.inclusion_ok.get(position, (None, None))
        if root == checkpoint.root:
            return failure
        waiting = self.unproved.pop((message.origin, checkpoint.size), None)
        if waiting is not None:
            self._check_inclusions([record for record in waiting if record[0] >= position], checkpoint)
            root, failure = self.inclusion_ok.get(position, (None, None))
            if root == checkpoint.root:
                return failure
        return check_inclusion(envelope, message.index, message.proof, checkpoint)

    def _signers(self, partner: Partner) -> Signers:
        """Who may sign ``partner``'s records: its node key, the keys certified before and in this run."""
        origin = partner.state
        known = self._signers_of.get(origin)
        if known is None or known[0] is not partner:  # made again after a rotation, or a register record
            certified = {**self.knowledge.certified.get(origin, {}), **self.certified.get(origin, {})}
            known = self._signers_of[origin] = (partner, partner.signers(certified))
        return known[1]

    def _quarantine(self, incoming: Incoming, origin: str, refused: Refused) -> str | None:
        if incoming.parked is not None and incoming.parked.entry.reason == refused.reason:
            return None  # still waiting for the same thing: stays parked as it is
        self.batch.quarantined.append(QuarantineEntry(
            received_at=incoming.received_at, topic=incoming.topic, offset=incoming.offset,
            origin=origin if isinstance(origin, str) else "", reason=refused.reason, kind=refused.kind,
            detail=refused.detail, key=incoming.key, message=incoming.value,
        ))
        return f"quarantined again: {refused.reason}"

    def trusted(self, origin: str) -> Partner | None:
        """The trusted partner ``origin`` with the node key rotation accepted in this run, if any; else None."""
        rotated = self.rotations.get(origin)
        return rotated[0] if rotated is not None else self.knowledge.partners.get(origin)

    def _partner(self, origin: str) -> Partner:
        partner = self.trusted(origin)
        if partner is None:
            raise Refused(UNTRUSTED, f"{origin!r} is not a trusted partner (armsledger trust add)")
        return partner

    def _kept_at(self, origin: str, size: int) -> Checkpoint | None:
        return self.kept.get(origin, {}).get(size) or self.knowledge.kept.get(origin, {}).get(size)

    def _newest_kept(self, origin: str) -> Checkpoint | None:
        in_run = self.kept.get(origin)
        return in_run[max(in_run)] if in_run else self.knowledge.newest.get(origin)

    # --- records: the acceptance rule ---

    def _record(self, position: int, incoming: Incoming, message: RecordMessage, envelope: Envelope) -> None:
        origin = message.origin
        partner = self._partner(origin)
        if envelope.node != origin:
            raise Refused(ORIGIN_MISMATCH, f"a record of {envelope.node!r} sent as {origin}'s")
        if incoming.key != envelope.stream.encode():
            raise Refused(STREAM_MISMATCH, f"Kafka key {incoming.key[:64]!r} is not the envelope's stream "
                                           f"{envelope.stream}: replayed from another stream")
        checked = self.checked[position]  # the schema check of the bytes (``ingest_checks``)
        if checked.invalid is not None:
            raise Refused(INVALID_FIELD, f"{_what(envelope)}: field {checked.invalid[0]!r}: {checked.invalid[1]}")
        if checked.unforeseen:
            log.error("ingest: message at %s[%d] could not be checked: %s", incoming.topic, incoming.offset,
                      checked.unforeseen)
            raise Refused(UNVERIFIABLE, f"could not be checked: {checked.unforeseen}")
        held = self.held.setdefault((origin, envelope.stream), {})
        if held.get(envelope.version) == message.envelope:
            raise Duplicate
        policy = self._policies.get(origin)
        if policy is None:
            policy = self._policies[origin] = _RememberedPolicy(DomainPolicy(origin))
        refusal = check_signed(envelope, self._signers(partner), policy,
                               signature_by=self.signature_ok.get(position), body=envelope.body)
        if refusal is not None:
            raise Refused.by_rule(refusal, _what(envelope))
        self._check_chain(envelope, held)
        checkpoint = self._kept_at(origin, message.checkpoint_size)
        if checkpoint is None:
            raise Refused(UNPROVEN, f"{_what(envelope)}: proved against {origin}'s checkpoint of size "
                                    f"{message.checkpoint_size}, which we have not kept")
        failure = self._proved(position, message, envelope, checkpoint)
        if failure is not None:
            raise Refused(BAD_PROOF, f"{_what(envelope)}: inclusion proof fails against checkpoint "
                                     f"{checkpoint.size}: {failure.detail}")
        held[envelope.version] = message.envelope
        self.batch.accepted.append((envelope, message.envelope))
        self.batch.proofs.append(KeptProof(origin, envelope.stream, envelope.version, checkpoint.size,
                                           message.index, tuple(message.proof)))
        self.report.accepted.append(envelope)
        after = announced(partner, envelope, message.index)
        if after is not None:  # proven under the key we trust: follow it (``key_following``)
            self.rotations[origin] = (after, envelope)
        if envelope.type.startswith(REGISTER_PREFIX):  # accepted: signed by the node key
            # Learnt into this run's map, which wins over what was known before; ``_signers`` reads it anew.
            learn_register(envelope.type, envelope.body,
                           ChainMap(self.certified.setdefault(origin, {}), self.knowledge.certified.get(origin, {})))
            self._signers_of.pop(origin, None)

    def _check_chain(self, envelope: Envelope, held: dict[int, bytes]) -> None:
        version = envelope.version
        if version in held:
            raise Refused(FORK, f"{_what(envelope)}: we hold another record at this version: "
                                f"{envelope.node} has two histories", KIND_ALARM)
        if version == 1 and envelope.prev != GENESIS_PREV:
            raise Refused(BROKEN_CHAIN, f"{_what(envelope)}: the first version must start the chain")
        previous, following = held.get(version - 1), held.get(version + 1)
        refusal = check_link(envelope, previous=Envelope.from_bytes(previous).hash if previous else None,
                             next_prev=Envelope.from_bytes(following).prev if following else None)
        if refusal is not None:
            raise Refused.by_rule(refusal, _what(envelope))

    # --- checkpoints ---

    def _checkpoint(self, message: CheckpointMessage) -> None:
        origin = message.origin
        partner = self._partner(origin)
        try:
            checkpoint = Checkpoint.from_bytes(message.checkpoint)
        except LedgerError as e:
            raise Refused(MALFORMED, f"not a checkpoint: {e}") from e
        if checkpoint.origin != origin:
            raise Refused(ORIGIN_MISMATCH, f"a checkpoint of {checkpoint.origin!r} sent as {origin}'s")
        what = f"{origin}'s checkpoint at size {checkpoint.size}"
        why = checkpoint_refusal(checkpoint, partner.node_keys())
        if why is not None:
            raise Refused(BAD_SIGNATURE, f"{what}: {why}")
        same_size = self._kept_at(origin, checkpoint.size)
        if same_size is not None:
            if same_size.root == checkpoint.root:
                raise Duplicate
            raise self._alarm(f"{what}: another root than the checkpoint of that size we kept")
        newest = self._newest_kept(origin)
        if newest is not None:
            if checkpoint.size < newest.size:
                raise Refused(STALE_CHECKPOINT, f"{what}: older than the newest we kept ({newest.size}) "
                                                "and not one of those we kept")
            self._check_consistency(message, partner, newest, checkpoint, what)
        version = len(self.knowledge.kept.get(origin, {})) + len(self.kept.get(origin, {})) + 1
        self.kept.setdefault(origin, {})[checkpoint.size] = checkpoint
        self.batch.checkpoints.append((checkpoint, version))
        self.report.checkpoints += 1
        # DESIGN.md "The log": partners cosign as witnesses, so a node cannot show different histories to
        # different partners without being caught. Signed when sent (``cosignature_item``), at most once a
        # second while busy: only the newest of each origin is sent, the rest were signed for nothing.
        self.to_cosign[origin] = checkpoint

    def _check_consistency(self, message: CheckpointMessage, partner: Partner, newest: Checkpoint,
                           checkpoint: Checkpoint, what: str) -> None:
        """Refuse ``checkpoint`` unless the origin proved it extends ``newest``, the newest we kept.

        Only the origin's own signed statement is evidence of a fork: a proof it did not sign, or
        one from a size we did not keep, may come from anyone who can write to our inbox (a real
        checkpoint replayed with a bogus proof), so it is a ``bad-proof`` error and the real
        message is still accepted when it comes; a signed proof that fails is an alarm.
        """
        if message.previous_size != newest.size:
            raise Refused(BAD_PROOF, f"{what}: proved consistent from size {message.previous_size}, "
                                     f"not from the newest we kept ({newest.size})")
        try:  # by the key that signed the checkpoint (``checkpoint_refusal`` passed: one of the partner's)
            verify_proof_signature(public_key_from_bytes(partner.node_keys()[checkpoint.signer].public_key),
                                   message.proof_sig, message.checkpoint, message.previous_size,
                                   message.consistency)
        except SignatureError as e:
            raise Refused(BAD_PROOF, f"{what}: consistency proof from size {newest.size} is not "
                                     f"{partner.state}'s own: {e}") from e
        try:
            verify_consistency(newest.size, checkpoint.size, newest.root, checkpoint.root, message.consistency)
        except VerificationError as e:
            raise self._alarm(f"{what}: not an extension of the one at size {newest.size} we kept, by "
                              f"{partner.state}'s own signed proof: {e}") from e

    def _alarm(self, detail: str) -> Refused:
        """A fork alarm: raised only on evidence the origin (or a witness) signed."""
        return Refused(FORK, detail, KIND_ALARM)

    # --- cosignatures of our checkpoints ---

    def _cosignature(self, message: CosignatureMessage) -> None:
        witness = message.origin
        partner = self._partner(witness)
        try:
            checkpoint = Checkpoint.from_bytes(message.checkpoint)
        except LedgerError as e:
            raise Refused(MALFORMED, f"cosigned bytes are not a checkpoint: {e}") from e
        why = cosignature_problem(partner, message.witness_key, message.sig, message.checkpoint)
        if why is not None:
            raise Refused(BAD_SIGNATURE, why)
        own = self.ingest.node.identity
        if checkpoint.origin != own.state:
            raise Refused(MISDIRECTED, f"{witness} cosigned {checkpoint.origin}'s checkpoint, not ours")
        mine = self.ingest.own_checkpoint(checkpoint.size)
        if mine is None or mine.root != checkpoint.root:
            raise self._alarm(f"{witness} cosigned a checkpoint of ours at size {checkpoint.size} "
                              "that is not the one we signed")
        if any(c.witness == witness and c.checkpoint == message.checkpoint for c in self.batch.cosignatures):
            raise Duplicate
        self.batch.cosignatures.append(Cosignature(witness=witness, witness_key=message.witness_key,
                                                   checkpoint=message.checkpoint, sig=message.sig,
                                                   received_at=now_us()))
        self.report.cosignatures += 1


def _what(envelope: Envelope) -> str:
    """The record as a refusal names it: type, version, origin and stream (written only when one is refused)."""
    return f"{envelope.type[:64]} v{envelope.version} of {envelope.node} stream {envelope.stream[:64]}"


class _RememberedPolicy:
    """``policy``'s verdicts, each asked once per record type and kind of key when the key is certified:
    those depend on nothing else (the domain's permission table); the node key's depend on the stream too."""

    def __init__(self, policy: DomainPolicy):
        self.policy = policy
        self._verdicts: dict[tuple[str, str], str | None] = {}

    def refusal(self, record_type: str, stream: str, kind: str | None) -> str | None:
        if kind is None:
            return self.policy.refusal(record_type, stream, kind)
        try:
            return self._verdicts[(record_type, kind)]
        except KeyError:
            verdict = self._verdicts[(record_type, kind)] = self.policy.refusal(record_type, stream, kind)
            return verdict
