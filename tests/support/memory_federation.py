"""In-memory stand-in for the federation, for unit tests of tracing, cross-border flows and reactions.

``MemoryInbox`` implements the inbox port (``nodes.ports.Inbox``); ``MemoryFederation``
creates real nodes (real registry, keys, sealer, SQLite or PostgreSQL), makes them trust
each other, and carries records between them under the sharing policy the relay applies
(``nodes.federation.sharing``), then runs ``nodes.federation.reactions.react`` on the
receiver, as sync does.
Unit tests only: the end-to-end tests (test_trace_e2e.py) use the real inbox, relay and broker.
"""

from __future__ import annotations

import collections
import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from cheap_kek import KEK_ENVIRON
from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.popo import POPOProcessRecorder

from ledger.checkpoint import Checkpoint
from ledger.envelope import Envelope
from nodes.bootstrap import Node, init_node
from nodes.federation.inbox_proofs import KeptProof
from nodes.federation.inbox_records import (
    COSIGNATURE,
    GOSSIPED,
    INTERNAL_PREFIX,
    QUARANTINE_RESOLVED,
    QUARANTINED,
    Cosignature,
    GossipedCheckpoint,
    InboxBatch,
    ParkedEntry,
    checkpoints_stream_id,
    received_stream_id,
    unresolved,
)
from nodes.federation.reactions import Reaction, react as react_to
from nodes.federation.sharing import SharingContext, SharingRules, recipients
from nodes.federation.trust import TrustStore, trust_each_other
from nodes.registry.paging import notifications, received
from nodes.settings import Settings, TraceSettings


class MemoryInbox:
    """The inbox port (``nodes.ports.Inbox``) in memory.

    Stores what ``nodes.federation.inbox.Inbox`` stores (``InboxBatch.stored_events``) in
    eventsourcing's in-memory recorder, so duplicates and stale positions are refused
    alike; tests/nodes/federation/test_inbox_contract.py holds both to the port.
    """

    def __init__(self) -> None:
        self.recorder = POPOProcessRecorder()
        self.proofs: dict[tuple[str, str, int], KeptProof] = {}

    # --- the port ---------------------------------------------------------------------------

    def record(self, batch: InboxBatch, tracking: Tracking | None = None) -> bool:
        stored = batch.stored_events()
        if not stored and tracking is None:
            return True
        adding = collections.Counter(s.originator_id for s in stored)
        if any(len(self.recorder.select_events(stream)) + adding[stream] != count
               for stream, count in batch.chains.items()):
            return False
        try:
            self.recorder.insert_events(stored, tracking=tracking)
        except IntegrityError:
            return False
        for proof in batch.proofs:
            self.proofs.setdefault((proof.origin, proof.stream, proof.version), proof)
        return True

    def kept_proofs(self, *, node: str, stream: str) -> dict[int, KeptProof]:
        return {version: proof for (origin, kept, version), proof in self.proofs.items()
                if origin == node and kept == stream}

    def received(self, *, node: str, stream: str) -> list[Envelope]:
        stored = self.recorder.select_events(received_stream_id(node, stream))
        return [Envelope.from_bytes(s.state) for s in sorted(stored, key=lambda s: s.originator_version)]

    def received_about(self, stream: str, nodes: Iterable[str]) -> list[Envelope]:
        return [e for n in nodes for e in self.received(node=n, stream=stream)]

    def received_notifications(self, start: int, limit: int) -> list[tuple[int, Envelope]]:
        envelopes = ((n.id, Envelope.from_bytes(n.state)) for n in notifications(self.recorder, start=start)
                     if not n.topic.startswith(INTERNAL_PREFIX))
        return list(itertools.islice(envelopes, limit))

    def partner_checkpoints(self, node: str) -> list[Checkpoint]:
        stored = self.recorder.select_events(checkpoints_stream_id(node))
        return sorted((Checkpoint.from_bytes(s.state) for s in stored), key=lambda c: c.size)

    def partner_checkpoints_at(self, node: str, sizes: Iterable[int]) -> dict[int, Checkpoint]:
        asked = set(sizes)
        return {c.size: c for c in self.partner_checkpoints(node) if c.size in asked}

    def newest_partner_checkpoint(self, node: str) -> Checkpoint | None:
        kept = self.partner_checkpoints(node)
        return kept[-1] if kept else None

    def newest_partner_checkpoints(self, after: Mapping[str, int]) -> tuple[int, dict[str, Checkpoint]]:
        streams = {checkpoints_stream_id(node): node for node in after}
        newest: dict[str, Notification] = {}
        for n in notifications(self.recorder):
            node = streams.get(n.originator_id)
            if node is not None and (node not in newest or n.originator_version > newest[node].originator_version):
                newest[node] = n
        return self.max_notification_id(), {node: Checkpoint.from_bytes(n.state) for node, n in newest.items()
                                             if n.id > after[node]}

    def quarantined(self, *, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        entries = [p.summary() for p in self.parked() if p.notification_id > after]
        return entries if limit is None else entries[:limit]

    def alarm_count(self) -> int:
        return len(self.alarms())

    def alarms(self) -> list[ParkedEntry]:
        return [p for p in self.parked() if p.entry.kind == "alarm"]

    def expire_quarantine(self, max_entries: int, max_bytes: int) -> int:
        # The in-memory recorder numbers rows by their place in a list and cannot delete one:
        # this stand-in keeps every entry (unit tests hold few); the real inbox expires them.
        return 0

    def parked(self, reasons: Iterable[str] | None = None) -> list[ParkedEntry]:
        return unresolved(notifications(self.recorder, topics=(QUARANTINED, QUARANTINE_RESOLVED)), reasons)

    def held(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[int, bytes]]:
        return {(node, stream): {s.originator_version: s.state
                                 for s in self.recorder.select_events(received_stream_id(node, stream))}
                for node, stream in keys}

    def existing(self, originator_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return {i for i in originator_ids if self.recorder.select_events(i, limit=1)}

    def cosignatures(self) -> list[Cosignature]:
        return [Cosignature.from_bytes(n.state) for n in notifications(self.recorder, topics=(COSIGNATURE,))]

    def gossiped(self) -> list[GossipedCheckpoint]:
        return [GossipedCheckpoint.from_bytes(n.state) for n in notifications(self.recorder, topics=(GOSSIPED,))]

    def stored_rows(self) -> Iterator[Notification]:
        return notifications(self.recorder)

    def max_notification_id(self) -> int:
        return self.recorder.max_notification_id() or 0

    def newest_recorded(self) -> int:
        return self.max_notification_id()

    def position(self, name: str) -> int:
        return self.recorder.max_tracking_id(name) or 0

    def positions(self, prefix: str) -> dict[str, int]:
        return {name: position for name, position in self.recorder._max_tracking_ids.items()  # noqa: SLF001
                if name.startswith(prefix) and position}

    def advance(self, name: str, position: int) -> None:
        if position > self.position(name):
            self.recorder.insert_tracking(Tracking(application_name=name, notification_id=position))

    def advance_all(self, positions: Mapping[str, int]) -> None:
        for name, position in positions.items():
            self.advance(name, position)

    def close(self) -> None:
        pass

    # --- what the memory federation delivers with ---------------------------------------------

    def accept(self, envelopes: Iterable[Envelope]) -> list[Envelope]:
        """Record the envelopes not held yet; return those (what ingest would report as accepted)."""
        new: dict[tuple[str, str, int], Envelope] = {}
        for envelope in envelopes:
            key = (envelope.node, envelope.stream, envelope.version)
            held = {e.version for e in self.received(node=envelope.node, stream=envelope.stream)}
            if key not in new and envelope.version not in held:
                new[key] = envelope
        assert self.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in new.values()]))
        return list(new.values())

    def keep(self, checkpoint: Checkpoint) -> None:
        """Keep a partner checkpoint of a size not kept yet."""
        kept = self.partner_checkpoints(checkpoint.origin)
        if all(c.size != checkpoint.size for c in kept):
            assert self.record(InboxBatch(checkpoints=[(checkpoint, len(kept) + 1)]))

    @property
    def envelopes(self) -> list[Envelope]:
        """Every accepted envelope, in arrival order."""
        return [e for _, e in received(self)]


class MemoryFederation:
    """Real nodes that trust each other, with in-memory inboxes and delivery."""

    def __init__(self, root: Path, db_url_for, states: Iterable[str], *,
                 settings: TraceSettings | None = None):
        self.nodes: dict[str, Node] = {}
        self.settings = settings or TraceSettings()
        self.reactions: list[Reaction] = []
        for state in states:
            settings = Settings.load(environ=KEK_ENVIRON, home=root / state, db=db_url_for(state), passphrase="pw")
            node = init_node(settings, state)
            node.inbox = MemoryInbox()
            self.nodes[state] = node
        trust_each_other(self.nodes.values())

    def __getitem__(self, state: str) -> Node:
        return self.nodes[state]

    def deliver(self, source: str, target: str, *, react: bool = True) -> list[Envelope]:
        """Carry ``source``'s records meant for ``target`` (and its checkpoints) and react there
        (``react`` False: only receive, as a node whose officers take every step by hand)."""
        sender, receiver = self.nodes[source], self.nodes[target]
        sender.sealer.seal()
        for checkpoint in sender.sealer.checkpoints():
            receiver.inbox.keep(checkpoint)
        context = SharingContext(
            own_state=source,
            partners=frozenset(TrustStore(sender.settings.home).partners()),
            own_records=sender.registry.envelopes,
            rules=SharingRules.load(sender.settings.home),
        )
        envelopes = (Envelope.from_bytes(stored.state) for _, stored in sender.registry.stored_notifications())
        wanted = [envelope for envelope in envelopes if target in recipients(envelope, context)]
        accepted = receiver.inbox.accept(wanted)
        if accepted and react:
            self.reactions.append(react_to(receiver, accepted, settings=self.settings))
        return accepted

    def sync(self, rounds: int = 8) -> None:
        """Deliver between every pair until nothing new moves (like repeated sync passes)."""
        for _ in range(rounds):
            moved = False
            for source in self.nodes:
                for target in self.nodes:
                    if source != target and self.deliver(source, target):
                        moved = True
            if not moved:
                return
        raise AssertionError("records still moving after the rounds allowed")

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
