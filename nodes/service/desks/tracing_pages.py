"""The tracing desk: send a trace request, traces in and out with their deadlines, answers, verdicts.

Reading is ``nodes.tracing.reading`` (status, deadlines, the verified fragment); each
step is one ``nodes.tracing.service`` call run by ``context.submit`` as the officer,
under the authority of the officer's role (``domain.roles.authority_for``). An answer
that is delayed, restricted or refused names an ITI para 22 ground. The diversion
verdict is ``nodes.tracing.lifecycle.diversion_verdict`` with the records it rests on.
Reads of a trace (and the list) and of a verdict go to the read audit first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain import event_types as types
from domain.errors import DomainError, InvalidField
from domain.marking import Marking
from domain.roles import Right, authority_for, recordable
from domain.time import format_time, parse_until
from domain.trace import Para22Ground, Priority
from domain.trace_status import answered_records
from nodes.errors import NodeError
from nodes.registry.weapon_ids import weapon_by_prefix
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page, form_of, query_of
from nodes.service.desks.rendering import field_error, status_for
from nodes.tracing import lifecycle, reading, service

router = APIRouter(prefix="/tracing", include_in_schema=False)
REQUEST = ("to", "weapon", "manufacturer", "country", "serial", "type", "calibre", "circumstances", "legal_basis",
           "intended_use", "priority")
ANSWER = ("answer", "ground", "explanation", "expected_by", "reason")
GROUNDS = tuple(g.value for g in Para22Ground)
PRIORITIES = tuple(p.value for p in Priority)
# The answers an addressee may give: form value -> the record it makes.
ANSWERS = {"respond": types.TRACE_RESPONDED, "delay": types.TRACE_DELAYED, "restrict": types.TRACE_RESTRICTED,
           "refuse": types.TRACE_REFUSED, "untraceable": types.TRACE_UNTRACEABLE}


@router.get("", response_class=HTMLResponse)
async def traces(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Traces this node asked (outgoing) and was asked (incoming), with deadlines and status."""
    context = context_of(request)

    def read() -> list[Any]:
        found = reading.traces(context.node)
        context.read_audit.append(desk.officer, "trace", "all traces", request.query_params.get("purpose", ""))
        return found

    found = await run_in_threadpool(read)
    return desk_page(request, desk, "tracing.html", incoming=[t for t in found if t.role == "addressee"],
                     outgoing=[t for t in found if t.role == "requester"],
                     may_submit=types.TRACE_SUBMITTED in recordable(desk.officer.role))


@router.get("/new", response_class=HTMLResponse)
async def request_form(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    values = {**dict.fromkeys(REQUEST, ""), **query_of(request, ("weapon",)), "priority": "routine"}
    return _request_page(request, desk, values)


@router.post("/new", response_class=HTMLResponse)
async def submit(request: Request, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Send a trace request to a partner state; show the new trace."""
    v = await form_of(request, REQUEST)
    node = context_of(request).node

    def step() -> Callable[[Any], Any]:
        by = authority_for(desk.officer.role, types.TRACE_SUBMITTED).value
        weapon = weapon_by_prefix(node, v["weapon"]) if v["weapon"] else None
        marking = None if weapon else Marking.read(v["manufacturer"], v["country"], v["serial"])
        return lambda registry: service.submit(
            node, to=v["to"], weapon_id=weapon, marking=marking, type=v["type"], calibre=v["calibre"],
            circumstances=v["circumstances"], legal_basis=v["legal_basis"], intended_use=v["intended_use"],
            priority=v["priority"] or "routine", by=by)

    try:
        trace_id = await _run(request, desk, step)
    except (DomainError, NodeError) as exc:
        return _request_page(request, desk, v, errors=[field_error(exc)], status_code=status_for(exc))
    return RedirectResponse(f"/tracing/{trace_id}", status.HTTP_303_SEE_OTHER)


@router.get("/verdict", response_class=HTMLResponse)
async def verdict(request: Request, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """Where the weapon left legal custody, on the federated evidence held here, with that evidence."""
    v = query_of(request, ("weapon", "purpose"))
    context = context_of(request)
    if not v["weapon"]:
        return desk_page(request, desk, "verdict.html", values=v, verdict=None, life=None)

    def read() -> Any:
        weapon = weapon_by_prefix(context.node, v["weapon"])
        context.read_audit.append(desk.officer, "verdict", str(weapon), v["purpose"])
        return lifecycle.diversion_verdict(context.node, weapon)

    try:
        found, life = await run_in_threadpool(read)
    except DomainError as exc:
        return desk_page(request, desk, "verdict.html", values=v, verdict=None, life=None,
                         errors=[field_error(exc)], status_code=status_for(exc))
    return desk_page(request, desk, "verdict.html", values=v, verdict=found, life=life)


@router.get("/{trace_id}", response_class=HTMLResponse)
async def trace_page(request: Request, trace_id: str, desk: Desk = Depends(at_desk(Right.READ))) -> Response:
    """One trace: its request, every step, the deadlines, and the forms for the next step."""
    return await _trace_page(request, desk, trace_id, values=dict.fromkeys(ANSWER, ""))


@router.post("/{trace_id}/answer", response_class=HTMLResponse)
async def answer(request: Request, trace_id: str, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Answer a trace addressed to this state: respond, delay, restrict, refuse (para 22), untraceable."""
    v = await form_of(request, ANSWER)
    node = context_of(request).node

    def step() -> Callable[[Any], Any]:
        if v["answer"] not in ANSWERS:
            raise InvalidField(f"choose one of {', '.join(ANSWERS)}", field="answer")
        by = authority_for(desk.officer.role, ANSWERS[v["answer"]]).value
        ground, explanation = v["ground"], v["explanation"]
        if v["answer"] == "respond":
            return lambda registry: service.respond(node, trace_id, by=by)
        if v["answer"] == "untraceable":
            return lambda registry: service.untraceable(node, trace_id, reason=v["reason"], by=by)
        if v["answer"] == "delay":
            expected = parse_until(v["expected_by"], field="expected_by")
            return lambda registry: service.delay(node, trace_id, ground=ground, explanation=explanation,
                                                    expected_by=expected, by=by)
        act = service.restrict if v["answer"] == "restrict" else service.refuse
        return lambda registry: act(node, trace_id, ground=ground, explanation=explanation, by=by)

    return await _step(request, desk, trace_id, v, step)


@router.post("/{trace_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge(request: Request, trace_id: str, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Acknowledge by hand a trace request received (ITI para 19), on a node that does not on sync."""
    node = context_of(request).node

    def step() -> Callable[[Any], Any]:
        by = authority_for(desk.officer.role, types.TRACE_ACKNOWLEDGED).value
        return lambda registry: service.acknowledge_received(node, trace_id, by=by)

    return await _step(request, desk, trace_id, {}, step)


@router.post("/{trace_id}/close", response_class=HTMLResponse)
async def close(request: Request, trace_id: str, desk: Desk = Depends(at_desk(Right.RECORD))) -> Response:
    """Close a trace this state asked, with its outcome."""
    v = await form_of(request, ("outcome",))
    node = context_of(request).node

    def step() -> Callable[[Any], Any]:
        by = authority_for(desk.officer.role, types.TRACE_CLOSED).value
        return lambda registry: service.close(node, trace_id, outcome=v["outcome"], by=by)

    return await _step(request, desk, trace_id, v, step)


async def _run(request: Request, desk: Desk, step: Callable[[], Callable[[Any], Any]]) -> Any:
    context = context_of(request)
    return await run_in_threadpool(lambda: context.submit(desk.officer, step()))


async def _step(request: Request, desk: Desk, trace_id: str, values: dict[str, str],
                step: Callable[[], Callable[[Any], Any]]) -> Response:
    try:
        await _run(request, desk, step)
    except (DomainError, NodeError) as exc:
        return await _trace_page(request, desk, trace_id, values=values, errors=[field_error(exc)],
                                 status_code=status_for(exc))
    return RedirectResponse(f"/tracing/{trace_id}", status.HTTP_303_SEE_OTHER)


async def _trace_page(request: Request, desk: Desk, trace_id: str, **values: Any) -> Response:
    context = context_of(request)
    purpose = request.query_params.get("purpose", "")

    def read() -> Any:
        found = reading.trace(context.node, trace_id)
        context.read_audit.append(desk.officer, "trace", found.trace_id, purpose)
        return found

    try:
        found = await run_in_threadpool(read)
    except DomainError as exc:
        return desk_page(request, desk, "trace.html", trace=None, errors=[field_error(exc)],
                         status_code=404 if exc.field == "trace" else status_for(exc))
    allowed = recordable(desk.officer.role)
    answered = answered_records(found.fragment.records) if found.fragment is not None else []
    return desk_page(request, desk, "trace.html", trace=found, grounds=GROUNDS, answers=tuple(ANSWERS),
                     answered=answered, moment=_moment,
                     may_acknowledge=(found.role == "addressee" and found.acknowledgement.done_on is None
                                      and types.TRACE_ACKNOWLEDGED in allowed),
                     may_answer=found.role == "addressee" and types.TRACE_RESPONDED in allowed,
                     may_close=found.role == "requester" and types.TRACE_CLOSED in allowed, **values)


def _moment(seconds: int) -> str:
    """A recording time as the desk shows it: date, hours and minutes, UTC."""
    return format_time(seconds)[:16].replace("T", " ") + " UTC"


def _request_page(request: Request, desk: Desk, values: dict[str, str], **page: Any) -> Response:
    try:
        authority_for(desk.officer.role, types.TRACE_SUBMITTED)
    except DomainError as exc:
        page = {"errors": [field_error(exc)], "status_code": status.HTTP_403_FORBIDDEN, **page}
    return desk_page(request, desk, "trace_request.html", values=values, priorities=PRIORITIES, **page)
