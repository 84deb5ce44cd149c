"""The alerts page of the tracing desk over HTTP: BE reported a pistol stolen, FR seized it, and after
a sync BE's tracing officer sees FR's hit notice, linked from the tracing desk; the read is audited."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from domain.marking import Marking

from desk_app import DeskTestContext, desk_app
from desk_steps import sign_in
from memory_federation import MemoryFederation

PISTOL = Marking.read("FN Herstal", "BE", "DESK-HIT-1")


@pytest.fixture
def hit_in_france(tmp_path, db_url):
    """BE (on each backend) reported the pistol stolen; FR seized it; both synced."""
    federation = MemoryFederation(tmp_path, lambda state: db_url if state == "BE" else str(tmp_path / "fr.db"),
                                  ["BE", "FR"])
    belgium = DeskTestContext(federation["BE"])
    try:
        federation["BE"].registry.report_missing(stolen=True, marking=PISTOL, type="pistol", calibre="5.7x28",
                                                 place="Liège", occurred_on=int(time.time()) - 86_400 * 5)
        federation.sync()
        federation["FR"].registry.record_seizure(marking=PISTOL, place="Lille", circumstances="traffic stop",
                                                 occurred_on=int(time.time()) - 86_400)
        federation.sync()
        yield belgium
    finally:
        belgium.close()
        federation.close()


def test_the_tracing_officer_sees_the_hit_from_the_tracing_desk(hit_in_france):
    belgium = hit_in_france
    with TestClient(desk_app(belgium)) as client:
        sign_in(client, "tom")
        assert 'href="/alerts"' in client.get("/tracing").text
        page = client.get("/alerts")
        assert page.status_code == 200
        assert "Lille" in page.text and "FR" in page.text and "DESK-HIT-1" in page.text
        assert f'href="/weapons/{PISTOL.weapon_id()}"' in page.text and "stolen, reported" in page.text
    assert ("search", "alerts") in [(r.action, r.subject) for r in belgium.reads]
    with TestClient(desk_app(belgium)) as client:
        assert client.get("/alerts", follow_redirects=False).status_code == 303  # signed out: to the sign-in


def test_a_police_officer_reports_a_weapon_on_paper_stolen_from_the_desk(tmp_path, db_url):
    federation = MemoryFederation(tmp_path, lambda state: db_url, ["BE"])
    context = DeskTestContext(federation["BE"])
    try:
        with TestClient(desk_app(context)) as client:
            csrf = sign_in(client, "paul")
            assert 'href="/alerts/report"' in client.get("/alerts").text
            form = {"csrf_token": csrf, "missing": "stolen", "manufacturer": "Glock", "country": "AT",
                    "serial": "DESK-P-1", "type": "pistol", "calibre": "9x19", "year": "2015", "place": "Gent"}
            refused = client.post("/alerts/report", data={**form, "serial": "DE??-1"})
            assert refused.status_code == 422 and 'href="#f-serial"' in refused.text and "DE??-1" in refused.text
            done = client.post("/alerts/report", data=form, follow_redirects=False)
            weapon = Marking.read("Glock", "AT", "DESK-P-1").weapon_id()
            assert done.status_code == 303 and done.headers["location"] == f"/weapons/{weapon}"
            assert [e.type for e in context.node.registry.envelopes(weapon)] == ["Weapon.ReportedStolen"]
            tracing_csrf = sign_in(client, "tom")  # tracing may record trace steps only
            assert 'href="/alerts/report"' not in client.get("/alerts").text
            refused = client.post("/alerts/report", data={**form, "serial": "DESK-P-2", "csrf_token": tracing_csrf})
            assert refused.status_code == 403 and "tracing role may not record Weapon.ReportedStolen" in refused.text
    finally:
        context.close()
        federation.close()
