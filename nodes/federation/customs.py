"""What customs of a state read: shipments coming in and going out, and the authorizations for them.

- **Incoming** (FP art 10(4)): the shipments partners announced to this state (their signed
  ``Weapon.Exported`` records naming it, received by sync) whose receipt this node has not
  confirmed, with the days they have been open.
- **Outgoing**: this node's shipments not yet confirmed as received by the importing state
  (``crossborder.open_shipments``).
- **Authorizations** (FP art 10(2)): import authorizations and transit no-objections this state
  sent (issued here) and received (from partners), each with its use.

``armsledger shipments`` and ``armsledger authorizations``, the API and the customs desk call these.
"""

from __future__ import annotations

import time
from typing import Any

from domain.event_types import EXPORTED, RECEIPT_CONFIRMED
from domain.licence import LicenceKind, LicenceState
from domain.time import SECONDS_PER_DAY, format_time
from nodes.federation.crossborder import open_shipments
from nodes.ports import Node
from nodes.registry.licence_use import uses_of
from nodes.registry.licences import held_licences
from nodes.registry.paging import received, signed

#: The kinds customs are asked for before a shipment crosses a border (FP art 10(2)).
AUTHORIZATION_KINDS = (LicenceKind.IMPORT_AUTHORIZATION, LicenceKind.TRANSIT_NO_OBJECTION)


def incoming_shipments(node: Node, *, now: int | None = None) -> list[dict[str, Any]]:
    """Shipments partners exported to this state whose receipt is not confirmed here, oldest first.

    Each with its exporter, export date, ``days_open`` (whole days to ``now``), licence numbers,
    consignee and weapons (id: marking as exported). Reads every received record (the inbox
    keeps no index by importing state).
    """
    now = int(time.time()) if now is None else now
    us = node.identity.state
    shipments: dict[str, dict[str, Any]] = {}
    for _, export in received(node.inbox):
        body = export.body
        if export.type != EXPORTED or body.get("to_state") != us or not body.get("shipment"):
            continue
        shipment = shipments.setdefault(str(body["shipment"]), {
            "shipment_id": str(body["shipment"]), "from_state": export.node, "to_state": us,
            "transit": [str(s) for s in body.get("transit_states", ())],
            "exported_on": export.occurred_on, "exported_on_utc": format_time(export.occurred_on),
            "days_open": max(now - export.occurred_on, 0) // SECONDS_PER_DAY,
            "export_licence": str(body.get("licence", "")),
            "import_authorization": str(body.get("import_authorization", "")),
            "consignee": str(body.get("consignee", "")), "weapons": {}})
        shipment["weapons"][export.stream] = dict(body.get("marking") or {})
    confirmed = {str(e.body.get("shipment", "")) for e in signed(node.registry.recorder, (RECEIPT_CONFIRMED,))}
    waiting = [s for s in shipments.values() if s["shipment_id"] not in confirmed]
    return sorted(waiting, key=lambda s: (s["exported_on"], s["shipment_id"]))


def outgoing_shipments(node: Node, *, now: int | None = None, overdue_days: int | None = None,
                       only_overdue: bool = False) -> list[dict[str, Any]]:
    """This node's shipments awaiting the importing state's receipt, as ``crossborder.open_shipments``,
    each also with ``days_open``."""
    found = open_shipments(node, now=now, overdue_days=overdue_days, only_overdue=only_overdue)
    for shipment in found:
        shipment["days_open"] = shipment["age_days"]
    return found


def authorizations(node: Node, *, now: int | None = None) -> list[dict[str, Any]]:
    """Import authorizations and transit no-objections sent (issued here) and received, with their use.

    Each: number, kind, ``direction`` (sent or received), issuer, exporting and importing state,
    state now, quantity, the shipments made under it and the quantity left (None: not limited).
    Sent first, then received; by issuer, kind and number.
    """
    now = int(time.time()) if now is None else now
    found = []
    for held in held_licences(node):
        licence = held.licence
        if licence.kind not in AUTHORIZATION_KINDS:
            continue
        uses = uses_of(node, licence, own=held.own)
        used = sum(u.quantity for u in uses)
        found.append({
            "number": licence.number, "kind": licence.kind.value, "direction": "sent" if held.own else "received",
            "issuer_state": licence.issuer_state, "export_state": licence.export_state,
            "import_state": licence.import_state, "transit_states": list(licence.transit_states),
            "holder": licence.holder, "consignee": licence.consignee,
            "valid_until_utc": format_time(licence.valid_until),
            "state": licence.state_on(now).value, "in_force": licence.state_on(now) is LicenceState.VALID,
            "quantity": licence.quantity, "quantity_used": used,
            "quantity_left": max(licence.quantity - used, 0) if licence.quantity else None,
            "shipments": [u.to_dict() for u in uses], "signature": held.signature,
        })
    return sorted(found, key=lambda a: (a["direction"] != "sent", a["issuer_state"], a["kind"], a["number"]))
