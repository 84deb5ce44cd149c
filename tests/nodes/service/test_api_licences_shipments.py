"""Licences issued, looked up and revoked; a shipment exported and listed; statistics; the node for
auditors: all through the API, reads audited."""

from __future__ import annotations

from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

POLICE, CUSTOMS, AUDITOR = as_role(Role.POLICE), as_role(Role.CUSTOMS), as_role(Role.AUDITOR)


def test_a_licence_issued_is_looked_up_then_revoked(client, context):
    licence_id = issue(client, "TL-9", "transfer_licence", "Dealer BVBA")
    found = client.get("/api/v1/licences/transfer-licence/TL-9", headers=as_role(Role.POLICE, "check at dealer"))
    assert found.status_code == 200, found.text
    assert found.json() == {**found.json(), "licence_id": licence_id, "holder": "Dealer BVBA", "in_force": True}
    revoked = client.post("/api/v1/licences/transfer_licence/TL-9/revoke", headers=LICENSING,
                          json={"reason": "dealer closed"})
    assert revoked.status_code == 200, revoked.text
    after = client.get("/api/v1/licences/transfer_licence/TL-9", headers=POLICE).json()
    assert (after["in_force"], after["revocation_reason"]) == (False, "dealer closed")
    assert [(r.action, r.subject, r.purpose) for r in reads(context)] == [
        ("licence", "transfer_licence TL-9 of BE", "check at dealer"), ("licence", "transfer_licence TL-9 of BE", "")]


def test_a_licence_refused_names_the_field(client):
    issue(client, "TL-1", "transfer_licence", "Dealer")
    again = client.post("/api/v1/licences", headers=LICENSING, json={
        "number": "TL-1", "kind": "transfer_licence", "holder": "Dealer", "valid_from": day(-1),
        "valid_until": day(1)})
    assert (again.status_code, again.json()["field"]) == (422, "number")
    backwards = client.post("/api/v1/licences", headers=LICENSING, json={
        "number": "TL-2", "kind": "transfer_licence", "holder": "Dealer", "valid_from": day(1),
        "valid_until": day(-1)})
    assert (backwards.status_code, backwards.json()["field"]) == (422, "valid_until")
    unknown = client.get("/api/v1/licences/export_licence/NONE", headers=POLICE)
    assert (unknown.status_code, unknown.json()["field"]) == (409, "number")


def test_an_export_opens_a_shipment_listed_until_received(client, context):
    weapons = [manufacture(client, f"EXP-{i}") for i in range(2)]
    issue(client, "EL-1", "export_licence", "FN Herstal", export_state="BE", import_state="NL",
          consignee="Dealer NL", quantity=5)
    exported = client.post("/api/v1/shipments", headers=CUSTOMS, json={
        "weapon_ids": weapons, "licence": "EL-1", "import_authorization": "IA-NL-1", "to_state": "NL"})
    assert exported.status_code == 201, exported.text
    shipment = exported.json()["shipment_id"]
    assert exported.json()["weapon_ids"] == weapons
    listed = client.get("/api/v1/shipments", headers=as_role(Role.CUSTOMS, "monthly review"))
    assert listed.status_code == 200, listed.text
    (open_shipment,) = listed.json()["outgoing"]
    assert (open_shipment["shipment_id"], sorted(open_shipment["weapons"])) == (shipment, sorted(weapons))
    assert client.get("/api/v1/shipments", params={"overdue_days": 10}, headers=CUSTOMS).json()["outgoing"] == []
    assert reads(context)[0].action == "shipment"
    history = client.get(f"/api/v1/weapons/{weapons[0]}", headers=POLICE).json()
    assert history["status"] == "exported"


def test_receipt_of_nothing_received_is_refused_naming_the_shipment(client):
    answer = client.post("/api/v1/shipments/receipt", headers=CUSTOMS, json={"shipment": "NOPE"})
    assert (answer.status_code, answer.json()["field"]) == (404, "shipment")
    answer = client.post("/api/v1/shipments/receipt", headers=CUSTOMS, json={})
    assert (answer.status_code, answer.json()["field"]) == (422, "shipment")


def test_statistics_count_what_was_recorded(client):
    manufacture(client, "ST-1")
    manufacture(client, "ST-2")
    figures = client.get("/api/v1/statistics", headers=AUDITOR)
    assert figures.status_code == 200, figures.text
    assert figures.json()["weapons"] == 2
    assert figures.json()["by_type"]["Weapon.Manufactured"] == 2
    assert figures.json()["by_weapon_type"] == {"pistol": 2}


def test_the_node_quarantine_and_read_audit_for_auditors(client, node):
    manufacture(client, "N-1")
    about = client.get("/api/v1/node", headers=AUDITOR).json()
    assert about["state"] == "BE"
    assert about["checkpoint"]["size"] == about["records"] == node.registry.recorder.max_notification_id()
    assert client.get("/api/v1/node/quarantine", headers=AUDITOR).json() == {"entries": [], "more": False,
                                                                             "alarms": 0}
    # No partner trusted: nobody witnesses the log yet, and the route says so rather than failing.
    assert client.get("/api/v1/node/witnesses", headers=AUDITOR).json() == {
        "sealed_size": about["checkpoint"]["size"], "witnesses": []}
    client.get("/api/v1/weapons", params={"serial": "N*"}, headers=as_role(Role.POLICE, "case 9"))
    reads = client.get("/api/v1/audit/reads", params={"user": "police"}, headers=AUDITOR)
    assert reads.status_code == 200, reads.text
    assert [(e["action"], e["subject"], e["purpose"]) for e in reads.json()["entries"]] == [("search", "N*", "case 9")]
    assert client.get("/api/v1/audit/reads", params={"since": "someday"}, headers=AUDITOR).json()["field"] == "since"
