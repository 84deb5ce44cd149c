"""The customs desk: shipments to this state awaiting receipt, confirming one, exports out, authorizations.

Incoming: the partners' ``Weapon.Exported`` records naming this state, received by sync,
grouped by shipment, less those whose receipt is confirmed here, with the days they have
been open (``nodes.federation.customs``, what ``armsledger shipments`` lists). Confirming receipt is
``crossborder.confirm_receipt`` (what ``armsledger record receipt`` runs: the imports and
the confirmations in one transaction) run by ``context.submit`` as the officer. Exports
out: this node's shipments in transit (flagged overdue as ``armsledger shipments`` does)
and those received, from the views. Authorizations: import authorizations and transit
no-objections sent and received, with their use. Showing the desk is a read in the read
audit ("shipment").
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.event_types import RECEIPT_CONFIRMED
from domain.roles import Right, authority_for
from nodes.errors import NodeError
from nodes.federation import crossborder, customs as customs_reading
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
        now = int(time.time())
        return {"incoming": customs_reading.incoming_shipments(node, now=now),
                "in_transit": customs_reading.outgoing_shipments(node, now=now),
                "received": node.views.received_shipments(RECEIVED_SHOWN),
                "authorizations": customs_reading.authorizations(node, now=now)}

    try:
        authority_for(desk.officer.role, RECEIPT_CONFIRMED)
        may_confirm = True
    except DomainError:
        may_confirm = False
    found = await run_in_threadpool(read)
    return desk_page(request, desk, "customs.html", may_confirm=may_confirm,
                     just_received=request.query_params.get("received", ""), **found, **values)
