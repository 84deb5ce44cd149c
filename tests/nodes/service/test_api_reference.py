"""The reference table through the API: loaded by the registry or an administrator only, searched and shown by
every reader, refusals naming the field and writing nothing; record answers carry the entry matched or the flag
(on each backend, through the group committer)."""

from __future__ import annotations

from domain.roles import Role

from service_story import as_role, day

HEADER = "id,make,model,type,calibre,country,source\n"
REGISTRY, ADMIN, POLICE = as_role(Role.REGISTRY), as_role(Role.ADMIN), as_role(Role.POLICE)
IMPORT = "/api/v1/reference/import"


def test_the_registry_loads_the_table_and_records_are_answered_with_their_match(backend_client):
    client, _ = backend_client
    loaded = client.post(IMPORT, headers=REGISTRY, json={"starter": True})
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["loaded"] == loaded.json()["entries"] > 40
    made = client.post("/api/v1/weapons/manufacture", headers=as_role(Role.LICENSING), json={
        "marking": {"manufacturer": "Glock", "country": "AT", "serial": "API-REF-1"}, "type": "pistol",
        "make": "Glock", "model": "17", "calibre": "9mm Luger", "year": 2020, "holder": "Glock", "date": day(-3)})
    assert made.status_code == 201, made.text
    assert made.json()["reference"]["id"] == "ST-0001"
    seized = client.post("/api/v1/weapons/seize", headers=POLICE, json={
        "marking": {"manufacturer": "Glock", "country": "AT", "serial": "API-REF-2"}, "make": "Glock",
        "model": "99", "calibre": "9mm", "place": "Gent", "date": day(-1)})
    assert seized.status_code == 201, seized.text
    assert seized.json()["reference"]["status"] == "unmatched" and "'99'" in seized.json()["reference"]["reason"]
    history = client.get(f"/api/v1/weapons/{seized.json()['weapon_id']}", headers=POLICE).json()
    assert history["reference"]["status"] == "unmatched" and history["events"][0]["reference"]["status"] == "unmatched"
    stolen = client.post("/api/v1/reports/stolen", headers=POLICE, json={
        "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": "API-REF-3"}, "make": "FN",
        "model": "Five-seveN", "calibre": "5.7x28", "date": day(-1)})
    assert stolen.status_code == 201, stolen.text
    assert stolen.json()["reference"]["id"] == "ST-0008"


def test_readers_search_and_show(client):
    assert client.post(IMPORT, headers=ADMIN, json={"csv": HEADER + "NAT-1,Glock,17,pistol,9mm,AT,x\n"}
                       ).json()["loaded"] == 1
    found = client.get("/api/v1/reference", params={"text": "glock", "calibre": "9x19"}, headers=POLICE)
    assert found.status_code == 200 and [e["id"] for e in found.json()["entries"]] == ["NAT-1"]
    shown = client.get("/api/v1/reference/nat-1", headers=as_role(Role.AUDITOR))
    assert shown.status_code == 200 and shown.json()["calibre"] == "9mm"
    assert client.get("/api/v1/reference/NAT-1").status_code == 401
    assert client.get("/api/v1/reference/NAT-1", headers=ADMIN).status_code == 403  # admins read no register


def test_refusals_name_the_field_and_load_nothing(client):
    good = HEADER + "NAT-1,Glock,17,pistol,9mm,AT,x\n"
    bad = HEADER + "NAT-2,Glock,19,pistol,9mm,AT,x\nNAT-3,Glock,26,pistol,,AT,x\nNAT-4,,26,pistol,9mm,AT,x\n"
    client.post(IMPORT, headers=REGISTRY, json={"csv": good})
    refused = client.post(IMPORT, headers=REGISTRY, json={"csv": bad, "replace": True})
    assert refused.status_code == 422 and refused.json()["field"] == "csv"
    assert refused.json()["errors"] == [
        {"field": "line 3: calibre", "reason": "is required (one or more, separated by ';')"},
        {"field": "line 4: make", "reason": "is required"}]
    for body, field in (({"csv": good, "starter": True}, "csv"), ({}, "csv"), ({"csv": good, "owner": 1}, "owner")):
        answer = client.post(IMPORT, headers=REGISTRY, json=body)
        assert answer.status_code == 422 and field in str(answer.json()), answer.text
    forbidden = client.post(IMPORT, headers=POLICE, json={"csv": bad})
    assert forbidden.status_code == 403 and "police role may not load" in forbidden.json()["detail"]
    for params, field in (({}, "text"), ({"text": "x", "limit": 0}, "limit")):
        answer = client.get("/api/v1/reference", params=params, headers=POLICE)
        assert answer.status_code == 422 and field in str(answer.json()), answer.text
    missing = client.get("/api/v1/reference/NAT-404", headers=POLICE)
    assert missing.status_code == 422 and missing.json()["field"] == "id"
    everything = client.get("/api/v1/reference", params={"text": "glock"}, headers=POLICE).json()
    assert [e["id"] for e in everything["entries"]] == ["NAT-1"]
