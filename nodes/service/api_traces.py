"""``/api/v1/traces``: trace requests out and in, and every step of an answer (ITI paras 17-23).

The requester submits and closes; the addressee responds with its signed fragment, or is
untraceable, or delays, restricts or refuses on a para 22 ground with an explanation
(para 23). Acknowledgement comes first on its own when an answer is the first step, and a
node that does not acknowledge on sync acknowledges by hand (``/acknowledge``). A trace is
named in the path by its id or a unique start of it (at least 4 characters).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, status

from domain import event_types as types
from domain.time import parse_time
from domain.trace import Para22Ground
from nodes.accounts.officer import Officer
from nodes.bootstrap import Node
from nodes.registry.application import Registry
from nodes.registry.reading import plain_record
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited, authority
from nodes.service.bodies import Country, Dated, MarkingIn, Recorded, Required, Text, one_weapon
from nodes.service.context import ServiceContext
from nodes.service.errors import ERROR_RESPONSES
from nodes.tracing import service as tracing

router = APIRouter(prefix=f"{API_PREFIX}/traces", tags=["traces"], responses=ERROR_RESPONSES)

TraceId = Annotated[str, Path(max_length=36, description="trace id, or its start (at least 4 characters)")]


class TraceRequestIn(Dated):
    weapon_id: UUID | None = None
    marking: MarkingIn | None = None
    type: Text = ""
    calibre: Text = ""
    circumstances: Required
    legal_basis: Required
    intended_use: Required
    priority: Literal["routine", "urgent"] = "routine"
    to: Country


class Close(Dated):
    outcome: Required


class Grounded(Dated):
    ground: Para22Ground
    explanation: Required


class Delay(Grounded):
    until: Required


class Untraceable(Dated):
    reason: Required


class Respond(Dated):
    pass


@router.post("", status_code=status.HTTP_201_CREATED, summary="submit a trace request to a partner (ITI para 17)")
def submit(body: TraceRequestIn, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_SUBMITTED)
    weapon_id, marking = one_weapon(body.weapon_id, body.marking)
    trace_id = _submit(context, officer, lambda node: tracing.submit(
        node, to=body.to, weapon_id=weapon_id, marking=marking, type=body.type, calibre=body.calibre,
        circumstances=body.circumstances, legal_basis=body.legal_basis, intended_use=body.intended_use,
        priority=body.priority, occurred_on=body.occurred_on(), by=by))
    return Recorded(event=types.TRACE_SUBMITTED, trace_id=str(trace_id))


@router.post("/{trace_id}/close", summary="close a trace this state requested")
def close(trace_id: TraceId, body: Close, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_CLOSED)
    found = _found(context, trace_id)
    _submit(context, officer, lambda node: tracing.close(node, found, outcome=body.outcome,
                                                         occurred_on=body.occurred_on(), by=by))
    return Recorded(event=types.TRACE_CLOSED, trace_id=str(found))


@router.post("/{trace_id}/acknowledge", summary="acknowledge a trace request received (ITI para 19)")
def acknowledge(trace_id: TraceId, body: Respond, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_ACKNOWLEDGED)
    found = _found(context, trace_id)
    _submit(context, officer, lambda node: tracing.acknowledge_received(node, found, occurred_on=body.occurred_on(),
                                                                        by=by))
    return Recorded(event=types.TRACE_ACKNOWLEDGED, trace_id=str(found))


@router.post("/{trace_id}/respond", summary="answer with the signed lifecycle fragment held (ITI para 20)")
def respond(trace_id: TraceId, body: Respond, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_ACKNOWLEDGED, types.TRACE_RESPONDED, types.TRACE_UNTRACEABLE)
    found = _found(context, trace_id)
    event = _submit(context, officer, lambda node: tracing.respond(node, found, occurred_on=body.occurred_on(),
                                                                   by=by))
    return Recorded(event=event, trace_id=str(found))


@router.post("/{trace_id}/untraceable", summary="answer that the weapon cannot be traced here")
def untraceable(trace_id: TraceId, body: Untraceable, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_ACKNOWLEDGED, types.TRACE_UNTRACEABLE)
    found = _found(context, trace_id)
    _submit(context, officer, lambda node: tracing.untraceable(node, found, reason=body.reason,
                                                               occurred_on=body.occurred_on(), by=by))
    return Recorded(event=types.TRACE_UNTRACEABLE, trace_id=str(found))


@router.post("/{trace_id}/delay", summary="delay the answer on an ITI para 22 ground (para 23)")
def delay(trace_id: TraceId, body: Delay, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_ACKNOWLEDGED, types.TRACE_DELAYED)
    found = _found(context, trace_id)
    expected_by = parse_time(body.until, field="until")
    _submit(context, officer, lambda node: tracing.delay(
        node, found, ground=body.ground.value, explanation=body.explanation, expected_by=expected_by,
        occurred_on=body.occurred_on(), by=by))
    return Recorded(event=types.TRACE_DELAYED, trace_id=str(found))


@router.post("/{trace_id}/restrict", summary="answer with the cross-border path only (paras 22-23)")
def restrict(trace_id: TraceId, body: Grounded, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_ACKNOWLEDGED, types.TRACE_RESTRICTED)
    found = _found(context, trace_id)
    _submit(context, officer, lambda node: tracing.restrict(
        node, found, ground=body.ground.value, explanation=body.explanation, occurred_on=body.occurred_on(), by=by))
    return Recorded(event=types.TRACE_RESTRICTED, trace_id=str(found))


@router.post("/{trace_id}/refuse", summary="refuse to answer (paras 22-23)")
def refuse(trace_id: TraceId, body: Grounded, officer: Recorder, context: Context) -> Recorded:
    by = authority(officer, types.TRACE_ACKNOWLEDGED, types.TRACE_REFUSED)
    found = _found(context, trace_id)
    _submit(context, officer, lambda node: tracing.refuse(
        node, found, ground=body.ground.value, explanation=body.explanation, occurred_on=body.occurred_on(), by=by))
    return Recorded(event=types.TRACE_REFUSED, trace_id=str(found))


@router.get("", summary="every trace asked or received, with status and overdue steps")
def list_traces(officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    found = tracing.traces(context.node)
    audited(context, officer, "trace", "all traces", why)
    return {"traces": plain_record([t.to_dict() for t in found])}


@router.get("/{trace_id}", summary="one trace and the traces it was forwarded as: every step, deadlines, fragment")
def show(trace_id: TraceId, officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    found = _found(context, trace_id)
    hops = tracing.hops(context.node, found)
    audited(context, officer, "trace", str(found), why)
    return plain_record({"trace": hops[0].to_dict(), "hops": [h.to_dict() for h in hops]})


def _found(context: ServiceContext, typed: str) -> UUID:
    """The trace the path names (id or unique start); 422 naming ``trace`` and repeating what was typed."""
    return tracing.find_trace(context.node, typed)


def _submit(context: ServiceContext, officer: Officer, step: Callable[[Node], Any]) -> Any:
    """A tracing step writes through the registry but reads the node's received records too."""
    node = context.node

    def command(_: Registry) -> Any:
        return step(node)

    return context.submit(officer, command)
