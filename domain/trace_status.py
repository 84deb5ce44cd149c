"""The status of a trace, computed from both sides' signed records (ITI paras 17-23); pure.

``trace_status(request, answer, now=...)`` takes the requester's ``TraceRequest``
records and the addressee's ``TraceAnswer`` records of one trace and returns a
``Trace``: its status (DESIGN.md: SUBMITTED, ACKNOWLEDGED, FORWARDED, TRACED,
PARTIAL, UNTRACEABLE, DELAYED, RESTRICTED, REFUSED, CLOSED), the reason, every
step with its business and recording time, and the deadlines of the
acknowledgement and the response with overdue and late flags.

Timeliness: paras 19-20 ask for acknowledgement "within a reasonable time" and
"prompt" responses without fixing numbers. By default (``TraceDeadlines``) an
acknowledgement is overdue 2 days after submission (urgent: 1 day), a response
30 days after (urgent: 24 hours), or after the date a delay announced (para 23)
when the delay itself was recorded in time; a node reads its own figures once
(``nodes.settings.Settings.trace``). Every step is timed by its signed recording
time (``recorded_at``), never by the business date an officer typed, which is
kept and shown as the date the answer bears (docs/tracing.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.errors import InvalidField
from domain.event_types import (
    TRACE_ACKNOWLEDGED as ACKNOWLEDGED,
    TRACE_ANSWERS as ANSWERS,
    TRACE_CLOSED as CLOSED,
    TRACE_DELAYED as DELAYED,
    TRACE_FORWARDED as FORWARDED,
    TRACE_REFUSED as REFUSED,
    TRACE_RESPONDED as RESPONDED,
    TRACE_RESTRICTED as RESTRICTED,
    TRACE_SUBMITTED as SUBMITTED,
    TRACE_UNTRACEABLE as UNTRACEABLE,
)
from domain.records import SignedRecord
from domain.time import SECONDS_PER_DAY, format_time
from domain.trace import Priority, TraceStatus
from domain.weapon_state import WeaponState, evolve

MICROSECONDS = 1_000_000


class VerifiedFragment(Protocol):
    """A response's fragment after verification (``nodes.tracing.fragment.FragmentCheck`` is one)."""

    @property
    def records(self) -> Sequence[SignedRecord]: ...
    @property
    def problems(self) -> Sequence[str]: ...
    @property
    def notes(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class TraceDeadlines:
    """The days after submission at which the acknowledgement and the response become overdue."""

    acknowledge_days: int = 2
    respond_days: int = 30
    urgent_acknowledge_days: int = 1
    urgent_respond_days: int = 1   # an urgent trace is answered within 24 hours

    def within(self, priority: str) -> tuple[int, int]:
        """(acknowledge within, respond within) in seconds for ``priority``."""
        if priority == "urgent":
            return self.urgent_acknowledge_days * SECONDS_PER_DAY, self.urgent_respond_days * SECONDS_PER_DAY
        return self.acknowledge_days * SECONDS_PER_DAY, self.respond_days * SECONDS_PER_DAY


# --- status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One signed step of a trace: what, by which state, when (business and recording time)."""

    type: str
    state: str
    occurred_on: int
    recorded_at: int
    hash: str
    detail: str

    @property
    def recorded_on(self) -> int:
        """The signed recording time in seconds: what deadlines are measured by."""
        return self.recorded_at // MICROSECONDS

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.type.split(".", 1)[1], "type": self.type, "state": self.state,
                "occurred_on": self.occurred_on, "occurred_on_utc": format_time(self.occurred_on),
                "recorded_at": self.recorded_at, "recorded_at_utc": format_time(self.recorded_on),
                "hash": self.hash, "detail": self.detail}


@dataclass(frozen=True)
class Deadline:
    """When a step was due, when it was recorded (None: not yet), and whether it is overdue or was late.

    ``done_on`` is the signed recording time of the step (seconds); ``dated_on`` the business
    date the officer gave it, shown but never used to judge timeliness.
    """

    due_by: int | None
    done_on: int | None
    dated_on: int | None = None

    def overdue(self, now: int) -> bool:
        return self.done_on is None and self.due_by is not None and now > self.due_by

    @property
    def late(self) -> bool:
        return self.done_on is not None and self.due_by is not None and self.done_on > self.due_by

    def to_dict(self, now: int) -> dict[str, Any]:
        return {"due_by": self.due_by, "due_by_utc": _utc(self.due_by),
                "done_on": self.done_on, "done_on_utc": _utc(self.done_on),
                "dated_on": self.dated_on, "dated_on_utc": _utc(self.dated_on),
                "overdue": self.overdue(now), "late": self.late}


@dataclass(frozen=True)
class Trace:
    """A trace as this node sees it: the request, every step of both sides, the status."""

    trace_id: str
    role: str                       # "requester" or "addressee"
    requesting_state: str
    addressee: str
    request: dict[str, Any]         # the Submitted body: weapon_id, marking, priority, parent, hop, ...
    status: TraceStatus
    reason: str
    steps: tuple[Step, ...]
    forwarded: tuple[tuple[str, str], ...]   # (state, next trace id)
    exported_to: tuple[str, ...]
    complete: bool | None
    acknowledgement: Deadline
    response: Deadline
    now: int
    fragment: VerifiedFragment | None = field(default=None, repr=False)

    @property
    def weapon_id(self) -> str:
        return str(self.request.get("weapon_id", ""))

    @property
    def priority(self) -> str:
        return str(self.request.get("priority") or Priority.ROUTINE.value)

    @property
    def overdue(self) -> list[str]:
        return [name for name, deadline in (("acknowledgement", self.acknowledgement), ("response", self.response))
                if deadline.overdue(self.now)]

    def to_dict(self) -> dict[str, Any]:
        fragment = self.fragment
        return {
            "trace_id": self.trace_id, "role": self.role, "requesting_state": self.requesting_state,
            "addressee": self.addressee, "status": self.status.value, "reason": self.reason,
            "weapon_id": self.weapon_id, "marking": dict(self.request.get("marking", {})),
            "priority": self.priority, "parent": self.request.get("parent", ""),
            "hop": self.request.get("hop"), "circumstances": self.request.get("circumstances"),
            "legal_basis": self.request.get("legal_basis"), "intended_use": self.request.get("intended_use"),
            "reference": dict(self.request.get("reference") or {}),  # the reference table's entry, if any
            "steps": [s.to_dict() for s in self.steps],
            "forwarded": [{"to_state": s, "trace_id": t} for s, t in self.forwarded],
            "exported_to": list(self.exported_to), "complete": self.complete,
            "acknowledgement": self.acknowledgement.to_dict(self.now), "response": self.response.to_dict(self.now),
            "overdue": self.overdue,
            "fragment": None if fragment is None else {
                "verified_records": len(fragment.records), "problems": list(fragment.problems),
                "notes": list(fragment.notes),
                "records": answered_records(fragment.records)},
        }


def trace_status(request: Sequence[SignedRecord], answer: Sequence[SignedRecord], *, now: int, role: str = "requester",
                 deadlines: TraceDeadlines | None = None, fragment: VerifiedFragment | None = None) -> Trace:
    """The status of one trace from both sides' records; pure.

    ``request``: the requester's ``TraceRequest`` records of the trace (at least
    ``Submitted``); ``answer``: the addressee's ``TraceAnswer`` records (maybe
    none). Precedence: CLOSED; then the answer (TRACED if the fragment is
    complete, PARTIAL if not, RESTRICTED, REFUSED, UNTRACEABLE), where an
    answer followed by a forward is FORWARDED (the trace goes on elsewhere);
    then DELAYED, ACKNOWLEDGED, SUBMITTED. ``InvalidField`` without a ``Submitted``.
    """
    deadlines = deadlines or TraceDeadlines()
    submitted = next((e for e in request if e.type == SUBMITTED), None)
    if submitted is None:
        raise InvalidField("no trace request record for this trace", field="trace")
    body = dict(submitted.body)
    records = sorted((*request, *answer), key=lambda e: (e.recorded_at, e.occurred_on, e.type))
    steps = tuple(Step(e.type, e.node, e.occurred_on, e.recorded_at, e.hash.hex(), _detail(e)) for e in records)
    by_type: dict[str, list[SignedRecord]] = {}
    for e in records:
        by_type.setdefault(e.type, []).append(e)
    forwarded = tuple((str(e.body.get("to_state")), str(e.body.get("next_trace"))) for e in by_type.get(FORWARDED, ()))
    final = next((e for e in records if e.type in ANSWERS), None)
    delayed = [e for e in records if e.type == DELAYED]
    acknowledged = next((e for e in records if e.type == ACKNOWLEDGED), None)
    closed = next((e for e in records if e.type == CLOSED), None)
    reason, complete, exported_to = "", None, ()
    if final is not None and final.type == RESPONDED:
        complete = bool(final.body.get("complete"))
        exported_to = tuple(final.body.get("exported_to", ()))
    if closed is not None:
        status, reason = TraceStatus.CLOSED, str(closed.body.get("outcome", ""))
    elif final is not None:
        status = {RESPONDED: TraceStatus.TRACED if complete else TraceStatus.PARTIAL,
                  UNTRACEABLE: TraceStatus.UNTRACEABLE, RESTRICTED: TraceStatus.RESTRICTED,
                  REFUSED: TraceStatus.REFUSED}[final.type]
        reason = _detail(final)
        if forwarded and final.type in (RESPONDED, RESTRICTED):
            status = TraceStatus.FORWARDED
            reason = "; ".join(str(e.body.get("reason", "")) for e in by_type[FORWARDED])
    elif delayed:
        status, reason = TraceStatus.DELAYED, _detail(delayed[-1])
    elif acknowledged is not None:
        status = TraceStatus.ACKNOWLEDGED
    else:
        status = TraceStatus.SUBMITTED
    ack_within, respond_within = deadlines.within(str(body.get("priority", "routine")))
    asked_on = _recorded_on(submitted)
    respond_by = asked_on + respond_within
    # A delay (para 23) moves the deadline to the date it announces only when it was itself
    # recorded before the deadline passed: a late delay does not make a late answer timely.
    timely_delays = [e for e in delayed if _recorded_on(e) <= respond_by]
    if timely_delays:
        respond_by = max(respond_by, int(timely_delays[-1].body.get("expected_by", 0) or 0))
    return Trace(
        trace_id=submitted.stream, role=role, requesting_state=submitted.node, addressee=str(body.get("addressee")),
        request=body, status=status, reason=reason, steps=steps, forwarded=forwarded, exported_to=exported_to,
        complete=complete,
        acknowledgement=Deadline(asked_on + ack_within, _recorded_on(acknowledged) if acknowledged else None,
                                 acknowledged.occurred_on if acknowledged else None),
        response=Deadline(respond_by, _recorded_on(final) if final else None, final.occurred_on if final else None),
        now=now, fragment=fragment,
    )


def answered_records(records: Sequence[SignedRecord]) -> list[dict[str, Any]]:
    """What an answer's verified records say of the weapon, one row per weapon record in business-time
    order: date, record type, origin node, and who held it where after that record (the one fold,
    ``domain.weapon_state``); pure. Records other than the weapon's (certificates, shipments) are left out.
    """
    weapon_records = [e for e in records if e.type.startswith("Weapon.")]
    rows, state = [], WeaponState()
    for e in sorted(weapon_records, key=lambda e: (e.occurred_on, e.recorded_at)):
        state = evolve(state, e.type, e.body)
        rows.append({"type": e.type, "stream": e.stream, "version": e.version, "node": e.node,
                     "hash": e.hash.hex(), "occurred_on": e.occurred_on, "occurred_on_utc": format_time(e.occurred_on),
                     "holder": state.holder, "place": str(e.body.get("place") or state.place),
                     "status": state.status.value if state.status is not None else "",
                     "verification": f"verified (signed by {e.node})"})
    return rows


def _recorded_on(e: SignedRecord) -> int:
    return e.recorded_at // MICROSECONDS


def _utc(moment: int | None) -> str | None:
    return format_time(moment) if moment is not None else None


def _detail(e: SignedRecord) -> str:
    b = e.body
    if e.type == SUBMITTED:
        return f"to {b.get('addressee')} ({b.get('priority')}, hop {b.get('hop')})"
    if e.type == FORWARDED:
        return f"forwarded to {b.get('to_state')} as trace {b.get('next_trace')}: {b.get('reason')}"
    if e.type == CLOSED:
        return str(b.get("outcome", ""))
    if e.type == RESPONDED:
        exported = ", ".join(b.get("exported_to", ())) or "none"
        return (f"{len(b.get('fragment', ()))} signed items, {'complete' if b.get('complete') else 'partial'} "
                f"record, exports to: {exported}")
    if e.type == UNTRACEABLE:
        return str(b.get("reason", ""))
    if e.type in (DELAYED, RESTRICTED, REFUSED):
        text = f"{b.get('ground')}: {b.get('explanation')}"
        if e.type == DELAYED and b.get("expected_by"):
            text += f" (answer expected by {format_time(int(b['expected_by']))})"
        return text
    return ""
