"""Tracing (International Tracing Instrument, paras 17-23).

A trace has one id, shared by both parties; each records its own steps in its
own log under that id:

- the requesting state's ``TraceRequest``: ``Submitted`` (para 17: markings,
  type, calibre, circumstances, legal basis, intended use, priority),
  ``Forwarded`` (the response showed an export, so the trace continues at the
  importing state: multi-hop tracing without a central registry) and ``Closed``;
- the requested state's ``TraceAnswer``: ``Acknowledged`` (para 19), then
  ``Responded`` with the signed lifecycle fragment it holds (para 20), or
  ``Delayed`` / ``Restricted`` / ``Refused`` with a para 22 ground and an
  explanation (para 23), or ``Untraceable`` with a reason.

Every step is signed, so the timeliness of each answer is measurable.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import field
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.choice import parse_choice
from domain.errors import InvalidField, InvalidState
from domain.marking import check_country, check_text
from domain.signed_aggregate import SignedAggregate


class TraceStatus(str, Enum):
    SUBMITTED = "SUBMITTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    FORWARDED = "FORWARDED"
    TRACED = "TRACED"
    PARTIAL = "PARTIAL"
    UNTRACEABLE = "UNTRACEABLE"
    DELAYED = "DELAYED"
    RESTRICTED = "RESTRICTED"
    REFUSED = "REFUSED"
    CLOSED = "CLOSED"


class Priority(str, Enum):
    ROUTINE = "routine"
    URGENT = "urgent"


class Para22Ground(str, Enum):
    """Grounds on which information may be delayed, restricted or refused (ITI para 22)."""

    ONGOING_INVESTIGATION = "ongoing-investigation"   # release could compromise a criminal investigation
    CONFIDENTIALITY_LAW = "confidentiality-law"       # release would violate legal provisions on confidentiality
    NATIONAL_SECURITY = "national-security"           # national security reasons consistent with the UN Charter

    @classmethod
    def parse(cls, value: str) -> Para22Ground:
        """The ground named ``value``; ``InvalidField`` on ``ground`` otherwise."""
        return parse_choice(cls, value, field="ground", noun="an ITI para 22 ground")


#: What a trace request carries of a reference entry (docs/reference-table.md).
REFERENCE_FIELDS = ("id", "make", "model", "type", "calibre")


def check_reference(reference: Mapping[str, Any]) -> dict[str, str]:
    """A reference entry as a trace request carries it: text under ``REFERENCE_FIELDS`` only, the id
    required when anything is given; ``InvalidField`` on ``reference`` otherwise."""
    unknown = sorted(str(name) for name in reference if name not in REFERENCE_FIELDS)
    if unknown:
        raise InvalidField(f"has no field {unknown[0][:64]!r} (fields: {', '.join(REFERENCE_FIELDS)})",
                           field="reference")
    if reference and not reference.get("id"):
        raise InvalidField("names no reference id", field="reference")
    checked = {}
    for name, value in reference.items():
        if type(value) is not str:
            raise InvalidField(f"{name} must be text, not {type(value).__name__}", field="reference")
        checked[name] = check_text(value, "reference", required=False, max_length=200)
    return checked


class TraceRequest(SignedAggregate):
    """The requesting state's side of a trace."""

    TOPIC = "TraceRequest"

    class Event(SignedAggregate.Event):
        TOPIC = "TraceRequest.Event"

    class Submitted(Event, Aggregate.Created):
        TOPIC = types.TRACE_SUBMITTED
        requesting_state: str
        addressee: str
        weapon_id: str
        marking: dict[str, Any]
        type: str
        calibre: str
        circumstances: str
        legal_basis: str
        intended_use: str
        priority: str
        parent: str       # trace this one continues (multi-hop), "" for the first hop
        hop: int
        # The national reference table's entry the description matches (id, make, model, type,
        # calibre), {} for none; came after the first requests were signed, which lack it.
        reference: dict[str, Any] = field(default_factory=dict, kw_only=True)

    class Forwarded(Event):
        TOPIC = types.TRACE_FORWARDED
        to_state: str
        next_trace: str
        reason: str

        def apply(self, trace: TraceRequest) -> None:
            trace.forwarded_to = (*trace.forwarded_to, self.to_state)

    class Closed(Event):
        TOPIC = types.TRACE_CLOSED
        outcome: str

        def apply(self, trace: TraceRequest) -> None:
            trace.closed = True

    def __init__(self, occurred_on: int, authority: str, requesting_state: str, addressee: str, weapon_id: str,
                 marking: dict[str, Any], type: str, calibre: str, circumstances: str, legal_basis: str,
                 intended_use: str, priority: str, parent: str, hop: int, reference: dict[str, Any] | None = None):
        self.submitted_on = occurred_on
        self.requesting_state = requesting_state
        self.addressee = addressee
        self.weapon_id = weapon_id
        self.marking = dict(marking)
        self.type = type
        self.calibre = calibre
        self.circumstances = circumstances
        self.legal_basis = legal_basis
        self.intended_use = intended_use
        self.priority = priority
        self.parent = parent
        self.hop = hop
        self.reference = dict(reference or {})
        self.forwarded_to: tuple[str, ...] = ()
        self.closed = False

    @staticmethod
    def create_id(**_: Any) -> uuid.UUID:
        return uuid.uuid4()

    @classmethod
    def submit(
        cls, *, authority: Authority, addressee: str, weapon_id: str, marking: dict[str, Any], type: str, calibre: str,
        circumstances: str, legal_basis: str, intended_use: str, priority: str, occurred_on: int,
        parent: str = "", hop: int = 1, reference: Mapping[str, Any] | None = None,
    ) -> TraceRequest:
        """Submit a trace request (ITI para 17). Requires an addressee other than the requester.

        ``reference``: the reference table's entry the description matches (``check_reference``), if any."""
        check_permitted(types.TRACE_SUBMITTED, authority.kind)
        addressee = check_country(addressee, "addressee")
        if addressee == authority.state:
            raise InvalidField("a trace request is addressed to another state", field="addressee")
        priority = parse_choice(Priority, priority, field="priority", noun="a priority").value
        return cls._open(
            cls.Submitted, authority=authority, occurred_on=occurred_on,
            requesting_state=authority.state, addressee=addressee, weapon_id=weapon_id, marking=dict(marking),
            type=check_text(type, "type", required=False), calibre=check_text(calibre, "calibre", required=False),
            circumstances=check_text(circumstances, "circumstances", max_length=2000),
            legal_basis=check_text(legal_basis, "legal_basis", max_length=500),
            intended_use=check_text(intended_use, "intended_use", max_length=500),
            priority=priority, parent=parent, hop=int(hop), reference=check_reference(reference or {}),
        )

    def forward(self, *, authority: Authority, to_state: str, next_trace: str, reason: str, occurred_on: int) -> None:
        """Record that the trace continues at ``to_state`` as trace ``next_trace``."""
        check_permitted(types.TRACE_FORWARDED, authority.kind)
        self._check_open()
        to_state = check_country(to_state, "to_state")
        if to_state in self.forwarded_to:
            raise InvalidState(f"the trace was forwarded to {to_state} already", field="to_state")
        self._record(self.Forwarded, authority=authority, occurred_on=occurred_on,
                     to_state=to_state, next_trace=next_trace, reason=check_text(reason, "reason"))

    def close(self, *, authority: Authority, outcome: str, occurred_on: int) -> None:
        check_permitted(types.TRACE_CLOSED, authority.kind)
        self._check_open()
        self._record(self.Closed, authority=authority, occurred_on=occurred_on,
                     outcome=check_text(outcome, "outcome", max_length=2000))

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidState("the trace is closed", field="trace")


class TraceAnswer(SignedAggregate):
    """The requested state's side of a trace (same id as the request)."""

    TOPIC = "TraceAnswer"

    class Event(SignedAggregate.Event):
        TOPIC = "TraceAnswer.Event"

    class Acknowledged(Event, Aggregate.Created):
        TOPIC = types.TRACE_ACKNOWLEDGED
        requesting_state: str
        answering_state: str

    class Responded(Event):
        TOPIC = types.TRACE_RESPONDED
        weapon_id: str
        fragment: tuple[Any, ...]  # envelope bytes of the lifecycle held, with proofs (see nodes.tracing.service)
        exported_to: tuple[str, ...]  # states the fragment shows the weapon was exported to
        complete: bool           # False: PARTIAL (the state holds only part of the life)

        def apply(self, answer: TraceAnswer) -> None:
            answer.answered = True

    class Untraceable(Event):
        TOPIC = types.TRACE_UNTRACEABLE
        reason: str

        def apply(self, answer: TraceAnswer) -> None:
            answer.answered = True

    class Delayed(Event):
        TOPIC = types.TRACE_DELAYED
        ground: str
        explanation: str
        expected_by: int

    class Restricted(Event):
        TOPIC = types.TRACE_RESTRICTED
        ground: str
        explanation: str
        weapon_id: str
        fragment: tuple[str, ...]

        def apply(self, answer: TraceAnswer) -> None:
            answer.answered = True

    class Refused(Event):
        TOPIC = types.TRACE_REFUSED
        ground: str
        explanation: str

        def apply(self, answer: TraceAnswer) -> None:
            answer.answered = True

    def __init__(self, occurred_on: int, authority: str, requesting_state: str, answering_state: str):
        self.acknowledged_on = occurred_on
        self.requesting_state = requesting_state
        self.answering_state = answering_state
        self.answered = False

    @staticmethod
    def create_id(trace_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return trace_id

    @classmethod
    def acknowledge(cls, *, trace_id: uuid.UUID, authority: Authority, requesting_state: str,
                    occurred_on: int) -> TraceAnswer:
        """Acknowledge receipt of a trace request (ITI para 19)."""
        check_permitted(types.TRACE_ACKNOWLEDGED, authority.kind)
        return cls._open(cls.Acknowledged, id=trace_id, authority=authority, occurred_on=occurred_on,
                         requesting_state=requesting_state, answering_state=authority.state)

    def respond(self, *, authority: Authority, weapon_id: str, fragment: tuple[bytes, ...],
                exported_to: tuple[str, ...], complete: bool, occurred_on: int) -> None:
        """Respond with the signed lifecycle fragment held (ITI para 20)."""
        check_permitted(types.TRACE_RESPONDED, authority.kind)
        self._check_unanswered()
        self._record(self.Responded, authority=authority, occurred_on=occurred_on,
                     weapon_id=weapon_id, fragment=tuple(fragment), exported_to=tuple(exported_to),
                     complete=bool(complete))

    def untraceable(self, *, authority: Authority, reason: str, occurred_on: int) -> None:
        check_permitted(types.TRACE_UNTRACEABLE, authority.kind)
        self._check_unanswered()
        self._record(self.Untraceable, authority=authority, occurred_on=occurred_on,
                     reason=check_text(reason, "reason", max_length=2000))

    def delay(self, *, authority: Authority, ground: str, explanation: str, expected_by: int, occurred_on: int) -> None:
        """Delay the answer on a para 22 ground, explained (para 23)."""
        check_permitted(types.TRACE_DELAYED, authority.kind)
        self._check_unanswered()
        self._record(self.Delayed, authority=authority, occurred_on=occurred_on,
                     ground=Para22Ground.parse(ground).value,
                     explanation=check_text(explanation, "explanation", max_length=2000),
                     expected_by=int(expected_by))

    def restrict(self, *, authority: Authority, ground: str, explanation: str, weapon_id: str,
                 fragment: tuple[bytes, ...], occurred_on: int) -> None:
        check_permitted(types.TRACE_RESTRICTED, authority.kind)
        self._check_unanswered()
        self._record(self.Restricted, authority=authority, occurred_on=occurred_on,
                     ground=Para22Ground.parse(ground).value,
                     explanation=check_text(explanation, "explanation", max_length=2000),
                     weapon_id=weapon_id, fragment=tuple(fragment))

    def refuse(self, *, authority: Authority, ground: str, explanation: str, occurred_on: int) -> None:
        check_permitted(types.TRACE_REFUSED, authority.kind)
        self._check_unanswered()
        self._record(self.Refused, authority=authority, occurred_on=occurred_on,
                     ground=Para22Ground.parse(ground).value,
                     explanation=check_text(explanation, "explanation", max_length=2000))

    def _check_unanswered(self) -> None:
        if self.answered:
            raise InvalidState("the trace is answered already", field="trace")
