"""``GET /api/v1/epcis`` (a read, audited) and ``POST /api/v1/epcis`` (an import through the group committer,
all or nothing) on SQLite and PostgreSQL; refusals are 4xx naming the field and write nothing."""

from __future__ import annotations

from epcis_conformance import assert_valid

from domain.marking import Marking
from domain.roles import Role

from service_story import LICENSING, as_role, manufacture, reads

POLICE, CUSTOMS = as_role(Role.POLICE, "case 2026/9"), as_role(Role.CUSTOMS)

MADE = {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "eventTime": "2021-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": ["urn:armsledger:firearm:Beretta:IT:API-9"],
        "destinationList": [{"type": "owning_party", "destination": "urn:armsledger:party:Beretta"}],
        "ilmd": {"armsledger:type": "pistol", "armsledger:calibre": "9x19", "armsledger:year": 2020}}
DESTROYED = {"type": "ObjectEvent", "action": "DELETE", "bizStep": "destroying", "eventTime": "2021-02-01T00:00:00Z",
             "eventTimeZoneOffset": "+00:00", "epcList": ["urn:armsledger:firearm:Beretta:IT:API-9"],
             "eventID": "urn:uuid:00000000-0000-4000-8000-0000000000d1"}


def document(*events):
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"armsledger": "urn:armsledger:epcis:"}],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-05-02T10:00:00Z",
            "epcisBody": {"eventList": list(events)}}


def test_export_and_import_through_the_api(backend_client):
    client, context = backend_client
    weapon = manufacture(client, "EP-1")
    answer = client.get("/api/v1/epcis", params={"weapon": weapon[:8]}, headers=POLICE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/ld+json")
    exported = answer.json()
    assert_valid(exported)
    assert exported["epcisBody"]["eventList"][0]["ilmd"]["armsledger:calibre"] == "5.7x28"
    by_marking = client.get("/api/v1/epcis", headers=POLICE,
                            params={"manufacturer": "FN Herstal", "country": "BE", "serial": "EP-1"}).json()
    assert by_marking["epcisBody"] == exported["epcisBody"]
    assert [(r.action, r.subject, r.purpose) for r in reads(context)] == [("history", weapon, "case 2026/9")] * 2

    made = client.post("/api/v1/epcis", headers=LICENSING, json=document(MADE))
    assert made.status_code == 201, made.text
    new = str(Marking.read("Beretta", "IT", "API-9").weapon_id())
    assert made.json()["weapon_ids"] == [new]
    history = client.get(f"/api/v1/weapons/{new}", headers=POLICE).json()
    assert [(e["type"], e["authority_kind"]) for e in history["events"]] == [("Weapon.Manufactured", "licensing")]
    assert history["holder"] == "Beretta"


def test_refused_imports_and_exports_name_the_field_and_write_nothing(backend_client):
    client, context = backend_client
    other = {**MADE, "epcList": ["urn:armsledger:firearm:Beretta:IT:API-10"]}
    before = client.get("/api/v1/epcis", params={"since": "1970-01-01"}, headers=POLICE).json()["epcisBody"]
    # Customs may not record a manufacture: 403 naming the role, before anything is run.
    refused = client.post("/api/v1/epcis", headers=CUSTOMS, json=document(MADE))
    assert refused.status_code == 403 and refused.json()["field"] == "role", refused.text
    # Every record type of the document must be the role's: licensing may not record a destruction.
    refused = client.post("/api/v1/epcis", headers=LICENSING, json=document(other, {**DESTROYED, "epcList": [
        "urn:armsledger:firearm:Beretta:IT:API-10"]}))
    assert refused.status_code == 403 and "Weapon.Destroyed" in refused.json()["detail"], refused.text
    # A malformed second event, then a rule refusing the second event: the first one is not kept either.
    refused = client.post("/api/v1/epcis", headers=LICENSING, json=document(other, {**MADE, "eventTime": "bad"}))
    assert refused.status_code == 422 and refused.json()["field"] == "eventTime", refused.text
    assert "eventList[1]" in refused.json()["detail"]
    transfer = {**MADE, "action": "OBSERVE", "bizStep": "accepting", "armsledger:licence": "TL-404",
                "eventTime": "2021-03-01T00:00:00Z", "eventID": "urn:uuid:00000000-0000-4000-8000-0000000000e1"}
    refused = client.post("/api/v1/epcis", headers=LICENSING, json=document(other, {
        **transfer, "epcList": other["epcList"]}))
    assert refused.status_code == 409 and refused.json()["field"] == "armsledger:licence", refused.text
    assert "eventList[1] (urn:uuid:00000000-0000-4000-8000-0000000000e1)" in refused.json()["detail"]
    for params in ({"weapon": "abcd1234", "since": "2020-01-01"}, {}, {"since": "soon"}, {"weapon": "zz"},
                   {"shipment": "6f1c7d52-3a0e-4b6e-9a43-0f9d7e1c2b11"}):
        answer = client.get("/api/v1/epcis", params=params, headers=POLICE)
        assert answer.status_code in (404, 422) and answer.json()["field"] in ("weapon", "since", "shipment"), params
    assert client.get("/api/v1/epcis", params={"since": "1970-01-01"}, headers=POLICE).json()["epcisBody"] == before
