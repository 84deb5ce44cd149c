"""The customs desk over HTTP: a partner's export to this state received by sync, confirmed in one step."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.event_types import IMPORTED, RECEIPT_CONFIRMED
from nodes.federation.crossborder import confirm_receipt

from desk_app import DeskTestContext, desk_app
from desk_steps import ship_belgian_pistol_to_france, sign_in
from memory_federation import MemoryFederation


@pytest.fixture
def france(tmp_path, db_url):
    federation = MemoryFederation(tmp_path, lambda state: db_url if state == "FR" else str(tmp_path / "be.db"),
                                  ["BE", "FR"])
    context = DeskTestContext(federation["FR"])
    try:
        yield federation, context
    finally:
        context.close()
        federation.close()


def test_customs_confirms_a_shipment_received_from_a_partner_in_one_step(france):
    federation, context = france
    shipment, weapon_id = ship_belgian_pistol_to_france(federation)
    with TestClient(desk_app(context)) as client:
        csrf = sign_in(client, "cleo")
        desk = client.get("/customs")
        assert desk.status_code == 200 and f"<code>{shipment}</code>" in desk.text and "FN Herstal CU-1" in desk.text
        done = client.post("/customs/receipts", data={"csrf_token": csrf, "shipment": shipment,
                                                       "received_by": "Armurerie Paris"})
        assert done.status_code == 200 and f"Receipt of shipment {shipment} confirmed." in done.text
        assert "No shipment to this state is awaiting receipt." in done.text
        again = client.post("/customs/receipts", data={"csrf_token": csrf, "shipment": shipment})
    assert [e.type for e in context.node.registry.envelopes(weapon_id)] == [IMPORTED, RECEIPT_CONFIRMED]
    assert {(r.officer.name, r.action, r.subject) for r in context.reads} == {
        ("cleo", "shipment", "shipments in and out")}
    assert again.status_code == 409 and "was confirmed already" in again.text and 'href="#f-shipment"' in again.text


def test_the_exporter_sees_the_shipment_in_transit_then_received(tmp_path):
    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"])
    try:
        shipment, _ = ship_belgian_pistol_to_france(federation)
        belgium = DeskTestContext(federation["BE"])
        with TestClient(desk_app(belgium)) as client:
            sign_in(client, "cleo")
            before = client.get("/customs").text
            confirm_receipt(federation["FR"], shipment=shipment)
            federation.sync()
            after = client.get("/customs").text
    finally:
        federation.close()
    assert f"<code>{shipment}</code>" in before and "In transit (receipt due by" in before
    assert "Received on" in after and "In transit" not in after


def test_an_unknown_shipment_names_the_field_and_a_role_without_receipt_is_refused(client):
    csrf = sign_in(client, "cleo")
    unknown = client.post("/customs/receipts", data={"csrf_token": csrf, "shipment": "nope"})
    assert unknown.status_code == 409 and "no export to BE of shipment &#39;nope&#39;" in unknown.text
    assert 'href="#f-shipment"' in unknown.text
    client.cookies.clear()
    csrf = sign_in(client, "paul")
    refused = client.post("/customs/receipts", data={"csrf_token": csrf, "shipment": "nope"})
    assert refused.status_code == 403 and "may not record Weapon.ReceiptConfirmed" in refused.text
    assert 'name="shipment"' not in client.get("/customs").text
