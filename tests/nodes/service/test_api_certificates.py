"""Deactivation with its certificate, the certificate file (download, verify and print by upload) and
reactivation through the API, on SQLite and PostgreSQL with the group committer."""

from __future__ import annotations

import json

from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

DEACTIVATION, POLICE = as_role(Role.DEACTIVATION), as_role(Role.POLICE)
CERTIFICATE = {"certificate": "DC-77", "standard": "EU 2018/337", "inspecting_body": "Banc d'Epreuves de Liege",
               "inspected_on": day(-3), "date": day(-2), "method": "EU 2015/2403"}


def _history(client, weapon: str) -> dict:
    return client.get(f"/api/v1/weapons/{weapon}", headers=POLICE).json()


def test_a_certificate_is_issued_downloaded_verified_printed_and_ended_by_reactivation(backend_client):
    client, context = backend_client
    weapon = manufacture(client, "API-DC-1")
    for body, status, field in (({**CERTIFICATE, "standard": ""}, 422, "standard"),
                                ({**CERTIFICATE, "inspected_on": day(-1)}, 422, "inspected_on"),
                                ({**CERTIFICATE, "colour": "red"}, 422, "colour")):
        refused = client.post(f"/api/v1/weapons/{weapon}/deactivate", headers=DEACTIVATION, json=body)
        assert (refused.status_code, refused.json()["field"]) == (status, field), refused.text
    refused = client.post(f"/api/v1/weapons/{weapon}/deactivate", headers=POLICE, json=CERTIFICATE)
    assert refused.status_code == 403 and "Weapon.Deactivated" in refused.text
    assert [e["type"] for e in _history(client, weapon)["events"]] == ["Weapon.Manufactured"]

    done = client.post(f"/api/v1/weapons/{weapon[:8]}/deactivate", headers=DEACTIVATION, json=CERTIFICATE)
    assert done.status_code == 200, done.text
    download = client.get(f"/api/v1/weapons/{weapon[:8]}/certificate", headers=as_role(Role.POLICE, "border check"))
    assert download.status_code == 200, download.text
    assert 'filename="deactivation-certificate-DC-77.json"' in download.headers["content-disposition"]
    assert ("police", "history", weapon, "border check") in [(r.user_name, r.action, r.subject, r.purpose)
                                                            for r in reads(context)]
    report = client.post("/api/v1/certificates/verify", headers=POLICE, content=download.content).json()
    assert report["valid"] and report["certificate"]["inspecting_body"] == "Banc d'Epreuves de Liege"
    tampered = download.content.replace(b"DC-77", b"DC-78", 1)
    report = client.post("/api/v1/certificates/verify", headers=POLICE, content=tampered).json()
    assert not report["valid"] and [c["check"] for c in report["checks"] if not c["passed"]][0] == "content"
    page = client.post("/api/v1/certificates/print", headers=POLICE, content=download.content)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "DC-77" in page.text
    assert client.post("/api/v1/certificates/print", headers=POLICE, content=tampered).json()["field"] == "file"

    reactivation = {"licence": "RL-9", "reason": "restored for a museum", "date": day(-1)}
    answer = client.post(f"/api/v1/weapons/{weapon}/reactivate", headers=LICENSING, json=reactivation)
    assert (answer.status_code, answer.json()["field"]) == (409, "licence"), answer.text
    issue(client, "RL-9", "reactivation_licence", "Musée d'Armes", weapons=[weapon])
    answer = client.post(f"/api/v1/weapons/{weapon}/reactivate", headers=DEACTIVATION, json=reactivation)
    assert answer.status_code == 403 and "Weapon.Reactivated" in answer.text
    answer = client.post(f"/api/v1/weapons/{weapon}/reactivate", headers=LICENSING, json=reactivation)
    assert answer.status_code == 200 and answer.json()["event"] == "Weapon.Reactivated", answer.text
    history = _history(client, weapon)
    assert (history["status"], history["flags"], history["holder"]) == ("active", ["reactivated"], "Musée d'Armes")
    found = client.get("/api/v1/weapons", params={"serial": "API-DC-1"}, headers=POLICE).json()["matches"]
    assert found[0]["flags"] == ["reactivated"]
    verdict = client.get(f"/api/v1/weapons/{weapon}/verdict", headers=POLICE).json()
    assert verdict["reactivated"] and "reactivated in BE" in verdict["sentence"]
    ended = client.get(f"/api/v1/weapons/{weapon}/certificate", headers=POLICE)
    assert (ended.status_code, ended.json()["field"]) == (409, "weapon") and "no longer holds" in ended.text
    assert json.loads(download.content)["certificate"]["weapon_id"] == weapon
