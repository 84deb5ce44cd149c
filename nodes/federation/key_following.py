"""A partner follows a trusted node's key rotation by itself.

When ingest accepts an ``Authority.NodeKeyChanged`` of a partner, proven under the node key
it trusts (signed by it, countersigned by the new key: the one acceptance rule), the partner's
trust moves to the new key and keeps the old one for what it served (``Partner.rotated``).
``follow`` records that first (``Authority.TrustChanged``, change ``rotated``, in the node's own
trust stream), then writes ``HOME/trust/CC.json`` atomically. ``catch_up``, run when ingest
starts, finishes what a crash left undone between the inbox commit, the record and the file, from
the announcements the inbox holds. docs/keys.md ("Partners follow a rotation").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.acceptance import NODE_KEY_CHANGE_TYPE, Refusal, read_node_key_change
from ledger.envelope import Envelope
from nodes.federation.trust import Partner, TrustStore
from nodes.federation.trust_record import record_rotation, recorded_partners
from nodes.registry.identity import authorities_stream

if TYPE_CHECKING:
    from nodes.ports import Inbox, Node


def announced(partner: Partner, envelope: Envelope, leaf_index: int) -> Partner | None:
    """``partner`` after the announcement ``envelope`` at leaf ``leaf_index`` of its log, or ``None`` when it is
    no node key change of the partner's current key (one by an earlier key, or forged: the caller accepted
    it by ``check_signed`` first, which refuses those with the reason)."""
    if envelope.type != NODE_KEY_CHANGE_TYPE or envelope.node != partner.state \
            or envelope.authority != partner.node_key_id:
        return None
    new = read_node_key_change(envelope.body, partner.node_public_key)
    if isinstance(new, Refusal):
        return None
    return partner.rotated(new, retired_from=envelope.recorded_at, last_size=leaf_index + 1)


def follow(node: Node, after: Partner, announcement: Envelope) -> None:
    """Record that ``node`` now trusts ``after`` (``announced``), then write its trust file. Requires an
    unlocked node (the record is signed by its node key)."""
    previous = after.previous_keys[-1]
    record_rotation(node, after, reason=(
        f"{after.state} announced node key {after.node_key_id} in its Authority.NodeKeyChanged record "
        f"{announcement.hash.hex()} (log size {previous.last_size}), signed by its node key {previous.key_id} "
        "and countersigned by the new key"))
    TrustStore(node.settings.home).write(after)


def catch_up(node: Node, inbox: Inbox) -> list[str]:
    """Finish the rotations a crash left half done; returns the states whose trust it changed.

    For each partner the log records as trusted: an announcement of its current key held in the inbox
    (accepted by ingest, with the proof that gives its log position) that no ``rotated`` record follows
    yet is recorded; then a trust file that still holds a key the log records as rotated away (the file
    lags behind the record) is written again. A file that differs otherwise is left for ``verify`` to
    report (swapped, altered). Requires an unlocked node.
    """
    store = TrustStore(node.settings.home)
    files, damaged = store.readable()
    changed = []
    for state, partner in recorded_partners(node.registry, node.identity).items():
        followed = partner
        stream = str(authorities_stream(state))
        proofs = None
        for envelope in inbox.received(node=state, stream=stream):
            if envelope.type != NODE_KEY_CHANGE_TYPE or envelope.authority != followed.node_key_id:
                continue
            proofs = proofs if proofs is not None else inbox.kept_proofs(node=state, stream=stream)
            proof = proofs.get(envelope.version)
            after = announced(followed, envelope, proof.leaf_index) if proof is not None else None
            if after is not None:
                follow(node, after, envelope)
                followed = after
        held = files.get(state)
        lags = state not in damaged and held is not None and held != followed and _lags(held, followed)
        if lags:
            store.write(followed)
        if lags or followed != partner:
            changed.append(state)
    return changed


def _lags(held: Partner, recorded: Partner) -> bool:
    """Whether the file ``held`` is an earlier stage of ``recorded``: its key is one ``recorded`` rotated away."""
    stages = recorded.previous_keys
    for at, key in enumerate(stages):
        if key.public_key == held.node_public_key:
            return tuple(k.public_key for k in held.previous_keys) == tuple(k.public_key for k in stages[:at])
    return False
