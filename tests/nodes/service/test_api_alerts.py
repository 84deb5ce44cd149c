"""Stolen-weapon hits through the HTTP API, on two nodes over a real broker: BE reports a pistol on no
register there as stolen by its marking, FR's seizure answers with the hit (its writes go through the group
committer, as a served node's do), and BE reads the alert; the refusals name the field and write nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from domain.roles import Role
from nodes.service.app import create_app

from federation_nodes import Cluster
from service_story import as_role, day, reads, service_of

MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "API-HIT-1"}


@pytest.fixture
def pair(tmp_path, kafka_bootstrap, db_url) -> Iterator[tuple[Cluster, TestClient, TestClient, object]]:
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"], db={"BE": db_url})
    be_context, fr_context = service_of(cluster["BE"]), service_of(cluster["FR"], group_commit=True)
    try:
        with TestClient(create_app(be_context, desks=False)) as be_api, \
                TestClient(create_app(fr_context, desks=False)) as fr_api:
            yield cluster, be_api, fr_api, be_context
    finally:
        assert fr_context.committer is not None
        fr_context.committer.close()
        cluster.close()


def test_a_report_by_marking_a_seizure_warned_and_the_alert_read(pair):
    cluster, be, fr, be_context = pair
    police = as_role(Role.POLICE)
    reported = be.post("/api/v1/reports/stolen", headers=police, json={
        "marking": MARKING, "type": "pistol", "calibre": "5.7x28", "year": 2019, "place": "Liège",
        "circumstances": "burglary", "date": day(-10)})
    assert reported.status_code == 201, reported.text
    weapon = reported.json()["weapon_id"]
    assert reported.json()["event"] == "Weapon.ReportedStolen"
    timeline = be.get(f"/api/v1/weapons/{weapon}", headers=police).json()
    assert timeline["status"] == "stolen" and timeline["marking"]["serial"] == "API-HIT-1"
    cluster.settle()

    seized = fr.post("/api/v1/weapons/seize", headers=police, json={
        "marking": MARKING, "place": "Marseille", "circumstances": "car search", "date": day(-2)})
    assert seized.status_code == 201, seized.text
    [hit] = seized.json()["hits"]
    assert seized.json()["weapon_id"] == weapon and hit["reporting_state"] == "BE"
    assert hit["message"].startswith("WARNING: BE reported this weapon stolen")
    cluster.settle()

    listed = be.get("/api/v1/alerts", headers=as_role(Role.TRACING, "hit check"))
    assert listed.status_code == 200, listed.text
    [alert] = listed.json()["alerts"]
    assert (alert["weapon_id"], alert["recording_state"], alert["place"], alert["date"]) == (
        weapon, "FR", "Marseille", day(-2)[:10])
    assert [(r.action, r.subject, r.purpose) for r in reads(be_context)][-1] == ("search", "alerts", "hit check")
    assert fr.get("/api/v1/alerts", headers=police).json() == {"alerts": []}


def test_refusals_name_the_field_and_write_nothing(pair):
    cluster, be, _, _ = pair
    police = as_role(Role.POLICE)
    made = be.post("/api/v1/weapons/manufacture", headers=as_role(Role.LICENSING), json={
        "marking": {**MARKING, "serial": "KNOWN-1"}, "type": "pistol", "calibre": "9", "year": 2020,
        "holder": "FN Herstal", "date": day(-30)})
    assert made.status_code == 201, made.text
    before = cluster["BE"].registry.recorder.max_notification_id()
    refusals = [
        ({"marking": MARKING, "weapon_id": made.json()["weapon_id"]}, 422, "weapon"),
        ({}, 422, "weapon"),
        ({"marking": MARKING, "colour": "black"}, 422, "colour"),
        ({"marking": MARKING, "year": 99999}, 422, "year"),
        ({"marking": {**MARKING, "serial": "AB??1"}}, 422, "serial"),
        ({"marking": {**MARKING, "serial": "KNOWN-1"}, "calibre": "5.56"}, 422, "calibre"),
        ({"marking": MARKING, "date": "yesterday"}, 422, "date"),
    ]
    for body, status, field in refusals:
        answer = be.post("/api/v1/reports/stolen", headers=police, json=body)
        assert (answer.status_code, answer.json().get("field")) == (status, field), (body, answer.text)
    not_allowed = be.post("/api/v1/reports/lost", headers=as_role(Role.AUDITOR), json={"marking": MARKING})
    assert not_allowed.status_code == 403
    assert be.get("/api/v1/alerts", params={"limit": 0}, headers=police).status_code == 422
    assert cluster["BE"].registry.recorder.max_notification_id() == before
