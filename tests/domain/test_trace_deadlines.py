"""Trace deadlines (ITI paras 19-21) are timed from the signed recording time, never from the date
an officer typed; urgent traces are answered within 24 hours; an answer's records say who held the
weapon. ``trace_status`` and ``answered_records`` are pure: records are sealed here by hand."""

from __future__ import annotations

import uuid

import pytest

from domain.time import SECONDS_PER_DAY as DAY
from domain.trace_status import TraceDeadlines, answered_records, trace_status
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id

T0 = 1_700_000_000
KEY = generate_key()


class Trace:
    """One trace's records: each step recorded on day ``recorded`` and dated (business time) ``dated``."""

    def __init__(self, priority: str = "routine"):
        self.id = str(uuid.uuid4())
        self.request: list[Envelope] = []
        self.answer: list[Envelope] = []
        self.add("FR", "TraceRequest.Submitted", recorded=0, addressee="BE", weapon_id="w", marking={},
                 priority=priority, parent="", hop=1)

    def add(self, state: str, type_: str, *, recorded: float, dated: float | None = None, **body) -> Envelope:
        side = self.request if state == "FR" else self.answer
        dated = recorded if dated is None else dated
        envelope = seal(KEY, node=state, stream=self.id, version=len(side) + 1, type=type_,
                        occurred_on=T0 + int(dated * DAY), recorded_at=(T0 + int(recorded * DAY)) * 1_000_000,
                        authority=key_id(KEY), prev=side[-1].hash if side else GENESIS_PREV, body=body)
        side.append(envelope)
        return envelope

    def acknowledge(self, *, recorded: float, dated: float | None = None) -> None:
        self.add("BE", "TraceAnswer.Acknowledged", recorded=recorded, dated=dated, requesting_state="FR",
                 answering_state="BE")

    def respond(self, *, recorded: float, dated: float | None = None) -> None:
        self.add("BE", "TraceAnswer.Responded", recorded=recorded, dated=dated, weapon_id="w", fragment=(b"x",),
                 exported_to=(), complete=True)

    def status(self, now: float):
        return trace_status(self.request, self.answer, now=T0 + int(now * DAY), deadlines=TraceDeadlines())


def test_an_answer_given_late_but_dated_back_is_late_and_shows_when_it_was_recorded():
    trace = Trace()
    trace.acknowledge(recorded=0.5)
    trace.respond(recorded=60, dated=1)          # answered on day 60, dated day 1 by the officer
    found = trace.status(now=61)
    assert found.response.due_by == T0 + 30 * DAY
    assert (found.response.done_on, found.response.dated_on) == (T0 + 60 * DAY, T0 + DAY)
    assert found.response.late is True
    shown = found.to_dict()["response"]
    assert shown["done_on_utc"].startswith("2024-01-13") and shown["dated_on_utc"].startswith("2023-11-15")
    assert found.steps[-1].recorded_on == T0 + 60 * DAY and found.steps[-1].occurred_on == T0 + DAY


def test_an_acknowledgement_dated_in_time_but_recorded_late_is_late():
    trace = Trace()
    trace.acknowledge(recorded=5, dated=0.1)
    assert trace.status(now=6).acknowledgement.late is True
    timely = Trace()
    timely.acknowledge(recorded=1, dated=9)       # a business date after the fact changes nothing either
    assert timely.status(now=10).acknowledgement.late is False


def test_deadlines_run_from_the_recording_of_the_request_not_its_date():
    trace = Trace.__new__(Trace)
    trace.id, trace.request, trace.answer = str(uuid.uuid4()), [], []
    trace.add("FR", "TraceRequest.Submitted", recorded=10, dated=0, addressee="BE", weapon_id="w", marking={},
              priority="routine", parent="", hop=1)
    found = trace.status(now=11)
    assert found.acknowledgement.due_by == T0 + 12 * DAY and found.response.due_by == T0 + 40 * DAY
    assert found.overdue == []


@pytest.mark.parametrize("answered_after_hours, late", [(23, False), (25, True)])
def test_an_urgent_trace_is_answered_within_24_hours(answered_after_hours, late):
    trace = Trace("urgent")
    trace.acknowledge(recorded=0.1)
    trace.respond(recorded=answered_after_hours / 24)
    found = trace.status(now=3)
    assert found.priority == "urgent" and found.to_dict()["priority"] == "urgent"
    assert found.response.due_by == T0 + DAY
    assert found.response.late is late


def test_an_unanswered_urgent_trace_is_overdue_after_a_day_and_a_routine_one_is_not():
    urgent, routine = Trace("urgent"), Trace("routine")
    urgent.acknowledge(recorded=0.1)
    routine.acknowledge(recorded=0.1)
    assert urgent.status(now=1.5).overdue == ["response"]
    assert routine.status(now=1.5).overdue == []


def test_a_delay_recorded_after_the_deadline_does_not_move_it():
    in_time, too_late = Trace(), Trace()
    for trace, day in ((in_time, 10), (too_late, 35)):
        trace.acknowledge(recorded=0.5)
        trace.add("BE", "TraceAnswer.Delayed", recorded=day, dated=5, ground="ongoing-investigation",
                  explanation="trial", expected_by=T0 + 90 * DAY)
    assert in_time.status(now=40).response.due_by == T0 + 90 * DAY
    assert in_time.status(now=40).overdue == []
    assert too_late.status(now=40).response.due_by == T0 + 30 * DAY
    assert too_late.status(now=40).overdue == ["response"]


def test_the_records_of_an_answer_say_who_held_the_weapon_where():
    def record(version: int, type_: str, day: int, **body) -> Envelope:
        return seal(KEY, node="BE", stream="w", version=version, type=type_, occurred_on=T0 + day * DAY,
                    recorded_at=(T0 + day * DAY) * 1_000_000, authority=key_id(KEY), prev=GENESIS_PREV, body=body)

    made = record(1, "Weapon.Manufactured", 0, marking={"manufacturer": "FN", "country": "BE", "serial": "1"},
                  type="pistol", make="FN", model="57", calibre="5.7", year=2020, holder="FN Herstal")
    sold = record(2, "Weapon.Transferred", 10, from_holder="FN Herstal", to_holder="Armurerie Liège", licence="L")
    stolen = record(3, "Weapon.ReportedStolen", 20, place="Liège", circumstances="burglary")
    rows = answered_records([stolen, made, sold])     # any order in: business-time order out
    assert [(r["type"], r["holder"], r["place"], r["node"]) for r in rows] == [
        ("Weapon.Manufactured", "FN Herstal", "BE", "BE"),
        ("Weapon.Transferred", "Armurerie Liège", "BE", "BE"),
        ("Weapon.ReportedStolen", "Armurerie Liège", "Liège", "BE")]
    assert rows[1]["occurred_on_utc"].startswith("2023-11-24") and rows[2]["status"] == "stolen"
    assert all(r["verification"] == "verified (signed by BE)" for r in rows)
