"""Reactions after ingest: automatic acknowledgement and response, multi-hop forwarding, shipment closing.

Four real nodes (FR on each backend through ``db_url``, the others on SQLite)
exchange records through the in-memory stand-in of the federation
(memory_federation), which calls ``nodes.federation.reactions.react`` on every receiver as
sync does. The same story runs over the real broker in test_trace_e2e.py.
"""

from __future__ import annotations

import time
from uuid import UUID

import pytest

from domain.diversion import Rule
from domain.errors import InvalidState
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from domain.trace import TraceStatus
from ledger.envelope import seal
from ledger.keys import generate_key, key_id
from nodes.federation import crossborder
from nodes.federation.reactions import catch_up, react
from nodes.settings import TraceSettings
from nodes.tracing import service as tracing
from nodes.tracing.fragment import decode_item

from memory_federation import MemoryFederation

NOW = int(time.time()) - 60
MARKING = Marking.read("FN Herstal", "BE", "FN57-0001")
TRACE = dict(circumstances="found in a car after a shooting in Lille", legal_basis="CPP art 60",
             intended_use="criminal prosecution")


@pytest.fixture
def federated_states():
    """FR, the tracing node, first: ``fed`` runs it on each backend."""
    return ["FR", "BE", "NL", "DE"]


def licence(node, number, kind, holder, export_state, import_state, **fields):
    node.registry.issue_licence(number=number, kind=kind, holder=holder, valid_from=NOW - 500 * DAY,
                                valid_until=NOW + 500 * DAY, export_state=export_state, import_state=import_state,
                                occurred_on=NOW - 450 * DAY, **fields)


def story(fed: MemoryFederation) -> str:
    """BE makes and exports to NL (confirmed); NL exports to DE (never confirmed); FR seizes it."""
    be, nl, de, fr = (fed[s] for s in ("BE", "NL", "DE", "FR"))
    weapon = be.registry.manufacture(marking=MARKING, type="pistol", make="FN", model="Five-seveN",
                                     calibre="5.7x28", year=2020, holder="FN Herstal", occurred_on=NOW - 400 * DAY)
    licence(be, "BE-EL-1", LicenceKind.EXPORT_LICENCE, "FN Herstal", "BE", "NL")
    licence(nl, "NL-IA-1", LicenceKind.IMPORT_AUTHORIZATION, "Wapenhandel BV", "BE", "NL", consignee="Wapenhandel BV")
    fed.sync()
    first = be.registry.export(weapon_ids=[weapon], licence="BE-EL-1", import_authorization="NL-IA-1",
                               to_state="NL", consignee="Wapenhandel BV", occurred_on=NOW - 300 * DAY)
    fed.sync()
    crossborder.confirm_receipt(nl, shipment=str(first), occurred_on=NOW - 290 * DAY)
    licence(nl, "NL-EL-2", LicenceKind.EXPORT_LICENCE, "Wapenhandel BV", "NL", "DE")
    licence(de, "DE-IA-9", LicenceKind.IMPORT_AUTHORIZATION, "Waffen Schmidt GmbH", "NL", "DE")
    fed.sync()
    nl.registry.export(weapon_ids=[weapon], licence="NL-EL-2", import_authorization="DE-IA-9", to_state="DE",
                       consignee="Waffen Schmidt GmbH", occurred_on=NOW - 200 * DAY)
    fr.registry.seize(marking=MARKING, place="Lille", circumstances="found in a car", type="pistol",
                      calibre="5.7x28", occurred_on=NOW - 10 * DAY)
    fed.sync()
    return str(weapon)


def test_a_trace_hops_from_state_to_state_to_the_point_of_diversion(fed):
    weapon = story(fed)
    be, fr = fed["BE"], fed["FR"]
    exported = [e for e in be.registry.envelopes(weapon) if e.type == "Weapon.Exported"][0]
    assert not be.registry.repository.get(UUID(exported.body["shipment"])).is_open  # closed by NL's receipt

    first = tracing.submit(fr, to="BE", marking=MARKING, **TRACE)
    fed.sync()
    hops = tracing.hops(fr, first)
    assert [(h.addressee, h.status) for h in hops] == [
        ("BE", TraceStatus.FORWARDED), ("NL", TraceStatus.FORWARDED), ("DE", TraceStatus.UNTRACEABLE)]
    assert [h.request["hop"] for h in hops] == [1, 2, 3]
    assert hops[1].request["parent"] == str(first) and hops[2].request["parent"] == hops[1].trace_id
    assert "BE's response shows an export to NL" in hops[0].reason
    assert "DE holds no record" in hops[2].reason and "NL recorded its export to DE" in hops[2].reason
    assert all(h.fragment is None or h.fragment.ok for h in hops)
    steps = [s.type for s in hops[0].steps]
    assert steps == ["TraceRequest.Submitted", "TraceAnswer.Acknowledged", "TraceAnswer.Responded",
                     "TraceRequest.Forwarded"]
    assert not hops[0].overdue and hops[0].acknowledgement.done_on is not None

    verdict, life = tracing.diversion_verdict(fr, weapon)
    assert verdict.rule is Rule.EXPORT_NEVER_CONFIRMED, verdict.sentence
    assert verdict.last_legal_custodian.state == "NL" and verdict.complete
    assert "DE never confirmed receipt" in verdict.sentence
    origins = {(e.type, e.node) for e in verdict.evidence}
    assert ("Weapon.Exported", "NL") in origins and ("Weapon.Seized", "FR") in origins
    assert set(life.answered) == {"BE", "NL", "DE"} and life.expected_from == () and life.unverified == ()

    # The addressees see the same traces from their side.
    assert [t.role for t in tracing.traces(fed["NL"])] == ["addressee"]
    assert tracing.traces(fed["DE"])[0].status is TraceStatus.UNTRACEABLE


def test_reacting_twice_to_the_same_records_changes_nothing(lite):
    story(lite)
    fr, be = lite["FR"], lite["BE"]
    tracing.submit(fr, to="BE", marking=MARKING, **TRACE)
    lite.sync()
    before = sum(1 for _ in be.registry.stored_notifications())
    replay = lite["BE"].inbox.envelopes
    again = react(be, replay, settings=lite.settings)
    assert not again and sum(1 for _ in be.registry.stored_notifications()) == before
    before_fr = sum(1 for _ in fr.registry.stored_notifications())
    assert not react(fr, fr.inbox.envelopes)
    assert not catch_up(fr)
    assert sum(1 for _ in fr.registry.stored_notifications()) == before_fr


def test_catch_up_does_the_steps_a_lost_reaction_missed(lite):
    story(lite)
    fr, be = lite["FR"], lite["BE"]
    trace_id = tracing.submit(fr, to="BE", marking=MARKING, **TRACE)
    fr.sealer.seal()
    be.inbox.accept([e for e in fr.registry.envelopes(trace_id)])   # delivered, but BE crashed before reacting
    assert tracing.trace(be, trace_id).status is TraceStatus.SUBMITTED
    repaired = catch_up(be)
    assert len(repaired.steps) == 2   # acknowledged and responded
    assert tracing.trace(be, trace_id).status is TraceStatus.TRACED


def test_without_autorespond_the_addressee_only_acknowledges(memory_federation, federated_states):
    fed = memory_federation(federated_states, settings=TraceSettings(autorespond=False))
    weapon = story(fed)
    trace_id = tracing.submit(fed["FR"], to="BE", weapon_id=weapon, **TRACE)
    fed.sync()
    assert tracing.trace(fed["FR"], trace_id).status is TraceStatus.ACKNOWLEDGED
    tracing.delay(fed["BE"], trace_id, ground="ongoing-investigation", explanation="case file with the judge",
                  expected_by=NOW + 20 * DAY)
    fed.sync()
    delayed = tracing.trace(fed["FR"], trace_id)
    assert delayed.status is TraceStatus.DELAYED and "case file with the judge" in delayed.reason
    tracing.restrict(fed["BE"], trace_id, ground="confidentiality-law", explanation="holders withheld")
    fed.sync()
    restricted = tracing.trace(fed["FR"], trace_id)
    # A restricted answer that still shows the export moves the trace on to NL.
    assert restricted.status is TraceStatus.FORWARDED and restricted.forwarded[0][0] == "NL"
    assert restricted.fragment.ok and "Weapon.Exported" in [e.type for e in restricted.fragment.records]


def test_a_refusal_is_final_and_names_its_ground(lite):
    weapon = story(lite)
    lite.settings = TraceSettings(autorespond=False)
    trace_id = tracing.submit(lite["FR"], to="NL", weapon_id=weapon, **TRACE)
    lite.sync()
    tracing.refuse(lite["NL"], trace_id, ground="national-security", explanation="end user is a state agency")
    lite.sync()
    refused = tracing.trace(lite["FR"], trace_id)
    assert refused.status is TraceStatus.REFUSED and refused.reason.startswith("national-security")
    with pytest.raises(Exception, match="answered already"):
        tracing.respond(lite["NL"], trace_id)
    verdict, life = tracing.diversion_verdict(lite["FR"], weapon)
    assert life.answered == () and life.expected_from == ("NL",)   # a refusal is no evidence
    assert not verdict.complete and [m.state for m in verdict.missing] == ["NL"]


def test_a_receipt_confirmed_by_another_state_does_not_close_the_shipment(lite):
    weapon = story(lite)
    nl, de = lite["NL"], lite["DE"]
    shipment = [e for e in nl.registry.envelopes(weapon) if e.type == "Weapon.Exported"][-1].body["shipment"]
    key = generate_key()
    by_fr = seal(key, node="FR", stream=weapon, version=3, type="Weapon.ReceiptConfirmed", occurred_on=NOW,
                 recorded_at=NOW * 1_000_000, authority=key_id(key), prev=bytes(32),
                 body={"shipment": shipment, "from_state": "NL", "received_by": "Shell Trading Ltd"})
    reaction = react(nl, [by_fr])
    assert not reaction and "FR confirmed receipt of shipment" in reaction.skipped[0]
    assert nl.registry.repository.get(UUID(shipment)).is_open
    crossborder.confirm_receipt(de, shipment=shipment)
    lite.sync()
    assert not nl.registry.repository.get(UUID(shipment)).is_open
    assert [s["shipment_id"] for s in crossborder.open_shipments(nl)] == []


def test_the_addressee_acknowledges_and_answers_in_one_transaction_under_the_checkpoint_that_stood(lite):
    story(lite)
    fr, be = lite["FR"], lite["BE"]
    trace_id = tracing.submit(fr, to="BE", marking=MARKING, **TRACE)
    fr.sealer.seal()
    be.sealer.seal()
    sealed_before = be.sealer.latest_checkpoint()
    be.inbox.accept(fr.registry.envelopes(trace_id))
    reaction = react(be, be.inbox.received(node="FR", stream=str(trace_id)), settings=lite.settings)
    assert [step.rsplit(": ", 1)[1] for step in reaction.steps] == ["acknowledged", "responded"]
    ack, answer = be.registry.envelopes(trace_id)
    assert (ack.type, answer.type) == ("TraceAnswer.Acknowledged", "TraceAnswer.Responded")
    # The fragment's checkpoint is the one that stood before (the weapon's records were sealed), not one
    # sealed for the acknowledgement: the relay's next seal covers both records at once.
    assert be.sealer.checkpoints(after=sealed_before.size) == []
    items = [decode_item(item) for item in answer.body["fragment"]]
    assert {checkpoint.size for _, checkpoint, _, _ in items} == {sealed_before.size}


def test_an_answer_that_fails_leaves_the_acknowledgement_recorded(lite, monkeypatch):
    story(lite)
    fr, be = lite["FR"], lite["BE"]
    trace_id = tracing.submit(fr, to="BE", marking=MARKING, **TRACE)
    be.inbox.accept(fr.registry.envelopes(trace_id))

    def broken(*args, **kwargs):
        raise InvalidState("the fragment cannot be built", field="trace")

    monkeypatch.setattr(tracing, "build_fragment", broken)
    reaction = react(be, be.inbox.received(node="FR", stream=str(trace_id)), settings=lite.settings)
    assert "the fragment cannot be built" in reaction.skipped[0]
    assert [e.type for e in be.registry.envelopes(trace_id)] == ["TraceAnswer.Acknowledged"]
    assert tracing.trace(be, trace_id).status is TraceStatus.ACKNOWLEDGED
