"""``/api/v1/brokers`` on each backend through the group committer: the register's life and activities,
a licence and an export naming a broker, the read audit, roles, and refusals (4xx naming the field,
nothing written)."""

from __future__ import annotations

from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

POLICE, CUSTOMS = as_role(Role.POLICE), as_role(Role.CUSTOMS)


def register(client, number="BR-1", **fields):
    return client.post("/api/v1/brokers", headers=LICENSING, json={
        "number": number, "name": "Trade SA", "seat": "Rue Haute 1, Brussels", "valid_from": day(-60),
        "valid_until": day(30), "date": day(-60), **fields})


def stored(context) -> int:
    return context.node.registry.recorder.max_notification_id() or 0


def test_a_broker_registered_acts_is_suspended_and_read_with_its_activities(backend_client):
    client, context = backend_client
    registered = register(client)
    assert registered.status_code == 201, registered.text
    weapon = manufacture(client, "API-BRK-1")
    acted = client.post("/api/v1/brokers/BR-1/activities", headers=LICENSING, json={
        "kind": "negotiation", "parties": ["Buyer Ltd", "FN Herstal"], "weapons": [weapon[:8]], "date": day(-20)})
    assert acted.status_code == 201, acted.text
    suspended = client.post("/api/v1/brokers/BR-1/suspend", headers=LICENSING,
                            json={"until": day(-1), "reason": "inspection", "date": day(-10)})
    assert suspended.status_code == 200, suspended.text
    renewed = client.post("/api/v1/brokers/br-1/renew", headers=LICENSING, json={"valid_until": day(400)})
    assert renewed.status_code == 200, renewed.text
    shown = client.get("/api/v1/brokers/BR-1", headers=as_role(Role.POLICE, "dealer check"))
    assert shown.status_code == 200, shown.text
    document = shown.json()
    assert (document["state"], document["broker_id"], len(document["periods"])) == (
        "registered", registered.json()["broker_id"], 2)
    assert [(a["kind"], a["weapons"]) for a in document["activities"]] == [("negotiation", [weapon])]
    assert document["suspensions"][0]["reason"] == "inspection"
    revoked = client.post("/api/v1/brokers/BR-1/revoke", headers=LICENSING, json={"reason": "convicted"})
    assert revoked.status_code == 200, revoked.text
    listed = client.get("/api/v1/brokers", params={"state": "revoked"}, headers=POLICE).json()["brokers"]
    assert [b["number"] for b in listed] == ["BR-1"]
    assert [(r.action, r.subject, r.purpose) for r in reads(context)][-2:] == [
        ("licence", "broker BR-1 of BE", "dealer check"), ("licence", "brokers state=revoked", "")]


def test_a_licence_and_an_export_name_only_a_broker_in_force(backend_client):
    client, context = backend_client
    assert register(client).status_code == 201
    issue(client, "EL-1", "export_licence", "FN Herstal", export_state="BE", import_state="NL", broker="BR-1",
          date=day(-30))
    assert client.get("/api/v1/licences/EL-1", headers=POLICE).json()["broker"] == "BR-1"
    weapons = [manufacture(client, f"API-EXP-{n}") for n in range(2)]
    export = {"licence": "EL-1", "import_authorization": "IA-NL-1", "to_state": "NL", "date": day(-2)}
    client.post("/api/v1/brokers/BR-1/suspend", headers=LICENSING,
                json={"until": day(-1), "reason": "inspection", "date": day(-3)})
    before = stored(context)
    during = client.post("/api/v1/shipments", headers=CUSTOMS, json={**export, "weapon_ids": weapons[:1]})
    other = client.post("/api/v1/shipments", headers=CUSTOMS,
                        json={**export, "weapon_ids": weapons[:1], "broker": "BR-2", "date": day(0)})
    assert (during.status_code, during.json()["field"]) == (409, "broker"), during.text
    assert "suspended" in during.json()["detail"]
    assert (other.status_code, other.json()["field"]) == (409, "broker")
    assert stored(context) == before
    after = client.post("/api/v1/shipments", headers=CUSTOMS, json={**export, "weapon_ids": weapons, "date": day(0)})
    assert after.status_code == 201, after.text


def test_refusals_name_the_field_and_write_nothing(backend_client):
    client, context = backend_client
    assert register(client).status_code == 201
    before = stored(context)
    refusals = [
        (register(client), 422, "number"),
        (register(client, "BR-2", valid_until=day(-90)), 422, "valid_until"),
        (register(client, "BR-3", extra="x"), 422, "extra"),
        (client.post("/api/v1/brokers", headers=POLICE, json={
            "number": "BR-4", "name": "X", "seat": "Y", "valid_from": day(0), "valid_until": day(1)}), 403, "role"),
        (client.post("/api/v1/brokers/BR-9/renew", headers=LICENSING, json={"valid_until": day(900)}), 409, "number"),
        (client.post("/api/v1/brokers/BR-1/suspend", headers=LICENSING,
                     json={"until": day(-5), "reason": "x", "date": day(-1)}), 422, "until"),
        (client.post("/api/v1/brokers/BR-1/activities", headers=LICENSING,
                     json={"kind": "negotiation", "parties": ["X"]}), 422, "weapons"),
        (client.post("/api/v1/brokers/BR-1/activities", headers=LICENSING,
                     json={"kind": "negotiation", "parties": ["X"], "licences": ["EL-404"]}), 409, "licences"),
        (client.post("/api/v1/brokers/BR-1/activities", headers=LICENSING,
                     json={"kind": "negotiation", "parties": ["X"], "description": "y", "date": day(-90)}), 409,
         "broker"),
        (client.post("/api/v1/licences", headers=LICENSING, json={
            "number": "EL-9", "kind": "export_licence", "holder": "FN", "valid_from": day(-1), "valid_until": day(1),
            "export_state": "BE", "import_state": "NL", "broker": "BR-404"}), 409, "broker"),
        (client.get("/api/v1/brokers", params={"state": "dormant"}, headers=POLICE), 422, "state"),
        (client.get("/api/v1/brokers/BR-404", headers=POLICE), 409, "number"),
    ]
    for answer, status, field in refusals:
        assert (answer.status_code, answer.json().get("field")) == (status, field), answer.text
    assert stored(context) == before
