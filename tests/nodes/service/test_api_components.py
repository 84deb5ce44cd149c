"""Components and conversions through the API: the routes call what the CLI calls, through the group
committer on both backends; refusals answer 4xx naming the field and write nothing; a component read is
audited."""

from __future__ import annotations

from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

POLICE, AUDITOR = as_role(Role.POLICE, "case 9"), as_role(Role.AUDITOR)


def part(kind: str, serial: str) -> dict:
    return {"kind": kind, "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": serial}}


def test_assemble_replace_convert_and_read_a_component_on_each_backend(backend_client):
    client, context = backend_client
    weapon = manufacture(client, "API-C1")
    answer = client.post(f"/api/v1/weapons/{weapon[:8]}/assemble", headers=LICENSING,
                         json={"components": [part("frame", "F-1"), part("barrel", "B-1")], "date": day(-20)})
    assert answer.status_code == 201, answer.text
    assert answer.json()["event"] == "Weapon.Assembled" and len(answer.json()["component_ids"]) == 2
    answer = client.post(f"/api/v1/weapons/{weapon}/replace-component", headers=LICENSING, json={
        "kind": "barrel", "new": part("barrel", "B-2")["marking"], "reason": "worn", "date": day(-10)})
    assert answer.status_code == 201, answer.text
    issue(client, "CV-1", "conversion_licence", "FN Herstal")
    answer = client.post(f"/api/v1/weapons/{weapon}/convert", headers=LICENSING,
                         json={"kind": "alarm-to-firearm", "licence": "CV-1", "date": day(-5)})
    assert answer.status_code == 201, answer.text
    shown = client.get("/api/v1/components/FN Herstal/BE/B-1", headers=POLICE)
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "loose" and shown.json()["weapons"][0]["removed"] == "worn"
    destroyed = client.post("/api/v1/components/FN Herstal/BE/B-1/destroy", headers=as_role(Role.DEACTIVATION),
                            json={"method": "shredding"})
    assert destroyed.status_code == 201, destroyed.text
    assert destroyed.json() == {"event": "Component.Destroyed", "component_id": shown.json()["component_id"]}
    history = client.get(f"/api/v1/weapons/{weapon}", headers=POLICE).json()
    assert [p["marking"]["serial"] for p in history["components"]] == ["B-2", "F-1"]
    assert history["conversions"] == ["alarm-to-firearm"]
    assert [(r.action, r.subject) for r in reads(context)][0] == ("component", shown.json()["component_id"])


def test_refusals_name_the_field_and_write_nothing(client, context):
    weapon = manufacture(client, "API-C2")
    before = context.node.registry.recorder.max_notification_id()
    cases = [
        ("assemble", LICENSING, {"components": []}, 422, "components"),
        ("assemble", LICENSING, {"components": [part("grip", "G-1")]}, 422, "component"),
        ("assemble", LICENSING, {"components": [part("frame", "F-1")], "extra": 1}, 422, "extra"),
        ("assemble", POLICE, {"components": [part("frame", "F-1")]}, 409, "weapon"),
        ("assemble", AUDITOR, {"components": [part("frame", "F-1")]}, 403, "role"),
        ("replace-component", LICENSING, {"kind": "frame", "new": part("frame", "F-2")["marking"], "reason": "x"},
         409, "kind"),
        ("replace-component", POLICE, {"kind": "frame", "new": part("frame", "F-2")["marking"], "reason": "x"},
         403, "role"),
        ("convert", LICENSING, {"kind": "calibre"}, 422, "calibre"),
        ("convert", LICENSING, {"kind": "alarm-to-firearm", "licence": "NONE"}, 409, "licence"),
    ]
    for path, headers, body, status, field in cases:
        answer = client.post(f"/api/v1/weapons/{weapon}/{path}", headers=headers, json=body)
        assert answer.status_code == status, (path, body, answer.text)
        assert field in answer.text, (path, answer.text)
    assert context.node.registry.recorder.max_notification_id() == before
    refused = client.post("/api/v1/components/FN Herstal/BE/F-1/destroy", headers=LICENSING, json={"method": "x"})
    assert refused.status_code == 404 and refused.json()["field"] == "component"
    missing = client.get("/api/v1/components/FN Herstal/BE/F-1", headers=POLICE)
    assert missing.status_code == 404 and missing.json()["field"] == "component"
    assert client.post("/api/v1/weapons/0000/assemble", headers=LICENSING,
                       json={"components": [part("frame", "F-1")]}).status_code == 422
    assert reads(context) == []  # a refused read is no read
