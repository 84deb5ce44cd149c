"""The tracing desk over HTTP: requests sent, traces received by sync answered, the verdict shown."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.event_types import TRACE_DELAYED, TRACE_RESPONDED
from domain.marking import Marking
from nodes.settings import TraceSettings
from nodes.tracing import reading

from desk_app import DeskTestContext, desk_app
from desk_steps import sign_in
from memory_federation import MemoryFederation


@pytest.fixture
def trace_to_belgium(tmp_path, db_url):
    """BE (on each backend) holds a pistol; FR seized it and sent BE a trace request, received by sync
    and acknowledged; an officer answers (no automatic response)."""
    federation = MemoryFederation(tmp_path, lambda state: db_url if state == "BE" else str(tmp_path / "fr.db"),
                                  ["BE", "FR"], settings=TraceSettings(autorespond=False))
    belgium = DeskTestContext(federation["BE"])
    try:
        marking = Marking.read("FN Herstal", "BE", "TR-1")
        weapon_id = federation["BE"].registry.manufacture(marking=marking, type="pistol", make="FN",
                                                          model="Five-seveN", calibre="5.7x28mm", year=2020,
                                                          holder="Armurerie Liège")
        seized = federation["FR"].registry.seize(marking=marking, place="Lille", circumstances="traffic stop",
                                                 type="pistol", calibre="5.7x28mm")
        from nodes.tracing import service

        trace_id = service.submit(federation["FR"], to="BE", weapon_id=seized, circumstances="found in a car",
                                  legal_basis="CPP art 60", intended_use="prosecution")
        federation.sync()
        yield federation, belgium, str(trace_id), str(weapon_id)
    finally:
        belgium.close()
        federation.close()


def test_the_addressee_answers_a_received_trace_and_the_requester_sees_it(trace_to_belgium):
    federation, belgium, trace_id, _ = trace_to_belgium
    with TestClient(desk_app(belgium)) as client:
        csrf = sign_in(client, "tom")
        desk = client.get("/tracing")
        assert desk.status_code == 200 and f'href="/tracing/{trace_id}"' in desk.text
        assert "Traces asked of this state" in desk.text and "FN Herstal TR-1" in desk.text
        page = client.get(f"/tracing/{trace_id}")
        assert page.status_code == 200 and "Send the answer" in page.text and "Close the trace" not in page.text
        done = client.post(f"/tracing/{trace_id}/answer", data={"csrf_token": csrf, "answer": "respond"})
        assert done.status_code == 200
    assert TRACE_RESPONDED in [e.type for e in belgium.node.registry.envelopes(trace_id)]
    assert [(r.action, r.subject) for r in belgium.reads] == [
        ("trace", "all traces"), ("trace", trace_id), ("trace", trace_id)]
    federation.sync()
    assert reading.trace(federation["FR"], trace_id).status.value == "TRACED"


def test_a_delay_needs_a_para_22_ground_and_a_date(trace_to_belgium):
    _, belgium, trace_id, _ = trace_to_belgium
    with TestClient(desk_app(belgium)) as client:
        csrf = sign_in(client, "tom")
        no_ground = client.post(f"/tracing/{trace_id}/answer", data={
            "csrf_token": csrf, "answer": "delay", "explanation": "x", "expected_by": "2030-01-01"})
        assert no_ground.status_code == 422 and 'href="#f-ground"' in no_ground.text
        no_date = client.post(f"/tracing/{trace_id}/answer", data={
            "csrf_token": csrf, "answer": "delay", "ground": "ongoing-investigation", "explanation": "x"})
        assert no_date.status_code == 422 and 'href="#f-expected_by"' in no_date.text
        assert TRACE_DELAYED not in [e.type for e in belgium.node.registry.envelopes(trace_id)]
        client.post(f"/tracing/{trace_id}/answer", data={
            "csrf_token": csrf, "answer": "delay", "ground": "ongoing-investigation",
            "explanation": "suspects not yet heard", "expected_by": "2030-01-01"})
    assert TRACE_DELAYED in [e.type for e in belgium.node.registry.envelopes(trace_id)]


def test_the_verdict_shows_its_evidence_and_is_audited(trace_to_belgium):
    _, belgium, _, weapon_id = trace_to_belgium
    with TestClient(desk_app(belgium)) as client:
        sign_in(client, "paul")
        page = client.get("/tracing/verdict", params={"weapon": weapon_id, "purpose": "case 4"})
        bad = client.get("/tracing/verdict", params={"weapon": "nope"})
    assert page.status_code == 200 and "The signed records the verdict rests on" in page.text
    assert "<td>Weapon.Manufactured</td><td>BE</td>" in page.text
    assert [(r.action, r.subject, r.purpose) for r in belgium.reads] == [("verdict", weapon_id, "case 4")]
    assert bad.status_code == 422 and 'href="#f-weapon"' in bad.text


def test_requests_are_sent_by_the_roles_that_may_and_name_bad_fields(trace_to_belgium):
    _, belgium, _, weapon_id = trace_to_belgium
    with TestClient(desk_app(belgium)) as client:
        csrf = sign_in(client, "tom")
        fields = {"csrf_token": csrf, "weapon": weapon_id, "circumstances": "found", "legal_basis": "art 1",
                  "intended_use": "prosecution"}
        unknown = client.post("/tracing/new", data={**fields, "to": "US"})
        assert unknown.status_code == 422 and 'href="#f-to"' in unknown.text
        sent = client.post("/tracing/new", data={**fields, "to": "FR"}, follow_redirects=False)
        assert sent.status_code == 303
        trace_id = sent.headers["location"].rsplit("/", 1)[1]
        assert reading.trace(belgium.node, trace_id).role == "requester"
        client.cookies.clear()
        csrf = sign_in(client, "lena")
        assert client.get("/tracing/new").status_code == 403
        refused = client.post(f"/tracing/{trace_id}/close", data={"csrf_token": csrf, "outcome": "done"})
        assert refused.status_code == 403 and "may not record TraceRequest.Closed" in refused.text
