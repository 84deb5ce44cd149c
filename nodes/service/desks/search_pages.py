"""The search desk (partial serial, make, model, calibre) and a weapon's timeline; both reads go to the read audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError, UnknownWeapon
from domain.roles import Right
from domain.weapon import Weapon
from nodes.cli.invocation import parse_weapon_id
from nodes.service.desks.access import Desk, at_desk, context_of, query_of
from nodes.service.desks.rendering import field_error, render, status_for
from nodes.service.desks.timeline import TimelineRow, weapon_timeline

router = APIRouter(include_in_schema=False)
CRITERIA = ("serial", "make", "model", "calibre")


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The search form; with criteria the weapons matching them all (serial: ``?`` one, ``*`` any run)."""
    values = query_of(request, (*CRITERIA, "purpose"))
    if not any(values[name] for name in CRITERIA):
        return render(request, "search.html", officer=desk.officer, csrf=desk.csrf, values=values, matches=None)
    context = context_of(request)
    node = context.node

    def find() -> list[dict[str, Any]]:
        node.views.catch_up(node.registry)
        found = node.views.search(serial=values["serial"], make=values["make"], model=values["model"],
                                  calibre=values["calibre"])
        given = [name for name in CRITERIA if values[name]]
        subject = values["serial"] if given == ["serial"] else " ".join(f"{name}={values[name]}" for name in given)
        context.read_audit.append(desk.officer, "search", subject, values["purpose"])  # before it is shown
        return found

    try:
        matches = await run_in_threadpool(find)
    except DomainError as exc:
        return render(request, "search.html", officer=desk.officer, csrf=desk.csrf, values=values, matches=None,
                      errors=[field_error(exc)], status_code=422)
    criteria = ", ".join(values[name] for name in CRITERIA if values[name])
    return render(request, "search.html", officer=desk.officer, csrf=desk.csrf, values=values, matches=matches,
                  criteria=criteria)


@router.get("/weapons/{weapon_id}", response_class=HTMLResponse)
async def timeline(request: Request, weapon_id: str, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Every record held about the weapon, each with its origin, officer and verification."""
    context = context_of(request)
    purpose = request.query_params.get("purpose", "").strip()

    def read() -> tuple[Weapon | None, list[TimelineRow], dict[str, str]]:
        weapon, rows = weapon_timeline(context.node, wid)
        context.read_audit.append(desk.officer, "history", str(wid), purpose)  # before it is shown
        return weapon, rows, {account.user_id: account.name for account in context.accounts.users()}

    try:
        wid = parse_weapon_id(weapon_id)
        weapon, rows, names = await run_in_threadpool(read)
    except UnknownWeapon as exc:
        return render(request, "timeline.html", officer=desk.officer, csrf=desk.csrf, weapon=None, rows=[],
                      weapon_id=weapon_id, errors=[field_error(exc)], status_code=404)
    except DomainError as exc:
        return render(request, "timeline.html", officer=desk.officer, csrf=desk.csrf, weapon=None, rows=[],
                      weapon_id=weapon_id, errors=[field_error(exc)], status_code=status_for(exc))
    return render(request, "timeline.html", officer=desk.officer, csrf=desk.csrf, weapon=weapon, rows=rows,
                  weapon_id=str(wid), officer_names=names)
