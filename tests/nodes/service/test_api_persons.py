"""``/api/v1/persons`` and private holders in the weapon routes, on both backends through the group committer:
references in records, subject access for the roles with the right (audited), refusals that write nothing."""

from __future__ import annotations

from domain.person import is_person_reference, new_person_reference
from domain.roles import Role

from service_story import LICENSING, as_role, day, issue, manufacture, reads

ANNA = {"name": "Anna Verhoeven", "date_of_birth": "1975-04-12", "address": "Kerkstraat 3, Gent"}
REGISTRY = as_role(Role.REGISTRY, "request of the holder")


def test_add_transfer_and_subject_access(backend_client):
    client, context = backend_client
    added = client.post("/api/v1/persons", headers=LICENSING, json=ANNA)
    assert added.status_code == 201 and added.json()["new"] is True
    ref = added.json()["person"]
    assert is_person_reference(ref)
    assert client.post("/api/v1/persons", headers=LICENSING, json={**ANNA, "name": "anna verhoeven"}).json() == {
        "person": ref, "new": False}
    issue(client, "TL-7", "transfer_licence", ref)
    weapon = manufacture(client, "FN57-0001")
    moved = client.post(f"/api/v1/weapons/{weapon}/transfer", headers=LICENSING,
                        json={"to_person": ANNA, "licence": "TL-7", "date": day(-1)})
    assert moved.status_code == 200, moved.text
    assert moved.json()["holder"] == ref
    shown = client.get(f"/api/v1/persons/{ref}", headers=REGISTRY)
    assert shown.status_code == 200, shown.text
    assert shown.json()["identity"]["address"] == "Kerkstraat 3, Gent"
    assert [r["type"] for r in shown.json()["records"]] == ["Licence.Issued", "Weapon.Transferred"]
    assert [(e.action, e.subject, e.purpose) for e in reads(context) if e.action == "person"] == [
        ("person", ref, "request of the holder")]
    for role in (Role.CUSTOMS, Role.AUDITOR):
        refused = client.get(f"/api/v1/persons/{ref}", headers=as_role(role))
        assert refused.status_code == 403 and refused.json()["field"] == "role"
    assert len([e for e in reads(context) if e.action == "person"]) == 1


def test_refusals_name_the_field_and_write_nothing(backend_client):
    client, context = backend_client
    weapon = manufacture(client, "FN57-0002")
    issue(client, "TL-8", "transfer_licence", "Jan Peeters")
    before = client.get(f"/api/v1/weapons/{weapon}", headers=LICENSING).json()
    assert [e["type"] for e in before["events"]] == ["Weapon.Manufactured"]
    for body, status, field in (
        ({"to_holder": "Jan Peeters", "to_person": ANNA, "licence": "TL-8"}, 422, "to_holder"),
        ({"licence": "TL-8"}, 422, "to_holder"),
        ({"to_holder": new_person_reference(), "licence": "TL-8"}, 404, "person"),
        ({"to_person": {**ANNA, "date_of_birth": "1975-13-01"}, "licence": "TL-8"}, 422, "date_of_birth"),
        ({"to_person": {**ANNA, "nickname": "A"}, "licence": "TL-8"}, 422, "to_person.nickname"),
        ({"to_person": ANNA, "licence": "TL-8"}, 409, "licence"),  # TL-8 is Jan Peeters's
    ):
        answer = client.post(f"/api/v1/weapons/{weapon}/transfer", headers=LICENSING, json=body)
        assert (answer.status_code, answer.json()["field"]) == (status, field), answer.text
    assert client.get(f"/api/v1/weapons/{weapon}", headers=LICENSING).json() == before
    assert context.vault().references() == []  # the refused transfer kept no identity
    assert client.get(f"/api/v1/persons/{new_person_reference()}", headers=REGISTRY).status_code == 404
    assert client.get("/api/v1/persons/Anna", headers=REGISTRY).json()["field"] == "person"
    assert client.post("/api/v1/persons", headers=as_role(Role.AUDITOR), json=ANNA).status_code == 403
    assert [e for e in reads(context) if e.action == "person"] == []


def test_a_recovery_returns_the_weapon_to_a_holder_this_node_knows(backend_client):
    client, _context = backend_client
    weapon = manufacture(client, "FN57-0003")
    police = as_role(Role.POLICE)
    assert client.post(f"/api/v1/weapons/{weapon}/report-stolen", headers=police, json={"place": "Gent"}).status_code \
        == 200
    unknown = client.post(f"/api/v1/weapons/{weapon}/recover", headers=police,
                          json={"holder": new_person_reference()})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "person")
    ref = client.post("/api/v1/persons", headers=LICENSING, json=ANNA).json()["person"]
    recovered = client.post(f"/api/v1/weapons/{weapon}/recover", headers=police, json={"holder": ref})
    assert recovered.status_code == 200, recovered.text
    assert client.get(f"/api/v1/weapons/{weapon}", headers=LICENSING).json()["holder"] == ref
