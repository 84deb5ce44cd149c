"""Gossip: partners tell each other the newest checkpoint they hold of every other origin.

A node that shows two partners different histories signs two checkpoints of one size
with different roots; each partner keeps one. The relay sends each partner the newest
checkpoint it keeps of every OTHER origin (``spread``); ingest compares what it is told
with what it keeps and with what others told it (``check_gossip``): the same size with
another root, both signed by the origin, is a split-view alarm on both partners after one
round. docs/federation.md ("Gossip") tells the protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ledger.acceptance import NodeKey
from ledger.audit_checkpoints import checkpoint_refusal
from ledger.checkpoint import Checkpoint
from ledger.errors import LedgerError
from nodes.federation.inbox_records import KIND_ALARM, GossipedCheckpoint, now_us
from nodes.federation.ingest_reasons import BAD_SIGNATURE, MALFORMED, MISDIRECTED, SPLIT_VIEW, Duplicate, Refused
from nodes.federation.wire import GossipMessage, encode_message

if TYPE_CHECKING:
    from nodes.federation.ingest_run import Run
    from nodes.ports import Inbox


class Gossip:
    """What the relay gossips: per partner, the newest checkpoint of each other origin, each size once.

    ``send(state, items)`` publishes to a partner's inbox (the relay's ``send``). What was sent is
    remembered in memory only: a restarted node gossips again, which receivers drop as duplicates.
    """

    def __init__(self, own_state: str, inbox: Inbox, send: Callable[[str, Sequence[tuple[bytes, bytes]]], None]):
        self.own_state = own_state
        self.inbox = inbox
        self.send = send
        self._sent: dict[tuple[str, str], int] = {}  # (to, origin) -> size sent
        # The newest checkpoint kept of each origin (None: none kept), as of the inbox's newest row read then.
        self._newest: tuple[int, dict[str, Checkpoint | None]] = (0, {})

    def spread(self, partners: Sequence[str]) -> int:
        """Send each of ``partners`` what it was not told yet; returns how many messages were sent.

        Raises ``TransportError`` when the broker fails (what was not sent is sent next time).
        """
        sent = 0
        for to, due in self.due(partners).items():
            self.send(to, self.messages(due))
            self.sent(to, due)
            sent += len(due)
        return sent

    def due(self, partners: Sequence[str]) -> dict[str, list[Checkpoint]]:
        """Per partner (only those with something due), the newest checkpoint of each other origin among
        ``partners`` that it was not told yet: what ``spread`` sends (or the relay, with its records)."""
        if len(partners) < 2:
            # Nothing can be due: a partner is told of the others only. No read (the relay asks every pass).
            return {}
        newest = {origin: c for origin, c in self._newest_kept(partners).items() if c is not None}
        due = {to: [c for origin, c in sorted(newest.items())
                    if origin != to and self._sent.get((to, origin)) != c.size]
               for to in partners}
        return {to: checkpoints for to, checkpoints in due.items() if checkpoints}

    def _newest_kept(self, partners: Sequence[str]) -> dict[str, Checkpoint | None]:
        """The newest checkpoint kept of each of ``partners``, in one query: a kept checkpoint is a row of the
        inbox, rows are only ever added, so only those of the partners known here that came after the newest
        row read last time are read (a partner new here, all of its own). Only committed rows count: a
        checkpoint refused, or in a batch that rolled back, is never told."""
        read_to, known = self._newest
        top, found = self.inbox.newest_partner_checkpoints(
            {origin: read_to if origin in known else 0 for origin in partners})
        if top < read_to:  # fewer rows than before: not the inbox read last time (made anew): read it all
            known = {}
            top, found = self.inbox.newest_partner_checkpoints(dict.fromkeys(partners, 0))
        newest = {origin: found.get(origin, known.get(origin)) for origin in partners}
        self._newest = (top, newest)
        return newest

    def messages(self, checkpoints: Sequence[Checkpoint]) -> list[tuple[bytes, bytes]]:
        """The (key, value) gossip messages telling ``checkpoints``."""
        return [(self.own_state.encode(), encode_message(GossipMessage(origin=self.own_state, checkpoint=c.to_bytes())))
                for c in checkpoints]

    def sent(self, to: str, checkpoints: Sequence[Checkpoint]) -> None:
        """Remember that ``to`` was told ``checkpoints`` (the broker acknowledged them)."""
        for checkpoint in checkpoints:
            self._sent[(to, checkpoint.origin)] = checkpoint.size


class SignedCheckpoints:
    """Gossiped checkpoints whose signature verified, by their bytes and the node key that verified them: partners
    gossip the same newest checkpoint over and over (each of them, each pass that has news), and its Ed25519
    verification was most of a gossip check. The same bytes under the same key (its id, public key and end) have
    the same verdict; any change of the key, a revoked one gone from the trust store or a rotation's end set, is
    another entry. At most ``LIMIT`` are kept (then it starts afresh)."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._verified: set[tuple[bytes, NodeKey]] = set()

    def refusal(self, checkpoint: Checkpoint, data: bytes, node_keys: Mapping[str, NodeKey]) -> str | None:
        """``checkpoint_refusal(checkpoint, node_keys)``, ``checkpoint`` parsed from ``data``; a signature
        verified before under the same key is not verified again."""
        key = node_keys.get(checkpoint.signer)
        if key is not None and (data, key) in self._verified:
            return None
        why = checkpoint_refusal(checkpoint, node_keys)
        if why is None and key is not None:
            if len(self._verified) >= self.LIMIT:
                self._verified.clear()
            self._verified.add((data, key))
        return why


def check_gossip(run: Run, message: GossipMessage) -> None:
    """Compare a gossiped checkpoint with what we keep; raises ``Refused`` (a split view is an alarm),
    ``Duplicate`` when there is nothing new to keep; otherwise adds the witness's claim to the run's batch.

    A checkpoint not signed by the origin's trusted node key is refused (``bad-signature``), never an
    alarm: only the origin's own signature proves that it showed two histories. Gossip about a state
    we do not trust is dropped (there is nothing to compare it with), and so is a checkpoint larger than
    any we keep of the origin by a key we do not know (its next node key, perhaps, not followed yet).
    """
    witness = message.origin
    run._partner(witness)
    try:
        checkpoint = Checkpoint.from_bytes(message.checkpoint)
    except LedgerError as e:
        raise Refused(MALFORMED, f"gossip from {witness}: not a checkpoint: {e}") from e
    origin = checkpoint.origin
    if origin in (witness, run.ingest.node.identity.state):
        raise Refused(MISDIRECTED, f"gossip from {witness} of {origin}'s checkpoint: gossip is about third states")
    partner = run.trusted(origin)
    if partner is None:
        raise Duplicate
    what = f"{origin}'s checkpoint at size {checkpoint.size}, gossiped by {witness}"
    run.ingest.load(origin)
    newest = run._newest_kept(origin)
    if checkpoint.signer not in partner.node_keys() and (newest is None or checkpoint.size > newest.size):
        # Beyond what we keep, by a key we do not know: perhaps the origin's next node key, whose announcement
        # reaches us from the origin itself. Nothing to compare it with yet: dropped, as gossip of a stranger.
        raise Duplicate
    why = run.ingest.gossip_signatures.refusal(checkpoint, message.checkpoint, partner.node_keys())
    if why is not None:
        raise Refused(BAD_SIGNATURE, f"{what}: {why}")
    kept = run._kept_at(origin, checkpoint.size)
    if kept is not None:
        _compare(kept, checkpoint, "we keep", what)
        raise Duplicate
    claims = [*run.ingest.inbox.gossiped(), *run.batch.gossiped]
    for claim in claims:
        if claim.origin == origin and claim.size == checkpoint.size:
            _compare(Checkpoint.from_bytes(claim.checkpoint), checkpoint, f"{claim.witness} told us of", what)
            raise Duplicate
    run.batch.gossiped.append(GossipedCheckpoint(witness=witness, origin=origin, size=checkpoint.size,
                                                 checkpoint=message.checkpoint, received_at=now_us()))


def _compare(held: Checkpoint, told: Checkpoint, held_by: str, what: str) -> None:
    if held.root != told.root:
        raise Refused(SPLIT_VIEW, f"split view: {what} has root {told.root.hex()}, the one {held_by} has root "
                                  f"{held.root.hex()}: {told.origin} signed two histories of size {told.size}",
                      KIND_ALARM)
