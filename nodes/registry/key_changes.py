"""Rotating and revoking an authority key (a new key certified by the node key, the old one ended in the log),
and rotating the node key itself (the new one announced by the old).

Both write, in one transaction of the register of authorities, an ``Authority.Certified``
record for a fresh key of the same kind and an ``Authority.Retired`` (rotation: records
the old key signed before the time stay valid) or ``Authority.Revoked`` record (a leak:
records it signed at or after the time are flagged wherever held); then the new key
replaces the old one on disk. ``rotate_node`` records an ``Authority.NodeKeyChanged`` signed
by the old node key and countersigned by the new one, then swaps the node key files. The
acceptance rule (``ledger.acceptance``) reads them; docs/keys.md says what an operator does and when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.authority import AuthorityKind
from domain.errors import InvalidField
from ledger.acceptance import node_key_change_message
from ledger.keys import generate_key, key_id, public_bytes, sign
from nodes.errors import ConfigurationError
from nodes.registry.identity import install_authority_key, install_node_key, new_key_file, new_node_key_file

if TYPE_CHECKING:
    from nodes.ports import Node

#: How far in the future ``--since`` of a revocation may lie (clocks differ). A rotation's ``--from`` may not
#: lie in the past at all: that would refuse records the key signed while in use (a revocation flags them).
CLOCK_SLACK_S = 300


@dataclass(frozen=True)
class KeyChange:
    """What a rotation or revocation did: the kind, the old and new key ids, and from when the old one ended."""

    kind: AuthorityKind
    old_key_id: str
    new_key_id: str
    ended_from: int  # epoch seconds
    revoked: bool

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "old_key_id": self.old_key_id, "new_key_id": self.new_key_id,
                "from": self.ended_from, "revoked": self.revoked}


def rotate_authority(node: Node, kind: AuthorityKind, *, retired_from: int | None = None) -> KeyChange:
    """Certify a new ``kind`` key and retire the old one from ``retired_from`` (default: now) on.

    ``InvalidField`` on ``retired_from`` when it lies in the past: ending
    a key for records already made is a revocation (``revoke_authority``). Requires an
    unlocked node; the new key signs from the next command on (restart a running service).
    """
    now = int(time.time())
    ended = now if retired_from is None else retired_from
    if ended < now:
        raise InvalidField("lies in the past: a key is retired from now on or later; to disown records it "
                           "signed already, revoke it (armsledger key revoke)", field="retired_from")
    return _replace_key(node, kind, ended, reason=None, now=now)


def revoke_authority(node: Node, kind: AuthorityKind, *, since: int, reason: str) -> KeyChange:
    """Revoke the ``kind`` key since ``since`` and certify a replacement at once, so the node keeps working.

    ``InvalidField`` on ``reason`` when blank, on ``since`` when it lies in the future (a leak
    has happened by the time it is known). Requires an unlocked node.
    """
    now = int(time.time())
    if not (reason or "").strip():
        raise InvalidField("say why the key is revoked (it is recorded and shown to partners)", field="reason")
    if since > now + CLOCK_SLACK_S:
        raise InvalidField("lies in the future: revoke since the earliest time the key may have leaked",
                           field="since")
    return _replace_key(node, kind, since, reason=reason.strip(), now=now)


def _replace_key(node: Node, kind: AuthorityKind, ended: int, *, reason: str | None, now: int) -> KeyChange:
    identity, registry = node.identity, node.registry
    passphrase = node.settings.passphrase
    if not identity.private_keys or not passphrase:
        raise ConfigurationError("ARMSLEDGER_PASSPHRASE is not set: it unlocks the node key, which certifies "
                                 "the new key")
    old = identity.authority_key_ids[kind.value]
    key = generate_key()
    new_file = new_key_file(node.settings.home, kind, key, passphrase, cost=node.settings.kek_cost)
    register = registry.authority_register()
    node_key = identity.node_key_id
    register.certify(node_key_id=node_key, public_key=public_bytes(key), kind=kind,
                     name=f"{identity.state} {kind.value} authority", occurred_on=now)
    if reason is None:
        register.retire(node_key_id=node_key, retired=old, kind=kind, retired_from=ended, successor=key_id(key),
                        occurred_on=now)
    else:
        register.revoke(node_key_id=node_key, revoked=old, kind=kind, since=ended, reason=reason,
                        successor=key_id(key), occurred_on=now)
    try:
        registry.save(register)
    except BaseException:
        new_file.unlink(missing_ok=True)  # never certified: nothing refers to it
        raise
    install_authority_key(node.settings.home, identity, kind, new_file)
    return KeyChange(kind, old, key_id(key), ended, reason is not None)


@dataclass(frozen=True)
class NodeKeyChange:
    """What ``rotate_node`` did: the old and new node key ids and when the old one handed over."""

    old_key_id: str
    new_key_id: str
    handed_over_at: int  # epoch seconds

    def to_dict(self) -> dict[str, object]:
        return {"node": True, "old_key_id": self.old_key_id, "new_key_id": self.new_key_id,
                "from": self.handed_over_at}


def rotate_node(node: Node) -> NodeKeyChange:
    """Hand the node key over to a fresh one: announced in the register, signed by the old key and
    countersigned by the new (proof of possession); then the new key takes ``keys/node.key``.

    Then seals with the old key, up to and including the announcement: a partner that trusts the old
    key proves the announcement with it, and learns the new key from it (docs/keys.md). Requires an
    unlocked node; the caller reopens the node to sign with the new key. Stop ``serve`` and ``node run``
    first: a record written by them between the announcement and that seal would be sealed by the old
    key beyond its announcement, which ``verify`` refuses.
    """
    identity, registry = node.identity, node.registry
    passphrase = node.settings.passphrase
    if not identity.private_keys or not passphrase:
        raise ConfigurationError("ARMSLEDGER_PASSPHRASE is not set: it unlocks the node key, which announces "
                                 "its successor")
    key = generate_key()
    new_public = public_bytes(key)
    new_file = new_node_key_file(node.settings.home, key, passphrase, cost=node.settings.kek_cost)
    register = registry.authority_register()
    now = int(time.time())
    register.change_node_key(node_key_id=identity.node_key_id, previous_public_key=identity.node_public_key,
                             new_public_key=new_public,
                             countersignature=sign(key, node_key_change_message(identity.node_public_key, new_public)),
                             occurred_on=now)
    try:
        registry.save(register)
    except BaseException:
        new_file.unlink(missing_ok=True)  # never announced: nothing refers to it
        raise
    node.sealer.seal()  # by the old key, which the node still holds: the last checkpoint it signs
    install_node_key(node.settings.home, identity, new_public, new_file)
    return NodeKeyChange(identity.node_key_id, key_id(new_public), now)
