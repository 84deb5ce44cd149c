"""Federated tracing (International Tracing Instrument, paras 17-23), over the node's log and inbox.

A trace has one id; the requesting state records its ``TraceRequest`` steps,
the addressee its ``TraceAnswer`` steps, each in its own log, and the sharing
policy carries each side's records to the other (``domain.trace``). This module
is the service both sides use:

- the requester ``submit``s (para 17), later ``close``s; ``follow_response``
  (a reaction) verifies the fragment received (``nodes.tracing.fragment``) and, when it
  shows an export to a state not yet asked, submits a follow-up request there
  (``parent`` = this trace, ``hop`` + 1) and records ``TraceRequest.Forwarded``:
  multi-hop tracing without a central registry;
- the addressee ``acknowledge``s (para 19; automatic, see ``nodes.federation.reactions``),
  then ``respond``s with the signed fragment it holds (para 20; automatic unless
  ARMSLEDGER_TRACE_AUTORESPOND=0), or is ``untraceable``, or ``delay``s,
  ``restrict``s or ``refuse``s on a para 22 ground with an explanation (para 23);
- both read ``trace``/``traces``/``hops``: the status computed by
  ``domain.trace_status`` over both sides' records, every step with its time,
  and overdue flags;
- ``diversion_verdict`` joins the federated lifecycle of a weapon (own records,
  partners' records received, verified fragments) for ``domain.diversion``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.diversion import Verdict, analyse
from domain.errors import InvalidField, InvalidState
from domain.event_types import (
    EXPORTED,
    LICENCE_ISSUED,
    TRACE_ACKNOWLEDGED as ACKNOWLEDGED,
    TRACE_REQUEST_PREFIX,
    TRACE_RESPONDED as RESPONDED,
    TRACE_RESTRICTED as RESTRICTED,
    TRACE_SUBMITTED as SUBMITTED,
    TRACE_UNTRACEABLE as UNTRACEABLE,
)
from domain.licence import licence_id
from domain.marking import Marking, check_country
from domain.records import SignedRecord
from domain.time import format_time
from domain.trace import TraceAnswer, TraceRequest, TraceStatus
from domain.trace_status import Trace, trace_status
from ledger.envelope import Envelope
from nodes.federation.crossborder import partner_states
from nodes.federation.trust import TrustStore
from nodes.ports import Node
from nodes.registry.identity import authorities_stream
from nodes.registry.paging import received, signed
from nodes.settings import TraceSettings
from nodes.tracing.fragment import FragmentCheck, build_fragment, verify_fragment

A = TypeVar("A", TraceRequest, TraceAnswer)

REQUESTING_AUTHORITY = "police"      # tracing officers ask (domain.authority: police only)
ANSWERING_AUTHORITY = "registry"     # the national registry answers from its records


# --- reading a trace on a node ------------------------------------------------------------


def trace(node: Node, trace_id: UUID | str, *, now: int | None = None, settings: TraceSettings | None = None,
          verify: bool = True) -> Trace:
    """Trace ``trace_id`` as this node sees it (as requester or addressee); ``InvalidField`` if unknown here.

    On the requester, the fragment of a response is verified (``fragment`` holds
    the verified records and the problems) unless ``verify`` is False (status only).
    """
    trace_id = _trace_uuid(trace_id)
    now = int(time.time()) if now is None else now
    deadlines = node.settings.trace if settings is None else settings
    us = node.identity.state
    own = node.registry.envelopes(trace_id)
    if own and own[0].type == SUBMITTED:
        addressee = str(own[0].body.get("addressee"))
        answer = _received(node, addressee, trace_id)
        return trace_status(own, answer, now=now, role="requester", deadlines=deadlines,
                            fragment=_verified(node, addressee, answer) if verify else None)
    if own and own[0].type == ACKNOWLEDGED:
        request = _received(node, str(own[0].body.get("requesting_state")), trace_id)
        return trace_status(request, own, now=now, role="addressee", deadlines=deadlines)
    request = [e for e in node.inbox.received_about(str(trace_id), partner_states(node))
               if e.type.startswith(TRACE_REQUEST_PREFIX)]
    if request and request[0].body.get("addressee") == us:
        return trace_status(request, [], now=now, role="addressee", deadlines=deadlines)
    raise InvalidField(f"no trace {trace_id} is known here", field="trace")


def traces(node: Node, *, now: int | None = None, settings: TraceSettings | None = None) -> list[Trace]:
    """Every trace this node requested or was asked, oldest first."""
    ids = [UUID(e.stream) for e in signed(node.registry.recorder, (SUBMITTED, ACKNOWLEDGED))]
    us = node.identity.state
    for _, envelope in received(node.inbox):
        if envelope.type == SUBMITTED and envelope.body.get("addressee") == us:
            ids.append(UUID(envelope.stream))
    found = [trace(node, i, now=now, settings=settings) for i in dict.fromkeys(ids)]
    return sorted(found, key=lambda t: (t.steps[0].occurred_on if t.steps else 0, t.trace_id))


def hops(node: Node, trace_id: UUID | str, *, now: int | None = None,
         settings: TraceSettings | None = None, verify: bool = True) -> list[Trace]:
    """The trace and every trace it was forwarded as (on the requester), in hop order."""
    found, pending, seen = [], [str(trace_id)], set()
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        step = trace(node, current, now=now, settings=settings, verify=verify)
        found.append(step)
        if step.role == "requester":
            pending += [next_trace for _, next_trace in step.forwarded]
    return found


def traces_about(node: Node, weapon_id: UUID | str) -> list[Envelope]:
    """Our ``TraceRequest.Submitted`` records about ``weapon_id``."""
    wanted = str(weapon_id)
    return [e for e in signed(node.registry.recorder, (SUBMITTED,)) if e.body.get("weapon_id") == wanted]


def _received(node: Node, state: str, trace_id: UUID) -> list[Envelope]:
    return list(node.inbox.received(node=state, stream=str(trace_id)))


def _verified(node: Node, origin: str, answer: list[Envelope]) -> FragmentCheck | None:
    """The verified fragment of ``answer`` (a response or restriction), or None when it carries none."""
    carrying = [e for e in answer if e.type in (RESPONDED, RESTRICTED)]
    if not carrying:
        return None
    partner = TrustStore(node.settings.home).get(origin)
    certificates = node.inbox.received(node=origin, stream=str(authorities_stream(origin)))
    return verify_fragment(carrying[-1].body.get("fragment", ()), origin=origin,
                           node_key=partner.public_key if partner else None,
                           kept=node.inbox.partner_checkpoints(origin), certificates=certificates)


def _trace_uuid(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value).strip())
    except ValueError:
        raise InvalidField(f"{value!r} is not a trace id (UUID)", field="trace") from None


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
    request = TraceRequest.submit(
        authority=node.registry.authority(by), addressee=to, weapon_id=wid, marking=marking_dict,
        type=type or known.get("type", ""), calibre=calibre or known.get("calibre", ""), circumstances=circumstances,
        legal_basis=legal_basis, intended_use=intended_use, priority=priority,
        occurred_on=int(time.time()) if occurred_on is None else occurred_on)
    node.registry.save(request)
    return request.id


def _known_description(node: Node, weapon_id: UUID | str) -> dict[str, Any]:
    """Marking, type and calibre of a weapon from our records, else from partners' records received."""
    records = [*node.registry.envelopes(weapon_id),
               *node.inbox.received_about(str(weapon_id), partner_states(node))]
    for envelope in records:
        if envelope.body.get("marking"):
            return {"marking": envelope.body["marking"], "type": envelope.body.get("type", ""),
                    "calibre": envelope.body.get("calibre", "")}
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
    check = _verified(node, answer.node, [answer])
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
            occurred_on=moment, parent=str(request.id), hop=request.hop + 1)
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


def respond(node: Node, trace_id: UUID | str, *, occurred_on: int | None = None, by: str = ANSWERING_AUTHORITY) -> str:
    """Answer with the signed fragment we hold (ITI para 20), or untraceable if we hold nothing.

    Returns the answer's type. Acknowledges first if that was not done.
    ``InvalidState`` if the trace is answered already.
    """
    answer, request = _answer(node, trace_id, by)
    weapon_id = str(request.body.get("weapon_id", ""))
    fragment = build_fragment(node, weapon_id)
    authority = node.registry.authority(by)
    if not fragment.records:
        answer.untraceable(authority=authority, reason=_nothing_held(node, request), occurred_on=_now(occurred_on))
    else:
        answer.respond(authority=authority, weapon_id=weapon_id, fragment=fragment.items,
                       exported_to=fragment.exported_to, complete=fragment.complete, occurred_on=_now(occurred_on))
    node.registry.save(answer)
    return UNTRACEABLE if not fragment.records else RESPONDED


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
    trace_id = _trace_uuid(trace_id)
    request = next((e for e in node.inbox.received_about(str(trace_id), partner_states(node))
                    if e.type == SUBMITTED and e.body.get("addressee") == node.identity.state), None)
    if request is None:
        raise InvalidField(f"no trace request {trace_id} addressed to {node.identity.state} has been received",
                           field="trace")
    acknowledge(node, request, by=by)
    return _own(node, trace_id, TraceAnswer, "this trace was not addressed to us"), request


def _own(node: Node, trace_id: UUID | str, kind: type[A], wrong: str) -> A:
    trace_id = _trace_uuid(trace_id)
    try:
        found: object = node.registry.repository.get(trace_id)
    except AggregateNotFoundError:
        raise InvalidField(f"no trace {trace_id} is recorded here", field="trace") from None
    if not isinstance(found, kind):
        raise InvalidState(wrong, field="trace")
    return found


def _now(occurred_on: int | None) -> int:
    return int(time.time()) if occurred_on is None else occurred_on


# --- the federated lifecycle and the point of diversion -----------------------------------


@dataclass(frozen=True)
class FederatedLifecycle:
    """Every verified record held about one weapon, and the trace answers given and awaited."""

    weapon_id: str
    records: tuple[SignedRecord, ...]
    licences: tuple[SignedRecord, ...]
    answered: tuple[str, ...]
    expected_from: tuple[str, ...]
    unverified: tuple[str, ...]      # fragment items that failed verification: reported, never used


def federated_lifecycle(node: Node, weapon_id: UUID | str, *, now: int | None = None) -> FederatedLifecycle:
    """Join our records of the weapon, partners' records received, and verified trace fragments.

    Also gathers the shipments the weapon travelled in, the licences and
    authorizations its exports cite (ours and received), and the partners'
    authority certificates (to name authorities). Trace states that answered
    are ``answered``; states asked that have not answered are ``expected_from``.
    """
    wid = str(weapon_id)
    registry, inbox, partners = node.registry, node.inbox, partner_states(node)
    records: dict[bytes, SignedRecord] = {}

    def add(envelopes: Iterable[SignedRecord]) -> None:
        for envelope in envelopes:
            records.setdefault(envelope.hash, envelope)

    add(registry.envelopes(wid))
    add(inbox.received_about(wid, partners))
    add(registry.envelopes(authorities_stream(node.identity.state)))
    for partner in partners:
        add(inbox.received(node=partner, stream=str(authorities_stream(partner))))
    answered: list[str] = []
    expected: list[str] = []
    unverified: list[str] = []
    for submitted in traces_about(node, wid):
        step = trace(node, submitted.stream, now=now)
        # A refusal gives no evidence: the state is still owed, like one that has not answered.
        gave = step.response.done_on is not None and step.status is not TraceStatus.REFUSED
        (answered if gave else expected).append(step.addressee)
        if step.fragment is not None:
            add(step.fragment.records)
            unverified += [f"{step.addressee} (trace {step.trace_id}): {p}" for p in step.fragment.problems]
    weapon = [e for e in records.values() if e.stream == wid]
    for shipment in dict.fromkeys(str(e.body["shipment"]) for e in weapon if e.body.get("shipment")):
        try:
            add(registry.envelopes(shipment))
        except InvalidField:
            continue  # a shipment reference that is not an id: nothing to join
        add(inbox.received_about(shipment, partners))
    licences: list[SignedRecord] = []
    for export in (e for e in weapon if e.type == EXPORTED):
        origin, destination = str(export.body.get("from_state") or export.node), str(export.body.get("to_state"))
        for issuer, kind, number in ((origin, "export_licence", export.body.get("licence")),
                                     (destination, "import_authorization", export.body.get("import_authorization"))):
            if not number:
                continue
            stream = str(licence_id(issuer, kind, str(number)))
            licences += (registry.envelopes(stream) if issuer == node.identity.state
                         else inbox.received(node=issuer, stream=stream) if issuer in partners else [])
    licences += [e for e in records.values() if e.type == LICENCE_ISSUED]
    return FederatedLifecycle(wid, tuple(records.values()), tuple({e.hash: e for e in licences}.values()),
                              tuple(dict.fromkeys(answered)), tuple(s for s in dict.fromkeys(expected)
                                                                    if s not in answered), tuple(unverified))


def diversion_verdict(node: Node, weapon_id: UUID | str, *,
                      now: int | None = None) -> tuple[Verdict, FederatedLifecycle]:
    """The point of diversion of ``weapon_id`` on the federated evidence held here (``domain.diversion``)."""
    now = int(time.time()) if now is None else now
    life = federated_lifecycle(node, weapon_id, now=now)
    verdict = analyse(life.weapon_id, life.records, now=now, expected_from=life.expected_from,
                      answered=life.answered, licences=life.licences,
                      overdue_days=node.settings.overdue_days)
    return verdict, life
