"""The relay: publishes this node's records to its partners' inbox topics.

The notification log is the outbox (DESIGN.md, "Federation over Kafka"). Each pass:

1. seals (``node.sealer.seal()``), so every record it publishes is covered by a
   signed checkpoint;
2. for each trusted partner, publishes every own checkpoint that partner has not
   been sent yet, in size order, each with the RFC 9162 consistency proof from the
   checkpoint before it (``previous_size``; 0 and no proof for the first). A partner
   therefore keeps the node's whole sequence of checkpoints and can demand that each
   extends the one before (section 2.1.4);
3. then the records that the sharing policy (``nodes.sharing``) gives that partner,
   in log order, each with its inclusion proof against the newest checkpoint. Log
   order puts the authority certificates (the first records of every log) before
   any record they certify.

Positions, per partner, are tracking rows in the inbox's recorder (the node's own
database, never Kafka), named after the partner's inbox topic *and its identity*:

``relay:NL@<topic id>``             last notification id of our log considered for NL
``relay-checkpoint:NL@<topic id>``  size of the last checkpoint sent to NL

They advance only after the broker acknowledged the messages (at-least-once; ingest
drops duplicates). A broker that lost its memory re-creates the topic with a new
identity (``TransportReset``): positions under the new name start at 0, so the relay
re-publishes everything from scratch, checkpoints included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.checkpoint import Checkpoint
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from nodes.errors import TransportReset
from nodes.sharing import SharingContext, SharingRules, recipients
from nodes.trust import TrustStore
from nodes.wire import CheckpointMessage, RecordMessage, encode_message

log = logging.getLogger(__name__)

#: Notifications read from the log, and messages published, per step.
PAGE = 2000
_RESET_ATTEMPTS = 3


def records_position(state: str, topic_id: str | None) -> str:
    return f"relay:{state}@{topic_id or ''}"


def checkpoints_position(state: str, topic_id: str | None) -> str:
    return f"relay-checkpoint:{state}@{topic_id or ''}"


@dataclass
class RelayReport:
    """What one pass published: record and checkpoint messages, per partner, and resets seen."""

    records: int = 0
    checkpoints: int = 0
    resets: int = 0
    by_partner: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.records or self.checkpoints)


class Relay:
    """Publishes ``node``'s log to its trusted partners through ``transport``.

    Requires an unlocked node (sealing signs). ``inbox`` holds the positions. Not
    thread-safe; several relays of one node (``sync`` while ``node run`` runs) only
    publish some messages twice, which ingest ignores.
    """

    def __init__(self, node: Any, transport: Any, inbox: Any):
        self.node = node
        self.transport = transport
        self.inbox = inbox
        self._topic_ids: dict[str, str | None] = {}
        self._checkpoints: list[Checkpoint] = []

    # --- one pass --------------------------------------------------------------------------

    def relay(self) -> RelayReport:
        """Publish what each trusted partner has not been sent yet. Returns what was published.

        Raises ``TransportError`` when the broker fails (positions stay where the broker
        last acknowledged), ``StorageError`` when the database does.
        """
        report = RelayReport()
        partners = sorted(TrustStore(self.node.settings.home).partners())
        if not partners:
            return report
        self.node.sealer.seal()
        checkpoints = self.own_checkpoints()
        if not checkpoints:
            return report
        self._ensure_topics(partners)
        context = SharingContext(
            own_state=self.node.identity.state,
            partners=frozenset(partners),
            own_records=self.node.registry.envelopes,
            rules=SharingRules.load(self.node.settings.home),
        )
        for state in partners:
            for attempt in range(_RESET_ATTEMPTS):
                try:
                    self._relay_to(state, checkpoints, context, report)
                    break
                except TransportReset as reset:
                    # The broker lost the topic: positions under its new identity start at 0.
                    report.resets += 1
                    log.warning("relay to %s: %s; re-publishing from the start", state, reset)
                    self._topic_ids.pop(state, None)
                    self._ensure_topics([state])
                    if attempt == _RESET_ATTEMPTS - 1:
                        raise
        return report

    def send(self, state: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Publish ``items`` (key, value) to ``state``'s inbox (no position: e.g. cosignatures)."""
        for attempt in range(_RESET_ATTEMPTS):
            self._ensure_topics([state])
            try:
                self.transport.publish(self.transport.inbox_topic(state), items,
                                       expected_topic_id=self._topic_ids.get(state))
                return
            except TransportReset:
                self._topic_ids.pop(state, None)
                if attempt == _RESET_ATTEMPTS - 1:
                    raise

    def own_checkpoints(self) -> list[Checkpoint]:
        """This node's checkpoints, smallest first (cached; re-read when a newer one exists)."""
        latest = self.node.sealer.latest_checkpoint()
        if latest is None:
            return []
        if not self._checkpoints or self._checkpoints[-1].size != latest.size:
            self._checkpoints = self.node.sealer.checkpoints()
        return self._checkpoints

    # --- internals -------------------------------------------------------------------------

    def _ensure_topics(self, states: list[str]) -> None:
        missing = [s for s in states if self._topic_ids.get(s) is None]
        if missing:
            ids = self.transport.ensure_topics(missing)
            for state in missing:
                self._topic_ids[state] = ids.get(self.transport.inbox_topic(state))

    def _relay_to(self, state: str, checkpoints: list[Checkpoint], context: SharingContext,
                  report: RelayReport) -> None:
        topic = self.transport.inbox_topic(state)
        topic_id = self._topic_ids.get(state)
        records_name = records_position(state, topic_id)
        checkpoints_name = checkpoints_position(state, topic_id)
        newest = checkpoints[-1]

        items = self._checkpoint_items(checkpoints, self.inbox.position(checkpoints_name))
        published_checkpoints = len(items)
        position = self.inbox.position(records_name)
        origin = self.node.identity.state
        sealer = self.node.sealer
        while True:
            notifications = self.node.registry.recorder.select_notifications(start=position + 1, limit=PAGE)
            # Only records the newest checkpoint covers: a record logged after sealing
            # waits for the next pass (and the next checkpoint).
            covered = []
            if notifications:
                first_index = sealer.leaf_index(notifications[0].id)
                # Every notification is a leaf, in log order: indexes are consecutive.
                covered = [(first_index + i, n) for i, n in enumerate(notifications)
                           if first_index + i < newest.size]
            for index, notification in covered:
                envelope = _envelope(notification)
                if envelope is None or state not in recipients(envelope, context):
                    continue
                message = RecordMessage(origin=origin, envelope=bytes(notification.state),
                                        checkpoint_size=newest.size, index=index,
                                        proof=tuple(sealer.inclusion_proof(index, newest.size)))
                items.append((envelope.stream.encode(), encode_message(message)))
            last_covered = covered[-1][1].id if covered else position
            if items:
                self.transport.publish(topic, items, expected_topic_id=topic_id)
                sent = len(items) - published_checkpoints
                report.records += sent
                report.checkpoints += published_checkpoints
                report.by_partner[state] = report.by_partner.get(state, 0) + len(items)
            if published_checkpoints:
                self.inbox.advance(checkpoints_name, newest.size)
                published_checkpoints = 0
            if last_covered > position:
                self.inbox.advance(records_name, last_covered)
                position = last_covered
            items = []
            if len(covered) < PAGE:
                return

    def _checkpoint_items(self, checkpoints: list[Checkpoint], sent_size: int) -> list[tuple[bytes, bytes]]:
        origin = self.node.identity.state
        items = []
        previous: Checkpoint | None = None
        for checkpoint in checkpoints:
            if checkpoint.size > sent_size:
                proof: tuple[bytes, ...] = ()
                if previous is not None:
                    proof = tuple(self.node.sealer.consistency_proof(previous.size, checkpoint.size))
                message = CheckpointMessage(origin=origin, checkpoint=checkpoint.to_bytes(),
                                            previous_size=previous.size if previous else 0, consistency=proof)
                items.append((origin.encode(), encode_message(message)))
            previous = checkpoint
        return items


def _envelope(notification: Any) -> Envelope | None:
    try:
        return Envelope.from_bytes(notification.state)
    except LedgerError as e:
        # The sealer refuses to seal such a log, so this is not reached in practice.
        log.error("relay: record at position %s is unreadable (%s); not published", notification.id, e)
        return None

