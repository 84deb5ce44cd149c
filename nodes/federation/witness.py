"""Witnesses: what partners hold of our log, and how ``verify`` holds the log to it.

Partners cosign the checkpoints we send them (``ingest_run``); the cosignatures are kept in
the inbox. This module reads them back (``cosigned``, ``witness_status``), gives ``verify``
the checkpoints held outside the checkpoint table (``witnessed_checkpoints``: the sealer's
mark and the newest checkpoint each witness cosigned), and asks the partners over the broker
which checkpoint of ours they hold (``ask_witnesses``; the partner's ingest answers with
``answer_witness``). docs/verification.md ("Witnesses") tells the protocol.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.audit import Problem, ProblemKind
from ledger.checkpoint import Checkpoint
from ledger.cosignature import cosign_checkpoint, verify_checkpoint_cosignature
from ledger.errors import CheckpointError, LedgerError
from ledger.keys import public_key_from_bytes
from nodes.federation.inbox_records import now_us
from nodes.federation.ingest_reasons import Duplicate
from nodes.federation.trust import Partner, TrustStore
from nodes.federation.wire import (
    NONCE_SIZE,
    CosignatureMessage,
    WitnessReply,
    WitnessRequest,
    decode_message,
    encode_message,
)

if TYPE_CHECKING:
    from nodes.federation.ingest_run import Run
    from nodes.ports import Node, Transport
    from nodes.registry.identity import NodeIdentity

#: What ``verify`` calls the sealer's mark among the holders of our checkpoints.
MARK_HOLDER = "the sealer's mark"


def cosignature_problem(partner: Partner, witness_key: str, sig: bytes, checkpoint: bytes) -> str | None:
    """Why ``sig`` is not ``partner``'s cosignature of ``checkpoint`` by its node key ``witness_key`` (either
    form that ingest accepts: ``ledger.cosignature``), or None when it is.

    The current node key, or an earlier one (``Partner.previous_keys``) for a cosignature it dated before it
    handed over (a cosignature/v1 carries its time; the older 64-byte form, which has none, only by the
    current key).
    """
    key = partner.node_keys().get(witness_key)
    if key is None:
        return f"cosigned by key {witness_key!r}, not one of {partner.state}'s node keys ({partner.node_key_id})"
    try:
        dated = verify_checkpoint_cosignature(public_key_from_bytes(key.public_key),
                                              Checkpoint.from_bytes(checkpoint), sig)
    except LedgerError as e:
        return f"{partner.state}'s cosignature does not verify with its node key {witness_key}: {e}"
    if key.retired_from is not None and (dated is None or dated * 1_000_000 >= key.retired_from):
        return (f"{partner.state}'s cosignature by its node key {witness_key}, which had handed over to its "
                "successor by the time the cosignature bears (or it bears none)")
    return None


@dataclass(frozen=True)
class Cosigned:
    """The newest of our checkpoints that ``witness`` cosigned, and when its cosignature came (µs)."""

    witness: str
    checkpoint: Checkpoint
    received_at: int


def cosigned(node: Node) -> tuple[dict[str, Cosigned], list[str]]:
    """Per trusted witness, the newest of our checkpoints it cosigned; and why stored cosignatures
    that no longer verify were passed over (a row altered behind the node). Cosignatures of
    states no longer trusted are not read."""
    partners = TrustStore(node.settings.home).readable()[0]
    own = node.identity.state
    newest: dict[str, Cosigned] = {}
    damaged: list[str] = []
    for stored in node.inbox.cosignatures():
        partner = partners.get(stored.witness)
        if partner is None:
            continue
        problem = cosignature_problem(partner, stored.witness_key, stored.sig, stored.checkpoint)
        try:
            checkpoint = Checkpoint.from_bytes(stored.checkpoint)
        except LedgerError as e:
            problem = problem or f"the cosigned bytes are not a checkpoint: {e}"
        if problem is not None:
            damaged.append(f"a stored cosignature by {stored.witness}: {problem}")
            continue
        if checkpoint.origin != own:
            damaged.append(f"a stored cosignature by {stored.witness} is of {checkpoint.origin}'s checkpoint")
            continue
        held = newest.get(stored.witness)
        if held is None or checkpoint.size > held.checkpoint.size:
            newest[stored.witness] = Cosigned(stored.witness, checkpoint, stored.received_at)
    return newest, damaged


def witness_status(node: Node) -> list[dict[str, Any]]:
    """Per trusted partner, in state order: ``witness``, the newest ``size`` of ours it cosigned with its
    ``root`` (hex) and the checkpoint's ``timestamp``, and ``cosigned_at`` (when its cosignature came,
    microseconds); None for each when it cosigned none."""
    newest, _ = cosigned(node)
    rows = []
    for state in sorted(TrustStore(node.settings.home).readable()[0]):
        held = newest.get(state)
        rows.append({
            "witness": state,
            "size": held.checkpoint.size if held else None,
            "root": held.checkpoint.root.hex() if held else None,
            "timestamp": held.checkpoint.timestamp if held else None,
            "cosigned_at": held.received_at if held else None,
        })
    return rows


def witnessed_checkpoints(node: Node) -> tuple[list[tuple[str, Checkpoint]], list[Problem]]:
    """Our checkpoints held outside the checkpoint table, with who holds them: the sealer's mark and the
    newest each witness cosigned; and the problems met reading them (a damaged mark or cosignature)."""
    held: list[tuple[str, Checkpoint]] = []
    problems: list[Problem] = []
    mark = node.sealer.mark
    if mark is not None:
        try:
            marked = mark.read()
        except CheckpointError as e:
            problems.append(_problem(str(e)))
            marked = None
        if marked is not None:
            held.append((f"{MARK_HOLDER} ({mark.path})", marked))
    newest, damaged = cosigned(node)
    problems += [_problem(reason) for reason in damaged]
    held += [(f"{c.witness} (cosigned)", c.checkpoint) for _, c in sorted(newest.items())]
    return held, problems


def _problem(reason: str) -> Problem:
    return Problem(None, None, None, ProblemKind.WITNESS, reason)


# --- asking the witnesses over the broker -------------------------------------------------------

@dataclass
class WitnessAnswers:
    """What the partners answered ``ask_witnesses``.

    ``held``: (witness, checkpoint of ours it holds, cosigned by it); ``none``: witnesses that hold
    none of ours; ``silent``: partners that did not answer in time; ``refused``: replies that did
    not verify (forged or damaged: the genuine answer is still waited for).
    """

    held: list[tuple[str, Checkpoint]] = field(default_factory=list)
    none: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"held": {w: {"size": c.size, "root": c.root.hex()} for w, c in self.held},
                "none": self.none, "silent": self.silent, "refused": self.refused}


def ask_witnesses(node: Node, transport: Transport, timeout_s: float) -> WitnessAnswers:
    """Ask every trusted partner which checkpoint of ours it holds; wait up to ``timeout_s`` for the answers.

    The answers come to our inbox topic; they are read here from the end the topic had when we asked,
    without moving the node's position (its ingest reads them too). Raises ``TransportError`` when
    the broker fails.
    """
    own = node.identity.state
    partners = TrustStore(node.settings.home).readable()[0]
    answers = WitnessAnswers()
    if not partners:
        return answers
    topic = transport.inbox_topic(own)
    ids = transport.ensure_topics([own, *partners])
    position = transport.end_offset(topic)
    nonce = os.urandom(NONCE_SIZE)
    request = encode_message(WitnessRequest(origin=own, nonce=nonce))
    for state in sorted(partners):
        transport.publish(transport.inbox_topic(state), [(own.encode(), request)],
                          expected_topic_id=ids.get(transport.inbox_topic(state)))
    pending = set(partners)
    deadline = time.monotonic() + timeout_s
    while pending and (left := deadline - time.monotonic()) > 0:
        batch = transport.read(topic, position, 500, min(left, 1.0), expected_topic_id=ids.get(topic))
        for offset, _, value in batch:
            position = offset + 1
            reply = _reply(value, nonce)
            if reply is not None and reply.origin in pending:
                if _take(reply, partners[reply.origin], answers):
                    pending.discard(reply.origin)
    answers.silent = sorted(pending)
    return answers


def _reply(value: bytes | None, nonce: bytes) -> WitnessReply | None:
    try:
        message = decode_message(value or b"")
    except (LedgerError, ValueError, TypeError):
        return None
    return message if isinstance(message, WitnessReply) and message.nonce == nonce else None


def _take(reply: WitnessReply, partner: Partner, answers: WitnessAnswers) -> bool:
    """Add a verified reply to ``answers``; False (noted in ``refused``) for one that does not verify."""
    if not reply.checkpoint:
        answers.none.append(reply.origin)
        return True
    problem = cosignature_problem(partner, reply.witness_key, reply.sig, reply.checkpoint)
    if problem is None:
        try:
            answers.held.append((reply.origin, Checkpoint.from_bytes(reply.checkpoint)))
            return True
        except LedgerError as e:
            problem = f"not a checkpoint: {e}"
    answers.refused.append(f"a reply in the name of {reply.origin}: {problem}")
    return False


# --- answering, in the partner's ingest -------------------------------------------------------------

def cosignature(identity: NodeIdentity, checkpoint: Checkpoint) -> CosignatureMessage:
    """Our cosignature of a partner's ``checkpoint``, now: a C2SP tlog-cosignature/v1 of its note text, by our
    node key (``identity``'s, unlocked)."""
    key = identity.private_keys[identity.node_key_id]
    return CosignatureMessage(origin=identity.state, checkpoint=checkpoint.to_bytes(), witness_key=identity.node_key_id,
                              sig=cosign_checkpoint(key, checkpoint, now_us() // 1_000_000))


def cosignature_item(identity: NodeIdentity, checkpoint: Checkpoint) -> tuple[bytes, bytes]:
    """The (key, value) message of ``cosignature(identity, checkpoint)``, for the checkpoint's origin's inbox."""
    return identity.state.encode(), encode_message(cosignature(identity, checkpoint))


def answer_witness(run: Run, message: WitnessRequest | WitnessReply) -> None:
    """Ingest's part: a request is answered with the newest checkpoint we keep of the requester and our
    cosignature of it (sent once the batch is committed); a reply to our ``verify --witnesses`` is
    kept as a cosignature (or is an alarm when it is not of a checkpoint we signed). Raises ``Refused``
    or ``Duplicate`` as ingest's checks do."""
    if isinstance(message, WitnessReply):
        if not message.checkpoint:
            raise Duplicate  # the witness holds none of ours: nothing to keep
        run._cosignature(CosignatureMessage(origin=message.origin, checkpoint=message.checkpoint,
                                            witness_key=message.witness_key, sig=message.sig))
        return
    requester = message.origin
    run._partner(requester)
    newest = run._newest_kept(requester)
    own = run.ingest.node.identity.state
    reply = WitnessReply(origin=own, nonce=message.nonce, checkpoint=b"", witness_key="", sig=b"")
    if newest is not None:
        signed = cosignature(run.ingest.node.identity, newest)
        run.to_cosign[requester] = newest  # and sent as a cosignature, as one of a checkpoint kept in the run
        reply = WitnessReply(origin=own, nonce=message.nonce, checkpoint=signed.checkpoint,
                             witness_key=signed.witness_key, sig=signed.sig)
    run.replies.append((requester, (own.encode(), encode_message(reply))))
