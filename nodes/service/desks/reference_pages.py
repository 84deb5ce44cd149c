"""The reference table's page of the search desk: entries by text, make, model and calibre
(``nodes.reference.matching.search``), read-only. It holds no weapon and no person: no read audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.roles import Right
from nodes.reference import matching
from nodes.reference.table import Criteria
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, query_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(include_in_schema=False)
CRITERIA = ("text", "make", "model", "calibre")


@router.get("/reference", response_class=HTMLResponse)
async def reference_page(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The search form; with criteria, the entries meeting them all (100 at most)."""
    values = query_of(request, CRITERIA)
    if not any(values.values()):
        return desk_page(request, desk, "reference.html", values=values, found=None)
    context = context_of(request)
    try:
        found: dict[str, Any] = await run_in_threadpool(matching.search, context.node, Criteria(**values))
    except DomainError as exc:
        return desk_page(request, desk, "reference.html", values=values, found=None, errors=[field_error(exc)],
                         status_code=status_for(exc))
    return desk_page(request, desk, "reference.html", values=values, found=found)
