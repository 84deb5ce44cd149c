"""Licences listed and shown, a holder's weapons, shipments by direction and authorizations, through
the API on each backend: answers, refusals naming the field (4xx, nothing read) and reads audited."""

from __future__ import annotations

from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

POLICE, CUSTOMS = as_role(Role.POLICE), as_role(Role.CUSTOMS)


def test_licences_are_listed_filtered_and_shown_with_their_use(backend_client):
    client, context = backend_client
    issue(client, "EL-1", "export_licence", "FN Herstal", export_state="BE", import_state="NL", quantity=2,
          place_of_issue="Brussels", description="2 pistols", end_user="Police NL")
    issue(client, "TL-1", "transfer_licence", "Jan Peeters", valid_from=day(-60), valid_until=day(-1))
    listed = client.get("/api/v1/licences", headers=as_role(Role.POLICE, "dealer check"))
    assert [d["number"] for d in listed.json()["licences"]] == ["EL-1", "TL-1"]
    expired = client.get("/api/v1/licences", params={"state": "expired", "holder": "jan peeters"}, headers=POLICE)
    assert [d["number"] for d in expired.json()["licences"]] == ["TL-1"]
    weapon = manufacture(client, "E-1")
    exported = client.post("/api/v1/shipments", headers=CUSTOMS, json={
        "weapon_ids": [weapon], "licence": "EL-1", "import_authorization": "IA-NL-1", "to_state": "NL"})
    assert exported.status_code == 201, exported.text
    shown = client.get("/api/v1/licences/el-1", headers=POLICE).json()
    assert (shown["place_of_issue"], shown["description"], shown["end_user"]) == ("Brussels", "2 pistols", "Police NL")
    assert (shown["quantity_used"], shown["quantity_left"], shown["signature"]) == (1, 1, "verified")
    assert [s["shipment_id"] for s in shown["shipments"]] == [exported.json()["shipment_id"]]
    assert [(r.action, r.subject, r.purpose) for r in reads(context)][-3:] == [
        ("licence", "licences", "dealer check"), ("licence", "licences holder=jan peeters state=expired", ""),
        ("licence", "export_licence EL-1 of BE", "")]


def test_bad_filters_and_unknown_numbers_are_refused_naming_the_field(client, context):
    issue(client, "EL-1", "export_licence", "FN Herstal", export_state="BE", import_state="NL")
    for params, field in (({"state": "lapsed"}, "state"), ({"kind": "gun"}, "kind"),
                          ({"valid_on": "someday"}, "valid_on")):
        answer = client.get("/api/v1/licences", params=params, headers=POLICE)
        assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    unknown = client.get("/api/v1/licences/EL-404", headers=POLICE)
    assert (unknown.status_code, unknown.json()["field"]) == (409, "number")
    assert "'EL-404'" in unknown.json()["detail"]
    direction = client.get("/api/v1/shipments", params={"direction": "sideways"}, headers=CUSTOMS)
    assert direction.status_code == 422
    blank = client.get("/api/v1/holders/weapons", params={"holder": "  "}, headers=POLICE)
    assert (blank.status_code, blank.json()["field"]) == (422, "holder")
    assert reads(context) == []


def test_a_holders_weapons_with_their_status(client, context):
    kept, stolen = manufacture(client, "H-1", holder="Jan Peeters"), manufacture(client, "H-2", holder="Jan Peeters")
    manufacture(client, "H-3", holder="Someone Else")
    reported = client.post(f"/api/v1/weapons/{stolen}/report-stolen", headers=POLICE, json={"date": day(-1)})
    assert reported.status_code == 200, reported.text
    found = client.get("/api/v1/holders/weapons", params={"holder": "jan peeters"}, headers=POLICE).json()
    assert {w["weapon_id"]: w["status"] for w in found["weapons"]} == {kept: "active", stolen: "stolen"}
    assert reads(context)[-1].subject == "holder jan peeters"


def test_shipments_by_direction_and_the_authorizations(client):
    issue(client, "EL-1", "export_licence", "FN Herstal", export_state="BE", import_state="NL")
    issue(client, "IA-1", "import_authorization", "Dealer BE", export_state="NL", import_state="BE", quantity=3)
    weapon = manufacture(client, "S-1")
    client.post("/api/v1/shipments", headers=CUSTOMS, json={
        "weapon_ids": [weapon], "licence": "EL-1", "import_authorization": "IA-NL-1", "to_state": "NL"})
    both = client.get("/api/v1/shipments", headers=CUSTOMS).json()
    assert both["incoming"] == [] and [s["weapons"] for s in both["outgoing"]] == [[weapon]]
    assert both["outgoing"][0]["days_open"] == 0
    incoming = client.get("/api/v1/shipments", params={"direction": "incoming"}, headers=CUSTOMS).json()
    assert incoming == {"overdue_days": None, "incoming": []}
    (sent,) = client.get("/api/v1/authorizations", headers=CUSTOMS).json()["authorizations"]
    assert (sent["number"], sent["direction"], sent["quantity_left"]) == ("IA-1", "sent", 3)
    assert client.get("/api/v1/authorizations", headers=LICENSING).status_code == 200
