"""Cross-border flows between national nodes (Firearms Protocol art 10).

Three duties, each over the node's own log and the partner records it received
(``node.inbox``, verified on ingest):

- **Before an export** (art 10(2)-(3)): ``ExportAuthorizations`` is injected into
  ``Registry.export`` (``Registry.export_check``). When the importing state is a
  trusted partner (it runs a node), the export is refused unless that state's
  signed import authorization of the number given has been received and matches:
  kind ``import_authorization``, issued by the importing state, naming us as the
  exporting state and it as the importing state, in force on the export date,
  its consignee (if it names one) equal to the export's, and its quantity (if
  set) not exceeded by this and earlier shipments under it (``nodes.registry.licence_use``);
  given the export licence's number, its quantity likewise. Each transit state
  that is a partner must likewise have sent its ``transit_no_objection``.
  A state that is not a partner can only hand over a paper authorization: its
  number is accepted and the export records that it was **not** verified
  electronically (``Weapon.Exported.authorization_evidence`` = "" instead of
  the hash of the received ``Licence.Issued``; ``transit_evidence`` per transit
  state likewise), so a reader of the record sees the difference.
- **Receipt** (art 10(4)): on the importing node, ``confirm_receipt`` looks up
  the exporter's received ``Weapon.Exported`` records of a shipment and records,
  in one transaction, ``Weapon.Imported`` (opening the weapon's record here
  from the marking the export carries) and ``Weapon.ReceiptConfirmed`` for each
  weapon. The confirmation travels back to the exporter (sharing policy).
- **Closing** on the exporter: ``close_shipment`` (a reaction, see
  ``nodes.federation.reactions``) records ``Shipment.ReceiptConfirmed`` on the exporter's own
  shipment once the importing state has confirmed every weapon of it. Shipments
  still open after ``Settings.overdue_days`` (ARMSLEDGER_OVERDUE_DAYS, default 30)
  are listed as overdue (``open_shipments``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.errors import InvalidField, InvalidState, LicenceRefused, UnknownWeapon
from domain.event_types import EXPORTED, RECEIPT_CONFIRMED as RECEIPT, SHIPMENT_OPENED
from domain.licence import Licence, LicenceKind, licence_id
from domain.marking import Marking, check_country, normalise
from domain.shipment import Shipment
from domain.time import SECONDS_PER_DAY, format_time
from domain.weapon import Weapon
from ledger.envelope import Envelope
from nodes.federation.shipment_ids import incoming_shipment_id
from nodes.federation.trust import TrustStore
from nodes.ports import Node
from nodes.registry.licence_use import shipped_under
from nodes.registry.licences import replay_licence
from nodes.registry.paging import received_pages

if TYPE_CHECKING:
    from nodes.registry.application import Registry



def partner_states(node: Node) -> list[str]:
    """States whose node keys this node trusts (they run a node and send signed records)."""
    return sorted(TrustStore(node.settings.home).partners())


# --- before an export -----------------------------------------------------------------


def check_authorization(
    received: list[Envelope], *, kind: LicenceKind, issuer: str, number: str, export_state: str,
    import_state: str, occurred_on: int, field: str, transit_state: str = "", consignee: str = "",
    quantity: int = 0, shipped: Callable[[Licence], int] | None = None,
) -> Envelope:
    """Check a received authorization against an export; return its ``Licence.Issued`` envelope.

    ``received``: the stream ``licence_id(issuer, kind, number)`` as received
    from ``issuer`` (empty if nothing arrived). ``quantity``: weapons of this
    export; ``shipped(licence)``: weapons earlier shipments put under it. Raises
    ``LicenceRefused`` naming ``field`` and the reason (FP art 10(2)-(3)).
    """
    what = f"{kind.value.replace('_', ' ')} {number!r} of {issuer}"
    if not received:
        raise LicenceRefused(f"no {what} has been received: {issuer} runs a node, so its authorization must "
                             "arrive signed from it (issue it there, then run armsledger sync)", field=field)
    issued = received[0]
    licence = replay_licence(received)
    if licence is None or issued.node != issuer or licence.issuer_state != issuer:
        raise LicenceRefused(f"the records received as {what} are not an authorization issued by {issuer}",
                             field=field)
    licence.check_kind(kind, field=field)
    if normalise(licence.number) != normalise(number):
        raise LicenceRefused(f"{what} was received under another number ({licence.number})", field=field)
    if licence.export_state != export_state:
        raise LicenceRefused(f"{what} authorizes an export from {licence.export_state or 'no state'}, "
                             f"not from {export_state}", field=field)
    if licence.import_state != import_state:
        raise LicenceRefused(f"{what} is for an import into {licence.import_state or 'no state'}, "
                             f"not into {import_state}", field=field)
    if transit_state and licence.transit_states and transit_state not in licence.transit_states:
        raise LicenceRefused(f"{what} does not name {transit_state} as a transit state", field=field)
    licence.check_valid_on(occurred_on, field=field)
    if consignee and licence.consignee and normalise(consignee) != normalise(licence.consignee):
        raise LicenceRefused(f"{what} authorizes consignee {licence.consignee!r}, not {consignee!r}",
                             field="consignee")
    if quantity and shipped is not None:
        licence.check_quantity_left(shipped(licence), quantity, field=field)
    return issued


class ExportAuthorizations:
    """``Registry.export_check`` of a node: FP art 10(2)-(3) against the records received.

    Called with the export's route and numbers; returns (import authorization
    evidence, transit evidence per transit state): hex hashes of the received
    ``Licence.Issued`` envelopes, "" where a state without a node gave a paper
    authorization. Raises ``LicenceRefused`` or ``InvalidField``.
    """

    def __init__(self, node: Node):
        self.node = node

    def __call__(self, *, to_state: str, import_authorization: str, transit_states: tuple[str, ...],
                 transit_no_objections: tuple[str, ...], consignee: str, quantity: int,
                 occurred_on: int, licence: str = "") -> tuple[str, tuple[str, ...]]:
        us = self.node.identity.state
        if licence:  # our export licence's quantity, across all our shipments under it
            own = self.node.registry.licence(licence, LicenceKind.EXPORT_LICENCE, field="licence")
            own.check_quantity_left(shipped_under(self.node, own, own=True), quantity, field="licence")
        to_state = check_country(to_state, "to")
        transit = tuple(check_country(s, "via") for s in transit_states)
        partners = set(partner_states(self.node))
        evidence = ""
        if to_state in partners:
            number = (import_authorization or "").strip()
            issued = check_authorization(
                self._received(to_state, LicenceKind.IMPORT_AUTHORIZATION, number),
                kind=LicenceKind.IMPORT_AUTHORIZATION, issuer=to_state, number=number, export_state=us,
                import_state=to_state, occurred_on=occurred_on, field="import_authorization", consignee=consignee,
                quantity=quantity, shipped=self._shipped)
            evidence = issued.hash.hex()
        transit_evidence = []
        for position, state in enumerate(transit):
            number = transit_no_objections[position].strip() if position < len(transit_no_objections) else ""
            if state not in partners:
                transit_evidence.append("")  # paper no-objection (or none), recorded as unverified
                continue
            if not number:
                raise LicenceRefused(f"{state} runs a node: give its transit no-objection number "
                                     "(one per transit state, in route order)", field="transit_no_objection")
            issued = check_authorization(
                self._received(state, LicenceKind.TRANSIT_NO_OBJECTION, number),
                kind=LicenceKind.TRANSIT_NO_OBJECTION, issuer=state, number=number, export_state=us,
                import_state=to_state, transit_state=state, occurred_on=occurred_on,
                field="transit_no_objection")
            transit_evidence.append(issued.hash.hex())
        return evidence, tuple(transit_evidence)

    def _received(self, issuer: str, kind: LicenceKind, number: str) -> list[Envelope]:
        if not number:
            raise InvalidField(f"a {kind.value} number is required", field="import_authorization")
        return list(self.node.inbox.received(node=issuer, stream=str(licence_id(issuer, kind, number))))

    def _shipped(self, licence: Licence) -> int:
        return shipped_under(self.node, licence, own=False)


# --- receipt on the importing node ----------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What ``confirm_receipt`` recorded: the shipment, its exporter and the weapons received."""

    shipment: str
    from_state: str
    weapons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"shipment": self.shipment, "from_state": self.from_state, "weapons": list(self.weapons),
                "event": RECEIPT}


def incoming_exports(node: Node, *, shipment: str = "", weapon_id: UUID | str | None = None) -> list[Envelope]:
    """The received ``Weapon.Exported`` records of a shipment to us (or of one weapon's latest export to us).

    Looks up the exporter's ``Shipment.Opened`` (stream = shipment id) and the
    exports of the weapons it lists; falls back to every received export
    naming the shipment. ``InvalidField`` if neither shipment nor weapon is given.
    """
    us, partners = node.identity.state, partner_states(node)
    inbox = node.inbox
    if weapon_id is not None:
        found = [e for e in inbox.received_about(str(weapon_id), partners)
                 if e.type == EXPORTED and e.body.get("to_state") == us
                 and (not shipment or e.body.get("shipment") == shipment)]
        return found[-1:] if not shipment else found
    if not shipment:
        raise InvalidField("give the shipment id or the weapon", field="shipment")
    opened = [e for e in inbox.received_about(shipment, partners) if e.type == SHIPMENT_OPENED]
    weapons = [str(w) for e in opened for w in e.body.get("weapons", ())]
    exports: list[Envelope] = []
    for weapon in weapons:
        exports += [e for e in inbox.received_about(weapon, partners)
                    if e.type == EXPORTED and e.body.get("shipment") == shipment and e.body.get("to_state") == us]
    if not exports:  # the sharing policy may send only the weapon records: scan them
        for page in received_pages(inbox):
            exports += [e for _, e in page if e.type == EXPORTED and e.body.get("shipment") == shipment
                        and e.body.get("to_state") == us]
    return list({e.hash: e for e in exports}.values())


def confirm_receipt(node: Node, *, shipment: str = "", weapon_id: UUID | str | None = None, by: str = "customs",
                    received_by: str = "", occurred_on: int | None = None) -> Receipt:
    """Customs of the importing state confirm receipt of a shipment (FP art 10(4)), in one transaction.

    For each weapon the exporter's received export names: ``Weapon.Imported``
    (opening its record here from the export's marking and description, with the
    import marking of this state, FP art 8(1)(b)) unless its import is recorded
    already, then ``Weapon.ReceiptConfirmed``. A weapon whose import was recorded
    here by hand (``record import --shipment``) is only confirmed. Raises
    ``UnknownWeapon`` when no export to us is on record, ``InvalidState`` when
    receipt is confirmed already.
    """
    registry = node.registry
    authority = registry.authority(by)
    occurred = int(time.time()) if occurred_on is None else occurred_on
    shipment = incoming_shipment_id(node, shipment)
    exports = incoming_exports(node, shipment=shipment, weapon_id=weapon_id)
    if not exports:
        if weapon_id is not None and not shipment:
            return _confirm_own_import(node, weapon_id, by, received_by, occurred)
        raise UnknownWeapon(f"no export to {node.identity.state} of shipment {shipment!r} has been received "
                            "(run armsledger sync, or check the shipment id; from a state without a node, record "
                            "the import with armsledger record import --shipment, then confirm by --weapon)",
                            field="shipment")
    weapons = []
    for export in exports:
        body = export.body
        weapon = _known(registry, export.stream)
        holder = str(body.get("consignee") or received_by or "")
        confirmed = [e for e in registry.envelopes(export.stream)
                     if e.type == RECEIPT and e.body.get("shipment") == body.get("shipment")]
        if confirmed:
            raise InvalidState(f"receipt of shipment {body.get('shipment')} was confirmed already on "
                               f"{format_time(confirmed[0].occurred_on)}", field="shipment")
        if weapon is not None and weapon.awaiting_receipt == body.get("shipment"):
            pass  # import recorded by hand already: only the confirmation is missing
        else:
            marking = dict(body.get("marking") or {})
            if not marking and weapon is not None:
                marking = dict(weapon.marking)
            if not marking:
                raise InvalidField(f"the export record from {export.node} of weapon {export.stream} carries no "
                                   "marking: record the import with armsledger record import", field="shipment")
            fields: dict[str, Any] = dict(
                authority=authority, marking=Marking(**{k: marking[k] for k in ("manufacturer", "country", "serial")}),
                type=str(body.get("type", "") or (weapon.type if weapon else "")),
                make=str(body.get("make", "") or (weapon.make if weapon else "")),
                model=str(body.get("model", "") or (weapon.model if weapon else "")),
                calibre=str(body.get("calibre", "") or (weapon.calibre if weapon else "")),
                year=int(body.get("year", 0) or (weapon.year if weapon else 0)),
                from_state=export.node, import_year=datetime.fromtimestamp(occurred, timezone.utc).year,
                import_authorization=str(body.get("import_authorization", "")), holder=holder,
                occurred_on=occurred, shipment=str(body.get("shipment", "")),
            )
            if weapon is None:
                weapon = Weapon.register_import(UUID(export.stream), **fields)
            else:
                weapon.import_(**fields)
        weapon.confirm_receipt(authority=authority, occurred_on=occurred, received_by=received_by or holder)
        weapons.append(weapon)
    registry.save(*weapons)
    return Receipt(str(exports[0].body.get("shipment", "")), exports[0].node, tuple(str(w.id) for w in weapons))


def _confirm_own_import(node: Node, weapon_id: UUID | str, by: str, received_by: str, occurred: int) -> Receipt:
    weapon = node.registry.weapon(weapon_id)
    shipment = weapon.awaiting_receipt
    node.registry.record("confirm_receipt", by=by, weapon_id=weapon.id, occurred_on=occurred,
                         received_by=received_by)
    return Receipt(shipment, weapon.imported_from, (str(weapon.id),))


def _known(registry: Registry, stream: str) -> Weapon | None:
    try:
        return registry.weapon(stream)
    except UnknownWeapon:
        return None


# --- closing the shipment on the exporter ---------------------------------------------


def close_shipment(node: Node, confirmation: Envelope) -> UUID | None:
    """On the exporter: close our shipment named by a partner's ``Weapon.ReceiptConfirmed``.

    Records ``Shipment.ReceiptConfirmed`` (by customs; ``confirmation`` = the
    hex hashes of the partner's receipt records) once the importing state has
    confirmed every weapon of the shipment. Returns the shipment id when it was
    closed now, None when it is not ours, closed already, or still waiting for
    weapons. A confirmation by a state other than the shipment's destination
    does not close it (``InvalidState``): that is a deviation for the diversion
    analysis, not a receipt.
    """
    us = node.identity.state
    if confirmation.type != RECEIPT or confirmation.body.get("from_state") != us:
        return None
    try:
        shipment: object = node.registry.repository.get(UUID(str(confirmation.body.get("shipment", ""))))
    except (AggregateNotFoundError, ValueError):
        return None
    if not isinstance(shipment, Shipment) or not shipment.is_open:
        return None
    if confirmation.node != shipment.import_state:
        raise InvalidState(f"{confirmation.node} confirmed receipt of shipment {shipment.id}, which was "
                           f"exported to {shipment.import_state}", field="shipment")
    receipts = []
    for weapon in shipment.weapons:
        found = [e for e in node.inbox.received(node=confirmation.node, stream=str(weapon))
                 if e.type == RECEIPT and e.body.get("shipment") == str(shipment.id)]
        if not found:
            return None  # not every weapon confirmed yet
        receipts.append(found[-1])
    shipment.confirm_receipt(
        authority=node.registry.authority("customs"), confirmed_by_state=confirmation.node,
        confirmation=",".join(e.hash.hex() for e in receipts),
        occurred_on=min(max(e.occurred_on for e in receipts), int(time.time())))
    node.registry.save(shipment)
    return shipment.id


# --- overdue shipments ----------------------------------------------------------------


def open_shipments(node: Node, *, now: int | None = None, overdue_days: int | None = None,
                   only_overdue: bool = False) -> list[dict[str, Any]]:
    """Our shipments not yet confirmed as received, oldest first, each flagged ``overdue``.

    ``overdue_days`` defaults to the node's ``Settings.overdue_days``;
    with ``only_overdue`` only the overdue ones are listed.
    """
    now = int(time.time()) if now is None else now
    days = node.settings.overdue_days if overdue_days is None else overdue_days
    if days < 0:
        raise InvalidField("cannot be negative", field="overdue_days")
    node.views.catch_up(node.registry)
    found = node.views.open_shipments(now, days if only_overdue else None)
    for shipment in found:
        shipment["overdue"] = now - shipment["exported_on"] >= days * SECONDS_PER_DAY
        shipment["overdue_days"] = days
        shipment["due_by"] = format_time(shipment["exported_on"] + days * SECONDS_PER_DAY)
    return found
