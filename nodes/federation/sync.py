"""Federation passes: relay our records, ingest our inbox, react, relay what the reactions made.

``sync(node, transport, timeout_s)`` does one pass and returns (``armsledger sync``): it
ingests everything that was in our inbox topic when it started (and what the batches it reads
hold beyond), calls ``nodes.federation.reactions.react`` after every committed batch of accepted
partner records (a reaction that fails is listed in the quarantine, never raised), then publishes
everything pending, the records those reactions made among them, with its cosignatures and the
gossip of what came in, in one relay pass (another only while the log grew during a pass that found
new records, until the timeout: a pass that found none looked at the log last). Messages that arrive
after its last read wait for the next ``sync``: the inbox is drained once, its end asked of the broker
once; the inbox position is where the ingest's last step left it, read only by a new ``Federation``.
Scripts and tests get a deterministic step.

Reactions have a position of their own in the inbox (``REACTIONS_POSITION``), saved after
they ran, with the next relay pass's commit; else, in a ``sync``, at its end, and in ``run`` at
most every ``REACTIONS_SAVE_EVERY_S`` and when the ``Federation`` closes: records whose
reactions a crash cut short are reacted to again at the next start (reactions are
idempotent), once per ``Federation``.

``run(node, transport, stop_event)`` loops the same until ``stop_event`` is set
(``armsledger node run``; SIGTERM sets it): the batch in hand is finished first. Its relay runs on a
thread of its own (``nodes.federation.relay_thread``), woken by a commit to the log, whichever process
made it, so a record leaves at once; this thread ingests, waiting up to ``IDLE_WAIT_S`` for a message,
and hands the relay the cosignatures to send. It never gives up on a broker that is away: it waits and
tries again.

Needs an unlocked node: sealing and cosigning sign with the node key, and reactions
record signed steps.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from nodes.errors import TransportError, TransportReset
from nodes.federation.ingest import POOL_THRESHOLD, Ingest, IngestReport, kafka_position
from nodes.federation.log_watch import watch_log
from nodes.federation.reactions import react, record_failures
from nodes.federation.relay import Relay, RelayReport
from nodes.federation.relay_thread import RETRY_PAUSES_S, RelayThread
from nodes.ports import Batch, Delivery, Node, Transport
from nodes.registry.paging import received_pages
from projections.views import Progress

log = logging.getLogger(__name__)

#: ``run``'s ingest waits this long for a message before it does what is due (cosignatures, the trust store).
IDLE_WAIT_S = 0.5
#: Tracking name of the last received record reacted to (in the inbox's recorder).
REACTIONS_POSITION = "reactions"
#: A busy ingest still sends its cosignatures this often.
COSIGN_EVERY_S = 1.0
#: ``run`` re-reads the trust store this often (``armsledger trust add`` while running).
TRUST_REFRESH_S = 5.0
#: The reactions' position is saved at most this often (each save is a commit); a crash
#: makes the reactions of at most this long run again.
REACTIONS_SAVE_EVERY_S = 1.0


@dataclass
class SyncReport:
    """What a ``sync`` (or a ``run``) did, in total."""

    passes: int = 0
    published: int = 0         # record messages published to partners
    checkpoints_sent: int = 0
    gossip_sent: int = 0       # third states' checkpoints told to partners (nodes.federation.gossip)
    read: int = 0              # messages read from our inbox topic
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    alarms: int = 0
    checkpoints_kept: int = 0
    cosignatures: int = 0
    resolved: int = 0          # parked messages settled on a later check
    reactions: int = 0         # automatic steps recorded
    failed_reactions: int = 0  # accepted records whose automatic step failed (listed in the quarantine)
    resets: int = 0            # broker memory losses seen
    quiet: bool = False        # True: ended with nothing left to do; False: timed out or stopped
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, other: SyncReport) -> None:
        """Add ``other``'s counts to these (``quiet`` and ``elapsed_s`` stay)."""
        for counted in fields(self):
            if counted.type == "int":
                setattr(self, counted.name, getattr(self, counted.name) + getattr(other, counted.name))

    def add_relay(self, report: RelayReport) -> None:
        self.published += report.records
        self.checkpoints_sent += report.checkpoints
        self.gossip_sent += report.gossip
        self.resets += report.resets
        self.alarms += report.alarms

    def add_ingest(self, report: IngestReport) -> None:
        self.read += report.read
        self.accepted += len(report.accepted)
        self.duplicates += report.duplicates
        self.quarantined += report.quarantined
        self.alarms += report.alarms
        self.checkpoints_kept += report.checkpoints
        self.cosignatures += report.cosignatures
        self.resolved += report.resolved
        self.resets += report.resets


class Federation:
    """A node's relay and ingest over one transport. Close when done (the ingest's pool).

    ``publisher``: the transport the relay publishes through (default ``transport``), when the relay runs on a
    thread of its own (``run``); what ingest hands it (cosignatures, the reactions' position) may then be handed
    from the other thread, and ``bell``, if set, is called when there is something to send."""

    def __init__(self, node: Node, transport: Transport, *, pool_size: int | None = None,
                 publisher: Transport | None = None):
        self.node = node
        self.transport = transport
        self.relay = Relay(node, publisher or transport, node.inbox)
        kwargs = {} if pool_size is None else {"pool_size": pool_size}
        self.reads = _ReadEnds(transport)
        # Ingest's cosignatures and witness answers go with the relay's next publish, or all in one of their
        # own (``send_cosignatures``).
        self.ingest = Ingest(node, self.reads, node.inbox, self._carry, **kwargs)
        self.bell: Callable[[], None] | None = None
        self._handed = threading.Lock()  # what ingest hands the relay: the messages carried, the reactions' position
        self._carried: dict[str, list[tuple[bytes, bytes]]] = {}
        self._cosigned_at = time.monotonic()
        self._caught_up = False  # reacted to what a crash left without its reactions
        self._reacted_to: int | None = None  # the reactions' position not saved yet
        self._reactions_saved_at = time.monotonic()

    def close(self) -> None:
        try:
            self.save_reactions_position()
        finally:
            self.ingest.close()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_size(self) -> int:
        return self.node.registry.recorder.max_notification_id() or 0

    def ingest_step(self, timeout_s: float, report: SyncReport, *, cosign: bool = True) -> IngestReport:
        """One ingest batch, then the reactions to what it accepted; cosignatures when idle, and the reactions'
        position when not saved for a second (unless not ``cosign``: a sync sends them with its relay passes
        and saves that position in their commit, or at its end)."""
        step = self.ingest.step(timeout_s)
        report.add_ingest(step)
        self._react(step, report, save=cosign)
        if cosign and (not step.read or time.monotonic() - self._cosigned_at > COSIGN_EVERY_S):
            self.send_cosignatures()
        return step

    def relay_pass(self) -> RelayReport:
        """A relay pass: the cosignatures and witness answers due go with its publish, and the reactions'
        position not saved yet with its commit."""
        with self._handed:
            reacted_to = self._reacted_to
        self._hand_carried()
        along = {REACTIONS_POSITION: reacted_to} if reacted_to is not None else {}
        relayed = self.relay.relay(save_along=along)
        if relayed.saved_along:
            with self._handed:
                if self._reacted_to == reacted_to:  # not moved on by ingest meanwhile
                    self._reacted_to = None
                    self._reactions_saved_at = time.monotonic()
        return relayed

    def carry_cosignatures(self) -> int:
        """Hand the cosignatures and witness answers due to the relay, for its next publish; how many."""
        return self.ingest.send_cosignatures() + self.ingest.send_witness_replies()

    def send_cosignatures(self) -> None:
        """Publish the cosignatures and witness answers due (and those a relay pass did not take), all
        partners' in one publish; with a ``bell``, ring it instead (if there are any): the relay's thread sends
        them."""
        carried = self.carry_cosignatures()
        self._cosigned_at = time.monotonic()
        if self.bell is None:
            self.send_carried()
        elif carried:
            self.bell()

    def send_carried(self) -> None:
        """Publish what is carried for the partners, in one publish. What the broker does not take (it is away)
        is dropped: the next cosignature covers it, a witness may ask again."""
        self._hand_carried()
        carried = self.relay.take_carried()
        try:
            self.relay.send_many(carried)
        except TransportError as e:
            log.warning("cosignatures and answers to witness requests for %s not sent (%s); the next cosignature "
                        "covers them, a witness may ask again", ", ".join(sorted(carried)), e)

    def _carry(self, state: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Ingest's ``send``: keep ``items`` for the relay's next publish to ``state`` (from any thread)."""
        with self._handed:
            self._carried.setdefault(state, []).extend(items)

    def _hand_carried(self) -> None:
        """Give the relay what ingest carried since (on the relay's thread)."""
        with self._handed:
            carried, self._carried = self._carried, {}
        for state, items in carried.items():
            self.relay.carry(state, items)

    def refresh(self, report: SyncReport) -> None:
        """Re-read the trust store (parked messages of new partners are checked again), and, the
        first time, react to what was accepted but not reacted to (a crash between a commit and its
        reactions)."""
        if not self._caught_up:
            self._catch_up_reactions(report)
            self._caught_up = True
        refreshed = self.ingest.refresh()
        report.add_ingest(refreshed)
        self._react(refreshed, report)

    def _react(self, step: IngestReport, report: SyncReport, *, save: bool = True) -> None:
        if not step.accepted:
            return
        inbox = self.node.inbox
        reacted_to = inbox.newest_recorded()  # the batch is committed: this covers it
        reaction = react(self.node, step.accepted)
        report.reactions += len(reaction.steps)
        report.failed_reactions += record_failures(inbox, reaction)
        with self._handed:
            self._reacted_to = reacted_to
        if save and time.monotonic() - self._reactions_saved_at >= REACTIONS_SAVE_EVERY_S:
            self.save_reactions_position()

    def save_reactions_position(self) -> None:
        """Save how far the reactions ran, if they ran since it was saved (a commit)."""
        with self._handed:
            reacted_to = self._reacted_to
        if reacted_to is not None:
            self.node.inbox.advance(REACTIONS_POSITION, reacted_to)
            with self._handed:
                if self._reacted_to == reacted_to:
                    self._reacted_to = None
        self._reactions_saved_at = time.monotonic()

    def _catch_up_reactions(self, report: SyncReport) -> None:
        # Every reaction is idempotent, so reacting again to a batch whose reactions were
        # half done does exactly the missing steps.
        inbox = self.node.inbox
        for page in received_pages(inbox, start=inbox.position(REACTIONS_POSITION) + 1):
            reaction = react(self.node, [envelope for _, envelope in page])
            report.reactions += len(reaction.steps)
            report.failed_reactions += record_failures(inbox, reaction)
            inbox.advance(REACTIONS_POSITION, page[-1][0])


def sync(node: Node, transport: Transport, timeout_s: float = 10.0, *,
         federation: Federation | None = None, progress: Progress | None = None,
         inbox_end: int | None = None) -> SyncReport:
    """One pass (module docstring). Raises ``TransportError`` / ``StorageError`` on
    infrastructure failures; bad messages are quarantined, never raised. ``progress(done, total)``
    is told how many messages of the inbox's backlog were ingested, of how many.

    ``inbox_end``: an end of our inbox topic the caller was just told by the broker (what woke it:
    ``Transport.end_offset`` with ``beyond``, or ListOffsets); beyond our position, the drain reads
    to it, and on to the end its reads see, without asking the broker again. Else it asks."""
    started = time.monotonic()
    deadline = started + timeout_s
    report = SyncReport()
    owned = federation is None
    fed = federation or Federation(node, transport)
    try:
        fed.refresh(report)
        drained = _drain(fed, deadline, report, progress, inbox_end)
        fed.carry_cosignatures()  # they go with the relay's publish
        # One relay pass after the drain publishes what was pending, what the reactions recorded and the
        # gossip of what came in; another only if the log grew meanwhile: beyond the record the pass left every
        # partner at (or, when it cannot say, since the last pass). A pass that found nothing new looked at the
        # log last (its one read): what is logged after that look waits for the next sync, as what is logged
        # after the size read does.
        size: int | None = None
        while True:
            report.passes += 1
            relayed = fed.relay_pass()
            report.add_relay(relayed)
            if relayed.idle:
                done = True
            else:
                before, size = size, fed.log_size()
                done = size in (relayed.caught_up_to, before)
            if done or time.monotonic() >= deadline:
                break
        report.quiet = drained and done
        fed.send_cosignatures()  # those no relay pass took
        fed.save_reactions_position()
        node.sealer.wait_for_mark()  # a finished sync leaves the sealer's mark written
    finally:
        if owned:
            fed.close()
    report.elapsed_s = time.monotonic() - started
    return report


def _drain(fed: Federation, deadline: float, report: SyncReport, progress: Progress | None = None,
           told_end: int | None = None) -> bool:
    """Ingest until our position reaches the end our inbox topic had when we looked (or ``told_end``, the
    caller's look, when beyond our position); False if the deadline came first. ``progress`` is told the
    offsets passed of those there were to read."""
    ingest = fed.ingest
    # Without progress to tell, an end beyond our position need not be exact: the reads tell how far it is.
    start, end = _inbox_span(fed, exact=progress is not None, told_end=told_end)
    fed.reads.ends.pop(ingest.topic, None)
    if end - start >= POOL_THRESHOLD:
        ingest.warm_up()  # a large backlog: start the verifying processes while the first batch is read
    checked_reset = False
    position: int | None = start  # where each step leaves it; read when a step cannot say
    while time.monotonic() < deadline:
        if position is None:
            position = ingest.position()
        if progress is not None and position <= end:
            progress(max(0, position - start), max(0, end - start))
        seen = fed.reads.ends.get(ingest.topic)  # the end a read of this drain saw, after it began
        if position > end and seen is not None and seen >= position:
            # Tansu's listed end may stop at the first record of the last batch: the read that brought us
            # past it saw the topic go on to here, so no memory was lost.
            end = seen
        if position > end and not checked_reset:
            # Our position is beyond the topic's end: the broker lost its memory. A read
            # says so for sure (and moves us to the re-created topic).
            checked_reset = True
            position = None
            if fed.ingest_step(0.0, report, cosign=False).resets:
                end = fed.transport.end_offset(ingest.topic)
                start = 0
                fed.reads.ends.pop(ingest.topic, None)  # that end was the old topic's
            continue
        if position >= end:
            if seen is not None and seen > end:
                end = seen
                continue
            return True
        step = fed.ingest_step(min(2.0, max(0.0, deadline - time.monotonic())), report, cosign=False)
        position = _reached(ingest)  # where the step left it, else read again
        if step.resets:
            end = fed.transport.end_offset(ingest.topic)
            start = 0  # the topic was made anew: read from its start
            fed.reads.ends.pop(ingest.topic, None)
    return False


def _reached(ingest: Ingest) -> int | None:
    """The position ``ingest``'s last step left in its topic as it is now, if the step can say."""
    reached = ingest.reached
    return reached[1] if reached is not None and reached[0] == kafka_position(ingest.topic, ingest.topic_id) else None


def _inbox_span(fed: Federation, exact: bool = True, told_end: int | None = None) -> tuple[int, int]:
    """Our position in our inbox topic (where the ingest's last step left it, else read) and the topic's end now
    (the topic made if missing); not ``exact``: when the end is beyond our position, an offset between the two
    may stand for it (``Transport.end_offset``), and ``told_end``, one the caller was told, is taken if it is."""
    ingest = fed.ingest
    if ingest.topic_id is None:
        ingest.topic_id = fed.transport.ensure_topics([ingest.state]).get(ingest.topic)
    position = ingest.position()
    if not exact and told_end is not None and told_end > position:
        return position, told_end
    return position, fed.transport.end_offset(ingest.topic, beyond=None if exact else position)


class _ReadEnds:
    """The transport, noting the end of the topic each read saw (``Batch.end_offset``, from the broker's answer to
    the fetch): ``_drain`` goes on to it, where asking the exact end first would cost round trips."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.ends: dict[str, int] = {}

    def read(self, topic: str, from_offset: int, max_records: int = 500, timeout_s: float = 1.0, *,
             partition: int = 0, expected_topic_id: str | None = None) -> Batch:
        batch = self.transport.read(topic, from_offset, max_records, timeout_s, partition=partition,
                                    expected_topic_id=expected_topic_id)
        if batch.end_offset is not None:
            self.ends[topic] = batch.end_offset
        return batch

    def inbox_topic(self, state: str) -> str:
        return self.transport.inbox_topic(state)

    def ensure_topics(self, states: Iterable[str]) -> dict[str, str | None]:
        return self.transport.ensure_topics(states)

    def publish(self, topic: str, items: Sequence[tuple[bytes, bytes]], *, partition: int = 0,
                expected_topic_id: str | None = None) -> Delivery:
        return self.transport.publish(topic, items, partition=partition, expected_topic_id=expected_topic_id)

    def publish_many(self, batches: Mapping[str, Sequence[tuple[bytes, bytes]]], *,
                     expected_topic_ids: Mapping[str, str | None] | None = None,
                     ) -> dict[str, Delivery | TransportReset]:
        return self.transport.publish_many(batches, expected_topic_ids=expected_topic_ids)

    def end_offset(self, topic: str, *, partition: int = 0, beyond: int | None = None) -> int:
        return self.transport.end_offset(topic, partition=partition, beyond=beyond)

    def close(self) -> None:
        self.transport.close()

    def twin(self) -> Transport:
        return self.transport.twin()


class _FirstCatchUp:
    """``run``'s first catch-up with its inbox, told to ``progress``: the messages from our position at
    the start to the topic's end then."""

    def __init__(self, fed: Federation, progress: Progress):
        self.fed, self.progress = fed, progress
        self.span: tuple[int, int] | None = None

    def before_step(self) -> None:
        if self.span is None:
            self.span = _inbox_span(self.fed)

    def after_step(self) -> _FirstCatchUp | None:
        """Tell how far it is; None once caught up."""
        assert self.span is not None, "before_step first"
        start, end = self.span
        ingest = self.fed.ingest
        position = self.fed.node.inbox.position(kafka_position(ingest.topic, ingest.topic_id))
        self.progress(max(0, min(position, end) - start), max(0, end - start))
        return None if position >= end else self


def run(node: Node, transport: Transport, stop_event: threading.Event, *,
        idle_wait_s: float = IDLE_WAIT_S, progress: Progress | None = None) -> SyncReport:
    """Relay and ingest until ``stop_event`` is set; the batch in hand is finished first.

    The relay runs on a thread of its own (``RelayThread``, publishing through ``transport.twin()``),
    ingest on this one. A ``TransportError`` (broker away or restarting) is logged and the step tried
    again after a pause, on either thread; the relay's thread does the same on ``StorageError``.
    ``StorageError`` and anything else raised by ingest end the run, as does any other failure of the
    relay (raised here once its thread ended: a verification failure of the node's own log).
    ``progress(done, total)`` is told how far the first catch-up with the inbox is, until it is done.
    """
    started = time.monotonic()
    report, relayed = SyncReport(), SyncReport()
    publisher = transport.twin()
    try:
        with Federation(node, transport, publisher=publisher) as fed:
            fed.ingest.warm_up()
            relaying = RelayThread(fed, watch_log(node), relayed)
            fed.bell = relaying.ring
            relaying.start()
            try:
                _ingest_until(fed, stop_event, report, idle_wait_s, progress, relaying)
            finally:
                relaying.stop()
                fed.bell = None
            if relaying.failure is not None:
                raise relaying.failure
            with contextlib.suppress(TransportError):
                fed.send_cosignatures()
            node.sealer.wait_for_mark()
    finally:
        publisher.close()
    report.add(relayed)
    report.elapsed_s = time.monotonic() - started
    return report


def _ingest_until(fed: Federation, stop_event: threading.Event, report: SyncReport, wait_s: float,
                  progress: Progress | None, relaying: RelayThread) -> None:
    """``run``'s ingest: a step at a time, each waiting up to ``wait_s`` for a message, until ``stop_event`` (or the
    relay's thread ended on a failure)."""
    catching_up = None if progress is None else _FirstCatchUp(fed, progress)
    refreshed_at = 0.0
    pause = RETRY_PAUSES_S[0]
    while not stop_event.is_set() and relaying.failure is None:
        try:
            if time.monotonic() - refreshed_at > TRUST_REFRESH_S:
                fed.refresh(report)
                refreshed_at = time.monotonic()
            if catching_up is not None:
                catching_up.before_step()
            fed.ingest_step(wait_s, report)
            if catching_up is not None:
                catching_up = catching_up.after_step()
            pause = RETRY_PAUSES_S[0]
        except TransportError as e:
            log.warning("node run: %s; trying again in %.1f s", e, pause)
            stop_event.wait(pause)
            pause = min(pause * 2, RETRY_PAUSES_S[1])
