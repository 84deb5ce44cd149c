"""Everything this node holds of one weapon as one document: our records (each checked as it is
read), partners' records received (the inbox) and the records of trace answers (verified
fragments), in business-time order, with the weapon's state folded from the verified ones.

The CLI's ``history``, the API's ``GET /api/v1/weapons/{id}`` and the desk's timeline all show
this document (its fields: docs/cli.md, ``history --json``). Nothing here decides what is
trusted: our records are checked by ``nodes.registry.own_records``, the others were admitted by
the one acceptance rule (``nodes.tracing.lifecycle.federated_lifecycle``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from domain.errors import UnknownWeapon
from domain.event_types import AUTHORITY_CERTIFIED, CORRECTED, WEAPON_EVENT_TYPES
from domain.records import SignedRecord
from domain.time import format_time
from domain.weapon_state import WeaponState
from ledger.acceptance import CertifiedKey, revoked_signer
from ledger.envelope import Envelope
from nodes.bootstrap import Node
from nodes.federation.crossborder import partner_states
from nodes.reference.matching import with_references
from nodes.registry.own_records import CheckedRecord, own_signers, verified_history
from nodes.registry.plain_data import plain_record
from nodes.tracing.lifecycle import federated_lifecycle
from projections.weapon_state import fold

#: Where a record shown was found: signed here, received from a partner by sync, or in a trace answer.
OWN, PARTNER, TRACE = "own", "partner", "trace"


@dataclass(frozen=True)
class HeldRecord:
    """One record held and where it was found (``OWN``, ``PARTNER``, ``TRACE``); ``problem``: why it
    fails (None: it verifies); ``envelope`` None: an unreadable row. Offers what the fold needs
    (``projections.weapon_state.WeaponRecord``) once ``in_business_order`` set ``sequence_on``."""

    source: str
    version: int
    problem: str | None
    envelope: SignedRecord | None
    sequence_on: int = 0
    revoked: CertifiedKey | None = None  # signed by this key at or after the time it was revoked since

    @property
    def type(self) -> str:
        return self.envelope.type if self.envelope is not None else ""

    @property
    def node(self) -> str:
        return self.envelope.node if self.envelope is not None else ""

    @property
    def occurred_on(self) -> int:
        return self.envelope.occurred_on if self.envelope is not None else 0

    @property
    def body(self) -> Mapping[str, Any]:
        return self.envelope.body if self.envelope is not None else {}


def federated_history(node: Node, weapon_id: UUID, *, own_only: bool = False, typed: str = "") -> dict[str, Any]:
    """The weapon's history document: every record held of it (``own_only``: ours only).

    ``UnknownWeapon`` (field ``weapon``) when this node holds no record of it, repeating
    ``typed`` (what the officer typed: an id, its start or a marking) when given. Our records
    that fail verification are shown with their ``problem``, never dropped, and never folded.
    """
    try:
        _, checked = verified_history(node.registry, node.identity, weapon_id)
    except UnknownWeapon:
        checked = []  # known here, if at all, from partners' records only
    register = own_signers(node.registry, node.identity)[0].certified  # retired and revoked keys too
    held = _own(checked, register)
    kinds = {key_id: key.kind for key_id, key in register.items()}
    if not own_only:
        received = _received(node, weapon_id, {h.envelope.hash for h in held if h.envelope is not None}, kinds)
        held += received
    if not held:
        raise UnknownWeapon(f"no record of weapon {typed.strip() or weapon_id}", field="weapon")
    held = in_business_order(held)
    document = history_document(weapon_id, fold_held(weapon_id, held), held, kinds, own_only=own_only)
    return with_references(node, document)  # the reference entry each description matches, or its flag


def history_document(weapon_id: UUID, state: WeaponState, held: list[HeldRecord], authority_kinds: dict[str, str], *,
                     own_only: bool) -> dict[str, Any]:
    """The ``history --json`` object: the weapon's folded ``state`` and one entry per record ``held``,
    each value once (the signed body is under ``body``, never repeated beside it)."""
    return {
        "weapon_id": str(weapon_id),
        "marking": dict(state.marking),
        "description": {"type": state.type, "make": state.make, "model": state.model, "calibre": state.calibre,
                        "year": state.year},
        "import_marking": dict(state.import_marking),
        "status": state.status.value if state.status is not None else None,
        "holder": state.holder,
        "place": state.place,
        "in_transit_to": state.in_transit_to,
        "flags": list(state.flags),
        "marks": list(state.marks),
        "components": [{"kind": kind, **plain_record(dict(part))} for kind, part in sorted(state.components.items())],
        "conversions": list(state.conversions),
        "own_only": own_only,
        "verified": all(h.problem is None for h in held),
        "events": _with_corrections([_event_document(h, authority_kinds) for h in held]),
    }


def _with_corrections(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` where each corrected record shows, beside its body as signed, its ``corrections`` (date,
    officer, authority, reason, old and new values, hash, in the order recorded) and the values it now
    has (``corrected``, the latest of each field: what the fold used). Corrections that fail verification
    correct nothing."""
    found: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for e in events:
        if e["type"] == CORRECTED and e["verified"] and isinstance(e["body"].get("record_version"), int):
            found.setdefault((e["node"], e["body"]["record_version"]), []).append({
                "hash": e["hash"], "occurred_on_iso": e["occurred_on_iso"], "recorded_at_iso": e["recorded_at_iso"],
                "authority_kind": e["authority_kind"], "officer": e["officer"], "reason": e["body"].get("reason"),
                "old_values": e["body"].get("old_values", {}), "new_values": e["body"].get("new_values", {})})
    for e in events:
        corrections = sorted(found.get((e["node"], e["version"]), ()), key=lambda c: c["recorded_at_iso"])
        if corrections and e["type"] != CORRECTED:
            e["corrections"] = corrections
            e["corrected"] = {k: v for c in corrections for k, v in c["new_values"].items()}
    return events


def _own(checked: list[CheckedRecord], register: Mapping[str, CertifiedKey]) -> list[HeldRecord]:
    return [HeldRecord(OWN, r.version, r.problem, r.envelope,
                       revoked=revoked_signer(r.envelope, register) if r.envelope is not None else None)
            for r in checked]


def _received(node: Node, weapon_id: UUID, own_hashes: set[bytes], kinds: dict[str, str]) -> list[HeldRecord]:
    """Partners' records of the weapon and those of trace answers; ``kinds`` learns the authority kinds
    their certificates name."""
    wid = str(weapon_id)
    life = federated_lifecycle(node, weapon_id)
    from_inbox = {e.hash for e in node.inbox.received_about(wid, partner_states(node))}
    held = []
    revoked = dict((record.hash, key) for record, key in life.revoked)
    for record in (*life.records, *(record for record, _ in life.revoked)):
        if record.type == AUTHORITY_CERTIFIED:
            kinds.setdefault(str(record.body.get("key_id", "")), str(record.body.get("kind", "")))
        elif record.stream == wid and record.type in WEAPON_EVENT_TYPES and record.hash not in own_hashes:
            held.append(HeldRecord(PARTNER if record.hash in from_inbox else TRACE, record.version, None, record,
                                   revoked=revoked.get(record.hash)))
    return held


def in_business_order(held: list[HeldRecord]) -> list[HeldRecord]:
    """Sorted as the fold reads them (``projections.weapon_state.lifecycle_order``): business time
    kept monotonic along each node's chain, then node and version. An unreadable row of ours keeps
    its place in our chain (after the version before it)."""
    own_node = next((h.node for h in held if h.source == OWN and h.envelope is not None), "")
    chains: dict[str, list[HeldRecord]] = {}
    for h in held:
        chains.setdefault(own_node if h.source == OWN else h.node, []).append(h)
    ordered = []
    for node, chain in chains.items():
        running = 0
        for h in sorted(chain, key=lambda h: h.version):
            running = max(running, h.occurred_on) if h.envelope is not None else running
            ordered.append((node, replace(h, sequence_on=running)))
    ordered.sort(key=lambda pair: (pair[1].sequence_on, pair[0], pair[1].version))
    return [h for _, h in ordered]


def fold_held(weapon_id: UUID | str, held: list[HeldRecord]) -> WeaponState:
    """The state from the records that verify and were not signed by a revoked key; our own chain
    only up to its first failure (what follows a broken link cannot be trusted to apply to the state
    before it)."""
    failed = [h.version for h in held if h.source == OWN and h.problem is not None]
    first_failure = min(failed) if failed else None
    usable = [h for h in held if h.envelope is not None and h.problem is None and h.revoked is None
              and not (h.source == OWN and first_failure is not None and h.version > first_failure)]
    return fold(str(weapon_id), usable).state


def _revoked_document(key: CertifiedKey | None) -> dict[str, Any] | None:
    """What ``history`` says of a record signed by a revoked key (docs/keys.md); None for any other."""
    if key is None or key.revoked_since is None:
        return None
    return {"key_id": key.key_id, "kind": key.kind, "since": key.revoked_since,
            "since_iso": format_time(key.revoked_since), "reason": key.revoked_reason}


def _event_document(h: HeldRecord, authority_kinds: dict[str, str]) -> dict[str, Any]:
    check = {"verified": h.problem is None, "problem": h.problem, "revoked": _revoked_document(h.revoked)}
    envelope = h.envelope
    if envelope is None:  # an unreadable row of ours: only its version is known
        return {"type": None, "version": h.version, "occurred_on": None, "occurred_on_iso": "",
                "recorded_at": None, "recorded_at_iso": "", "node": "", "source": h.source, "authority": "",
                "authority_kind": "", "officer": None, "hash": "", "prev": "", "body": {}, **check}
    officer = envelope.body.get("officer")
    return {
        "type": envelope.type,
        "version": envelope.version,
        "occurred_on": envelope.occurred_on,
        "occurred_on_iso": format_time(envelope.occurred_on),
        "recorded_at": envelope.recorded_at,
        "recorded_at_iso": format_time(envelope.recorded_at // 1_000_000),
        "node": envelope.node,
        "source": h.source,
        "authority": envelope.authority,
        "authority_kind": authority_kinds.get(envelope.authority, ""),
        "officer": officer if isinstance(officer, str) else None,
        "hash": envelope.hash.hex(),
        "prev": envelope.prev.hex() if isinstance(envelope, Envelope) else "",
        "body": plain_record(dict(envelope.body)),
        **check,
    }

