"""Two nodes on a real broker, each driven only through its HTTP API: an export confirmed as
received by the partner's customs, and a trace asked, delayed, answered, shown and closed,
with the diversion verdict read at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from domain.roles import Role
from nodes.service.app import create_app
from nodes.settings import Settings

from federation_nodes import PASSPHRASE, Cluster
from service_story import as_role, day, reads, service_of


@pytest.fixture
def pair(tmp_path, kafka_bootstrap) -> Iterator[tuple[Cluster, TestClient, TestClient]]:
    cluster = Cluster(tmp_path, kafka_bootstrap, ["BE", "NL"])
    be = cluster["BE"]
    # BE's registry answers traces by hand: its settings, read once, say so.
    be.settings = Settings.load({"ARMSLEDGER_TRACE_AUTORESPOND": "0"}, home=be.settings.home, db=be.settings.db,
                                passphrase=PASSPHRASE, kafka=kafka_bootstrap)
    try:
        with TestClient(create_app(service_of(be), desks=False)) as be_api, \
                TestClient(create_app(service_of(cluster["NL"]), desks=False)) as nl_api:
            yield cluster, be_api, nl_api
    finally:
        cluster.close()


def ok(answer, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    body: dict = answer.json()
    return body


def test_an_export_received_and_a_trace_answered_through_the_apis(pair):
    cluster, be, nl = pair
    licensing, customs = as_role(Role.LICENSING), as_role(Role.CUSTOMS)
    weapon = ok(be.post("/api/v1/weapons/manufacture", headers=licensing, json={
        "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": "FED-1"}, "type": "pistol",
        "make": "FN", "model": "Five-seveN", "calibre": "5.7x28", "year": 2020, "holder": "FN Herstal",
        "date": day(-30)}), 201)["weapon_id"]
    licence = {"holder": "Dealer NL", "valid_from": day(-20), "valid_until": day(20), "export_state": "BE",
               "import_state": "NL", "consignee": "Dealer NL", "quantity": 1, "date": day(-20)}
    ok(nl.post("/api/v1/licences", headers=licensing, json={**licence, "number": "IA-NL-1",
                                                            "kind": "import_authorization"}), 201)
    ok(be.post("/api/v1/licences", headers=licensing, json={**licence, "number": "EL-BE-1",
                                                            "kind": "export_licence", "holder": "FN Herstal"}), 201)
    cluster.settle()
    shipment = ok(be.post("/api/v1/shipments", headers=customs, json={
        "weapon_ids": [weapon], "licence": "EL-BE-1", "import_authorization": "IA-NL-1", "to_state": "NL",
        "date": day(-10)}), 201)["shipment_id"]
    cluster.settle()
    received = ok(nl.post("/api/v1/shipments/receipt", headers=customs, json={"shipment": shipment}))
    assert received["weapon_ids"] == [weapon]
    again = nl.post("/api/v1/shipments/receipt", headers=customs, json={"shipment": shipment})
    assert (again.status_code, again.json()["field"]) == (409, "shipment")
    cluster.settle()
    assert ok(be.get("/api/v1/shipments", headers=customs))["outgoing"] == []

    tracing, registry = as_role(Role.TRACING), as_role(Role.REGISTRY)
    trace = ok(nl.post("/api/v1/traces", headers=tracing, json={
        "weapon_id": weapon, "circumstances": "seized at a border check", "legal_basis": "Sr art 26",
        "intended_use": "prosecution", "to": "BE"}), 201)["trace_id"]
    cluster.settle()
    ok(be.post(f"/api/v1/traces/{trace}/delay", headers=registry, json={
        "ground": "ongoing-investigation", "explanation": "file with the judge", "until": day(20)}))
    bad_ground = be.post(f"/api/v1/traces/{trace}/refuse", headers=registry,
                         json={"ground": "because", "explanation": "x"})
    assert (bad_ground.status_code, bad_ground.json()["field"]) == (422, "ground")
    cluster.settle()
    assert ok(nl.get(f"/api/v1/traces/{trace}", headers=tracing))["trace"]["status"] == "DELAYED"
    assert ok(be.post(f"/api/v1/traces/{trace}/respond", headers=registry, json={}))["event"] == \
        "TraceAnswer.Responded"
    cluster.settle()
    shown = ok(nl.get(f"/api/v1/traces/{trace}", headers=as_role(Role.TRACING, "case NL-7")))["trace"]
    assert shown["status"] == "TRACED" and shown["fragment"]["problems"] == []
    assert [s["step"] for s in shown["steps"]][:2] == ["Submitted", "Acknowledged"]
    ok(nl.post(f"/api/v1/traces/{trace}/close", headers=tracing, json={"outcome": "imported lawfully"}))
    listed = ok(nl.get("/api/v1/traces", headers=tracing))["traces"]
    assert [(t["trace_id"], t["status"]) for t in listed] == [(trace, "CLOSED")]

    verdict = ok(nl.get(f"/api/v1/weapons/{weapon}/verdict", headers=as_role(Role.POLICE, "case NL-7")))
    assert verdict["records_by_node"] == {**verdict["records_by_node"], "NL": 2}
    assert verdict["failed"] == []
    audit = reads(nl.app.state.context)
    assert [(r.action, r.purpose) for r in audit][-3:] == [("trace", "case NL-7"), ("trace", ""),
                                                          ("verdict", "case NL-7")]


def test_the_nodes_are_still_whole_after_the_api_wrote(pair):
    cluster, be, _ = pair
    manufactured = be.post("/api/v1/weapons/manufacture", headers=as_role(Role.LICENSING), json={
        "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": "FED-2"}, "type": "pistol",
        "calibre": "9mm", "year": 2020, "holder": "FN"})
    assert manufactured.status_code == 201
    cluster.settle()
    verified = ok(be.get("/api/v1/node/verify", headers=as_role(Role.AUDITOR)))
    assert verified["ok"] is True and verified["problems"] == []
