"""An EPCIS 2.0 document read as the records it asks for: one ``Step`` per event (the shipping events
of one shipment make one export), each naming its event (``eventList[i]`` and ``eventID``).

Reading checks the shape (the event type and business step we record, weapons named by URIs that
carry their marking, times, parties); the rules are the domain's, checked when the steps are
recorded (``nodes.epcis.recording``). Refusals are domain errors naming the document's field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import event_types as types
from domain.errors import DomainError, InvalidField
from domain.marking import Marking
from nodes.epcis.vocabulary import (
    LOCATION,
    MAPPINGS,
    OBJECT_STEPS,
    OWNING,
    POSSESSING,
    ext,
    party_named,
    state_named,
    weapon_named,
)

#: Where a domain field is found in an EPCIS event: refusals name the field of the document.
EPCIS_FIELD = {
    "weapon": "epcList", "serial": "epcList", "manufacturer": "epcList", "country": "epcList",
    "occurred_on": "eventTime", "date": "eventTime", "to": "destinationList", "to_state": "destinationList",
    "holder": "destinationList", "consignee": "destinationList", "from_state": "sourceList",
    "licence": ext("licence"), "import_authorization": ext("importAuthorization"),
    "import_year": ext("importYear"), "via": ext("transitStates"),
    "transit_no_objection": ext("transitNoObjections"), "shipment": ext("shipment"),
    "type": "ilmd", "make": "ilmd", "model": "ilmd", "calibre": "ilmd", "year": "ilmd",
    "place": ext("place"), "circumstances": ext("circumstances"), "certificate": ext("certificate"),
    "method": ext("method"), "received_by": "destinationList",
}

_CBV_PREFIXES = ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-", "https://gs1.org/voc/BizStep-")


@dataclass(frozen=True)
class Step:
    """One record (or one export of several weapons) an event asks for."""

    index: int
    event_id: str
    record_type: str
    weapons: tuple[tuple[UUID, Marking | None], ...]
    occurred_on: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    shipment_key: str = ""     # export steps with the same key are one shipment


@contextmanager
def about_event(index: int, event_id: str, *, domain_fields: bool = False) -> Iterator[None]:
    """Re-raise a domain error as the same error naming the event; with ``domain_fields`` (errors of the
    registry's commands) its field is translated to the document's (``EPCIS_FIELD``)."""
    try:
        yield
    except DomainError as e:
        where = f"eventList[{index}]" + (f" ({event_id})" if event_id else "")
        reason = e.args[0] if e.args else type(e).__name__
        named = EPCIS_FIELD.get(e.field or "", e.field) if domain_fields else e.field
        raise type(e)(f"{where}: {reason}" + (f" ({e.field})" if named != e.field else ""), field=named) from e


def steps_of(document: Any) -> list[Step]:
    """The steps ``document`` (an EPCISDocument or EPCISQueryDocument, parsed JSON) asks for, in its order.
    ``InvalidField`` naming the event and field at the first event we cannot record."""
    steps: list[Step] = []
    for index, event in enumerate(_event_list(document)):
        event_id = str(event.get("eventID") or "") if isinstance(event, dict) else ""
        with about_event(index, event_id):
            if not isinstance(event, dict):
                raise InvalidField("is not an object", field="eventList")
            step = _step(index, event_id, event)
        if step is not None:
            steps.append(step)
    return _shipments_joined(steps)


def _event_list(document: Any) -> list[Any]:
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if isinstance(body, dict) and "queryResults" in body:
        body = (body.get("queryResults") or {}).get("resultsBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise InvalidField("an EPCISDocument holds its events in epcisBody.eventList", field="epcisBody")
    return events


def _step(index: int, event_id: str, event: dict[str, Any]) -> Step | None:
    kind, action, biz_step = event.get("type"), event.get("action"), _bare(event.get("bizStep"))
    if kind == "AggregationEvent":
        if action == "DELETE" and biz_step == "receiving":
            return None  # a shipment's receipt is recorded by its weapons' receiving events
        if action != "ADD" or biz_step != "shipping":
            raise InvalidField(f"an AggregationEvent is recorded as a shipment (action ADD, bizStep shipping), "
                               f"not {action} {biz_step or 'without bizStep'}", field="bizStep")
        parent = str(event.get("parentID", "")).removeprefix("urn:uuid:")
        return _export(index, event_id, event, _uris(event, "childEPCs"), shipment_key=parent)
    if kind != "ObjectEvent":
        raise InvalidField(f"event type {kind!r} has no record here: only ObjectEvent and AggregationEvent",
                           field="type")
    record_type = OBJECT_STEPS.get(biz_step)
    if record_type is None:
        raise InvalidField(f"bizStep {biz_step or '(none)'!r} has no record here: one of "
                           f"{', '.join(sorted(OBJECT_STEPS))}", field="bizStep")
    if action != MAPPINGS[record_type].action:
        raise InvalidField(f"a {biz_step} event has action {MAPPINGS[record_type].action}, not {action}",
                           field="action")
    uris = _uris(event, "epcList")
    if record_type == types.EXPORTED:
        return _export(index, event_id, event, uris, shipment_key=_text(event, "shipment"))
    weapons = tuple(weapon_named(uri) for uri in uris)
    return Step(index, event_id, record_type, weapons, _time(event), _READERS[record_type](event))


def _export(index: int, event_id: str, event: dict[str, Any], uris: list[str], *, shipment_key: str) -> Step:
    weapons = tuple(weapon_named(uri, "childEPCs" if event.get("type") == "AggregationEvent" else "epcList")
                    for uri in uris)
    states = _parties(event, "destinationList", LOCATION)
    fields = {
        "licence": _text(event, "licence"), "import_authorization": _text(event, "importAuthorization"),
        "to_state": state_named(states[0], "destinationList") if states else "",
        "transit_states": tuple(_texts(event, "transitStates")),
        "transit_no_objections": tuple(_texts(event, "transitNoObjections")),
        "consignee": _holder(event, "destinationList", OWNING),
    }
    return Step(index, event_id, types.EXPORTED, weapons, _time(event), fields, shipment_key or f"event {index}")


def _shipments_joined(steps: list[Step]) -> list[Step]:
    """One export step per shipment: its weapons from every event of it, its fields from the first giving each."""
    joined: list[Step] = []
    by_key: dict[str, int] = {}
    for step in steps:
        if step.record_type != types.EXPORTED:
            joined.append(step)
            continue
        if step.shipment_key not in by_key:
            by_key[step.shipment_key] = len(joined)
            joined.append(step)
            continue
        at = by_key[step.shipment_key]
        first = joined[at]
        weapons = dict(first.weapons)
        for weapon, marking in step.weapons:
            weapons.setdefault(weapon, marking)
        fields = {k: v if v else step.fields.get(k, v) for k, v in first.fields.items()}
        joined[at] = replace(first, weapons=tuple(weapons.items()), fields=fields)
    return joined


# --- the fields of each record type -------------------------------------------------------------

def _manufactured(event: dict[str, Any]) -> dict[str, Any]:
    ilmd = event.get("ilmd") or {}
    if not isinstance(ilmd, dict):
        raise InvalidField("is not an object", field="ilmd")
    year = ilmd.get(ext("year"))
    if year is None:
        raise InvalidField(f"the year of manufacture is required ({ext('year')})", field="ilmd")
    if not isinstance(year, int) or isinstance(year, bool):
        raise InvalidField(f"{year!r} is not a year", field="ilmd")
    return {**{k: _value(ilmd.get(ext(k)), "ilmd") for k in ("type", "make", "model", "calibre")},
            "year": year, "holder": _holder(event, "destinationList", OWNING)}


def _description(event: dict[str, Any], *, given_only: bool) -> dict[str, Any]:
    described = event.get(ext("description")) or {}
    if not isinstance(described, dict):
        raise InvalidField("is not an object", field=ext("description"))
    found: dict[str, Any] = {k: _value(described.get(k), ext("description"))
                             for k in ("type", "make", "model", "calibre")}
    if isinstance(described.get("year"), int):
        found["year"] = described["year"]
    return {k: v for k, v in found.items() if v} if given_only else found


def _transferred(event: dict[str, Any]) -> dict[str, Any]:
    return {"to_holder": _holder(event, "destinationList", OWNING), "licence": _text(event, "licence")}


def _imported(event: dict[str, Any]) -> dict[str, Any]:
    states = _parties(event, "sourceList", LOCATION)
    year = event.get(ext("importYear"))
    return {"from_state": state_named(states[0], "sourceList") if states else "",
            "import_authorization": _text(event, "importAuthorization"),
            "holder": _holder(event, "destinationList", OWNING), "shipment": _text(event, "shipment"),
            "import_year": year if isinstance(year, int) and not isinstance(year, bool) else None,
            **_description(event, given_only=True)}


def _receipt(event: dict[str, Any]) -> dict[str, Any]:
    return {"received_by": _holder(event, "destinationList", POSSESSING)}


def _seized(event: dict[str, Any]) -> dict[str, Any]:
    described = _description(event, given_only=False)
    described.pop("year", None)  # a seizure records no year of manufacture
    return {"place": _text(event, "place"), "circumstances": _text(event, "circumstances"), **described}


def _certified(event: dict[str, Any]) -> dict[str, Any]:
    return {"certificate": _text(event, "certificate"), "method": _text(event, "method")}


_READERS = {
    types.MANUFACTURED: _manufactured, types.TRANSFERRED: _transferred, types.IMPORTED: _imported,
    types.RECEIPT_CONFIRMED: _receipt, types.SEIZED: _seized, types.DEACTIVATED: _certified,
    types.DESTROYED: _certified,
}


# --- values ----------------------------------------------------------------------------------

def _bare(biz_step: Any) -> str:
    text = str(biz_step or "")
    for prefix in _CBV_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _uris(event: dict[str, Any], key: str) -> list[str]:
    uris = event.get(key)
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise InvalidField("names no weapon: firearms are recorded one by one, each by its URI "
                           "(a quantityList is not recorded)", field=key)
    return uris


def _time(event: dict[str, Any]) -> int:
    text = event.get("eventTime")
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidField(f"{text!r} is not an ISO 8601 date-time", field="eventTime") from None
    if moment.tzinfo is None:
        raise InvalidField(f"{text!r} has no time zone offset", field="eventTime")
    return int(moment.timestamp())


def _value(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidField(f"{value!r} is not a text", field=key)
    return str(value)


def _text(event: dict[str, Any], name: str) -> str:
    return _value(event.get(ext(name)), ext(name))


def _texts(event: dict[str, Any], name: str) -> list[str]:
    values = event.get(ext(name)) or []
    if not isinstance(values, list):
        raise InvalidField("is not a list", field=ext(name))
    return [_value(v, ext(name)) for v in values]


def _parties(event: dict[str, Any], key: str, kind: str) -> list[str]:
    listed = event.get(key) or []
    if not isinstance(listed, list):
        raise InvalidField("is not a list", field=key)
    value_key = "source" if key == "sourceList" else "destination"
    return [str(item.get(value_key, "")) for item in listed if isinstance(item, dict) and item.get("type") == kind]


def _holder(event: dict[str, Any], key: str, kind: str) -> str:
    found = _parties(event, key, kind)
    return party_named(found[0]) if found else ""
