"""The search desk (partial serial, make, model, calibre; ours and partners' weapons, a page at a time)
and a weapon's timeline; both reads go to the read audit before anything is shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError, InvalidField, UnknownWeapon
from domain.roles import Right
from nodes.registry.weapon_search import DEFAULT_LIMIT, Criteria, find_weapons
from nodes.service.desks.access import Desk, at_desk, context_of, query_of
from nodes.service.desks.rendering import field_error, render, status_for
from nodes.service.desks.timeline import TimelineRow, weapon_timeline

router = APIRouter(include_in_schema=False)
CRITERIA = ("serial", "make", "model", "calibre")


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The search form; with criteria the weapons held here matching them all (serial: ``?`` one,
    ``*`` any run), ``DEFAULT_LIMIT`` a page from ``offset``."""
    values = query_of(request, (*CRITERIA, "purpose", "offset"))
    if not any(values[name] for name in CRITERIA):
        return render(request, "search.html", officer=desk.officer, csrf=desk.csrf, values=values, found=None)
    context = context_of(request)
    criteria = Criteria(**{name: values[name] for name in CRITERIA})

    def find() -> dict[str, Any]:
        found = find_weapons(context.node, criteria, offset=_offset(values["offset"]), limit=DEFAULT_LIMIT)
        context.read_audit.append(desk.officer, "search", criteria.subject, values["purpose"])  # before it is shown
        return found

    try:
        found = await run_in_threadpool(find)
    except DomainError as exc:
        return render(request, "search.html", officer=desk.officer, csrf=desk.csrf, values=values, found=None,
                      errors=[field_error(exc)], status_code=422)
    shown = ", ".join(values[name] for name in CRITERIA if values[name])
    return render(request, "search.html", officer=desk.officer, csrf=desk.csrf, values=values, found=found,
                  criteria=shown, pages=_pages(request, found))


@router.get("/weapons/{weapon_id}", response_class=HTMLResponse)
async def timeline(request: Request, weapon_id: str, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Every record held about the weapon (``?own=1``: ours only), each with its origin, authority,
    officer and verification; the weapon may be named by the start of its id."""
    context = context_of(request)
    purpose = request.query_params.get("purpose", "").strip()
    own_only = request.query_params.get("own", "") not in ("", "0")

    def read() -> tuple[dict[str, Any], list[TimelineRow], dict[str, str]]:
        document, rows = weapon_timeline(context.node, weapon_id, own_only=own_only)
        context.read_audit.append(desk.officer, "history", document["weapon_id"], purpose)  # before it is shown
        return document, rows, {account.user_id: account.name for account in context.accounts.users()}

    try:
        document, rows, names = await run_in_threadpool(read)
    except (UnknownWeapon, DomainError) as exc:
        return render(request, "timeline.html", officer=desk.officer, csrf=desk.csrf, weapon=None, rows=[],
                      weapon_id=weapon_id, own_only=own_only, errors=[field_error(exc)],
                      status_code=404 if isinstance(exc, UnknownWeapon) else status_for(exc))
    return render(request, "timeline.html", officer=desk.officer, csrf=desk.csrf, weapon=document, rows=rows,
                  weapon_id=document["weapon_id"], own_only=own_only, officer_names=names)


def _offset(text: str) -> int:
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidField(f"{text!r} is not a whole number", field="offset")
    return int(text)


def _pages(request: Request, found: dict[str, Any]) -> dict[str, Any]:
    """What the page says of a cut result: first and last shown, and links to the pages around it."""
    offset, count = found["offset"], len(found["matches"])

    def at(start: int) -> str:
        url = request.url.include_query_params(offset=start)
        return f"{url.path}?{url.query}"

    return {"first": offset + 1 if count else offset, "last": offset + count, "total": found["total"],
            "cut": found["cut"],
            "previous": at(max(0, offset - found["limit"])) if offset > 0 else "",
            "next": at(offset + count) if offset + count < found["total"] else ""}
