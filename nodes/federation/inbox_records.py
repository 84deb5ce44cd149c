"""What the inbox stores besides partner records: its ids, quarantine entries, cosignatures,
and the batch that ``Inbox.record`` writes in one transaction (layout: ``nodes.federation.inbox``)."""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from eventsourcing.persistence import Notification, StoredEvent

from domain.marking import ARMSLEDGER_NAMESPACE
from ledger.checkpoint import Checkpoint
from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import Envelope

if TYPE_CHECKING:  # inbox_proofs finds a proof's record by the ids made here
    from nodes.federation.inbox_proofs import KeptProof

INBOX_NAME = "inbox"
EVENTS_TABLE = "inbox_events"
TRACKING_TABLE = "inbox_tracking"

#: Topics of the inbox's own bookkeeping; every other topic is an accepted envelope's type.
INTERNAL_PREFIX = "armsledger."
PARTNER_CHECKPOINT = "armsledger.PartnerCheckpoint"
QUARANTINED = "armsledger.Quarantined"
QUARANTINE_RESOLVED = "armsledger.QuarantineResolved"
COSIGNATURE = "armsledger.Cosignature"
GOSSIPED = "armsledger.GossipedCheckpoint"

#: Kinds of quarantine entry: ``alarm`` is evidence that a partner forked or rewrote its
#: history (DESIGN.md, "The log"); ``error`` is any other refused message.
KIND_ERROR = "error"
KIND_ALARM = "alarm"



@functools.lru_cache(maxsize=4096)  # asked twice per record received (held versions, then the insert)
def received_stream_id(node: str, stream: str) -> uuid.UUID:
    """Originator id of partner ``node``'s ``stream`` in the inbox: ``uuid.uuid5(ARMSLEDGER_NAMESPACE,
    "node|stream")``, made as ``uuid5`` makes it but without ``UUID.__init__``'s checks of its
    arguments, which an integer of 128 bits made here needs none of (half its time, once per record
    ingested): the two attributes ``__init__`` sets last are set as it sets them."""
    value = int.from_bytes(_sha1(_NAMESPACE_BYTES + f"{node}|{stream}".encode()).digest()[:16])
    value = value & _NOT_VERSION_NOR_VARIANT | _VERSION_5_AND_VARIANT
    made = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", uuid.SafeUUID.unknown)
    return made


_NAMESPACE_BYTES = ARMSLEDGER_NAMESPACE.bytes
_sha1 = hashlib.sha1
_new, _set = object.__new__, object.__setattr__  # UUID's own __setattr__ refuses: it is immutable
# The version, the high nibble of byte 6 (RFC 9562 section 5.5), and the variant, the two high bits of
# byte 8 (section 4.1), in the 128-bit integer of the 16 bytes read big-endian.
_NOT_VERSION_NOR_VARIANT = ~((0xF << 76) | (0x3 << 62))
_VERSION_5_AND_VARIANT = (0x5 << 76) | (0x2 << 62)


def checkpoints_stream_id(node: str) -> uuid.UUID:
    """Originator id of the checkpoints kept from partner ``node``."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"checkpoints|{node}")


def message_digest(key: bytes | None, message: bytes) -> bytes:
    """SHA-256 of the canonical [key, message]: what names a refused message."""
    return hashlib.sha256(canonical_encode([key or b"", message])).digest()


def quarantine_id(reason: str, key: bytes | None, message: bytes, *, digest: bytes = b"") -> uuid.UUID:
    """Id of the quarantine entry for ``message`` (with Kafka ``key``) refused for ``reason``;
    ``digest``: their ``message_digest`` when the bytes were not kept.

    Derived from the content, so the same bytes refused again for the same reason
    (a redelivery) are the same entry, recorded once.
    """
    named = digest or message_digest(key, message)
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"quarantine|{reason}|{named.hex()}")


def cosignature_id(witness: str, checkpoint: bytes) -> uuid.UUID:
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"cosignature|{witness}|{hashlib.sha256(checkpoint).hexdigest()}")


def gossiped_id(checkpoint: bytes) -> uuid.UUID:
    """Id of a checkpoint gossiped to us: one row per checkpoint, whoever sent it first."""
    return uuid.uuid5(ARMSLEDGER_NAMESPACE, f"gossiped|{hashlib.sha256(checkpoint).hexdigest()}")


def now_us() -> int:
    return time.time_ns() // 1000


class _CanonicalFields:
    """Stored as the canonical msgpack map of the dataclass's fields, read back the same way."""

    def to_bytes(self) -> bytes:
        return canonical_encode({name: getattr(self, name) for name in self.__dataclass_fields__})

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Read back; a field added later (with a default) may be missing from older rows."""
        value = canonical_decode(data)
        return cls(**{name: value[name] for name in cls.__dataclass_fields__ if name in value})

    __dataclass_fields__: ClassVar[dict[str, Any]]


@dataclass(frozen=True)
class QuarantineEntry(_CanonicalFields):
    """A refused message, kept with why and where it came from.

    ``received_at`` is in microseconds since the epoch (UTC); ``origin`` is the state the
    message claimed to come from ("" if unreadable); ``key`` and ``message`` are the Kafka
    key and value exactly as read, so a parked message can be verified again later. A
    message too large to keep has empty ``key`` and ``message``, its ``size`` (key and
    value) and its ``digest`` (``message_digest``) instead.
    """

    received_at: int
    topic: str
    offset: int
    origin: str
    reason: str
    kind: str
    detail: str
    key: bytes
    message: bytes
    size: int = 0
    digest: bytes = b""

    @property
    def id(self) -> uuid.UUID:
        return quarantine_id(self.reason, self.key, self.message, digest=self.digest)


@dataclass(frozen=True)
class Cosignature(_CanonicalFields):
    """A partner's (``witness``) cosignature of one of our checkpoints: ``sig`` is a C2SP cosignature/v1
    (72 bytes) or, stored before, an Ed25519 signature over SHA-256 of ``checkpoint`` (64 bytes).
    ``ledger.cosignature.verify_checkpoint_cosignature`` checks either."""

    witness: str
    witness_key: str
    checkpoint: bytes
    sig: bytes
    received_at: int


@dataclass(frozen=True)
class GossipedCheckpoint(_CanonicalFields):
    """A checkpoint of ``origin`` signed by it, that partner ``witness`` says it holds (gossip):
    kept as the witness's claim when we hold none of that size to compare it with."""

    witness: str
    origin: str
    size: int
    checkpoint: bytes
    received_at: int


@dataclass(frozen=True)
class ParkedEntry:
    """An unresolved quarantine entry with its position in the inbox (arrival order) and ``hash``, the
    SHA-256 (hex) of its bytes as stored: what the settlement of an alarm names (domain.alarm)."""

    notification_id: int
    entry: QuarantineEntry
    hash: str = ""

    @classmethod
    def read(cls, notification_id: int, state: bytes) -> ParkedEntry:
        """The entry stored as ``state`` at ``notification_id``."""
        return cls(notification_id, QuarantineEntry.from_bytes(state), hashlib.sha256(state).hexdigest())

    def summary(self) -> dict[str, Any]:
        """What ``Inbox.quarantined`` lists: {id, received_at, topic, offset, origin, reason, kind, size, detail,
        hash} (``size``: of the message as received, kept or not)."""
        e = self.entry
        size = e.size if e.digest else len(e.message)
        return {"id": self.notification_id, "received_at": e.received_at, "topic": e.topic, "offset": e.offset,
                "origin": e.origin, "reason": e.reason, "kind": e.kind, "size": size, "detail": e.detail,
                "hash": self.hash}


def unresolved(rows: Iterable[Notification], reasons: Iterable[str] | None = None) -> list[ParkedEntry]:
    """The quarantine entries among ``rows`` not resolved by a later row, of ``reasons`` (all if None).

    Requires ``rows`` to be the inbox's quarantine and resolution rows, in arrival order.
    """
    wanted = None if reasons is None else set(reasons)
    entries: dict[uuid.UUID | str, ParkedEntry] = {}
    for n in rows:
        if n.topic == QUARANTINE_RESOLVED:
            entries.pop(n.originator_id, None)
            continue
        parked = ParkedEntry.read(n.id, n.state)
        if wanted is None or parked.entry.reason in wanted:
            entries[n.originator_id] = parked
    return list(entries.values())


@dataclass
class InboxBatch:
    """What one ``Inbox.record`` call writes in one transaction.

    ``accepted`` holds (envelope, bytes as received); ``checkpoints`` holds (checkpoint,
    version in that partner's checkpoint stream); ``resolved`` holds (quarantine entry id,
    outcome) for parked entries that a later check settled; ``proofs`` the inclusion proof each
    accepted record was accepted with (``nodes.federation.inbox_proofs``, a side table).

    ``chains``: received stream id -> how many versions that stream holds once the batch is written, as its
    records were checked assuming (what was held then, plus what the batch adds). ``Inbox.record`` writes
    nothing and returns False when a stream of it holds another number: the records were checked against a
    chain another writer changed since (rows of received records are only ever added).
    """

    accepted: list[tuple[Envelope, bytes]] = field(default_factory=list)
    checkpoints: list[tuple[Checkpoint, int]] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    resolved: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    cosignatures: list[Cosignature] = field(default_factory=list)
    proofs: list[KeptProof] = field(default_factory=list)
    gossiped: list[GossipedCheckpoint] = field(default_factory=list)
    chains: dict[uuid.UUID, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.accepted or self.checkpoints or self.quarantined or self.resolved or self.cosignatures
                    or self.gossiped)

    def stored_events(self) -> list[StoredEvent]:
        stored = [
            StoredEvent(originator_id=received_stream_id(envelope.node, envelope.stream),
                        originator_version=envelope.version, topic=envelope.type, state=raw)
            for envelope, raw in self.accepted
        ]
        stored += [
            StoredEvent(originator_id=checkpoints_stream_id(checkpoint.origin), originator_version=version,
                        topic=PARTNER_CHECKPOINT, state=checkpoint.to_bytes())
            for checkpoint, version in self.checkpoints
        ]
        stored += [
            StoredEvent(originator_id=entry.id, originator_version=1, topic=QUARANTINED, state=entry.to_bytes())
            for entry in self.quarantined
        ]
        stored += [
            StoredEvent(originator_id=entry_id, originator_version=2, topic=QUARANTINE_RESOLVED,
                        state=canonical_encode({"resolved_at": now_us(), "outcome": outcome}))
            for entry_id, outcome in self.resolved
        ]
        stored += [
            StoredEvent(originator_id=cosignature_id(c.witness, c.checkpoint), originator_version=1,
                        topic=COSIGNATURE, state=c.to_bytes())
            for c in self.cosignatures
        ]
        stored += [
            StoredEvent(originator_id=gossiped_id(g.checkpoint), originator_version=1, topic=GOSSIPED,
                        state=g.to_bytes())
            for g in self.gossiped
        ]
        return stored
