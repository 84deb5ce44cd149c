"""The relay: publishes this node's records to its partners' inbox topics.

The notification log is the outbox. Each pass seals, then sends each trusted
partner the checkpoints it has not been sent (each with its consistency proof
from the one before) and the records the sharing policy gives it, in log order,
each with its inclusion proof; records are routed by their signed envelope. The
position per partner is a tracking row in the node's own database, advanced
only after the broker acknowledged (at-least-once). A pass with nothing new to
send does nothing (``_idle``). docs/federation.md ("Relay") tells the protocol,
including what happens when the broker loses its topics.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.checkpoint import Checkpoint
from ledger.envelope import Envelope
from ledger.errors import KeyStoreError, LedgerError
from ledger.keys import Ed25519PrivateKey
from ledger.signed_proof import sign_proof
from nodes.errors import TransportReset
from nodes.federation.gossip import Gossip
from nodes.federation.sharing import SharingContext, SharingFile, recipients, recipients_by_type
from nodes.federation.trust import TrustStore
from nodes.federation.wire import CheckpointMessage, encode_message, encode_record
from nodes.registry.identity import earlier_node_key
from nodes.registry.paging import paged
from nodes.registry.sealer import ReadAfter
from projections.batch import cyclic_gc_paused

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from nodes.ports import Inbox, Node, Transport

log = logging.getLogger(__name__)

#: Notifications read from the log, and messages published, per step.
PAGE = 2000
#: A pass's first step reads and publishes this many, each next step twice as many, up to ``PAGE``: a partner
#: starts verifying a backlog after this many records are proved and sent, not ``PAGE`` (docs/benchmarks.md).
FIRST_PAGE = 250
#: Records after the newest passed that the look for new ones (``_idle``) reads at most: when there are no more,
#: the seal and the pass take them as read, instead of reading them twice again.
READ_AHEAD = 64
_RESET_ATTEMPTS = 3
#: Checkpoint messages kept once made (the newest): each partner sent a checkpoint gets the same bytes.
CHECKPOINT_MESSAGES_KEPT = 64


#: The start of every relay position's name: ``relay:{partner}@{its inbox topic's identity}``.
RELAY_POSITIONS = "relay:"


def records_position(state: str, topic_id: str | None) -> str:
    return f"{RELAY_POSITIONS}{state}@{topic_id or ''}"


def reached_by_partner(positions: Mapping[str, int]) -> dict[str, int]:
    """Per partner, the furthest log position the relay has passed for it, from the relay's positions
    (``Inbox.positions(RELAY_POSITIONS)``): the furthest over the identities its inbox topic had. After the
    topic is re-created, its new identity's position starts again while the old one stays: the re-sending
    does not show here."""
    reached: dict[str, int] = {}
    for name, position in positions.items():
        state = name[len(RELAY_POSITIONS):].partition("@")[0]
        reached[state] = max(position, reached.get(state, 0))
    return reached


@dataclass
class RelayReport:
    """What one pass published: record and checkpoint messages, per partner, resets seen, and
    rows whose topic column is not their envelope's type (each logged as an error)."""

    records: int = 0
    checkpoints: int = 0
    resets: int = 0
    misfiled: int = 0
    #: Positions sent to a partner where another record (or none) stands now (each logged as an error).
    alarms: int = 0
    by_partner: dict[str, int] = field(default_factory=dict)
    #: Checkpoints of third states gossiped to partners (``nodes.federation.gossip``).
    gossip: int = 0
    #: Whether the positions handed as ``save_along`` were saved in this pass's commit.
    saved_along: bool = False
    #: The log position this pass left every partner at, when it left them all at one (its newest record as the
    #: pass saw it); else None. A log whose newest record is there now has nothing more to relay.
    caught_up_to: int | None = None
    #: The pass found nothing new in the log: its one look at it (``_idle``) saw ``caught_up_to`` still the newest.
    idle: bool = False

    def __bool__(self) -> bool:
        return bool(self.records or self.checkpoints)


class Relay:
    """Publishes ``node``'s log to its trusted partners through ``transport``.

    Requires an unlocked node (sealing signs). ``inbox`` holds the positions. Not
    thread-safe; several relays of one node (``sync`` while ``node run`` runs) only
    publish some messages twice, which ingest ignores.
    """

    def __init__(self, node: Node, transport: Transport, inbox: Inbox):
        self.node = node
        self.transport = transport
        self.inbox = inbox
        self._topic_ids: dict[str, str | None] = {}
        self._checkpoints: list[Checkpoint] = []
        # Per partner position name: the last position passed, the hash of the record there and its bytes.
        self._passed: dict[str, tuple[int, bytes, bytes]] = {}
        self._seen: tuple[int, bytes] | None = None  # the record at a position and its bytes, read this pass
        self._read_after: ReadAfter | None = None  # every record after the newest passed, read this pass
        self._alarmed: set[tuple[str, int]] = set()
        self._earlier_keys: dict[str, Ed25519PrivateKey] = {}  # earlier node keys read from keys/old
        # Checkpoint messages made, by (previous size, checkpoint bytes): ``_checkpoint_message``.
        self._checkpoint_messages: dict[tuple[int, bytes], bytes] = {}
        self.gossip = Gossip(node.identity.state, inbox, self.send)
        self._gossip_due: dict[str, list[Checkpoint]] = {}  # this pass's, per partner, not sent yet
        # Per partner, the position this relay last saved (or read) under its topic's identity.
        self._reached: dict[str, int] = {}
        # After a pass that left every partner at the end of the log: what a pass with nothing to do sees
        # (``_idle``): the log's size, the partners and their topics' identities, the newest record's bytes.
        self._caught_up: tuple[int, tuple[str, ...], tuple[str | None, ...], bytes] | None = None
        # Per partner, messages without a position (cosignatures, witness answers) that go with its next publish.
        self._riders: dict[str, list[tuple[bytes, bytes]]] = {}
        self._save_along: dict[str, int] = {}
        # The trust store and the sharing rules, read again only when their files changed.
        self._trust = TrustStore(node.settings.home)
        self._sharing = SharingFile(node.settings.home)

    # --- one pass --------------------------------------------------------------------------

    def relay(self, *, save_along: Mapping[str, int] | None = None) -> RelayReport:
        """Publish what each trusted partner has not been sent yet. Returns what was published.

        The messages ``carry`` was given go with the pass's publish to their partner. ``save_along``:
        other positions (name -> position) saved in the same commit as the partners' positions, if the
        pass makes one (``RelayReport.saved_along``; positions never go back).

        Raises ``TransportError`` when the broker fails (positions stay where the broker
        last acknowledged), ``StorageError`` when the database does.
        """
        report = RelayReport()
        self._seen = None
        self._read_after = None
        self._save_along = dict(save_along or {})
        try:
            with cyclic_gc_paused():  # a pass's objects go by their reference counts (see ``Ingest._settle``)
                return self._pass(report)
        finally:
            report.saved_along = bool(save_along) and not self._save_along
            self._save_along = {}

    def carry(self, state: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Have ``items`` (key, value; no position) go to ``state`` with the next publish to it (``take_carried``
        gives those a pass did not take)."""
        self._riders.setdefault(state, []).extend(items)

    def take_carried(self) -> dict[str, list[tuple[bytes, bytes]]]:
        """The messages given to ``carry`` that no pass took yet, per partner; forgotten here."""
        riders, self._riders = self._riders, {}
        return riders

    def _pass(self, report: RelayReport) -> RelayReport:
        partners = sorted(self._trust.partners())
        if not partners:
            return report
        # The gossip due goes out with the first records and checkpoints, in the same publish.
        self._gossip_due = self.gossip.due(partners)
        if self._idle(partners):
            # Nothing to seal or prove: no seal, no positions read; the gossip due, if any, goes out with the
            # messages carried in one publish.
            report.caught_up_to = self._caught_up[0] if self._caught_up is not None else None
            report.idle = True
            return self._tell(partners, report)
        known = self._positions_known(partners)
        self._caught_up = None
        # Partners need the checkpoint, not the fsync of the mark; the records ``_idle`` read need no second read.
        self.node.sealer.seal(mark_later=True, read_after=self._read_after)
        checkpoints = self.own_checkpoints()
        if not checkpoints:
            return report
        self._ensure_topics(partners)
        context = SharingContext(
            own_state=self.node.identity.state,
            partners=frozenset(partners),
            own_records=self.node.registry.envelopes,
            rules=self._sharing.rules(),
        )
        reset = self._relay_by_key(partners, checkpoints, context, report, known)
        for attempt in range(_RESET_ATTEMPTS):
            if not reset:
                break
            # The broker lost those topics: positions under their new identities start
            # at 0, so everything is published again.
            report.resets += len(reset)
            for state in reset:
                self._topic_ids.pop(state, None)
            self._ensure_topics(reset)
            reset = self._relay_by_key(reset, checkpoints, context, report)
        if reset:
            raise TransportReset(f"relay: the inbox topics of {', '.join(reset)} keep being re-created",
                                 self.transport.inbox_topic(reset[0]), None)
        self._gossip_due = {}
        if report.resets:
            report.gossip += self.gossip.spread(partners)  # what a reset kept from going with the records
        self._note_caught_up(partners)
        report.caught_up_to = self._caught_up[0] if self._caught_up is not None else None
        return report

    def _tell(self, partners: list[str], report: RelayReport) -> RelayReport:
        """Publish to ``partners`` the gossip due with the messages carried for them, nothing of our log (a pass
        that found it ``_idle``); nothing at all when no gossip is due (what is carried stays for ``take_carried``).
        A topic found re-created is sent them again under its new identity, and the next pass, seeing another
        identity, publishes the log to it again."""
        due, self._gossip_due = self._gossip_due, {}
        if not due:
            return report
        batches = {state: [*self.gossip.messages(due.get(state, [])), *self._riders.pop(state, [])]
                   for state in partners}
        self.send_many(batches)
        for state, checkpoints in due.items():
            self.gossip.sent(state, checkpoints)
            report.gossip += len(checkpoints)
        return report

    def send(self, state: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Publish ``items`` (key, value) to ``state``'s inbox (no position: e.g. cosignatures)."""
        self.send_many({state: items})

    def send_many(self, batches: Mapping[str, Sequence[tuple[bytes, bytes]]]) -> None:
        """``send`` to several partners at once, with one wait for the broker's acknowledgements.

        A partner's topic found re-created is ensured and sent its items again, up to three times; then
        its ``TransportReset`` is raised. Raises ``TransportError`` when the broker fails (any part of the
        items may have been written).
        """
        pending = {state: items for state, items in batches.items() if items}
        for attempt in range(_RESET_ATTEMPTS):
            if not pending:
                return
            self._ensure_topics(list(pending))
            topics = {state: self.transport.inbox_topic(state) for state in pending}
            outcomes = self.transport.publish_many(
                {topics[state]: items for state, items in pending.items()},
                expected_topic_ids={topics[state]: self._topic_ids.get(state) for state in pending})
            resets = {state: outcome for state in pending
                      if isinstance(outcome := outcomes.get(topics[state]), TransportReset)}
            for state in resets:
                self._topic_ids.pop(state, None)
            if resets and attempt == _RESET_ATTEMPTS - 1:
                raise next(iter(resets.values()))
            pending = {state: pending[state] for state in resets}

    def own_checkpoints(self) -> list[Checkpoint]:
        """This node's checkpoints, smallest first (cached; only newer ones are read again, unless the sealer
        stored the one after the newest held just now: then it is taken as the sealer returned it)."""
        newest = self._checkpoints[-1].size if self._checkpoints else 0
        sealed = self.node.sealer.stored_after(newest)
        self._checkpoints += sealed if sealed is not None else self.node.sealer.checkpoints(after=newest)
        return self._checkpoints

    # --- internals -------------------------------------------------------------------------

    def _ensure_topics(self, states: list[str]) -> None:
        missing = [s for s in states if self._topic_ids.get(s) is None]
        if missing:
            ids = self.transport.ensure_topics(missing)
            for state in missing:
                self._topic_ids[state] = ids.get(self.transport.inbox_topic(state))

    def _relay_by_key(self, states: list[str], checkpoints: list[Checkpoint], context: SharingContext,
                      report: RelayReport, known: Mapping[str, int] | None = None) -> list[str]:
        """Publish the log to ``states`` one node key at a time; returns the states whose topic was reset.

        A partner that was sent part of the log gets first the rest of what the key of its next checkpoint
        signed, proved against that key's last checkpoint, then what the next key signed: so the
        ``Authority.NodeKeyChanged`` record reaches it proved under the key it trusts, and it learns the
        new key before the new key's checkpoints arrive (docs/federation.md, "Node key rotation").
        ``known``: positions of some of ``states`` that this relay saved last, not read again.
        """
        reset: list[str] = []
        ends: dict[str, int] = {}
        known = known or {}
        # Each partner's position read once: ``_relay_to`` moves it on as it saves it.
        positions = {s: known[s] if s in known else self.inbox.position(records_position(s, self._topic_ids.get(s)))
                     for s in states}
        while states:
            groups: dict[int, list[str]] = {}
            for state in states:
                end = _key_span_end(checkpoints, self._checkpoints_sent(positions[state]))
                if ends.get(state, 0) >= end:  # no progress (nothing routable moved it): the next pass goes on
                    continue
                ends[state] = end
                groups.setdefault(end, []).append(state)
            states = []
            for end, group in sorted(groups.items()):
                reset += self._relay_to(group, checkpoints[:end], context, report, positions)
                if end < len(checkpoints):
                    states += [s for s in group if s not in reset]
        self._reached.update((s, position) for s, position in positions.items() if s not in reset)
        return reset

    def _relay_to(self, states: list[str], checkpoints: list[Checkpoint], context: SharingContext,
                  report: RelayReport, positions: dict[str, int]) -> list[str]:
        """Publish the log to ``states``, page by page, from their ``positions`` (moved on as they are saved);
        returns the states whose topic was reset."""
        newest = checkpoints[-1]
        sealer = self.node.sealer
        origin = self.node.identity.state
        names = {s: records_position(s, self._topic_ids.get(s)) for s in states}
        standing: dict[int, tuple[Notification | None, Envelope | None]] = {}  # partners at one position: one read
        for state in states:
            self._check_passed(state, names[state], positions[state], report, standing)
        pending = {s: self._checkpoint_items(checkpoints, self._checkpoints_sent(positions[s])) for s in states}
        reset: list[str] = []
        pages = paged(lambda at, limit: self._covered(at, limit, newest.size), _position,
                      start=min(positions[s] for s in states) + 1, limit=PAGE, first=min(FIRST_PAGE, PAGE))
        # One more, empty, round: the checkpoints pending go even when no record is new.
        for covered in itertools.chain(pages, [()]):
            routed = [(index, notification, envelope, to)
                      for index, notification, envelope, to in self._route(covered, context, report)
                      if any(notification.id > positions[s] and s in to for s in states)]
            # Each record's message is built and encoded once, whoever it goes to.
            proofs = sealer.inclusion_proofs([index for index, _, _, _ in routed], newest.size)
            encoded = [
                # The key is the signed stream id, which ingest holds the key to.
                (envelope.stream.encode(),
                 encode_record(origin, bytes(notification.state), newest.size, index, proof))
                for (index, notification, envelope, _), proof in zip(routed, proofs)
            ]
            batches: dict[str, list[tuple[bytes, bytes]]] = {}
            checkpoints_in: dict[str, int] = {}
            gossip_in: dict[str, list[Checkpoint]] = {}
            riders_in: dict[str, list[tuple[bytes, bytes]]] = {}
            for state in states:
                if state in reset:
                    continue
                items = pending.pop(state, [])
                checkpoints_in[state] = len(items)
                items += [item for (_, notification, _, to), item in zip(routed, encoded)
                          if notification.id > positions[state] and state in to]
                gossip_in[state] = self._gossip_due.pop(state, [])
                items += self.gossip.messages(gossip_in[state])
                riders_in[state] = self._riders.pop(state, [])
                items += riders_in[state]
                if items:
                    batches[state] = items
            # All partners' messages in one publish: the broker's acknowledgements are waited for once.
            topics = {state: self.transport.inbox_topic(state) for state in batches}
            outcomes = self.transport.publish_many(
                {topics[state]: items for state, items in batches.items()},
                expected_topic_ids={topics[state]: self._topic_ids.get(state) for state in batches},
            ) if batches else {}
            advanced: dict[str, int] = {}
            for state in checkpoints_in:
                outcome = outcomes.get(topics[state]) if state in topics else None
                if isinstance(outcome, TransportReset):
                    log.warning("relay to %s: %s; publishing everything again", state, outcome)
                    reset.append(state)
                    self.carry(state, riders_in[state])  # they go with the publish under the new identity
                    continue
                items = batches.get(state, [])
                ours = len(items) - len(gossip_in[state]) - len(riders_in[state])  # checkpoints and records
                report.records += ours - checkpoints_in[state]
                report.checkpoints += checkpoints_in[state]
                report.gossip += len(gossip_in[state])
                self.gossip.sent(state, gossip_in[state])
                if ours:
                    report.by_partner[state] = report.by_partner.get(state, 0) + ours
                if covered and covered[-1][1].id > positions[state]:
                    last = covered[-1][1]
                    positions[state] = advanced[names[state]] = last.id
                    envelope = _envelope(last)
                    if envelope is not None:
                        self._passed[names[state]] = (last.id, envelope.hash, bytes(last.state))
            if advanced:
                advanced.update(self._save_along)  # saved in this commit rather than one of their own
                self._save_along = {}
            self.inbox.advance_all(advanced)  # every partner's position in one commit
        return reset

    def _note_caught_up(self, partners: list[str]) -> None:
        """After a whole pass: remember what the log looked like if it left every partner at one position."""
        reached = {self._reached.get(s) for s in partners}
        if len(reached) != 1 or None in reached:
            return
        position = reached.pop() or 0
        passed = [p for s in partners if (p := self._passed.get(records_position(s, self._topic_ids.get(s))))]
        # The bytes passed, as this pass read them, or else read now.
        newest = passed[0][2] if passed and passed[0][0] == position else self._row_bytes(position)
        if newest is not None:
            self._caught_up = (position, tuple(partners), tuple(self._topic_ids.get(s) for s in partners), newest)

    def _positions_known(self, partners: list[str]) -> dict[str, int]:
        """Each partner's position, when the last whole pass left every one of ``partners`` (the same, on topics of
        the same identity) at one position, which this relay saved or read: the pass after it need not read them
        again. Another relay of this node that moved them on meanwhile only makes this one send a few messages
        again, which ingest drops, and its commit never moves a position back (``Inbox.advance_all``)."""
        if self._caught_up is None:
            return {}
        position, names, topic_ids, _ = self._caught_up
        if names != tuple(partners) or topic_ids != tuple(self._topic_ids.get(s) for s in partners):
            return {}
        return dict.fromkeys(partners, position)

    def _idle(self, partners: list[str]) -> bool:
        """True when a pass would have nothing to do: the last whole pass left every one of ``partners`` (the
        same, on topics of the same identity) at the log's newest record, and that record is still the newest
        and holds the same bytes (one query). A record rewritten there, or a newer one, makes a whole pass,
        which raises the alarm or seals and publishes: the newer ones read (up to ``READ_AHEAD``: then all
        of them) are what its seal and its first page take (``_read_after``)."""
        if self._caught_up is None:
            return False
        position, names, topic_ids, newest = self._caught_up
        if names != tuple(partners) or topic_ids != tuple(self._topic_ids.get(s) for s in partners):
            return False
        # The record at the position, and one more than read ahead: no more than READ_AHEAD after it means all.
        rows = self.node.registry.recorder.select_notifications(start=max(position, 1), limit=READ_AHEAD + 2)
        if position == 0:
            standing: bytes | None = b""
        elif rows and rows[0].id == position:
            self._seen = (position, bytes(rows[0].state))
            standing, rows = self._seen[1], rows[1:]
        else:
            return False
        if standing != newest:
            return False
        if not rows:
            return True
        if len(rows) <= READ_AHEAD:  # every record after the newest passed
            self._read_after = ReadAfter(position, rows)
        return False

    def _row_bytes(self, position: int) -> bytes | None:
        """The bytes of the record at log ``position`` (b"" at 0, if the log is empty); None if another stands
        there, or none. What it read is noted for ``_check_passed``."""
        rows = self.node.registry.recorder.select_notifications(start=max(position, 1), limit=1)
        if position == 0:
            return b"" if not rows else None
        if not rows or rows[0].id != position:
            return None
        self._seen = (position, bytes(rows[0].state))
        return self._seen[1]

    def _check_passed(self, state: str, name: str, position: int, report: RelayReport,
                      standing_at: dict[int, tuple[Notification | None, Envelope | None]]) -> None:
        """Raise the alarm when the record at the position sent to ``state`` is not the one passed.

        A deleted newest record whose position was handed to the next one (a table made before
        positions were never reused), or a row rewritten in place: the partner would never be
        sent what stands there now. The expected hash is the one seen when the position was
        passed, else the sealer's leaf for that position (what was sealed is what was sent).
        ``standing_at``: the records read at positions so far in this pass; this one's is added.
        """
        if position == 0 or (state, position) in self._alarmed:
            return
        passed = self._passed.get(name)
        if passed is not None and passed[0] == position:
            if self._seen == (position, passed[2]):
                return  # read this pass, byte for byte the record passed
            expected: bytes | None = passed[1]
        else:
            expected = self._sealed_hash(position)
        if expected is None:
            return
        if position not in standing_at:
            rows = self.node.registry.recorder.select_notifications(start=position, limit=1)
            row = rows[0] if rows and rows[0].id == position else None
            standing_at[position] = (row, _envelope(row) if row is not None else None)
        standing, envelope = standing_at[position]
        if standing is not None and envelope is not None and envelope.hash == expected:
            self._passed[name] = (position, expected, bytes(standing.state))
            return
        self._alarmed.add((state, position))
        report.alarms += 1
        now = "no record" if standing is None else (
            f"record {envelope.hash.hex()[:16]}" if envelope else "an unreadable record")
        log.error("relay: ALARM: log position %s was passed to %s with record %s, but %s stands there now: "
                  "the log was rewritten behind the node; %s will not be sent it (run armsledger verify)",
                  position, state, expected.hex()[:16], now, state)

    def _sealed_hash(self, position: int) -> bytes | None:
        """The envelope hash the sealer sealed at log ``position`` (None if it sealed none there)."""
        try:
            index = self.node.sealer.leaf_index(position)
        except KeyError:
            return None
        leaf = self.node.sealer.sealed_leaf(index)  # one row, not the whole leaf index
        return leaf.envelope_hash if leaf is not None else None

    def _covered(self, start: int, limit: int, size: int) -> list[tuple[int, Notification]]:
        """(leaf index, notification) of up to ``limit`` notifications from ``start`` that the
        checkpoint of ``size`` covers; the rest waits for the next pass. Those ``_idle`` read, when
        they start there, are not read again (``READ_AHEAD`` < ``limit``: they end the pass's pages)."""
        ahead = self._read_after
        notifications: Sequence[Notification]
        if ahead is not None and start == ahead.position + 1 and len(ahead.notifications) < limit:
            notifications = ahead.notifications
        else:
            notifications = self.node.registry.recorder.select_notifications(start=start, limit=limit)
        if not notifications:
            return []
        # Every notification is a leaf, in log order: leaf indexes are consecutive.
        first_index = self.node.sealer.leaf_index(notifications[0].id)
        return [(first_index + i, n) for i, n in enumerate(notifications) if first_index + i < size]

    def _route(self, covered: Sequence[tuple[int, Notification]], context: SharingContext,
               report: RelayReport) -> list[tuple[int, Notification, Envelope, frozenset[str]]]:
        """(leaf index, notification, its envelope, recipients) of each covered record that goes to someone.

        Routed by the signed envelope, never by the row's unsigned topic column: a row whose
        topic is not its envelope's type is logged as an error and counted (``armsledger verify``
        names it), and goes where its envelope says.
        """
        routed = []
        by_type: dict[str, frozenset[str] | None] = {}  # what recipients_by_type said of each type in this page
        for index, notification in covered:
            envelope = _envelope(notification)
            if envelope is None:
                continue
            record_type = envelope.type
            if notification.topic != record_type:
                report.misfiled += 1
                log.error("relay: the row at position %s has topic %r but holds a signed %s; routed as %s",
                          notification.id, notification.topic, record_type, record_type)
            try:
                to = by_type[record_type]
            except KeyError:
                to = by_type[record_type] = recipients_by_type(record_type, context)
            if to is None:  # it depends on what the record says
                to = recipients(envelope, context)
            if to:
                routed.append((index, notification, envelope, to))
        return routed

    def _checkpoints_sent(self, position: int) -> int:
        """The size of the newest checkpoint sent to a partner whose position is ``position``."""
        if position == 0:
            return 0
        try:
            return self.node.sealer.leaf_index(position) + 1
        except KeyError:
            return 0  # not a record of our log (any more): send every checkpoint again

    def _proof_key(self, signer: str) -> Ed25519PrivateKey:
        """The key that signs the consistency proof of a checkpoint signed by ``signer``: that same node key
        (an earlier one from ``keys/old/``), so a partner that trusts only it can check the proof."""
        identity = self.node.identity
        key = identity.private_keys.get(signer) or self._earlier_keys.get(signer)
        if key is None and signer != identity.node_key_id:
            try:
                key = earlier_node_key(self.node.settings.home, signer, self.node.settings.passphrase)
                why = "is not in keys/old"
            except KeyStoreError as e:
                why = f"cannot be read ({e})"
            if key is None:
                log.error("relay: the earlier node key %s %s: its last checkpoint goes out with a proof signed by "
                          "the current key, which a partner trusting only %s refuses (docs/keys.md)", signer, why,
                          signer)
                key = identity.private_keys[identity.node_key_id]
            self._earlier_keys[signer] = key
        return key or identity.private_keys[identity.node_key_id]

    def _checkpoint_items(self, checkpoints: list[Checkpoint], sent_size: int) -> list[tuple[bytes, bytes]]:
        origin = self.node.identity.state.encode()
        items = []
        previous: Checkpoint | None = None
        for checkpoint in checkpoints:
            if checkpoint.size > sent_size:
                items.append((origin, self._checkpoint_message(previous.size if previous else 0, checkpoint)))
            previous = checkpoint
        return items

    def _checkpoint_message(self, previous_size: int, checkpoint: Checkpoint) -> bytes:
        """The encoded message of ``checkpoint`` with its consistency proof from ``previous_size`` (0: none), signed
        (``sign_proof``). Made once and kept: every partner sent that checkpoint after that one gets these bytes
        (Ed25519 signs deterministically, so a message made again would be the same)."""
        data = checkpoint.to_bytes()
        made = self._checkpoint_messages.get((previous_size, data))
        if made is not None:
            return made
        proof: tuple[bytes, ...] = ()
        if previous_size:
            proof = tuple(self.node.sealer.consistency_proof(previous_size, checkpoint.size))
        message = CheckpointMessage(origin=self.node.identity.state, checkpoint=data, previous_size=previous_size,
                                    consistency=proof,
                                    proof_sig=sign_proof(self._proof_key(checkpoint.signer), data, previous_size,
                                                         proof))
        made = self._checkpoint_messages[(previous_size, data)] = encode_message(message)
        while len(self._checkpoint_messages) > CHECKPOINT_MESSAGES_KEPT:
            del self._checkpoint_messages[next(iter(self._checkpoint_messages))]  # the oldest made
        return made


def _key_span_end(checkpoints: Sequence[Checkpoint], sent_size: int) -> int:
    """How many of ``checkpoints`` (smallest first) go out in this round to a partner sent ``sent_size`` leaves:
    up to the last one signed by the key that signed the first one it lacks. A partner sent nothing yet gets
    them all (it is sent the newest checkpoint, which needs no proof from one it keeps)."""
    if sent_size == 0:
        return len(checkpoints)
    first = next((i for i, c in enumerate(checkpoints) if c.size > sent_size), len(checkpoints))
    end = first
    while end < len(checkpoints) and checkpoints[end].signer == checkpoints[first].signer:
        end += 1
    return end


def _position(item: tuple[int, Notification]) -> int:
    return item[1].id


def _envelope(notification: Notification) -> Envelope | None:
    try:
        return Envelope.from_bytes(notification.state)
    except LedgerError as e:
        # The sealer refuses to seal such a log, so this is not reached in practice.
        log.error("relay: record at position %s is unreadable (%s); not published", notification.id, e)
        return None

