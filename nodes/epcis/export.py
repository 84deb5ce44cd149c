"""Our signed records as an EPCIS 2.0 EPCISDocument: a weapon's, a shipment's, or all since a date.

Only this node's own records are exported (each event's ``eventID`` names the signed envelope it
comes from, so a receiver holding our records can match them); record types with no chain-of-custody
meaning (marks, loss and theft reports, recoveries, confiscations) are left out (docs/epcis.md).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain import event_types as types
from domain.errors import InvalidField, UnknownWeapon
from ledger.envelope import Envelope
from nodes.epcis.vocabulary import (
    CONTEXT,
    LOCATION,
    MAPPINGS,
    OWNING,
    POSSESSING,
    ext,
    party_uri,
    shipment_uri,
    state_uri,
    weapon_uri,
)
from nodes.registry.application import Registry
from nodes.values import id_prefix, one_by_prefix

_DESCRIPTION = ("type", "make", "model", "calibre", "year")


@dataclass(frozen=True)
class Exported:
    """An EPCISDocument and what it tells of: the weapons and shipments whose records it holds."""

    document: dict[str, Any]
    weapons: tuple[str, ...]
    shipments: tuple[str, ...]


def weapon_document(registry: Registry, weapon_id: UUID) -> Exported:
    """The weapon's records here, with the shipments it left in. ``UnknownWeapon`` if it has none."""
    _weapon, envelopes = registry.history(weapon_id)
    shipments = sorted({str(e.body.get("shipment")) for e in envelopes
                        if e.type == types.EXPORTED and e.body.get("shipment")})
    opened = [e for s in shipments for e in _own_shipment(registry, s)]
    return _document(registry, [*envelopes, *opened])


def shipment_document(registry: Registry, shipment_id: UUID) -> Exported:
    """Our shipment's records and its weapons' records naming it. ``UnknownWeapon`` (field ``shipment``)
    when this node sent no such shipment."""
    opened = _own_shipment(registry, str(shipment_id))
    if not opened:
        raise UnknownWeapon(f"no shipment {shipment_id} was sent from here", field="shipment")
    weapons = [str(w) for w in opened[0].body.get("weapons", ())]
    naming = [e for w in weapons for e in registry.envelopes(w) if e.body.get("shipment") == str(shipment_id)]
    return _document(registry, [*opened, *naming])


def own_shipment_id(registry: Registry, typed: str) -> UUID:
    """The shipment sent from here that ``typed`` names: its id, or the unique start of it (at least
    ``nodes.values.MIN_PREFIX`` hex characters; the log is read for it). ``InvalidField`` (``shipment``)
    when it names none or several."""
    try:
        return UUID(typed.strip())
    except ValueError:
        prefix = id_prefix(typed, field_name="shipment")
    ids = sorted({e.stream for e in _own_records(registry)
                  if e.type == types.SHIPMENT_OPENED and e.stream.replace("-", "").startswith(prefix.replace("-", ""))})
    return UUID(one_by_prefix(typed, ids, what="shipment", field_name="shipment"))


def since_document(registry: Registry, since: int) -> Exported:
    """Every record of ours of a mapped type whose business date is ``since`` (epoch seconds) or later."""
    return _document(registry, (e for e in _own_records(registry)
                                if e.type in MAPPINGS and e.occurred_on >= since))


def _own_records(registry: Registry) -> Iterator[Envelope]:
    for _position, stored in registry.stored_notifications():
        yield Envelope.from_bytes(stored.state)


def _own_shipment(registry: Registry, shipment_id: str) -> list[Envelope]:
    try:
        envelopes = registry.envelopes(shipment_id)
    except InvalidField:  # not a UUID: no shipment of ours
        return []
    return [e for e in envelopes if e.type in types.SHIPMENT_EVENT_TYPES]


def _document(registry: Registry, envelopes: Iterable[Envelope]) -> Exported:
    chosen = sorted((e for e in envelopes if e.type in MAPPINGS), key=lambda e: (e.occurred_on, e.recorded_at))
    uri = _WeaponUris(registry)
    events = [_event(e, uri) for e in chosen]
    document = {
        "@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": _time(int(datetime.now(UTC).timestamp())),
        "sender": state_uri(registry.identity.state),
        "epcisBody": {"eventList": events},
    }
    weapons = tuple(dict.fromkeys(e.stream for e in chosen if e.type.startswith(types.WEAPON_PREFIX)))
    shipments = tuple(dict.fromkeys(e.stream for e in chosen if e.type in types.SHIPMENT_EVENT_TYPES))
    return Exported(document, weapons, shipments)


class _WeaponUris:
    """The URI of each weapon, from its marking on record (read once per weapon)."""

    def __init__(self, registry: Registry):
        self.registry, self.known = registry, dict[str, str]()

    def __call__(self, weapon_id: str) -> str:
        if weapon_id not in self.known:
            try:
                marking: Any = self.registry.weapon(weapon_id).marking
            except UnknownWeapon:
                marking = {}
            self.known[weapon_id] = weapon_uri(weapon_id, marking)
        return self.known[weapon_id]


def _event(envelope: Envelope, uri: Callable[[str], str]) -> dict[str, Any]:
    shape = MAPPINGS[envelope.type]
    body = envelope.body
    event: dict[str, Any] = {
        "type": shape.event,
        "eventTime": _time(envelope.occurred_on), "eventTimeZoneOffset": "+00:00",
        "recordTime": _time(envelope.recorded_at // 1_000_000),  # recorded_at: microseconds
        # RFC 6920 name of the signed envelope (its SHA-256), not a CBV event hash: the record it comes from.
        "eventID": "ni:///sha-256;" + base64.urlsafe_b64encode(envelope.hash).decode().rstrip("="),
        "action": shape.action, "bizStep": shape.biz_step, "disposition": shape.disposition,
        "bizLocation": {"id": state_uri(str(body.get("state") or envelope.node))},
    }
    if shape.event == "AggregationEvent":
        event["parentID"] = shipment_uri(envelope.stream)
        if body.get("weapons"):
            event["childEPCs"] = [uri(str(w)) for w in body["weapons"]]
    else:
        event["epcList"] = [uri(envelope.stream)]
    sources, destinations, extensions = _FIELDS[envelope.type](body)
    if sources:
        event["sourceList"] = [{"type": kind, "source": value} for kind, value in sources]
    if destinations:
        event["destinationList"] = [{"type": kind, "destination": value} for kind, value in destinations]
    if envelope.type == types.MANUFACTURED:
        event["ilmd"] = {ext(k): body[k] for k in _DESCRIPTION if body.get(k)}
    elif described := {k: body[k] for k in _DESCRIPTION if body.get(k)}:
        extensions["description"] = described
    event.update({ext(k): v for k, v in extensions.items() if v not in ("", (), [], None, 0)})
    return event


Parties = list[tuple[str, str]]
Fields = tuple[Parties, Parties, dict[str, Any]]


def _party(kind: str, name: Any) -> Parties:
    return [(kind, party_uri(str(name)))] if name else []


def _state(code: Any) -> Parties:
    return [(LOCATION, state_uri(str(code)))] if code else []


def _manufactured(b: Any) -> Fields:
    return [], _party(OWNING, b.get("holder")), {}


def _transferred(b: Any) -> Fields:
    return _party(OWNING, b.get("from_holder")), _party(OWNING, b.get("to_holder")), {"licence": b.get("licence")}


def _exported(b: Any) -> Fields:
    return _state(b.get("from_state")), [*_state(b.get("to_state")), *_party(OWNING, b.get("consignee"))], {
        "licence": b.get("licence"), "importAuthorization": b.get("import_authorization"),
        "transitStates": list(b.get("transit_states") or ()), "shipment": b.get("shipment"),
        "authorizationEvidence": b.get("authorization_evidence"),
        "transitEvidence": list(b.get("transit_evidence") or ())}


def _imported(b: Any) -> Fields:
    return _state(b.get("from_state")), [*_state(b.get("import_state")), *_party(OWNING, b.get("holder"))], {
        "importAuthorization": b.get("import_authorization"), "importYear": b.get("import_year"),
        "shipment": b.get("shipment")}


def _receipt(b: Any) -> Fields:
    return _state(b.get("from_state")), _party(POSSESSING, b.get("received_by")), {"shipment": b.get("shipment")}


def _seized(b: Any) -> Fields:
    return [], [], {"place": b.get("place"), "circumstances": b.get("circumstances"),
                    "flags": list(b.get("flags") or ())}


def _deactivated(b: Any) -> Fields:
    return [], [], {"certificate": b.get("certificate"), "method": b.get("method")}


def _opened(b: Any) -> Fields:
    return _state(b.get("export_state")), [*_state(b.get("import_state")), *_party(OWNING, b.get("consignee"))], {
        "licence": b.get("export_licence"), "importAuthorization": b.get("import_authorization"),
        "transitStates": list(b.get("transit_states") or ()),
        "transitNoObjections": list(b.get("transit_no_objections") or ())}


def _shipment_received(b: Any) -> Fields:
    return [], _state(b.get("confirmed_by_state")), {"confirmation": b.get("confirmation")}


_FIELDS: dict[str, Callable[[Any], Fields]] = {
    types.MANUFACTURED: _manufactured, types.TRANSFERRED: _transferred, types.EXPORTED: _exported,
    types.IMPORTED: _imported, types.RECEIPT_CONFIRMED: _receipt, types.SEIZED: _seized,
    types.DEACTIVATED: _deactivated, types.DESTROYED: _deactivated, types.SHIPMENT_OPENED: _opened,
    types.SHIPMENT_RECEIPT_CONFIRMED: _shipment_received,
}
assert _FIELDS.keys() == MAPPINGS.keys()


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
