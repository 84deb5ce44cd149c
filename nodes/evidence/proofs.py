"""Inclusion and consistency proofs of this node's log, and of the partner records it holds, as JSON.

What ``armsledger proof inclusion|consistency`` prints and what an evidence bundle carries: every
hash in hex, every signed checkpoint with the exact bytes its signature covers, so that an
RFC 9162 verifier with SHA-256 and Ed25519 alone can check them (docs/evidence.md). Our records
are proved against our latest checkpoint from the sealer's leaf index; a partner record carries
the proof ingest accepted it with (``nodes.federation.inbox_proofs``), or says why it has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from domain.errors import InvalidField
from ledger.acceptance import NODE_KEY_CHANGE_TYPE
from ledger.checkpoint import Checkpoint, envelope_leaf, signing_key
from ledger.envelope import Envelope
from ledger.keys import key_id, public_bytes
from nodes.ports import Node

#: Why a record comes without an inclusion proof.
NOT_SEALED = "not sealed yet: no checkpoint covers it (it is sealed at the next write or sync)"
NOT_KEPT = "proved at ingest, proof not kept (received before this node kept proofs)"


def checkpoint_document(checkpoint: Checkpoint, signer_public_key: bytes) -> dict[str, Any]:
    """A signed checkpoint: its fields, ``signed_bytes`` (what the Ed25519 ``signature`` covers, as
    signed), its whole stored ``bytes`` (what witnesses cosign) and the signer's public key."""
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": checkpoint.root.hex(),
        "timestamp": checkpoint.timestamp,
        "signer": checkpoint.signer,
        "signer_public_key": signer_public_key.hex(),
        "signed_bytes": checkpoint.signed_bytes().hex(),
        "signature": checkpoint.sig.hex(),
        "bytes": checkpoint.to_bytes().hex(),
    }


def inclusion_document(envelope: Envelope, leaf_index: int | None, checkpoint: Checkpoint | None,
                       audit_path: Iterable[bytes], note: str = "") -> dict[str, Any]:
    """The RFC 9162 inclusion proof of ``envelope``: leaf data (the envelope hash), leaf hash, leaf index,
    tree size and audit path (lowest sibling first); ``proof`` is None, with ``note`` saying why, when
    there is none."""
    document: dict[str, Any] = {
        "origin": envelope.node, "stream": envelope.stream, "version": envelope.version, "type": envelope.type,
        "envelope_hash": envelope.hash.hex(), "leaf_hash": envelope_leaf(envelope.hash).hex(),
    }
    if checkpoint is None or leaf_index is None:
        return {**document, "proof": None, "note": note}
    return {**document, "proof": {"leaf_index": leaf_index, "tree_size": checkpoint.size,
                                  "audit_path": [p.hex() for p in audit_path], "checkpoint": checkpoint.size}}


class Prover:
    """Proofs of the records a node holds: its own, against its latest checkpoint; partners', as kept at ingest."""

    def __init__(self, node: Node):
        self.node = node
        self.latest = node.sealer.latest_checkpoint()
        self.checkpoints: dict[tuple[str, int], Checkpoint] = {}
        self._partner_checkpoints: dict[str, dict[int, Checkpoint]] = {}
        self._leaves: dict[str, dict[int, tuple[int, bytes]]] = {}

    def own(self, envelope: Envelope) -> dict[str, Any]:
        """The proof of our ``envelope`` in our latest checkpoint (``NOT_SEALED`` if it is beyond it)."""
        leaves = self._leaves.get(envelope.stream)
        if leaves is None:
            leaves = self._leaves[envelope.stream] = self.node.sealer.leaves_of(envelope.stream)
        leaf = leaves.get(envelope.version)
        if leaf is None or leaf[1] != envelope.hash or self.latest is None or leaf[0] >= self.latest.size:
            return inclusion_document(envelope, None, None, (), NOT_SEALED)
        target = self.latest
        if envelope.type == NODE_KEY_CHANGE_TYPE:
            # Proven under the key that announces its successor (its last checkpoint), so whoever trusts
            # only that key follows the announcement (docs/evidence.md).
            target = next((c for c in self.node.sealer.checkpoints(after=leaf[0])
                           if c.signer == envelope.authority), self.latest)
        self.checkpoints[(target.origin, target.size)] = target
        path = self.node.sealer.inclusion_proof(leaf[0], target.size)
        return inclusion_document(envelope, leaf[0], target, path)

    def partner(self, envelope: Envelope) -> dict[str, Any]:
        """The proof partner ``envelope.node``'s record was accepted with (``NOT_KEPT`` if none was kept)."""
        kept = self.node.inbox.kept_proofs(node=envelope.node, stream=envelope.stream).get(envelope.version)
        checkpoint = None
        if kept is not None:
            checkpoint = self._partner_checkpoint(envelope.node, kept.checkpoint_size)
        if kept is None or checkpoint is None:
            return inclusion_document(envelope, None, None, (), NOT_KEPT)
        self.checkpoints[(checkpoint.origin, checkpoint.size)] = checkpoint
        return inclusion_document(envelope, kept.leaf_index, checkpoint, kept.audit_path)

    def of(self, envelope: Envelope) -> dict[str, Any]:
        return self.own(envelope) if envelope.node == self.node.identity.state else self.partner(envelope)

    def _partner_checkpoint(self, origin: str, size: int) -> Checkpoint | None:
        if origin not in self._partner_checkpoints:
            self._partner_checkpoints[origin] = {c.size: c for c in self.node.inbox.partner_checkpoints(origin)}
        return self._partner_checkpoints[origin].get(size)


def node_keys_by_state(node: Node) -> dict[str, list[bytes]]:
    """Every node key this node knows, oldest first per state: its own, and its trusted partners' (with the
    earlier keys it followed, ``Partner.previous_keys``)."""
    from nodes.federation.trust import TrustStore

    partners = TrustStore(node.settings.home).partners()
    return {node.identity.state: list(node.identity.node_keys),
            **{s: [*(k.public_key for k in p.previous_keys), p.node_public_key] for s, p in partners.items()}}


def signer_key(checkpoint: Checkpoint, keys: dict[str, list[bytes]]) -> bytes:
    """The public key of ``keys`` (``node_keys_by_state``) that ``checkpoint.signer`` names; the origin's current
    key when none does (the document then fails where it is checked)."""
    held = keys.get(checkpoint.origin, [])
    return next((k for k in held if key_id(k) == checkpoint.signer), held[-1] if held else b"")


def own_record_with_hash(node: Node, envelope_hash: bytes) -> Envelope:
    """Our record whose envelope hash is ``envelope_hash``; ``InvalidField`` (field ``record``) if our log's
    leaf index has none."""
    leaf = node.sealer.leaf_with_hash(envelope_hash)
    if leaf is None:
        raise InvalidField(f"no sealed record of this node's log has the hash {envelope_hash.hex()}", field="record")
    for envelope in node.registry.envelopes(UUID(leaf.stream)):
        if envelope.version == leaf.version and envelope.hash == envelope_hash:
            return envelope
    raise InvalidField(f"the record {envelope_hash.hex()} is in the leaf index but no longer in the log: "
                       "run armsledger verify", field="record")


def consistency_document(node: Node, size1: int, size2: int | None) -> dict[str, Any]:
    """The RFC 9162 consistency proof between our signed checkpoints of ``size1`` and ``size2`` (default:
    the latest). ``InvalidField`` naming ``from`` or ``to`` for a size that is not a checkpoint's, or
    ``from`` beyond ``to``."""
    checkpoints = {c.size: c for c in node.sealer.checkpoints()}
    if not checkpoints:
        raise InvalidField("this node has signed no checkpoint yet", field="from")
    sizes = ", ".join(str(s) for s in sorted(checkpoints)[-8:])
    if size1 not in checkpoints:
        raise InvalidField(f"{size1} is not the size of one of our signed checkpoints (the newest: {sizes})",
                           field="from")
    if size2 is None:
        size2 = max(checkpoints)
    if size2 not in checkpoints:
        raise InvalidField(f"{size2} is not the size of one of our signed checkpoints (the newest: {sizes})",
                           field="to")
    if size1 > size2:
        raise InvalidField(f"--from {size1} is larger than --to {size2}: a log only grows", field="from")
    keys = node.identity.node_keys
    return {
        "origin": node.identity.state,
        "from": checkpoint_document(checkpoints[size1], public_bytes(signing_key(checkpoints[size1], keys))),
        "to": checkpoint_document(checkpoints[size2], public_bytes(signing_key(checkpoints[size2], keys))),
        "proof": [p.hex() for p in node.sealer.consistency_proof(size1, size2)],
    }
