"""The licensing desk's reading pages: licences listed and shown with their use, a holder's weapons.

Each page calls the function the CLI and the API call (``nodes.registry.licences``,
``nodes.registry.holders``) and records the read in the read audit before showing it.
A refused filter shows the form again with the reason next to the field it names.
Included in ``licensing_pages.router``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from domain.licence import LicenceKind, LicenceState
from domain.roles import Right
from domain.time import parse_time
from nodes.registry.holders import holder_weapons
from nodes.registry.licences import licence_document, list_licences, parse_kind, parse_state
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, query_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(include_in_schema=False)  # under licensing_pages.router: /licensing/...

LOOKUP = ("number", "kind")
LIST = ("kind", "holder", "state", "valid_on")
HOLDER = ("holder",)
KINDS = tuple(kind.value for kind in LicenceKind)
STATES = tuple(state.value for state in LicenceState)


@router.get("/licences", response_class=HTMLResponse)
async def show(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """A licence by number (the kind only when the number names several): every field, use, quantity left."""
    v = query_of(request, LOOKUP)
    if not v["number"]:
        return desk_page(request, desk, "licence.html", values=v, kinds=KINDS, licence=None)
    context = context_of(request)

    def read() -> dict[str, Any]:
        document = licence_document(context.node, v["number"], parse_kind(v["kind"]) if v["kind"] else None)
        context.read_audit.append(desk.officer, "licence", f"{document['kind']} {document['number']} of "
                                  f"{document['issuer_state']}", request.query_params.get("purpose", ""))
        return document

    return await _page(request, desk, "licence.html", v, read, "licence", kinds=KINDS)


@router.get("/licences/list", response_class=HTMLResponse)
async def listed(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Licences of this state and authorizations received, filtered by kind, holder, state and validity."""
    v = query_of(request, LIST)
    context = context_of(request)

    def read() -> list[dict[str, Any]]:
        found = list_licences(context.node, kind=parse_kind(v["kind"]) if v["kind"] else None, holder=v["holder"],
                              state=parse_state(v["state"]) if v["state"] else None,
                              valid_on=parse_time(v["valid_on"], field="valid_on") if v["valid_on"] else None)
        given = " ".join(f"{k}={value}" for k, value in v.items() if value)
        context.read_audit.append(desk.officer, "licence", f"licences {given}".strip(),
                                  request.query_params.get("purpose", ""))
        return found

    return await _page(request, desk, "licence_list.html", v, read, "licences", kinds=KINDS, states=STATES)


@router.get("/holders", response_class=HTMLResponse)
async def holder(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The weapons a holder holds now, with their status."""
    v = query_of(request, HOLDER)
    if not v["holder"]:
        return desk_page(request, desk, "holder_weapons.html", values=v, found=None)
    context = context_of(request)

    def read() -> dict[str, Any]:
        found = holder_weapons(context.node, v["holder"])
        context.read_audit.append(desk.officer, "search", f"holder {v['holder']}",
                                  request.query_params.get("purpose", ""))
        return found

    return await _page(request, desk, "holder_weapons.html", v, read, "found")


async def _page(request: Request, desk: Desk, template: str, values: dict[str, str], read: Callable[[], Any],
                name: str, **page: Any) -> Response:
    """``template`` with ``read()``'s answer as ``name``; refused: the form again with the reason."""
    try:
        answer = await run_in_threadpool(read)
    except DomainError as exc:
        return desk_page(request, desk, template, values=values, errors=[field_error(exc)],
                         status_code=status_for(exc), **{name: None}, **page)
    return desk_page(request, desk, template, values=values, **{name: answer}, **page)
