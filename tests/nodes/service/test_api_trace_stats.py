"""Traces and statistics over HTTP (API and desks) on two real nodes whose records travel by
``MemoryFederation`` (BE on each backend): priority shown, acknowledgement by hand, traces named by
the start of their id, an answer dated back shown as recorded today with who held the weapon, and
the statistics' period checked (422 naming the field)."""

from __future__ import annotations

import csv
import io
import time

import pytest
from fastapi.testclient import TestClient

from domain.marking import Marking
from domain.roles import Role
from domain.time import SECONDS_PER_DAY as DAY, format_time
from nodes.service.app import create_app
from nodes.settings import TraceSettings

from desk_steps import form_token
from fixed_directory import password_of
from memory_federation import MemoryFederation
from service_story import as_role, service_of

TRACING = as_role(Role.TRACING)
MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "API-T1"}


@pytest.fixture
def pair(tmp_path, db_url):
    """BE made a pistol (held by FN Herstal); FR seized it; each node serves its API and desks."""
    federation = MemoryFederation(tmp_path, lambda state: db_url if state == "BE" else str(tmp_path / "fr.db"),
                                  ["BE", "FR"], settings=TraceSettings(autorespond=False))
    be, fr = federation["BE"], federation["FR"]
    be.registry.manufacture(marking=Marking.read(**MARKING), type="pistol", make="FN", model="Five-seveN",
                            calibre="5.7x28mm", year=2020, holder="FN Herstal",
                            occurred_on=int(time.time()) - 900 * DAY)
    fr.registry.seize(marking=Marking.read(**MARKING), place="Lille", circumstances="traffic stop", type="pistol",
                      calibre="5.7x28mm")
    contexts = [service_of(be), service_of(fr)]
    try:
        with TestClient(create_app(contexts[0])) as be_http, TestClient(create_app(contexts[1])) as fr_http:
            yield federation, be_http, fr_http
    finally:
        for context in contexts:
            context.read_audit.close()
        federation.close()


def sign_in(client: TestClient, role: Role = Role.TRACING) -> str:
    """Sign ``client`` in at the desks as the test officer of ``role``; returns the session's CSRF token."""
    token = form_token(client.get("/sign-in").text)
    signed = client.post("/sign-in", data={"name": role.value, "password": password_of(role), "csrf_token": token},
                         follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return form_token(client.get("/search").text)


def ok(answer, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    body: dict = answer.json()
    return body


def test_an_urgent_trace_acknowledged_by_hand_and_answered_with_a_back_date(pair):
    federation, be, fr = pair
    trace_id = ok(fr.post("/api/v1/traces", headers=TRACING, json={
        "marking": MARKING, "circumstances": "found in a car", "legal_basis": "CPP art 60",
        "intended_use": "prosecution", "priority": "urgent", "to": "BE"}), 201)["trace_id"]
    federation.deliver("FR", "BE", react=False)

    listed = ok(be.get("/api/v1/traces", headers=TRACING))["traces"]
    assert [(t["trace_id"], t["priority"], t["status"]) for t in listed] == [(trace_id, "urgent", "SUBMITTED")]
    done = ok(be.post(f"/api/v1/traces/{trace_id[:6]}/acknowledge", headers=TRACING, json={}))
    assert (done["event"], done["trace_id"]) == ("TraceAnswer.Acknowledged", trace_id)   # the whole id
    again = be.post(f"/api/v1/traces/{trace_id}/acknowledge", headers=TRACING, json={})
    assert (again.status_code, again.json()["field"]) == (409, "trace")
    unknown = be.get("/api/v1/traces/abc", headers=TRACING)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "trace") and "'abc'" in unknown.json()["detail"]

    month_ago = format_time(int(time.time()) - 30 * DAY)[:10]
    ok(be.post(f"/api/v1/traces/{trace_id[:8]}/respond", headers=TRACING, json={"date": month_ago}))
    federation.deliver("BE", "FR", react=False)
    shown = ok(fr.get(f"/api/v1/traces/{trace_id[:8]}", headers=TRACING))["trace"]
    today = format_time(int(time.time()))[:10]
    assert shown["priority"] == "urgent" and shown["status"] == "TRACED"
    assert shown["response"]["done_on_utc"][:10] == today and shown["response"]["dated_on_utc"][:10] == month_ago
    assert shown["response"]["late"] is False                      # answered within the 24 hours, whatever its date
    rows = shown["fragment"]["records"]
    assert [(r["type"], r["holder"], r["node"]) for r in rows] == [("Weapon.Manufactured", "FN Herstal", "BE")]


def test_the_desks_show_priority_acknowledge_by_hand_and_the_answered_records(pair):
    federation, be, fr = pair
    ok(fr.post("/api/v1/traces", headers=TRACING, json={
        "marking": MARKING, "circumstances": "found", "legal_basis": "CPP", "intended_use": "prosecution",
        "priority": "urgent", "to": "BE"}), 201)
    federation.deliver("FR", "BE", react=False)
    trace_id = ok(be.get("/api/v1/traces", headers=TRACING))["traces"][0]["trace_id"]
    csrf = sign_in(be)
    desk = be.get("/tracing")
    assert desk.status_code == 200 and "<strong>Urgent</strong>" in desk.text and 'href="/statistics"' in desk.text
    page = be.get(f"/tracing/{trace_id[:8]}")
    assert "Acknowledge receipt of the request" in page.text
    acknowledged = be.post(f"/tracing/{trace_id}/acknowledge", data={"csrf_token": csrf}, follow_redirects=False)
    assert acknowledged.status_code == 303
    assert "Acknowledge receipt of the request" not in be.get(f"/tracing/{trace_id}").text
    be.post(f"/tracing/{trace_id}/answer", data={"csrf_token": csrf, "answer": "respond"})
    federation.deliver("BE", "FR", react=False)
    sign_in(fr)
    answered = fr.get(f"/tracing/{trace_id}")
    assert "Who held the weapon, from the records of the answer" in answered.text
    assert "FN Herstal" in answered.text and "Verified (signed by BE)" in answered.text


def test_statistics_check_their_period_over_the_api_and_the_desk(pair):
    _, _, fr = pair
    auditor = as_role(Role.AUDITOR)
    figures = ok(fr.get("/api/v1/statistics", headers=auditor, params={"from": "2000-01-01"}))
    assert figures["seizures"]["seized"] == 1 and figures["seizures"]["by_place"] == {"Lille": 1}
    assert figures["seizures"]["tracing"] == {"traced": 0, "untraced": 1, "traced_percent": 0.0}
    for params, field in (({"from": "2024-02-30"}, "from"), ({"to": "soon"}, "to"),
                          ({"from": "2024-06-01", "to": "2024-01-01"}, "to")):
        refused = fr.get("/api/v1/statistics", headers=auditor, params=params)
        assert (refused.status_code, refused.json()["field"]) == (422, field), params
    sign_in(fr)
    page = fr.get("/statistics", params={"period_from": "2000-01-01"})
    assert page.status_code == 200 and "Weapons seized: 1" in page.text and "Lille" in page.text
    bad = fr.get("/statistics", params={"period_from": "2024-06-01", "period_to": "2024-01-01"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    rows = list(csv.reader(io.StringIO(fr.get("/statistics.csv").text)))
    assert rows[0] == ["table", "value", "figure"] and ["by_place", "Lille", "1"] in rows
