"""The federated lifecycle of one weapon, and its custody record by record.

``Lifecycle`` holds the records of every node about the weapon (its stream, the
shipments it travelled in, licences, authority certificates) in business-time
order; ``walk`` turns them into the custody before each record. Pure: the
records were verified by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from domain import event_types as types
from domain.corrected import as_corrected
from domain.diversion.verdict import Custodian
from domain.marking import normalise
from domain.records import SignedRecord

# Records by the destination state that only a lawful holder there can make: proof of arrival.
_LAWFUL_IN_DESTINATION = frozenset({types.IMPORTED, types.RECEIPT_CONFIRMED, types.TRANSFERRED, types.EXPORTED})


def lifecycle_order(envelope: SignedRecord) -> tuple[int, int, str, str, int]:
    # Business time first, recording time to break ties; node, stream and version
    # only make the order total so that verdicts do not depend on input order.
    return (envelope.occurred_on, envelope.recorded_at, envelope.node, envelope.stream, envelope.version)


class Lifecycle:
    """The weapon's records from every node, in business-time order, with their context."""

    def __init__(self, weapon_id: str, records: Iterable[SignedRecord], licences: Iterable[SignedRecord],
                 answered: Iterable[str], *, donor_of: str = ""):
        records = list({r.hash: r for r in records}.values())
        self.weapon_id = weapon_id
        self.records = records      # every record given, components' and their other weapons' too
        self.donor_of = donor_of    # the weapon whose part came from this one ("" for the weapon analysed)
        # The weapon's records read with their corrected values; the corrections themselves are no custody.
        weapon = [r for r in as_corrected(r for r in records if r.stream == weapon_id)
                  if r.type.startswith(types.WEAPON_PREFIX)]
        shipments = {str(r.body.get("shipment", "")) for r in weapon} - {""}
        related = [r for r in records if r.type in (types.SHIPMENT_OPENED, types.SHIPMENT_RECEIPT_CONFIRMED) and (
            r.stream in shipments or weapon_id in map(str, r.body.get("weapons", ())))]
        self.timeline = sorted(weapon + related, key=lifecycle_order)
        self.position = {r.hash: i for i, r in enumerate(self.timeline)}
        self.heard = {r.node for r in self.timeline} | set(answered)
        self.names = {str(r.body.get("key_id")): str(r.body.get("name", "")) for r in records
                      if r.type == types.AUTHORITY_CERTIFIED}
        self.licences = {(str(r.body.get("issuer_state") or r.node), str(r.body.get("kind")),
                          normalise(str(r.body.get("number")))): r
                         for r in (*licences, *records) if r.type == types.LICENCE_ISSUED}
        source = next((r for r in self.timeline
                       if r.type in (types.MANUFACTURED, types.IMPORTED) and r.body.get("marking")), None)
        self.marked_at = source    # the record of the marking as applied (manufacture, else import)
        self.original_marking = dict(source.body["marking"]) if source is not None else None
        marking = self.original_marking or next(
            (dict(r.body["marking"]) for r in self.timeline if r.body.get("marking")), None)
        self.name = (f"{marking.get('manufacturer', '').upper()} {marking.get('country', '')} "
                     f"{marking.get('serial', '')}" if marking else weapon_id)

    def components_found(self) -> list[SignedRecord]:
        """The records of components found in this weapon when it was seized (``Component.Seized``)."""
        return sorted((r for r in self.records if r.type == types.COMPONENT_SEIZED
                       and r.body.get("weapon_id") == self.weapon_id), key=lifecycle_order)

    def component_before(self, found: SignedRecord, *record_types: str) -> SignedRecord | None:
        """The last record of ``record_types`` of ``found``'s component before ``found``."""
        earlier = [r for r in self.records if r.stream == found.stream and r.type in record_types
                   and lifecycle_order(r) < lifecycle_order(found)]
        return max(earlier, key=lifecycle_order, default=None)

    def ordered(self, envelopes: Iterable[SignedRecord | None]) -> list[SignedRecord]:
        unique = {e.hash: e for e in envelopes if e is not None}
        return sorted(unique.values(), key=lambda e: self.position.get(e.hash, -1))

    def after(self, envelope: SignedRecord, *types: str) -> list[SignedRecord]:
        later = self.timeline[self.position[envelope.hash] + 1:]
        return [r for r in later if not types or r.type in types]

    def licence(self, issuer: str, kind: str, number: str) -> SignedRecord | None:
        return self.licences.get((issuer, kind, normalise(number or "")))

    def authority(self, envelope: SignedRecord, role: str) -> str:
        """The certified name of the record's authority, else its role and state."""
        return self.names.get(envelope.authority) or f"the {role} of {envelope.node}"

    def shipment_opened(self, export: SignedRecord) -> SignedRecord | None:
        return next((r for r in self.timeline if r.type == types.SHIPMENT_OPENED
                     and r.stream == export.body.get("shipment")), None)

    def arrivals(self, export: SignedRecord) -> list[tuple[SignedRecord, str]]:
        """Records proving the export arrived somewhere, with the state each places it in.

        A receipt or import naming the shipment (from whichever state), or, when
        the record names no shipment, a lawful record by the destination after
        the export (the destination's import of a weapon whose papers lacked the
        shipment number is still its arrival).
        """
        shipment, destination = str(export.body.get("shipment", "")), str(export.body.get("to_state", ""))
        found = []
        for record in self.timeline:
            named = str(record.body.get("shipment", "")) if record.stream == self.weapon_id else record.stream
            if record.type == types.SHIPMENT_RECEIPT_CONFIRMED and shipment and named == shipment:
                found.append((record, str(record.body.get("confirmed_by_state", ""))))
            elif record.type in (types.RECEIPT_CONFIRMED, types.IMPORTED) and shipment and named == shipment:
                found.append((record, str(record.body.get("import_state") or record.node)))
            elif (record.type in _LAWFUL_IN_DESTINATION and record.node == destination and not named
                  and self.position[record.hash] > self.position[export.hash]):
                found.append((record, destination))
        return found


# --- custody, record by record ------------------------------------------------------


@dataclass(frozen=True)
class Custody:
    """Where the weapon stood in law: status, last legal custodian, and the record proving it."""

    status: str = "unrecorded"   # held | in-transit | missing | seized | deactivated | destroyed
    holder: str = ""
    state: str = ""
    proof: SignedRecord | None = None
    transit: SignedRecord | None = None

    @property
    def custodian(self) -> Custodian | None:
        return Custodian(self.holder, self.state) if self.proof is not None else None


def walk(life: Lifecycle) -> list[Custody]:
    """Custody before each record of ``life.timeline``; the last entry is custody now."""
    custody = [Custody()]
    for record in life.timeline:
        custody.append(step(custody[-1], record, life))
    return custody


def step(c: Custody, r: SignedRecord, life: Lifecycle) -> Custody:
    body, kind = r.body, r.type
    if kind == types.MANUFACTURED:
        return Custody("held", str(body.get("holder", "")), r.node, r)
    if kind == types.IMPORTED:
        return Custody("held", str(body.get("holder", "")), str(body.get("import_state") or r.node), r)
    if kind in (types.RECEIPT_CONFIRMED, types.SHIPMENT_RECEIPT_CONFIRMED):
        state = r.node if kind == types.RECEIPT_CONFIRMED else str(body.get("confirmed_by_state", ""))
        if kind == types.SHIPMENT_RECEIPT_CONFIRMED and c.status != "in-transit":
            return c
        known = c.holder if c.status == "held" and c.state == state else (
            str(c.transit.body.get("consignee", "")) if c.transit is not None else "")
        return Custody("held", str(body.get("received_by") or known), state, r)
    if kind == types.TRANSFERRED:
        return Custody("held", str(body.get("to_holder", "")), r.node, r)
    if kind == types.EXPORTED:
        origin = str(body.get("from_state") or r.node)
        holder = c.holder if c.state == origin else ""
        if not holder:  # the export licence was issued to the exporting holder (FP art 10(2))
            licence = life.licence(origin, "export_licence", str(body.get("licence", "")))
            holder = str(licence.body.get("holder", "")) if licence is not None else ""
        return Custody("in-transit", holder, origin, r, transit=r)
    if kind in (types.REPORTED_LOST, types.REPORTED_STOLEN):
        return replace(c, status="missing")
    if kind == types.RECOVERED:
        return Custody("held", str(body.get("holder") or c.holder), r.node, r)
    if kind == types.SEIZED:
        return Custody("seized", life.authority(r, "seizing authority"), str(body.get("state") or r.node), r)
    if kind == types.CONFISCATED:
        return replace(c, status="seized", proof=r)
    if kind == types.DEACTIVATED:
        return replace(c, status="deactivated", state=r.node, proof=r)
    if kind == types.REACTIVATED:
        return Custody("held", str(body.get("holder") or c.holder), r.node, r)
    if kind == types.DESTROYED:
        return Custody("destroyed", life.authority(r, "destruction authority"), r.node, r)
    if kind == types.MARKED and c.status in ("held", "seized", "deactivated") and c.state == r.node:
        return replace(c, proof=r)
    return c

