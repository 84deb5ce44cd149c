"""The alerts page of the tracing desk: hit notices partners sent (``nodes.alerts.hits.alerts``).

A read of weapons: it is appended to the read audit first (action ``search``, subject
``alerts``), as ``armsledger alerts`` and ``GET /api/v1/alerts`` do. Linked from the tracing desk.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.roles import Right
from nodes.alerts.hits import DEFAULT_ALERTS, alerts
from nodes.service.api_alerts import AUDIT_SUBJECT
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page

router = APIRouter(prefix="/alerts", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def alerts_page(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The newest hit notices received, with the weapon's timeline a click away."""
    context = context_of(request)

    def read() -> list[dict[str, Any]]:
        context.read_audit.append(desk.officer, "search", AUDIT_SUBJECT, request.query_params.get("purpose", ""))
        return alerts(context.node, limit=DEFAULT_ALERTS)

    found = await run_in_threadpool(read)
    return desk_page(request, desk, "alerts.html", alerts=found)
