"""The ports of a node: what each collaborator must offer, as ``typing.Protocol``s.

Each port has a real adapter and, for unit tests, an in-memory stand-in; one contract
test per port holds both to it (tests/nodes/federation/test_*_contract.py). The values
a port exchanges (``Record``, ``Batch``, ``Delivery``) are defined here with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification, Tracking

    from ledger.checkpoint import Checkpoint
    from ledger.envelope import Envelope
    from nodes.accounts.officer import Officer
    from nodes.errors import TransportReset
    from nodes.federation.inbox_proofs import KeptProof
    from nodes.federation.inbox_records import Cosignature, GossipedCheckpoint, InboxBatch, ParkedEntry
    from nodes.registry.application import Registry
    from nodes.registry.identity import NodeIdentity
    from nodes.registry.sealer import Sealer
    from nodes.settings import Settings
    from projections.views import Views


# --- the transport between nodes -------------------------------------------------------


class Record(NamedTuple):
    """One message read from a partition."""

    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Batch:
    """What ``Transport.read`` returns: records in offset order, and the identity they belong to.

    ``topic_id`` is the identity of the topic the records came from (store it with the
    position: a later read given it detects a re-created topic); ``end_offset`` is the
    partition's end as last reported (None if not known yet).
    Iterates as ``(offset, key, value)`` tuples.
    """

    records: tuple[Record, ...]
    topic_id: str | None
    end_offset: int | None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Record:
        return self.records[index]

    @property
    def next_offset(self) -> int | None:
        """The offset to read from next, or None if the batch is empty."""
        return self.records[-1].offset + 1 if self.records else None


@dataclass(frozen=True)
class Delivery:
    """What ``Transport.publish`` returns: the offsets acknowledged, in input order,
    and the identity of the topic they were written to."""

    offsets: tuple[int, ...]
    topic_id: str | None


class Transport(Protocol):
    """One inbox topic per state, append-only, read from an offset the caller keeps.

    Real adapter: ``nodes.federation.kafka_transport.KafkaTransport``. A topic has an
    identity; when the broker lost it (re-created, gone, shorter than a position),
    ``publish`` and ``read`` raise ``TransportReset`` so the caller re-syncs from its
    own log. Other failures raise ``TransportError``.
    """

    def inbox_topic(self, state: str) -> str:
        """The inbox topic of ``state``; ``ConfigurationError`` if it cannot name a topic."""
        ...

    def ensure_topics(self, states: Iterable[str]) -> dict[str, str | None]:
        """Create the inbox topics of ``states`` that are missing; return each topic's identity."""
        ...

    def publish(self, topic: str, items: Sequence[tuple[bytes, bytes]], *, partition: int = 0,
                expected_topic_id: str | None = None) -> Delivery:
        """Append ``(key, value)`` items in order; requires the topic to exist."""
        ...

    def publish_many(self, batches: Mapping[str, Sequence[tuple[bytes, bytes]]], *,
                     expected_topic_ids: Mapping[str, str | None] | None = None,
                     ) -> dict[str, Delivery | TransportReset]:
        """``publish`` to several topics, acknowledged together: per topic its ``Delivery``, or the
        ``TransportReset`` that ``publish`` would raise for it (the others are written all the same)."""
        ...

    def read(self, topic: str, from_offset: int, max_records: int = 500, timeout_s: float = 1.0, *,
             partition: int = 0, expected_topic_id: str | None = None) -> Batch:
        """Up to ``max_records`` records from ``from_offset`` (>= 0), waiting at most ``timeout_s``."""
        ...

    def end_offset(self, topic: str, *, partition: int = 0, beyond: int | None = None) -> int:
        """The offset the next record will get (0 if the topic is empty or missing); with ``beyond`` (a
        position), any offset in ``(beyond, end]`` when the end is beyond it."""
        ...

    def close(self) -> None:
        """Release connections; the transport may be used again."""
        ...

    def twin(self) -> Transport:
        """A transport to the same broker with the same settings and clients of its own, for another thread (a
        transport serves one thread at a time). Closed apart."""
        ...


# --- the inbox: what partners sent us --------------------------------------------------


class ReceivedRecords(Protocol):
    """Partner records this node accepted, as tracing and cross-border flows read them."""

    def received(self, *, node: str, stream: str) -> list[Envelope]:
        """Accepted envelopes of partner ``node``'s ``stream``, in version order."""
        ...

    def received_about(self, stream: str, nodes: Iterable[str]) -> list[Envelope]:
        """Accepted envelopes of ``stream`` from each of ``nodes``, node by node, each in version order."""
        ...

    def received_notifications(self, start: int, limit: int) -> list[tuple[int, Envelope]]:
        """Up to ``limit`` accepted envelopes with position >= ``start``, in arrival order.

        Positions have gaps; resume from the last one returned + 1. Fewer than ``limit``
        means nothing more is there now.
        """
        ...

    def partner_checkpoints(self, node: str) -> list[Checkpoint]:
        """Every checkpoint kept from partner ``node``, smallest size first."""
        ...

    def partner_checkpoints_at(self, node: str, sizes: Iterable[int]) -> dict[int, Checkpoint]:
        """The checkpoints kept from partner ``node`` at ``sizes``, by size, without reading the others."""
        ...


class Inbox(ReceivedRecords, Protocol):
    """The inbox: received records, kept checkpoints, quarantine and tracked positions.

    Real adapter: ``nodes.federation.inbox.Inbox`` (SQLite or PostgreSQL).
    """

    def record(self, batch: InboxBatch, tracking: Tracking | None = None) -> bool:
        """Write ``batch`` and ``tracking`` in one transaction; False, writing nothing, if one of
        its records is held already, ``tracking`` is not beyond the tracked position, or a stream of
        ``batch.chains`` would hold another number of versions than it says."""
        ...

    def quarantined(self, *, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Refused messages still in quarantine, in arrival order: the first ``limit`` (all if None)
        with an id above ``after``."""
        ...

    def alarm_count(self) -> int:
        """How many unresolved quarantine entries are alarms (without reading the others)."""
        ...

    def alarms(self) -> list[ParkedEntry]:
        """The unresolved quarantine entries that are alarms, in arrival order (without reading the others)."""
        ...

    def expire_quarantine(self, max_entries: int, max_bytes: int) -> int:
        """Delete the oldest quarantine entries but alarms until at most ``max_entries`` of ``max_bytes``
        in all are stored; returns how many expired."""
        ...

    def parked(self, reasons: Iterable[str] | None = None) -> list[ParkedEntry]:
        """Unresolved quarantine entries of ``reasons`` (all if None), with their message bytes, in arrival order."""
        ...

    def held(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[int, bytes]]:
        """For each (node, stream) of ``keys``: the versions accepted so far and their bytes as received."""
        ...

    def existing(self, originator_ids: Iterable[UUID]) -> set[UUID]:
        """Which of ``originator_ids`` (quarantine entry, cosignature or stream ids) are stored."""
        ...

    def cosignatures(self) -> list[Cosignature]:
        """Every cosignature partners sent for our checkpoints, in arrival order."""
        ...

    def kept_proofs(self, *, node: str, stream: str) -> dict[int, KeptProof]:
        """The inclusion proofs partner ``node``'s ``stream`` was accepted with, by version (none for
        records received before proofs were kept)."""
        ...

    def newest_partner_checkpoint(self, node: str) -> Checkpoint | None:
        """The checkpoint of the largest size kept from partner ``node``, or None."""
        ...

    def newest_partner_checkpoints(self, after: Mapping[str, int]) -> tuple[int, dict[str, Checkpoint]]:
        """For each partner of ``after``, the checkpoint of the largest size kept from it, if kept in a row
        after row ``after[partner]`` (0: any); and the newest row's id, as of the same read (one query)."""
        ...

    def gossiped(self) -> list[GossipedCheckpoint]:
        """Every third state's checkpoint kept as a partner's claim (gossip), in arrival order."""
        ...

    def stored_rows(self) -> Iterator[Notification]:
        """Every row, bookkeeping included, in arrival order: what ``armsledger verify`` audits."""
        ...

    def max_notification_id(self) -> int:
        """The position of the last thing recorded (0 if none)."""
        ...

    def newest_recorded(self) -> int:
        """A position at or after the last thing ``record`` wrote in this process (read when it cannot say)."""
        ...

    def position(self, name: str) -> int:
        """The tracked position ``name`` (0 if never tracked)."""
        ...

    def positions(self, prefix: str) -> dict[str, int]:
        """Every tracked position whose name starts with ``prefix``: name -> position."""
        ...

    def advance(self, name: str, position: int) -> None:
        """Track ``position`` for ``name`` unless it is there already or beyond."""
        ...

    def advance_all(self, positions: Mapping[str, int]) -> None:
        """``advance`` each name of ``positions`` to its position, in one commit."""
        ...

    def close(self) -> None:
        """Release the database connections."""
        ...


# --- the node's own log ----------------------------------------------------------------


class NotificationLog(Protocol):
    """A log in notification order: an eventsourcing ``ApplicationRecorder``.

    ``select_notifications`` returns up to ``limit`` notifications with id >= ``start``
    (ids may have gaps) of the given ``topics`` (all when empty).
    """

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        ...

    def max_notification_id(self) -> int | None:
        ...


# --- the node --------------------------------------------------------------------------


class Node(Protocol):
    """A national node as the federation and tracing services use it.

    Real implementation: ``nodes.bootstrap.Node``; unit tests give it an in-memory inbox.
    """

    @property
    def settings(self) -> Settings: ...

    @property
    def identity(self) -> NodeIdentity: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def sealer(self) -> Sealer: ...

    @property
    def views(self) -> Views: ...


# --- officers' accounts, as the HTTP service sees them ---------------------------------


class OfficerDirectory(Protocol):
    """Who a request's credentials stand for (``nodes.accounts`` is the real adapter).

    Each method raises ``nodes.accounts.officer.NotSignedIn`` for credentials that are
    unknown, expired, revoked, or belong to a disabled account.
    """

    def officer_for_token(self, token: str) -> Officer:
        """The officer of an API bearer token."""
        ...

    def officer_for_session(self, session_id: str) -> tuple[Officer, str]:
        """The officer of a browser session and the session's CSRF token; refreshes its idle timer."""
        ...
