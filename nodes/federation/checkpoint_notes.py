"""One of this node's checkpoints as a C2SP signed note, with the witness cosignatures it holds.

What ``armsledger checkpoint show`` prints (docs/checkpoints.md): the checkpoint is
verified with the node key, and each stored cosignature of it with the witness's
trusted node key, before it is shown; a stored cosignature that does not verify is
reported, never printed as a signature line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domain.errors import InvalidField
from ledger.checkpoint import CHECKPOINT_FORMAT, Checkpoint, signing_key, verify_checkpoint
from ledger.cosignature import cosignature_line, verify_checkpoint_cosignature
from ledger.keys import public_key_from_bytes
from ledger.note import NoteSignature
from nodes.federation.trust import TrustStore
from nodes.federation.witness import cosignature_problem

if TYPE_CHECKING:
    from nodes.ports import Node


@dataclass(frozen=True)
class Cosigned:
    """A verified cosignature: the ``witness`` state, its time (POSIX seconds; None for the older form)
    and its note signature line (None for the older form, which has none)."""

    witness: str
    time: int | None
    line: NoteSignature | None


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """A checkpoint of this node, verified, with the cosignatures of it that verified; ``problems``: the
    stored cosignatures that do not verify; ``unchecked``: those by a key not trusted for that witness
    now (a partner no longer trusted, or a key it replaced), which cannot be checked. One sentence each."""

    checkpoint: Checkpoint
    cosigned: tuple[Cosigned, ...]
    problems: tuple[str, ...] = field(default=())
    unchecked: tuple[str, ...] = field(default=())

    def note(self, node: Node) -> str:
        """The checkpoint as a signed note, one signature line per witness with a cosignature/v1.

        ``InvalidField`` (field ``note``) for a checkpoint of the older format, which has no note signature.
        """
        if self.checkpoint.format != CHECKPOINT_FORMAT:
            raise InvalidField(f"the checkpoint at size {self.checkpoint.size} is in format {self.checkpoint.format}, "
                               "signed before checkpoints were signed notes; a newer checkpoint is (see --size)",
                               field="note")
        lines = tuple(c.line for c in self.cosigned if c.line is not None)
        return self.checkpoint.to_note(signing_key(self.checkpoint, node.identity.node_keys), lines)


def witnessed_checkpoint(node: Node, size: int | None = None) -> WitnessedCheckpoint:
    """This node's checkpoint at ``size`` (default: the newest) with its verified cosignatures.

    ``InvalidField`` (field ``size``) when there is no such checkpoint; ``CheckpointError`` when
    the stored checkpoint does not verify with the node key (a damaged store).
    """
    checkpoint = _own_checkpoint(node, size)
    verify_checkpoint(checkpoint, signing_key(checkpoint, node.identity.node_keys))
    partners = TrustStore(node.settings.home).partners()
    data = checkpoint.to_bytes()
    cosigned: list[Cosigned] = []
    problems: list[str] = []
    unchecked: list[str] = []
    for stored in node.inbox.cosignatures():
        if stored.checkpoint != data:
            continue
        partner = partners.get(stored.witness)
        key = partner.node_keys().get(stored.witness_key) if partner is not None else None
        if partner is None or key is None:
            unchecked.append(f"{stored.witness}'s cosignature by key {stored.witness_key} is not shown: "
                             "that key is not one this node trusts for it now")
            continue
        why = cosignature_problem(partner, stored.witness_key, stored.sig, data)
        if why is not None:
            problems.append(f"{stored.witness}'s stored cosignature does not verify: {why}")
            continue
        public = public_key_from_bytes(key.public_key)
        time = verify_checkpoint_cosignature(public, checkpoint, stored.sig)
        line = None if time is None else cosignature_line(stored.witness, public, stored.sig)
        cosigned.append(Cosigned(stored.witness, time, line))  # the inbox keeps one per witness and checkpoint
    return WitnessedCheckpoint(checkpoint, tuple(sorted(cosigned, key=lambda c: c.witness)), tuple(problems),
                               tuple(unchecked))


def _own_checkpoint(node: Node, size: int | None) -> Checkpoint:
    if size is None:
        latest = node.sealer.latest_checkpoint()
        if latest is None:
            raise InvalidField("this node has signed no checkpoint yet (the first is signed when the first "
                               "record is sealed)", field="size")
        return latest
    found = node.sealer.checkpoints(after=size - 1)[:1]
    if not found or found[0].size != size:
        raise InvalidField(f"this node signed no checkpoint at size {size}", field="size")
    return found[0]
