"""The alerts page of the tracing desk: hit notices partners sent (``nodes.alerts.hits.alerts``), and the
form that reports a weapon lost or stolen, by id or by its marking (``Registry.report_missing``).

The list is a read of weapons: it is appended to the read audit first (action ``search``, subject
``alerts``), as ``armsledger alerts`` and ``GET /api/v1/alerts`` do. Linked from the tracing desk.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain import event_types as types
from domain.errors import DomainError, InvalidField
from domain.marking import Marking
from domain.roles import Right, authority_for, recordable
from domain.time import parse_time
from nodes.alerts.hits import DEFAULT_ALERTS, alerts
from nodes.errors import NodeError
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.service.api_alerts import AUDIT_SUBJECT
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, form_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/alerts", include_in_schema=False)
REPORT = ("missing", "weapon", "manufacturer", "country", "serial", "type", "make", "model", "calibre", "year",
          "place", "circumstances", "date")
MISSING = {"stolen": types.REPORTED_STOLEN, "lost": types.REPORTED_LOST}


@router.get("", response_class=HTMLResponse)
async def alerts_page(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The newest hit notices received, with the weapon's timeline a click away."""
    context = context_of(request)

    def read() -> list[dict[str, Any]]:
        context.read_audit.append(desk.officer, "search", AUDIT_SUBJECT, request.query_params.get("purpose", ""))
        return alerts(context.node, limit=DEFAULT_ALERTS)

    found = await run_in_threadpool(read)
    return desk_page(request, desk, "alerts.html", alerts=found,
                     may_report=types.REPORTED_STOLEN in recordable(desk.officer.role))


@router.get("/report", response_class=HTMLResponse)
async def report_form(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    return desk_page(request, desk, "alerts_report.html", values={**dict.fromkeys(REPORT, ""), "missing": "stolen"})


@router.post("/report", response_class=HTMLResponse)
async def report(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Record the report as the officer, then show the weapon's timeline; a refusal shows the form again."""
    v = await form_of(request, REPORT)
    context = context_of(request)
    try:
        event = MISSING.get(v["missing"])
        if event is None:
            raise InvalidField(f"{v['missing']!r} is neither stolen nor lost", field="missing")
        by = authority_for(desk.officer.role, event).value
        named = any(v[k] for k in ("manufacturer", "country", "serial"))
        marking = Marking.read(v["manufacturer"], v["country"], v["serial"]) if named else None
        typed = v["weapon"]
        weapon_id = await run_in_threadpool(weapon_by_prefix, context.node, typed) if typed else None
        year = int(v["year"]) if v["year"].isdigit() else None
        if v["year"] and year is None:
            raise InvalidField(f"{v['year']!r} is not a year", field="year")
        occurred = parse_time(v["date"], field="date") if v["date"] else None
        description = {k: v[k] for k in ("type", "make", "model", "calibre")}
        fields: dict[str, Any] = dict(
            stolen=event == types.REPORTED_STOLEN, by=by, weapon_id=weapon_id, marking=marking, occurred_on=occurred,
            place=v["place"], circumstances=v["circumstances"], year=year, **description)
        recorded = await run_in_threadpool(lambda: context.submit(
            desk.officer, lambda registry: registry.report_missing(**fields)))
    except (DomainError, NodeError) as exc:
        return desk_page(request, desk, "alerts_report.html", values=v, errors=[field_error(exc)],
                         status_code=status_for(exc))
    return RedirectResponse(f"/weapons/{recorded}", status.HTTP_303_SEE_OTHER)
