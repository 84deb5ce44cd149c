"""The licensing desk: manufacture, transfer (with the licence check before submitting), licences.

Reading pages (licences listed and shown, a holder's weapons) are in ``licence_reading_pages``.

Each form posts to the page it came from; a refused command shows the form again with
the domain's reason next to the field it names. A write is one ``Registry`` call run by
``context.submit`` as the signed-in officer, signed by the authority key of the officer's
role (``domain.roles.authority_for``). The licence check is ``Licence.check_allows_holding``,
the rule a transfer applies, asked before the transfer is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain import event_types as types
from domain.errors import DomainError, NotPermitted
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.roles import Right, authority_for, recordable
from domain.time import parse_time, parse_until
from nodes.errors import NodeError
from nodes.persons.holders import named_holder
from nodes.registry.application import Registry
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.service.desks import broker_pages, licence_reading_pages
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, form_of, query_of, whole_of
from nodes.service.desks.rendering import NavItem, field_error, status_for

router = APIRouter(prefix="/licensing", include_in_schema=False)
router.include_router(licence_reading_pages.router)
router.include_router(broker_pages.router)
T = TypeVar("T")

MANUFACTURE = ("manufacturer", "country", "serial", "type", "make", "model", "calibre", "year", "holder", "date")
TRANSFER = ("weapon", "to", "licence", "date")
ISSUE = ("number", "kind", "holder", "valid_from", "valid_until", "place_of_issue", "export_state", "import_state",
         "consignee", "end_user", "description", "quantity")
REVOKE = ("number", "kind", "reason")
LOOKUP = licence_reading_pages.LOOKUP
KINDS = tuple(kind.value for kind in LicenceKind)


# The desk's forms: (path, message id, the record type the role must be allowed to record).
FORMS = (("/licensing/manufacture", "licensing.manufacture", types.MANUFACTURED),
         ("/licensing/transfer", "licensing.transfer", types.TRANSFERRED),
         ("/licensing/licences/issue", "licensing.issue", types.LICENCE_ISSUED),
         ("/licensing/licences/revoke", "licensing.revoke", types.LICENCE_REVOKED))


@router.get("", response_class=HTMLResponse)
async def desk_home(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Links to the forms the officer's role may use, and to the licence look-up."""
    allowed = recordable(desk.officer.role)
    links = [NavItem(href, label) for href, label, record_type in FORMS if record_type in allowed]
    links += [NavItem("/licensing/licences", "licensing.lookup"), NavItem("/licensing/licences/list", "licensing.list"),
              NavItem("/licensing/holders", "licensing.holder"), NavItem("/licensing/brokers", "licensing.brokers")]
    return desk_page(request, desk, "licensing.html", links=links)


@router.get("/manufacture", response_class=HTMLResponse)
async def manufacture_form(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    return _form(request, desk, "manufacture.html", types.MANUFACTURED, values=dict.fromkeys(MANUFACTURE, ""))


@router.post("/manufacture", response_class=HTMLResponse)
async def manufacture(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Record a manufacture and show the new weapon's timeline."""
    v = await form_of(request, MANUFACTURE)

    def command() -> Callable[[Registry], Any]:
        by = authority_for(desk.officer.role, types.MANUFACTURED).value
        marking = Marking.read(v["manufacturer"], v["country"], v["serial"])
        occurred = _date(v["date"])
        return lambda registry: registry.manufacture(
            by=by, marking=marking, occurred_on=occurred, type=v["type"], make=v["make"], model=v["model"],
            calibre=v["calibre"], year=v["year"], holder=v["holder"])

    return await _record(request, desk, "manufacture.html", v, command, lambda wid: f"/weapons/{wid}")


@router.get("/transfer", response_class=HTMLResponse)
async def transfer_form(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    return _form(request, desk, "transfer.html", types.TRANSFERRED, values=query_of(request, TRANSFER), check=None)


@router.post("/transfer", response_class=HTMLResponse)
async def transfer(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Record a transfer to a holder whose transfer licence is in force; show the timeline."""
    v = await form_of(request, TRANSFER)

    def command() -> Callable[[Registry], Any]:
        by = authority_for(desk.officer.role, types.TRANSFERRED).value
        weapon_id = weapon_by_prefix(context_of(request).node, v["weapon"])
        occurred = _date(v["date"])
        holder = named_holder(v["to"], context_of(request).vault, field="to")  # a name, or a reference held here

        def record(registry: Registry) -> UUID:
            registry.transfer(by=by, weapon_id=weapon_id, to_holder=holder, licence=v["licence"],
                              occurred_on=occurred)
            return weapon_id

        return record

    return await _record(request, desk, "transfer.html", v, command, lambda wid: f"/weapons/{wid}",
                         check=None)


@router.get("/licence-check", response_class=HTMLResponse)
async def licence_check(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Would the transfer licence let the new holder hold the weapon today? (htmx: the verdict only)."""
    v = query_of(request, TRANSFER)
    check = await run_in_threadpool(_check_licence, request, desk, v)
    template = "_check.html" if request.headers.get("hx-request") else "transfer.html"
    return desk_page(request, desk, template, values=v, check=check)


@router.post("/licence-check", response_class=HTMLResponse)
async def licence_check_posted(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """The same check from the transfer form without JavaScript: the form again, with the verdict."""
    v = await form_of(request, TRANSFER)
    check = await run_in_threadpool(_check_licence, request, desk, v)
    return desk_page(request, desk, "transfer.html", values=v, check=check)


def _check_licence(request: Request, desk: Desk, v: dict[str, str]) -> dict[str, str]:
    if not v["to"] or not v["licence"]:
        return {"outcome": "incomplete"}
    context = context_of(request)
    try:
        licence = context.node.registry.licence(v["licence"], LicenceKind.TRANSFER_LICENCE, field="licence")
        context.read_audit.append(desk.officer, "licence", v["licence"], "")
        licence.check_allows_holding(v["to"], int(time.time()))
    except DomainError as exc:
        return {"outcome": "refused", "reason": field_error(exc).message}
    return {"outcome": "ok", "number": licence.number, "holder": v["to"]}


@router.get("/licences/issue", response_class=HTMLResponse)
async def issue_form(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    return _form(request, desk, "licence_issue.html", types.LICENCE_ISSUED,
                 values={**dict.fromkeys(ISSUE, ""), "quantity": "0"}, kinds=KINDS)


@router.post("/licences/issue", response_class=HTMLResponse)
async def issue(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Issue a licence of this state and show it."""
    v = await form_of(request, ISSUE)

    def command() -> Callable[[Registry], Any]:
        by = authority_for(desk.officer.role, types.LICENCE_ISSUED).value
        kind = LicenceKind.parse(v["kind"])
        fields: dict[str, Any] = dict(number=v["number"], kind=kind, holder=v["holder"],
                      valid_from=parse_time(v["valid_from"], field="valid_from"),
                      valid_until=parse_until(v["valid_until"], field="valid_until"),
                      export_state=v["export_state"].upper(), import_state=v["import_state"].upper(),
                      consignee=v["consignee"], end_user=v["end_user"], quantity=whole_of(v["quantity"], "quantity"),
                      place_of_issue=v["place_of_issue"], description=v["description"])
        return lambda registry: registry.issue_licence(by=by, **fields)

    return await _record(request, desk, "licence_issue.html", v, command,
                         lambda _: f"/licensing/licences?number={v['number']}&kind={v['kind']}", kinds=KINDS)


@router.get("/licences/revoke", response_class=HTMLResponse)
async def revoke_form(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    return _form(request, desk, "licence_revoke.html", types.LICENCE_REVOKED, values=query_of(request, REVOKE),
                 kinds=KINDS)


@router.post("/licences/revoke", response_class=HTMLResponse)
async def revoke(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Revoke a licence of this state; later transfers or exports under it are refused."""
    v = await form_of(request, REVOKE)

    def command() -> Callable[[Registry], Any]:
        by = authority_for(desk.officer.role, types.LICENCE_REVOKED).value
        kind = LicenceKind.parse(v["kind"])
        return lambda registry: registry.revoke_licence(by=by, number=v["number"], kind=kind, reason=v["reason"])

    return await _record(request, desk, "licence_revoke.html", v, command,
                         lambda _: f"/licensing/licences?number={v['number']}&kind={v['kind']}", kinds=KINDS)


async def _record(request: Request, desk: Desk, template: str, values: dict[str, str],
                  command: Callable[[], Callable[[Registry], T]], next_page: Callable[[T], str],
                  **page: Any) -> Response:
    """Build the command from the form (domain parsing), run it as the officer, then go to ``next_page``.

    A refused command (bad field, rule, role) shows ``template`` again with the reason.
    """
    context = context_of(request)
    try:
        result = await run_in_threadpool(lambda: context.submit(desk.officer, command()))
    except (DomainError, NodeError) as exc:
        return desk_page(request, desk, template, values=values, errors=[field_error(exc)],
                     status_code=status_for(exc), **page)
    return RedirectResponse(next_page(result), status.HTTP_303_SEE_OTHER)


def _form(request: Request, desk: Desk, template: str, record_type: str, **values: Any) -> Response:
    """An empty form; with the reason and 403 when the officer's role may not record ``record_type``."""
    try:
        authority_for(desk.officer.role, record_type)
    except NotPermitted as exc:
        return desk_page(request, desk, template, errors=[field_error(exc)], status_code=status.HTTP_403_FORBIDDEN,
                     **values)
    return desk_page(request, desk, template, **values)


def _date(text: str) -> int | None:
    return parse_time(text, field="date") if text else None
