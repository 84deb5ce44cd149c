"""Maps domain events to signed envelopes and back: where eventsourcing meets the ledger.

``to_stored_event`` signs: it lifts ``occurred_on`` and ``authority`` out of the
event into the envelope header, puts the remaining fields in ``body``, sets
``prev`` to the hash of the stream's previous envelope and signs with the
authority's private key. The stored state is the envelope's canonical bytes,
so the database holds exactly what is verified and replicated.

``to_domain_event`` parses those bytes back (checking canonical form, not the
signature: ``armsledger verify`` and ingest do that). A record signed before events
named their officer is read back with ``officer`` "" (the node operator); its bytes
are never rewritten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from threading import Lock
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate, DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from domain.signed_aggregate import SignedAggregate
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.errors import EncodingError, LedgerError
from ledger.keys import Ed25519PrivateKey

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_NOT_IN_BODY = ("originator_id", "originator_version", "timestamp", "occurred_on", "authority", "originator_topic")


def to_microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


def from_microseconds(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class EnvelopeMapper(Mapper[UUID]):
    """Requires every event class to have an explicit ``TOPIC`` (its envelope ``type``).

    ``load_prev(stream, version)`` returns the hash of a stored envelope; it is
    used only when the hash is not cached (every aggregate read fills the cache).
    """

    CACHE_SIZE = 100_000

    def __init__(
        self,
        node: str,
        private_keys: dict[str, Ed25519PrivateKey],
        load_prev: Callable[[UUID, int], bytes],
    ):
        super().__init__(transcoder=None)  # type: ignore[arg-type]  # envelopes are their own encoding
        self.node = node
        self.private_keys = private_keys
        self.load_prev = load_prev
        self._hashes: OrderedDict[tuple[UUID, int], bytes] = OrderedDict()
        self._lock = Lock()

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        fields: dict[str, Any] = vars(domain_event)
        stream: UUID = fields["originator_id"]
        version: int = fields["originator_version"]
        authority: str = fields["authority"]
        try:
            key = self.private_keys[authority]
        except KeyError:
            raise PermissionError(f"no private key for authority {authority}: the node is locked") from None
        envelope = seal(
            key,
            node=self.node,
            stream=str(stream),
            version=version,
            type=type(domain_event).TOPIC,  # type: ignore[attr-defined]
            occurred_on=fields["occurred_on"],
            recorded_at=to_microseconds(fields["timestamp"]),
            authority=authority,
            prev=self._prev(stream, version),
            body={k: v for k, v in fields.items() if k not in _NOT_IN_BODY},
        )
        self._remember(stream, version, envelope.hash)
        return StoredEvent(originator_id=stream, originator_version=version, topic=envelope.type,
                           state=envelope.to_bytes())

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The event of a stored row; ``EncodingError`` naming the row when it holds no readable envelope
        of a known type (a damaged or edited row: ``armsledger verify`` names them all)."""
        row = f"stored record {stored_event.originator_id} version {stored_event.originator_version}"
        try:
            envelope = Envelope.from_bytes(stored_event.state)
            stream = UUID(envelope.stream)
        except (LedgerError, TypeError, ValueError) as e:
            raise EncodingError(f"{row}: {e}") from None
        self._remember(stream, envelope.version, envelope.hash)
        try:
            return domain_event_from(envelope)
        except TopicError:
            raise EncodingError(f"{row}: type {envelope.type!r} is not a type of record") from None

    def _prev(self, stream: UUID, version: int) -> bytes:
        if version == 1:
            return GENESIS_PREV
        with self._lock:
            cached = self._hashes.get((stream, version - 1))
        return cached if cached is not None else self.load_prev(stream, version - 1)

    def _remember(self, stream: UUID, version: int, digest: bytes) -> None:
        # Stored envelopes never change, so (stream, version) -> hash is safe to
        # cache; a failed write (version conflict) is overwritten by the reread
        # that every command does before it writes again.
        with self._lock:
            self._hashes[(stream, version)] = digest
            self._hashes.move_to_end((stream, version))
            while len(self._hashes) > self.CACHE_SIZE:
                self._hashes.popitem(last=False)


def domain_event_from(envelope: Envelope) -> CanMutateAggregate[UUID]:
    """The domain event an envelope carries (``type`` must be a registered topic)."""
    cls = resolve_topic(envelope.type)
    state: dict[str, Any] = dict(envelope.body)
    state["originator_id"] = UUID(envelope.stream)
    state["originator_version"] = envelope.version
    state["timestamp"] = from_microseconds(envelope.recorded_at)
    state["occurred_on"] = envelope.occurred_on
    state["authority"] = envelope.authority
    if issubclass(cls, SignedAggregate.Event):
        state.setdefault("officer", "")  # signed before records named their officer
    if "originator_topic" in getattr(cls, "__dataclass_fields__", {}) or hasattr(cls, "originator_topic"):
        aggregate_topic = envelope.type.split(".", 1)[0]
        state["originator_topic"] = get_topic(resolve_topic(aggregate_topic))
    event: CanMutateAggregate[UUID] = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event
