"""The customs desk: shipments to this state awaiting receipt, confirming one, and exports out.

Incoming: the partners' ``Weapon.Exported`` records naming this state, received by sync,
grouped by shipment, less those whose receipt is confirmed here. Confirming receipt is
``crossborder.confirm_receipt`` (what ``armsledger record receipt`` runs: the imports and
the confirmations in one transaction) run by ``context.submit`` as the officer. Exports
out: this node's shipments in transit (flagged overdue as ``armsledger shipments`` does)
and those received, from the views. Showing the desk is a read in the read audit
("shipment").
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.event_types import EXPORTED, RECEIPT_CONFIRMED
from domain.roles import Right, authority_for
from nodes.bootstrap import Node
from nodes.errors import NodeError
from nodes.federation import crossborder
from nodes.registry.paging import received
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, form_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/customs", include_in_schema=False)
RECEIPT = ("shipment", "received_by")
RECEIVED_SHOWN = 20


@router.get("", response_class=HTMLResponse)
async def customs(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Incoming shipments awaiting receipt (with the confirm form when the role may), exports out."""
    return await _customs_page(request, desk, values=dict.fromkeys(RECEIPT, ""))


@router.post("/receipts", response_class=HTMLResponse)
async def confirm(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Confirm receipt of a whole shipment in one step, then back to the desk."""
    v = await form_of(request, RECEIPT)
    context = context_of(request)
    try:
        by = authority_for(desk.officer.role, RECEIPT_CONFIRMED).value
        await run_in_threadpool(lambda: context.submit(desk.officer, lambda registry: crossborder.confirm_receipt(
            context.node, shipment=v["shipment"], by=by, received_by=v["received_by"])))
    except (DomainError, NodeError) as exc:
        return await _customs_page(request, desk, values=v, errors=[field_error(exc)], status_code=status_for(exc))
    return RedirectResponse(f"/customs?received={v['shipment']}", status.HTTP_303_SEE_OTHER)


async def _customs_page(request: Request, desk: Desk, **values: Any) -> Response:
    context = context_of(request)
    node = context.node

    def read() -> dict[str, Any]:
        node.views.catch_up(node.registry)
        context.read_audit.append(desk.officer, "shipment", "shipments in and out", "")   # before it is shown
        return {"incoming": awaiting_receipt(node),
                "in_transit": crossborder.open_shipments(node, now=int(time.time())),
                "received": node.views.received_shipments(RECEIVED_SHOWN)}

    try:
        authority_for(desk.officer.role, RECEIPT_CONFIRMED)
        may_confirm = True
    except DomainError:
        may_confirm = False
    found = await run_in_threadpool(read)
    return desk_page(request, desk, "customs.html", may_confirm=may_confirm,
                     just_received=request.query_params.get("received", ""), **found, **values)


def awaiting_receipt(node: Node) -> list[dict[str, Any]]:
    """Shipments partners exported to this state whose receipt is not confirmed here, oldest first.

    Reads every received record (the inbox keeps no index by importing state); each shipment
    with its exporter, export date, licence numbers, consignee and weapons (id, marking).
    """
    us = node.identity.state
    shipments: dict[str, dict[str, Any]] = {}
    for _, export in received(node.inbox):
        body = export.body
        if export.type != EXPORTED or body.get("to_state") != us or not body.get("shipment"):
            continue
        shipment = shipments.setdefault(str(body["shipment"]), {
            "shipment_id": str(body["shipment"]), "from_state": export.node, "exported_on": export.occurred_on,
            "export_licence": str(body.get("export_licence", "")),
            "import_authorization": str(body.get("import_authorization", "")),
            "consignee": str(body.get("consignee", "")), "weapons": {}})
        shipment["weapons"][export.stream] = dict(body.get("marking") or {})
    waiting = [s for s in shipments.values() if not _confirmed_here(node, s["shipment_id"], list(s["weapons"]))]
    return sorted(waiting, key=lambda s: (s["exported_on"], s["shipment_id"]))


def _confirmed_here(node: Node, shipment: str, weapons: list[str]) -> bool:
    return any(e.type == RECEIPT_CONFIRMED and e.body.get("shipment") == shipment
               for weapon in weapons for e in node.registry.envelopes(weapon))
