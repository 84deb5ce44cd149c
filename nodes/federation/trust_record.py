"""The trust store recorded in the node's own signed log, and the check that its files still match.

``trust add`` and ``trust remove`` first record the change as an ``Authority.TrustChanged``
record signed by the node key (stream ``trust_stream(state)``, never shared), then change
``HOME/trust``. ``trust_problems`` (part of ``armsledger verify``) compares the files with
what the log records, so a file swapped for another key, or added or removed by hand, is
named with both fingerprints. The protocol and the migration of older stores: docs/keys.md.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eventsourcing.application import AggregateNotFoundError

from domain.countries import ISO_3166_ALPHA2
from domain.errors import InvalidField
from domain.event_types import TRUST_CHANGED
from ledger.acceptance import NodeKey
from ledger.audit_report import Problem, ProblemKind
from ledger.keys import fingerprint, key_id
from nodes.acceptance import DomainPolicy
from nodes.federation.trust import Partner, TrustStore
from nodes.registry.identity import TRUST_ADDED, TRUST_REMOVED, TRUST_ROTATED, AuthorityRegister, trust_stream
from nodes.registry.own_records import own_signers, verified_stream

if TYPE_CHECKING:
    from nodes.ports import Node
    from nodes.registry.application import Registry
    from nodes.registry.identity import NodeIdentity


def recorded_trust(registry: Registry, identity: NodeIdentity) -> dict[str, bytes]:
    """The partners' node keys (state -> raw public key) that the node's log records as trusted now."""
    return {state: partner.node_public_key for state, partner in recorded_partners(registry, identity).items()}


def recorded_partners(registry: Registry, identity: NodeIdentity) -> dict[str, Partner]:
    """The partners the node's log records as trusted now, each with the earlier node keys it followed.

    Reads the trust stream with the one acceptance rule; a record that fails it changes
    nothing here (``verify``'s log audit names it); nor does a rotation from a key not trusted then.
    """
    signers, _ = own_signers(registry, identity)
    trusted: dict[str, Partner] = {}
    for record in verified_stream(registry, trust_stream(identity.state), signers, DomainPolicy(identity.state)):
        envelope = record.envelope
        if record.problem is not None or envelope is None or envelope.type != TRUST_CHANGED:
            continue
        body = envelope.body
        partner, public, change = (body.get(n) for n in ("partner", "public_key", "change"))
        if not (isinstance(partner, str) and isinstance(public, bytes) and len(public) == 32):
            continue
        if change == TRUST_ADDED:
            trusted[partner] = Partner(partner, key_id(public), public)
        elif change == TRUST_REMOVED:
            trusted.pop(partner, None)
        elif change == TRUST_ROTATED:
            before = trusted.get(partner)
            last_size, retired_from = body.get("last_size"), body.get("retired_from")
            if before is not None and before.node_public_key == body.get("previous_public_key") \
                    and isinstance(last_size, int) and isinstance(retired_from, int):
                trusted[partner] = before.rotated(NodeKey(key_id(public), public), retired_from=retired_from,
                                                  last_size=last_size)
    return trusted


def record_trust(node: Node, partner: Partner, *, reason: str = "") -> bool:
    """``node`` trusts ``partner``: the change is recorded (signed by the node key), then the file written.

    Returns whether a record was written: none when the log records that key as trusted
    already (the file is written again all the same, which also repairs a missing one).
    Raises ``InvalidField`` as ``TrustStore.add`` does, and on ``state`` when the log records
    another key for that state (``trust remove`` first). Requires an unlocked node.
    """
    store = TrustStore(node.settings.home)
    store.check_addable(partner, own_state=node.identity.state)
    recorded = recorded_trust(node.registry, node.identity).get(partner.state)
    if recorded is not None and recorded != partner.node_public_key:
        raise InvalidField(f"{partner.state} is recorded as trusted with another key ({key_id(recorded)}); "
                           "remove it first (armsledger trust remove) if the partner changed its key", field="state")
    wrote = recorded is None
    if wrote:
        _record_change(node, partner.state, partner.node_public_key, added=True, reason=reason)
    # Earlier keys are learnt from the partner's own announcements (``key_following``), never from a file given.
    store.add(Partner(partner.state, partner.node_key_id, partner.node_public_key), own_state=node.identity.state)
    return wrote


def remove_trust(node: Node, state: str, *, reason: str) -> Partner:
    """``node`` no longer trusts ``state``: the removal is recorded, then the file deleted; returns the key removed.

    ``InvalidField`` on ``reason`` when it is blank, on ``state`` when it is no country code or
    no trusted partner (neither recorded nor in the trust store). Requires an unlocked node.
    """
    code = (state or "").strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise InvalidField(f"{state!r} is not an ISO 3166-1 alpha-2 country code", field="state")
    if not (reason or "").strip():
        raise InvalidField("say why the partner is removed (it is recorded in the node's log)", field="reason")
    store = TrustStore(node.settings.home)
    public = recorded_trust(node.registry, node.identity).get(code)
    if public is None:
        in_file = store.readable()[0].get(code)
        public = in_file.node_public_key if in_file is not None else None
    if public is None and not store.holds(code):
        raise InvalidField(f"{code} is not a trusted partner", field="state")
    if public is not None:
        _record_change(node, code, public, added=False, reason=reason.strip())
    store.remove(code)
    return Partner(code, key_id(public) if public is not None else "", public or b"")


def trust_problems(registry: Registry, identity: NodeIdentity, store: TrustStore) -> list[Problem]:
    """Each difference between the trust store's files and what the node's log records of them."""
    recorded = recorded_partners(registry, identity)
    files, damaged = store.readable()
    problems = [_trust_problem(f"the trust store file of {state} is damaged ({why}); restore it from "
                                      "backup or run 'armsledger trust add' again") for state, why in damaged.items()]
    for state in sorted((set(recorded) | set(files)) - set(damaged)):
        held, said = files.get(state), recorded.get(state)
        if held is None and said is not None:
            problems.append(_trust_problem(f"the node's log records {state} as trusted with key "
                                                  f"{_named(said.node_public_key)}, but the trust store holds no "
                                                  "file for it: it was removed without 'armsledger trust remove'"))
        elif held is not None and said is None:
            problems.append(_trust_problem(f"the trust store trusts {state} with key "
                                                  f"{_named(held.node_public_key)}, which the node's log does not "
                                                  "record (not recorded: added by hand, or before trust changes "
                                                  "were recorded; run 'armsledger trust add' with the partner's "
                                                  "identity file to record it, docs/keys.md)"))
        elif held is not None and said is not None and held.node_public_key != said.node_public_key:
            problems.append(_trust_problem(f"the trust store file of {state} holds key "
                                                  f"{_named(held.node_public_key)}, but the node's log records key "
                                                  f"{_named(said.node_public_key)}: the file was swapped"
                                                  + _lagging(held, said)))
        elif held is not None and said is not None and held.previous_keys != said.previous_keys:
            problems.append(_trust_problem(f"the trust store file of {state} keeps earlier keys "
                                                  f"{_earlier(held)}, but the node's log records {_earlier(said)}: "
                                                  "the file was altered"))
    return problems


def _lagging(held: Partner, said: Partner) -> str:
    """What to add when the file holds a key the log records as followed by a rotation (a crash in between)."""
    if any(k.public_key == held.node_public_key for k in said.previous_keys):
        return (" (or a rotation the log records was not written to the file: the next ingest writes it, "
                "docs/keys.md)")
    return ""


def _earlier(partner: Partner) -> str:
    return ", ".join(f"{k.key_id} (up to size {k.last_size})" for k in partner.previous_keys) or "none"


def _named(public: bytes) -> str:
    return f"{key_id(public)} (fingerprint {fingerprint(public)})"


def _trust_problem(reason: str) -> Problem:
    return Problem(None, None, None, ProblemKind.TRUST, reason)


def record_rotation(node: Node, after: Partner, *, reason: str) -> None:
    """Record that ``node`` follows its partner's node key rotation: ``after`` (``Partner.rotated``) holds the
    new key and, last of its ``previous_keys``, the one it replaces. Only the record: the caller writes the file
    (``nodes.federation.key_following``). Requires an unlocked node."""
    previous = after.previous_keys[-1]
    assert previous.last_size is not None and previous.retired_from is not None  # set by Partner.rotated
    register = _trust_register(node)
    register.rotate_trust(node_key_id=node.identity.node_key_id, partner=after.state,
                          public_key=after.node_public_key, previous_public_key=previous.public_key,
                          last_size=previous.last_size, retired_from=previous.retired_from, reason=reason,
                          occurred_on=_now())
    node.registry.save(register)


def _trust_register(node: Node) -> AuthorityRegister:
    identity = node.identity
    try:
        register: AuthorityRegister = node.registry.repository.get(trust_stream(identity.state))
    except AggregateNotFoundError:
        register = AuthorityRegister.open_trust(state=identity.state, node_key_id=identity.node_key_id,
                                                occurred_on=_now())
    return register


def _record_change(node: Node, state: str, public: bytes, *, added: bool, reason: str) -> None:
    register = _trust_register(node)
    register.change_trust(node_key_id=node.identity.node_key_id, partner=state, public_key=public, added=added,
                          reason=reason, occurred_on=_now())
    node.registry.save(register)


def _now() -> int:
    return int(time.time())
