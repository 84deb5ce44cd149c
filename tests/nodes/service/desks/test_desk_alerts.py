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
