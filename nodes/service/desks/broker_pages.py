"""The licensing desk's broker register page (FP art 15): the brokers registered here and those partners
sent, filtered by state, and one broker with its periods, suspensions, activities and licences.

The page calls the functions ``armsledger broker list|show`` and the API call
(``nodes.registry.broker_documents``) and records the read in the read audit (as a licence read)
before showing it. Included in ``licensing_pages.router``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from domain.broker import BrokerState
from domain.roles import Right
from nodes.registry.broker_documents import broker_document, list_brokers, parse_broker_state
from nodes.service.desks.access import Desk, at_desk, context_of, query_of
from nodes.service.desks.licence_reading_pages import _page

router = APIRouter(include_in_schema=False)  # under licensing_pages.router: /licensing/...

FILTER = ("number", "state")
STATES = tuple(state.value for state in BrokerState)


@router.get("/brokers", response_class=HTMLResponse)
async def brokers(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """One broker when a number is given, else the register filtered by its state today."""
    v = query_of(request, FILTER)
    context = context_of(request)
    purpose = request.query_params.get("purpose", "")

    def read() -> dict[str, Any]:
        if v["number"]:
            document = broker_document(context.node, v["number"])
            context.read_audit.append(desk.officer, "licence", f"broker {document['number']} of "
                                      f"{document['issuer_state']}", purpose)
            return {"broker": document, "brokers": None}
        found = list_brokers(context.node, state=parse_broker_state(v["state"]) if v["state"] else None)
        context.read_audit.append(desk.officer, "licence", "brokers" + (f" state={v['state']}" if v["state"] else ""),
                                  purpose)
        return {"broker": None, "brokers": found}

    return await _page(request, desk, "brokers.html", v, read, "found", states=STATES)
