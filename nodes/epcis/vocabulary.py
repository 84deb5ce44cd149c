"""The words of our EPCIS documents: which EPCIS event, action, CBV 2.0 business step and disposition
each record type becomes, and the URIs that name weapons, shipments, parties and states.

Firearms have no GS1 keys. A weapon is named by a URN that carries its marking as read
(``urn:armsledger:firearm:MANUFACTURER:CC:SERIAL``, each part percent-encoded), so that any node
derives the same weapon id from it (``domain.marking``); a weapon without a complete marking (ITI
para 9) by ``urn:uuid:`` and its id. Fields with no EPCIS home are extensions in the ``armsledger:``
namespace (docs/epcis.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote
from uuid import UUID

from domain import event_types as types
from domain.errors import InvalidField
from domain.marking import Marking

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NAMESPACE = "armsledger"
NAMESPACE_IRI = "urn:armsledger:epcis:"
CONTEXT: list[Any] = [EPCIS_CONTEXT, {NAMESPACE: NAMESPACE_IRI}]

_FIREARM = "urn:armsledger:firearm:"
_PARTY = "urn:armsledger:party:"
_STATE = "urn:armsledger:state:"
_UUID = "urn:uuid:"
_FIREARM_URI = re.compile(r"\Aurn:armsledger:firearm:([^:]+):([A-Za-z]{2}):([^:]+)\Z")

OWNING, POSSESSING, LOCATION = "owning_party", "possessing_party", "location"


@dataclass(frozen=True)
class EventShape:
    """One record type as an EPCIS event."""

    record_type: str
    event: str          # ObjectEvent or AggregationEvent
    action: str         # ADD, OBSERVE, DELETE
    biz_step: str       # CBV 2.0 business step (bare word, as the GS1 schema allows)
    disposition: str    # CBV 2.0 disposition


MAPPINGS: dict[str, EventShape] = {m.record_type: m for m in (
    EventShape(types.MANUFACTURED, "ObjectEvent", "ADD", "commissioning", "active"),
    EventShape(types.TRANSFERRED, "ObjectEvent", "OBSERVE", "accepting", "active"),
    EventShape(types.EXPORTED, "ObjectEvent", "OBSERVE", "shipping", "in_transit"),
    EventShape(types.IMPORTED, "ObjectEvent", "OBSERVE", "arriving", "active"),
    EventShape(types.RECEIPT_CONFIRMED, "ObjectEvent", "OBSERVE", "receiving", "active"),
    EventShape(types.SEIZED, "ObjectEvent", "OBSERVE", "holding", "unavailable"),
    EventShape(types.DEACTIVATED, "ObjectEvent", "OBSERVE", "decommissioning", "inactive"),
    EventShape(types.DESTROYED, "ObjectEvent", "DELETE", "destroying", "destroyed"),
    EventShape(types.SHIPMENT_OPENED, "AggregationEvent", "ADD", "shipping", "in_transit"),
    EventShape(types.SHIPMENT_RECEIPT_CONFIRMED, "AggregationEvent", "DELETE", "receiving", "completeness_verified"),
)}

#: The record type an imported ObjectEvent's business step stands for (the reverse of ``MAPPINGS``).
OBJECT_STEPS: dict[str, str] = {m.biz_step: m.record_type for m in MAPPINGS.values() if m.event == "ObjectEvent"}


def ext(name: str) -> str:
    """The document key of our extension field ``name`` (``armsledger:licence``)."""
    return f"{NAMESPACE}:{name}"


# --- identifiers ----------------------------------------------------------------------------

def weapon_uri(weapon_id: UUID | str, marking: Any) -> str:
    """The URI of a weapon: its marking when complete (every node derives the same id from it), else its id."""
    if marking and all(marking.get(k) for k in ("manufacturer", "country", "serial")):
        read = Marking(str(marking["manufacturer"]), str(marking["country"]), str(marking["serial"]))
        if read.is_complete:
            return (f"{_FIREARM}{quote(read.manufacturer, safe='')}:{read.country}:"
                    f"{quote(read.serial, safe='')}")
    return f"{_UUID}{weapon_id}"


def weapon_named(uri: str, field: str = "epcList") -> tuple[UUID, Marking | None]:
    """The weapon id a URI names, and its marking when the URI carries one; ``InvalidField`` on ``field``
    for any other URI (a GS1 key names no firearm here)."""
    found = _FIREARM_URI.match(uri.strip())
    if found:
        manufacturer, country, serial = (unquote(part) for part in found.groups())
        try:
            marking = Marking.read(manufacturer, country, serial)
            return marking.weapon_id(), marking
        except InvalidField as e:
            raise InvalidField(f"{uri!r}: its {e.field}: {e.args[0]}", field=field) from None
    if uri.startswith(_UUID):
        try:
            return UUID(uri[len(_UUID):]), None
        except ValueError:
            pass
    raise InvalidField(f"{uri!r} names no firearm: give {_FIREARM}MANUFACTURER:CC:SERIAL "
                       f"(percent-encoded) or {_UUID}ID", field=field)


def shipment_uri(shipment_id: UUID | str) -> str:
    return f"{_UUID}{shipment_id}"


def party_uri(name: str) -> str:
    return f"{_PARTY}{quote(name, safe='')}"


def party_named(uri: str) -> str:
    """The holder a party URI names; a URI of another scheme (a GS1 PGLN ...) is the name itself."""
    return unquote(uri[len(_PARTY):]) if uri.startswith(_PARTY) else uri


def state_uri(state: str) -> str:
    return f"{_STATE}{state}"


def state_named(uri: str, field: str) -> str:
    """The ISO 3166-1 code a state URI names (``urn:armsledger:state:BE``); ``InvalidField`` otherwise."""
    if uri.startswith(_STATE):
        return uri[len(_STATE):]
    raise InvalidField(f"{uri!r} is not a state: give {_STATE}CC (ISO 3166-1 alpha-2)", field=field)
