"""A component's page: the weapons it was in and when (``nodes.registry.component_reading``), named by its
id, the start of its id or its marking ``MANUFACTURER/CC/SERIAL`` (``?kind=`` when that marks several
parts). The read goes to the read audit (action ``component``) before anything is shown, as ``component
show`` and ``GET /api/v1/components/...`` do; a weapon's timeline links here from its parts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.roles import Right
from nodes.registry.component_reading import component_life, component_named
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/components", include_in_schema=False)


@router.get("/{component:path}", response_class=HTMLResponse)
async def component_page(request: Request, component: str, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    context = context_of(request)
    purpose = request.query_params.get("purpose", "").strip()

    def read() -> dict[str, Any]:
        cid = component_named(context.node, component, request.query_params.get("kind", ""))
        document = component_life(context.node, cid)
        context.read_audit.append(desk.officer, "component", str(cid), purpose)  # before it is shown
        return document

    try:
        document = await run_in_threadpool(read)
    except DomainError as exc:
        return desk_page(request, desk, "component.html", component=None, typed=component,
                         errors=[field_error(exc)], status_code=status_for(exc))
    return desk_page(request, desk, "component.html", component=document, typed=component)
