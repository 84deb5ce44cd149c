"""Licences and authorizations as officers read them: this state's own and those partners sent.

``armsledger licence list|show``, the HTTP API and the licensing desk call these, so a
licence reads the same everywhere. Own licences are read back verified (the one
acceptance rule, ``nodes.registry.own_records``); a partner's authorization was verified
when ingest accepted it and is shown with the node it came from. The use of a licence is
the shipments made under it (``nodes.registry.licence_use``) and the quantity left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.errors import InvalidField, LicenceRefused
from domain.event_types import LICENCE_ISSUED
from domain.licence import Licence, LicenceKind, LicenceState
from domain.marking import normalise
from domain.time import format_time
from ledger.envelope import Envelope
from nodes.acceptance import DomainPolicy
from nodes.ports import Node
from nodes.registry.licence_use import uses_of
from nodes.registry.mapper import domain_event_from
from nodes.registry.own_records import own_signers, verified_stream
from nodes.registry.paging import received, signed
from nodes.values import id_prefix, one_by_prefix


def parse_kind(text: str, field: str = "kind") -> LicenceKind:
    """A kind as typed (``transfer-licence``, ``Transfer Licence``) as a ``LicenceKind``; ``InvalidField``."""
    return LicenceKind.parse(_word(text), field=field)


def parse_state(text: str, field: str = "state") -> LicenceState:
    """A licence state as typed (``valid``, ``expired``, ``revoked``, ``not-yet-valid``); ``InvalidField``."""
    return LicenceState.parse(_word(text), field=field)


def _word(text: str) -> str:
    return (text or "").strip().lower().replace("-", "_").replace(" ", "_")


def replay_licence(envelopes: list[Envelope]) -> Licence | None:
    """The licence aggregate of one licence stream, or None if it does not open with ``Licence.Issued``."""
    licence = None
    for envelope in envelopes:
        if licence is None and envelope.type != LICENCE_ISSUED:
            return None
        licence = domain_event_from(envelope).mutate(licence)
    return licence if isinstance(licence, Licence) else None


@dataclass(frozen=True)
class HeldLicence:
    """A licence this node holds a record of: ``origin`` is the state whose node signed it (ours or a
    partner's); ``signature`` is "verified" or the reason its records do not verify."""

    licence: Licence
    origin: str
    own: bool
    issued: Envelope
    signature: str


def held_licences(node: Node, wanted: Callable[[Envelope], bool] | None = None) -> list[HeldLicence]:
    """Every licence of this state (read back verified) and every one received from a partner; with
    ``wanted``, only those whose ``Licence.Issued`` record it accepts (checked before verifying)."""
    registry = node.registry
    signers, _ = own_signers(registry, node.identity)
    policy = DomainPolicy(node.identity.state)
    held: list[HeldLicence] = []
    for issued in signed(registry.recorder, (LICENCE_ISSUED,)):
        if wanted is not None and not wanted(issued):
            continue
        checked = verified_stream(registry, UUID(issued.stream), signers, policy)
        problems = [c.problem for c in checked if c.problem is not None]
        good = [c.envelope for c in checked if c.problem is None and c.envelope is not None]
        licence = replay_licence(good) if good and good[0].type == LICENCE_ISSUED else None
        if licence is not None:
            held.append(HeldLicence(licence, node.identity.state, True, issued,
                                    "verified" if not problems else f"NOT VERIFIED: {problems[0]}"))
    streams = {(e.node, e.stream) for _, e in received(node.inbox)
               if e.type == LICENCE_ISSUED and (wanted is None or wanted(e))}
    for origin, stream in sorted(streams):
        records = node.inbox.received(node=origin, stream=stream)
        licence = replay_licence(records)
        if licence is not None and licence.issuer_state == origin:
            held.append(HeldLicence(licence, origin, False, records[0], f"verified on receipt from {origin}"))
    return held


def list_licences(node: Node, *, kind: LicenceKind | None = None, holder: str = "",
                  state: LicenceState | None = None, valid_on: int | None = None,
                  now: int | None = None) -> list[dict[str, Any]]:
    """Licences held here matching every filter given, by issuer, kind and number.

    ``holder`` matches the holder's name whole, ignoring case and punctuation; ``state`` is
    the state ``now`` (default: the present); ``valid_on`` keeps those valid at that moment.
    """
    now = int(time.time()) if now is None else now
    wanted = normalise(holder) if holder.strip() else ""
    found = []
    for held in held_licences(node):
        licence = held.licence
        if kind is not None and licence.kind is not kind:
            continue
        if wanted and normalise(licence.holder) != wanted:
            continue
        if state is not None and licence.state_on(now) is not state:
            continue
        if valid_on is not None and licence.state_on(valid_on) is not LicenceState.VALID:
            continue
        found.append(_summary(held, now))
    return sorted(found, key=lambda d: (d["issuer_state"], d["kind"], d["number"]))


def find_licence(node: Node, number: str, kind: LicenceKind | None = None, *, field: str = "number") -> HeldLicence:
    """The one licence held here numbered ``number`` (and of ``kind`` when given); failing that, the one
    whose id starts with ``number`` (at least 4 hex characters, as ``licence issue`` prints the id).

    ``InvalidField`` for a blank number; ``LicenceRefused`` naming ``field`` when none is held,
    or when several are (of other kinds or issuers): the refusal lists them, to be told apart by kind.
    """
    typed = (number or "").strip()
    if not typed:
        raise InvalidField("a licence number is required", field=field)
    prefix = _as_id_prefix(typed, field)

    def named(issued: Envelope) -> bool:
        return (normalise(str(issued.body.get("number", ""))) == normalise(typed)
                or bool(prefix) and issued.stream.startswith(prefix))

    held = [h for h in held_licences(node, named) if kind is None or h.licence.kind is kind]
    matches = [h for h in held if normalise(h.licence.number) == normalise(typed)]
    if not matches and prefix:  # the licence id printed by ``licence issue``, or its start
        return one_by_prefix(typed, [h for h in held if str(h.licence.id).startswith(prefix)], what="licence",
                             field_name=field)
    if not matches:
        what = f"{kind.value} " if kind is not None else "licence or authorization "
        raise LicenceRefused(f"no {what}{typed!r} is held here (issued by {node.identity.state} or received "
                             "from a partner)", field=field)
    if len(matches) > 1:
        listed = ", ".join(f"{h.licence.kind.value} of {h.origin}" for h in matches)
        raise LicenceRefused(f"{typed!r} names {len(matches)} licences ({listed}): give the kind", field="kind")
    return matches[0]


def licence_document(node: Node, number: str, kind: LicenceKind | None = None, *,
                     now: int | None = None) -> dict[str, Any]:
    """Every field of licence ``number``, its signature status and origin, the shipments made under it
    and the quantity left. Refusals as ``find_licence``."""
    now = int(time.time()) if now is None else now
    held = find_licence(node, number, kind)
    licence = held.licence
    uses = uses_of(node, licence, own=held.own)
    used = sum(u.quantity for u in uses)
    return {
        **_summary(held, now),
        "licence_id": str(licence.id), "issued_on": licence.issued_on, "issued_on_utc": format_time(licence.issued_on),
        "place_of_issue": licence.place_of_issue, "description": licence.description, "broker": licence.broker,
        "transit_states": list(licence.transit_states), "consignee": licence.consignee, "end_user": licence.end_user,
        "weapons": list(licence.weapons), "revoked_on": licence.revoked_on,
        "revocation_reason": licence.revocation_reason, "authority": held.issued.authority,
        "record_hash": held.issued.hash.hex(), "missing_content": licence.missing_content(),
        "shipments": [u.to_dict() for u in uses], "quantity_used": used,
        "quantity_left": max(licence.quantity - used, 0) if licence.quantity else None,
    }


def _as_id_prefix(typed: str, field: str) -> str:
    try:
        return id_prefix(typed, field_name=field)
    except InvalidField:
        return ""  # not an id: a licence number only


def _summary(held: HeldLicence, now: int) -> dict[str, Any]:
    licence = held.licence
    return {
        "number": licence.number, "kind": licence.kind.value, "issuer_state": licence.issuer_state,
        "origin": "own" if held.own else held.origin, "holder": licence.holder,
        "valid_from": licence.valid_from, "valid_from_utc": format_time(licence.valid_from),
        "valid_until": licence.valid_until, "valid_until_utc": format_time(licence.valid_until),
        "export_state": licence.export_state, "import_state": licence.import_state, "quantity": licence.quantity,
        "state": licence.state_on(now).value, "in_force": licence.state_on(now) is LicenceState.VALID,
        "signature": held.signature,
    }

