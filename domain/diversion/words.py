"""How the diversion analysis says what a record shows: dates, routes, places, one clause per record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain import event_types as types
from domain.marking import normalise
from domain.records import SignedRecord
from domain.time import format_time


def date_of(record: SignedRecord) -> str:
    return format_time(record.occurred_on)


def and_list(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + (" and " + items[-1] if items else "")


def holder_name(holder: str) -> str:
    return holder or "a holder not on record"


def marking_key(marking: Mapping[str, Any]) -> tuple[str, str, str]:
    return (normalise(str(marking.get("manufacturer", ""))), str(marking.get("country", "")).upper(),
            normalise(str(marking.get("serial", ""))))


def certificate(record: SignedRecord) -> str:
    certificate = record.body.get("certificate")
    return f" (certificate {certificate})" if certificate else ""


def reactivations(records: Iterable[SignedRecord]) -> str:
    """The sentence a verdict adds for a weapon once deactivated and restored under licence (FP art 9)."""
    told = [f"in {r.node} on {date_of(r)} under reactivation licence {r.body.get('licence')}"
            + (f", ending deactivation certificate {r.body['certificate']}" if r.body.get("certificate") else "")
            for r in records]
    return f"It was reactivated {and_list(told)}." if told else ""


def route(export: SignedRecord) -> str:
    via = tuple(export.body.get("transit_states", ()))
    return (f"from {export.body.get('from_state') or export.node} to {export.body.get('to_state')}"
            + (f" via {and_list(via)}" if via else ""))


def place_of(record: SignedRecord) -> str:
    state = str(record.body.get("state") or record.node)
    place = str(record.body.get("place", "") or "")
    return f"{place}, {state}" if place else state


def left_by_export(holder: str, state: str, export: SignedRecord) -> str:
    """How the holder in ``state`` parted with the weapon by ``export``."""
    consignee = export.body.get("consignee")
    return (f"left the legal custody of {holder_name(holder)} in {state} when exported "
            f"{route(export)} on {date_of(export)} (shipment {export.body.get('shipment')}"
            + (f", consignee {consignee})" if consignee else ")"))


VERBS = {
    types.MANUFACTURED: "manufactured",
    types.IMPORTED: "imported",
    types.RECEIPT_CONFIRMED: "received (receipt confirmed)",
    types.TRANSFERRED: "transferred",
    types.MARKED: "marked",
    types.REPORTED_LOST: "reported lost",
    types.REPORTED_STOLEN: "reported stolen",
    types.RECOVERED: "recovered",
    types.CONFISCATED: "confiscated",
    types.DEACTIVATED: "deactivated",
    types.DESTROYED: "destroyed",
    types.REACTIVATED: "reactivated under licence",
    types.SHIPMENT_RECEIPT_CONFIRMED: "received (shipment receipt confirmed)",
}


def describe(record: SignedRecord) -> str:
    """What a record says happened, where and when: "seized in FR (Lille) on 2024-...Z"."""
    if record.type == types.SEIZED:
        place = record.body.get("place")
        return (f"seized in {record.body.get('state') or record.node}" + (f" ({place})" if place else "")
                + f" on {date_of(record)}")
    if record.type == types.EXPORTED:
        return f"exported {route(record)} on {date_of(record)}"
    state = record.body.get("confirmed_by_state") if record.type == types.SHIPMENT_RECEIPT_CONFIRMED else record.node
    return f"{VERBS.get(record.type, record.type)} in {state} on {date_of(record)}"
