"""Recording a weapon's life and reading it back through the API, on SQLite and PostgreSQL.

Each record is signed by the authority of the officer's role, and each read lands in the
read audit with the purpose given.
"""

from __future__ import annotations

from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

POLICE, CUSTOMS, DEACTIVATION = as_role(Role.POLICE), as_role(Role.CUSTOMS), as_role(Role.DEACTIVATION)


def test_a_weapon_made_transferred_and_read_back_on_each_backend(backend_client):
    client, context = backend_client
    weapon = manufacture(client, "API-1")
    issue(client, "TL-7", "transfer_licence", "Dealer BVBA")
    moved = client.post(f"/api/v1/weapons/{weapon}/transfer", headers=LICENSING,
                        json={"to_holder": "Dealer BVBA", "licence": "TL-7", "date": day(-1)})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {**moved.json(), "event": "Weapon.Transferred", "weapon_id": weapon}

    history = client.get(f"/api/v1/weapons/{weapon}", headers=as_role(Role.POLICE, "case 2026/17"))
    assert history.status_code == 200, history.text
    document = history.json()
    assert [e["type"] for e in document["events"]] == ["Weapon.Manufactured", "Weapon.Transferred"]
    assert document["holder"] == "Dealer BVBA" and document["verified"] is True
    assert [e["authority_kind"] for e in document["events"]] == ["licensing", "licensing"]

    found = client.get("/api/v1/weapons", params={"serial": "API*"}, headers=POLICE)
    assert [m["weapon_id"] for m in found.json()["matches"]] == [weapon]
    audited = [(r.user_name, r.action, r.subject, r.purpose) for r in reads(context)]
    assert audited == [("police", "history", weapon, "case 2026/17"), ("police", "search", "API*", "")]


def test_every_event_without_licence_is_recorded_by_its_authority(client):
    weapon = manufacture(client, "LIFE-1")
    steps = [
        ("mark", LICENSING, {"mark": "BE-NAT-1", "reason": "national mark"}, "Weapon.Marked"),
        ("report-lost", POLICE, {"place": "Liège", "circumstances": "left on a train"}, "Weapon.ReportedLost"),
        ("recover", POLICE, {"place": "Namur"}, "Weapon.Recovered"),
        ("report-stolen", POLICE, {"place": "Liège"}, "Weapon.ReportedStolen"),
        ("recover", POLICE, {"place": "Antwerp"}, "Weapon.Recovered"),
    ]
    for path, headers, body, event in steps:
        answer = client.post(f"/api/v1/weapons/{weapon}/{path}", headers=headers, json=body)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["event"] == event
    seized = client.post("/api/v1/weapons/seize", headers=POLICE, json={"weapon_id": weapon, "place": "Gent"})
    assert seized.status_code == 201, seized.text
    for path, headers, body in (("confiscate", POLICE, {"order": "court order 7"}),
                                ("deactivate", DEACTIVATION, {"certificate": "DC-1", "method": "EU 2015/2403",
                                                                "standard": "EU 2018/337", "inspecting_body": "PH",
                                                                "inspected_on": "2026-01-01"}),
                                ("destroy", DEACTIVATION, {"method": "shredding"})):
        answer = client.post(f"/api/v1/weapons/{weapon}/{path}", headers=headers, json=body)
        assert answer.status_code == 200, (path, answer.text)
    document = client.get(f"/api/v1/weapons/{weapon}", headers=POLICE).json()
    assert document["status"] == "destroyed"
    assert [e["type"].split(".")[1] for e in document["events"]][-4:] == [
        "Seized", "Confiscated", "Deactivated", "Destroyed"]


def test_import_by_marking_then_seizure_of_an_unmarked_weapon(client):
    imported = client.post("/api/v1/weapons/import", headers=CUSTOMS, json={
        "marking": {"manufacturer": "Glock", "country": "AT", "serial": "IMP-1"}, "type": "pistol",
        "calibre": "9mm", "year": 2019, "from_state": "AT", "import_authorization": "IA-1", "holder": "Dealer"})
    assert imported.status_code == 201, imported.text
    again = client.post("/api/v1/weapons/import", headers=CUSTOMS, json={
        "weapon_id": imported.json()["weapon_id"], "from_state": "AT", "import_authorization": "IA-2",
        "holder": "Dealer"})
    assert again.status_code == 409, again.text  # in the registry already and not exported since
    unknown = client.post("/api/v1/weapons/import", headers=CUSTOMS, json={
        "weapon_id": "00000000-0000-4000-8000-000000000001", "from_state": "AT", "import_authorization": "IA-3",
        "holder": "Dealer"})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "weapon")

    seized = client.post("/api/v1/weapons/seize", headers=POLICE, json={
        "marking": {"manufacturer": "Unknown", "country": "BE", "serial": "AB??34"}, "type": "rifle",
        "place": "Brussels", "circumstances": "found at a market"})
    assert seized.status_code == 201, seized.text
    assert seized.json()["weapon_id"] != imported.json()["weapon_id"]


def test_a_weapon_named_twice_or_not_at_all_is_refused_naming_the_weapon(client):
    for body in ({"place": "Gent"},
                 {"place": "Gent", "weapon_id": "00000000-0000-4000-8000-000000000001",
                  "marking": {"manufacturer": "FN", "country": "BE", "serial": "X1"}}):
        answer = client.post("/api/v1/weapons/seize", headers=POLICE, json=body)
        assert (answer.status_code, answer.json()["field"]) == (422, "weapon")


def test_a_refused_record_changes_nothing(client, node):
    weapon = manufacture(client, "REF-1")
    before = node.registry.recorder.max_notification_id()
    answer = client.post(f"/api/v1/weapons/{weapon}/transfer", headers=LICENSING,
                         json={"to_holder": "Someone", "licence": "NO-SUCH"})
    assert (answer.status_code, answer.json()["field"]) == (409, "licence")
    assert node.registry.recorder.max_notification_id() == before
    assert client.post("/api/v1/weapons/manufacture", headers=LICENSING, json={
        "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": "REF-1"}, "type": "pistol",
        "calibre": "5.7x28", "year": 2020, "holder": "FN"}).status_code == 409


def test_history_of_an_unknown_weapon_is_404_and_not_audited(client, context):
    answer = client.get("/api/v1/weapons/00000000-0000-4000-8000-000000000009", headers=POLICE)
    assert (answer.status_code, answer.json()["field"]) == (404, "weapon")
    assert reads(context) == []
