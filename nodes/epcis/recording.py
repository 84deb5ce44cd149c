"""Recording an EPCIS document's steps (``nodes.epcis.reading``) through the registry's own commands, so
the rules are the CLI's: manufacture, transfer, export, import, receipt, seizure, deactivation and
destruction. ``record_steps`` is one command: run by a group committer (the service's, or the one the
CLI starts for it) its records are stored all together or, when one step is refused, not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain import event_types as types
from domain.authority import AuthorityKind
from domain.errors import InvalidField
from nodes.epcis.reading import Step, about_event
from nodes.registry import recording
from nodes.registry.application import Registry

L, C, P, D = AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE, AuthorityKind.DEACTIVATION

#: The authority that records each record type when none is named (as ``armsledger record`` does).
LAWFUL_AUTHORITY: dict[str, AuthorityKind] = {
    types.MANUFACTURED: L, types.TRANSFERRED: L, types.EXPORTED: C, types.IMPORTED: C,
    types.RECEIPT_CONFIRMED: C, types.SEIZED: P, types.DEACTIVATED: D, types.DESTROYED: D,
}


def lawful_authority(record_type: str) -> str:
    return LAWFUL_AUTHORITY[record_type].value


#: Confirms receipt of a weapon: (weapon id, authority kind, received by, business date).
Receive = Callable[[UUID, str, str, int], object]


def record_steps(registry: Registry, steps: list[Step], by: Callable[[str], str] = lawful_authority,
                 receive: Receive | None = None) -> list[dict[str, Any]]:
    """Record every step in order; ``by(record_type)`` is the authority kind that signs it. ``receive``
    confirms a receipt (``nodes.federation.crossborder.confirm_receipt`` over the node, which also opens
    the record of a weapon a partner exported to us); without it only an import recorded here is confirmed.

    Returns one entry per step: its event, the record type and the weapons (and shipment) recorded.
    Raises the first refusal as the domain's error naming the event (``reading.about_event``); run as
    one command of a group committer, nothing is then stored.
    """
    done = []
    for step in steps:
        with about_event(step.index, step.event_id, domain_fields=True):
            if step.record_type == types.RECEIPT_CONFIRMED and receive is not None:
                for weapon, _ in step.weapons:
                    receive(weapon, by(step.record_type), str(step.fields.get("received_by", "")), step.occurred_on)
                found = {}
            else:
                found = _RECORD[step.record_type](registry, step, by(step.record_type))
        done.append({"index": step.index, "eventID": step.event_id, "event": step.record_type,
                     "weapon_ids": [str(w) for w, _ in step.weapons], **found})
    return done


def _marked(step: Step) -> list[Any]:
    markings = [m for _, m in step.weapons]
    if any(m is None for m in markings):
        raise InvalidField("a manufacture names each weapon by its marking (urn:armsledger:firearm:...)",
                           field="epcList")
    return markings


def _manufacture(registry: Registry, step: Step, by: str) -> dict[str, Any]:
    for marking in _marked(step):
        registry.manufacture(by=by, marking=marking, occurred_on=step.occurred_on, **step.fields)
    return {}


def _transfer(registry: Registry, step: Step, by: str) -> dict[str, Any]:
    for weapon, _ in step.weapons:
        registry.transfer(by=by, weapon_id=weapon, occurred_on=step.occurred_on, **step.fields)
    return {}


def _export(registry: Registry, step: Step, by: str) -> dict[str, Any]:
    shipment = registry.export(by=by, weapon_ids=[w for w, _ in step.weapons], occurred_on=step.occurred_on,
                               **step.fields)
    return {"shipment_id": str(shipment)}


def _import(registry: Registry, step: Step, by: str) -> dict[str, Any]:
    described = {k: step.fields.get(k) for k in ("type", "make", "model", "calibre", "year")}
    others = {k: v for k, v in step.fields.items() if k not in described}
    for weapon, marking in step.weapons:
        recording.import_weapon(registry, by=by, marking=marking, weapon_id=None if marking else weapon,
                                occurred_on=step.occurred_on, **described, **others)
    return {}


def _receipt(registry: Registry, step: Step, by: str) -> dict[str, Any]:
    for weapon, _ in step.weapons:
        registry.record("confirm_receipt", by=by, weapon_id=weapon, occurred_on=step.occurred_on, **step.fields)
    return {}


def _seize(registry: Registry, step: Step, by: str) -> dict[str, Any]:
    for weapon, marking in step.weapons:
        registry.record_seizure(by=by, weapon_id=None if marking else weapon, marking=marking,
                                occurred_on=step.occurred_on, **step.fields)
    return {}


def _simple(command: str) -> Callable[[Registry, Step, str], dict[str, Any]]:
    def record(registry: Registry, step: Step, by: str) -> dict[str, Any]:
        for weapon, _ in step.weapons:
            registry.record(command, by=by, weapon_id=weapon, occurred_on=step.occurred_on, **step.fields)
        return {}
    return record


_RECORD: dict[str, Callable[[Registry, Step, str], dict[str, Any]]] = {
    types.MANUFACTURED: _manufacture, types.TRANSFERRED: _transfer, types.EXPORTED: _export,
    types.IMPORTED: _import, types.RECEIPT_CONFIRMED: _receipt, types.SEIZED: _seize,
    types.DEACTIVATED: _simple("deactivate"), types.DESTROYED: _simple("destroy"),
}
assert _RECORD.keys() == LAWFUL_AUTHORITY.keys()
