"""Federated tracing (International Tracing Instrument, paras 17-23): the steps each side records.

A trace has one id; the requesting state records its ``TraceRequest`` steps, the
addressee its ``TraceAnswer`` steps, each in its own log, and the sharing policy
carries each side's records to the other (``domain.trace``). The requester
``submit``s (para 17), ``follow_response`` forwards the trace to each state a verified
response shows an export to, and ``close``s; the addressee ``acknowledge``s (para 19),
``respond``s with its signed fragment (para 20), or is ``untraceable``, or ``delay``s,
``restrict``s or ``refuse``s on a para 22 ground with an explanation (para 23).
Reading a trace is ``nodes.tracing.reading``; the federated lifecycle and point of
diversion ``nodes.tracing.lifecycle``; both are re-exported here, the one entry point.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.errors import InvalidField, InvalidState
from domain.event_types import (
    EXPORTED,
    TRACE_RESPONDED as RESPONDED,
    TRACE_RESTRICTED as RESTRICTED,
    TRACE_SUBMITTED as SUBMITTED,
    TRACE_UNTRACEABLE as UNTRACEABLE,
)
from domain.marking import Marking, check_country
from domain.time import format_time
from domain.trace import TraceAnswer, TraceRequest
from domain.trace_status import Trace
from ledger.envelope import Envelope
from nodes.federation.crossborder import partner_states
from nodes.ports import Node
from nodes.reference.matching import trace_reference
from nodes.tracing.fragment import build_fragment
from nodes.tracing.lifecycle import FederatedLifecycle, diversion_verdict, federated_lifecycle
from nodes.tracing.reading import find_trace, hops, trace, trace_ids, traces, traces_about, verified_fragment

__all__ = [
    "ANSWERING_AUTHORITY", "REQUESTING_AUTHORITY", "FederatedLifecycle", "Trace", "acknowledge",
    "acknowledge_and_respond", "acknowledge_received", "close", "delay", "diversion_verdict", "federated_lifecycle",
    "find_trace", "follow_response", "hops", "refuse", "respond", "restrict", "submit", "trace", "trace_ids", "traces",
    "traces_about", "untraceable",
]

A = TypeVar("A", TraceRequest, TraceAnswer)

REQUESTING_AUTHORITY = "police"      # tracing officers ask (domain.authority: police only)
ANSWERING_AUTHORITY = "registry"     # the national registry answers from its records


# --- the requester's steps ----------------------------------------------------------------


def submit(node: Node, *, to: str, weapon_id: UUID | str | None = None, marking: Marking | None = None,
           type: str = "", calibre: str = "", circumstances: str, legal_basis: str, intended_use: str,
           priority: str = "routine", occurred_on: int | None = None, by: str = REQUESTING_AUTHORITY) -> UUID:
    """Submit a trace request to state ``to`` (ITI para 17); returns the trace id.

    The weapon is named by id (its marking and description are then taken from
    our records or those received) or by its marking. ``to`` must be a trusted
    partner: the request travels as a signed record to its node. Raises
    ``InvalidField`` or ``NotPermitted``.
    """
    to = check_country(to, "to")
    if to not in partner_states(node):
        raise InvalidField(f"{to} is not a trusted partner (armsledger trust add --state {to} FILE): "
                           "a trace request travels to its node", field="to")
    if (weapon_id is None) == (marking is None):
        raise InvalidField("give the weapon id or its marking, not both", field="weapon")
    known = _known_description(node, marking.weapon_id() if marking is not None else str(weapon_id))
    if marking is None:
        if not known.get("marking"):
            raise InvalidField(f"no record of weapon {weapon_id} here: give its marking", field="weapon")
        marking_dict, wid = dict(known["marking"]), str(weapon_id)
    else:
        marking_dict, wid = marking.as_dict(), str(marking.weapon_id())
    calibre = calibre or known.get("calibre", "")
    reference = trace_reference(node, make=known.get("make", ""), model=known.get("model", ""), calibre=calibre)
    request = TraceRequest.submit(
        authority=node.registry.authority(by), addressee=to, weapon_id=wid, marking=marking_dict,
        type=type or known.get("type", ""), calibre=calibre, circumstances=circumstances,
        legal_basis=legal_basis, intended_use=intended_use, priority=priority,
        occurred_on=int(time.time()) if occurred_on is None else occurred_on, reference=reference)
    node.registry.save(request)
    return request.id


def _known_description(node: Node, weapon_id: UUID | str) -> dict[str, Any]:
    """Marking, type, make, model and calibre of a weapon from our records, else from partners' records
    received."""
    records = [*node.registry.envelopes(weapon_id),
               *node.inbox.received_about(str(weapon_id), partner_states(node))]
    for envelope in records:
        if envelope.body.get("marking"):
            return {"marking": envelope.body["marking"],
                    **{name: str(envelope.body.get(name) or "") for name in ("type", "make", "model", "calibre")}}
    return {}


def close(node: Node, trace_id: UUID | str, *, outcome: str, occurred_on: int | None = None,
          by: str = REQUESTING_AUTHORITY) -> None:
    """Close our trace with its outcome (the requester's last step)."""
    request = _own(node, trace_id, TraceRequest, "only the requesting state closes a trace")
    request.close(authority=node.registry.authority(by), outcome=outcome, occurred_on=_now(occurred_on))
    node.registry.save(request)


def follow_response(node: Node, answer: Envelope, *, occurred_on: int | None = None) -> list[UUID]:
    """On the requester: forward the trace to every state the verified answer shows an export to.

    Only exports in the verified fragment count (the ``exported_to`` field is
    the addressee's claim). A state already asked about this weapon (in any
    hop), or our own state, is not asked again. Submits one follow-up request
    per new state (``parent`` = this trace, ``hop`` + 1) and records
    ``TraceRequest.Forwarded``, all in one transaction; returns the new trace ids.
    """
    if answer.type not in (RESPONDED, RESTRICTED):
        return []
    try:
        request: object = node.registry.repository.get(UUID(answer.stream))
    except (AggregateNotFoundError, ValueError):
        return []
    if not isinstance(request, TraceRequest) or request.closed or answer.node != request.addressee:
        return []
    check = verified_fragment(node, answer.node, [answer])
    exports = [e for e in (check.records if check else ()) if e.type == EXPORTED
               and e.stream == request.weapon_id]
    asked = {str(e.body.get("addressee")) for e in traces_about(node, request.weapon_id)}
    asked |= {node.identity.state, *request.forwarded_to}
    police = node.registry.authority(REQUESTING_AUTHORITY)
    moment = _now(occurred_on)
    follow_ups = []
    for export in exports:
        destination = str(export.body.get("to_state", ""))
        if not destination or destination in asked:
            continue
        asked.add(destination)
        follow_up = TraceRequest.submit(
            authority=police, addressee=destination, weapon_id=request.weapon_id, marking=request.marking,
            type=request.type, calibre=request.calibre, circumstances=request.circumstances,
            legal_basis=request.legal_basis, intended_use=request.intended_use, priority=request.priority,
            occurred_on=moment, parent=str(request.id), hop=request.hop + 1,
            reference=request.reference)
        request.forward(authority=police, to_state=destination, next_trace=str(follow_up.id), occurred_on=moment,
                        reason=f"{answer.node}'s response shows an export to {destination} on "
                               f"{format_time(export.occurred_on)[:10]} (shipment {export.body.get('shipment')})")
        follow_ups.append(follow_up)
    if follow_ups:
        node.registry.save(request, *follow_ups)
    return [f.id for f in follow_ups]


# --- the addressee's steps ----------------------------------------------------------------


def acknowledge(node: Node, request: Envelope, *, occurred_on: int | None = None,
                by: str = ANSWERING_AUTHORITY) -> bool:
    """Acknowledge a received trace request addressed to us (ITI para 19); False if done already or not ours."""
    if request.type != SUBMITTED or request.body.get("addressee") != node.identity.state:
        return False
    trace_id = UUID(request.stream)
    if trace_id in node.registry.repository:
        return False
    answer = TraceAnswer.acknowledge(trace_id=trace_id, authority=node.registry.authority(by),
                                     requesting_state=request.node, occurred_on=_now(occurred_on))
    node.registry.save(answer)
    return True


def acknowledge_received(node: Node, trace_id: UUID | str, *, occurred_on: int | None = None,
                         by: str = ANSWERING_AUTHORITY) -> UUID:
    """Acknowledge by hand a trace request received (ITI para 19), for nodes that do not acknowledge
    on sync; returns the trace id. ``InvalidField`` if no such request addressed to us was received,
    ``InvalidState`` if it was acknowledged already (by hand or on sync)."""
    trace_id = find_trace(node, trace_id)
    request = _received_request(node, trace_id)
    if not acknowledge(node, request, occurred_on=occurred_on, by=by):
        raise InvalidState(f"trace {trace_id} was acknowledged already", field="trace")
    return trace_id


def respond(node: Node, trace_id: UUID | str, *, occurred_on: int | None = None, by: str = ANSWERING_AUTHORITY) -> str:
    """Answer with the signed fragment we hold (ITI para 20), or untraceable if we hold nothing.

    Returns the answer's type. Acknowledges first if that was not done.
    ``InvalidState`` if the trace is answered already.
    """
    answer, request = _answer(node, trace_id, by)
    answered = _give_fragment(node, answer, request, by, _now(occurred_on))
    node.registry.save(answer)
    return answered


def acknowledge_and_respond(node: Node, request: Envelope, *, occurred_on: int | None = None,
                            by: str = ANSWERING_AUTHORITY) -> str | None:
    """Acknowledge a received trace request addressed to us (ITI para 19) and answer it as ``respond`` does
    (para 20), both recorded in one transaction; returns the answer's type, or None (nothing recorded) if
    the request is not ours or was acknowledged already. What ``sync`` does on its own with a request.

    The fragment is built before either record is stored, so its checkpoint need not cover the
    acknowledgement. If building or answering fails, the acknowledgement is recorded alone and the
    error raised, as when the two were separate steps.
    """
    if request.type != SUBMITTED or request.body.get("addressee") != node.identity.state:
        return None
    trace_id = UUID(request.stream)
    if trace_id in node.registry.repository:
        return None
    moment = _now(occurred_on)

    def acknowledgement() -> TraceAnswer:
        return TraceAnswer.acknowledge(trace_id=trace_id, authority=node.registry.authority(by),
                                       requesting_state=request.node, occurred_on=moment)

    answer = acknowledgement()
    try:
        answered = _give_fragment(node, answer, request, by, moment)
    except Exception:
        node.registry.save(acknowledgement())  # the answer aggregate may hold a half-made step: a fresh one
        raise
    node.registry.save(answer)
    return answered


def _give_fragment(node: Node, answer: TraceAnswer, request: Envelope, by: str, moment: int) -> str:
    """Answer ``request`` on ``answer`` (not saved) with the fragment we hold, or untraceable; the answer's type."""
    weapon_id = str(request.body.get("weapon_id", ""))
    fragment = build_fragment(node, weapon_id)
    authority = node.registry.authority(by)
    if not fragment.records:
        answer.untraceable(authority=authority, reason=_nothing_held(node, request), occurred_on=moment)
        return UNTRACEABLE
    answer.respond(authority=authority, weapon_id=weapon_id, fragment=fragment.items,
                   exported_to=fragment.exported_to, complete=fragment.complete, occurred_on=moment)
    return RESPONDED


def _nothing_held(node: Node, request: Envelope) -> str:
    """Why we cannot trace: nothing on record, and what partners told us was on its way here."""
    us, marking = node.identity.state, dict(request.body.get("marking", {}))
    shown = " ".join(str(marking.get(k, "")) for k in ("manufacturer", "country", "serial")).strip()
    reason = f"{us} holds no record of weapon {shown or request.body.get('weapon_id')}"
    announced = [e for e in node.inbox.received_about(str(request.body.get("weapon_id", "")), partner_states(node))
                 if e.type == EXPORTED and e.body.get("to_state") == us]
    for export in announced:
        reason += (f"; {export.node} recorded its export to {us} on {format_time(export.occurred_on)[:10]} "
                   f"(shipment {export.body.get('shipment')}), but {us} never recorded its import or receipt")
    return reason


def untraceable(node: Node, trace_id: UUID | str, *, reason: str, occurred_on: int | None = None,
                by: str = ANSWERING_AUTHORITY) -> None:
    answer, _ = _answer(node, trace_id, by)
    answer.untraceable(authority=node.registry.authority(by), reason=reason, occurred_on=_now(occurred_on))
    node.registry.save(answer)


def delay(node: Node, trace_id: UUID | str, *, ground: str, explanation: str, expected_by: int,
          occurred_on: int | None = None, by: str = ANSWERING_AUTHORITY) -> None:
    """Delay the answer on an ITI para 22 ground, explained (para 23), until ``expected_by``."""
    answer, _ = _answer(node, trace_id, by)
    answer.delay(authority=node.registry.authority(by), ground=ground, explanation=explanation,
                 expected_by=expected_by, occurred_on=_now(occurred_on))
    node.registry.save(answer)


def restrict(node: Node, trace_id: UUID | str, *, ground: str, explanation: str, occurred_on: int | None = None,
             by: str = ANSWERING_AUTHORITY) -> None:
    """Answer with only the cross-border path of the weapon (para 22 ground, para 23 explanation)."""
    answer, request = _answer(node, trace_id, by)
    weapon_id = str(request.body.get("weapon_id", ""))
    fragment = build_fragment(node, weapon_id, restricted=True)
    answer.restrict(authority=node.registry.authority(by), ground=ground, explanation=explanation,
                    weapon_id=weapon_id, fragment=fragment.items, occurred_on=_now(occurred_on))
    node.registry.save(answer)


def refuse(node: Node, trace_id: UUID | str, *, ground: str, explanation: str, occurred_on: int | None = None,
           by: str = ANSWERING_AUTHORITY) -> None:
    answer, _ = _answer(node, trace_id, by)
    answer.refuse(authority=node.registry.authority(by), ground=ground, explanation=explanation,
                  occurred_on=_now(occurred_on))
    node.registry.save(answer)


def _answer(node: Node, trace_id: UUID | str, by: str) -> tuple[TraceAnswer, Envelope]:
    """Our answer aggregate (acknowledging first if needed) and the received request."""
    trace_id = find_trace(node, trace_id)
    request = _received_request(node, trace_id)
    acknowledge(node, request, by=by)
    return _own(node, trace_id, TraceAnswer, "this trace was not addressed to us"), request


def _received_request(node: Node, trace_id: UUID) -> Envelope:
    """The partner's request ``trace_id`` addressed to us; ``InvalidField`` if none was received."""
    request = next((e for e in node.inbox.received_about(str(trace_id), partner_states(node))
                    if e.type == SUBMITTED and e.body.get("addressee") == node.identity.state), None)
    if request is None:
        raise InvalidField(f"no trace request {trace_id} addressed to {node.identity.state} has been received",
                           field="trace")
    return request


def _own(node: Node, trace_id: UUID | str, kind: type[A], wrong: str) -> A:
    trace_id = find_trace(node, trace_id)
    try:
        found: object = node.registry.repository.get(trace_id)
    except AggregateNotFoundError:
        raise InvalidField(f"no trace {trace_id} is recorded here", field="trace") from None
    if not isinstance(found, kind):
        raise InvalidState(wrong, field="trace")
    return found


def _now(occurred_on: int | None) -> int:
    return int(time.time()) if occurred_on is None else occurred_on
