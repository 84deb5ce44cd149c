"""A test per role: what its officer may do through the API, and the 403 naming what it may not.

The role check comes before the domain's rules, so a refusal by role changes nothing and
says which role lacks which right or record type.
"""

from __future__ import annotations

import pytest

from domain.roles import Role

from service_story import as_role, manufacture

UNKNOWN_TRACE = "00000000-0000-4000-8000-00000000000a"


def post(client, role: Role, path: str, body: dict):
    return client.post(f"/api/v1{path}", headers=as_role(role), json=body)


def refused(answer, *words: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["field"] == "role"
    for word in words:
        assert word in answer.json()["detail"], answer.json()


DEACTIVATION_BODY = {"certificate": "C", "standard": "EU 2018/337", "inspecting_body": "PH",
                     "inspected_on": "2026-01-01"}


def test_licensing_records_manufacture_and_licences_not_police_reports(client):
    weapon = manufacture(client, "ROLE-L")
    assert post(client, Role.LICENSING, f"/weapons/{weapon}/mark", {"mark": "M1"}).status_code == 200
    refused(post(client, Role.LICENSING, f"/weapons/{weapon}/report-stolen", {}),
            "licensing role", "Weapon.ReportedStolen")
    refused(post(client, Role.LICENSING, f"/weapons/{weapon}/deactivate", DEACTIVATION_BODY),
            "licensing role", "Weapon.Deactivated")


def test_customs_records_imports_and_seizures_not_manufacture(client):
    answer = post(client, Role.CUSTOMS, "/weapons/import", {
        "marking": {"manufacturer": "Glock", "country": "AT", "serial": "C-1"}, "type": "pistol",
        "calibre": "9mm", "year": 2019, "from_state": "AT", "import_authorization": "IA-1", "holder": "Dealer"})
    assert answer.status_code == 201, answer.text
    refused(post(client, Role.CUSTOMS, "/weapons/manufacture", {
        "marking": {"manufacturer": "FN", "country": "BE", "serial": "C-2"}, "type": "pistol", "calibre": "9mm",
        "year": 2020, "holder": "FN"}), "customs role", "Weapon.Manufactured")
    refused(post(client, Role.CUSTOMS, "/licences", {
        "number": "X", "kind": "transfer_licence", "holder": "H", "valid_from": "2026-01-01",
        "valid_until": "2026-12-31"}), "customs role", "Licence.Issued")


def test_police_records_losses_and_seizures_not_licences_or_deactivation(client):
    weapon = manufacture(client, "ROLE-P")
    assert post(client, Role.POLICE, f"/weapons/{weapon}/report-lost", {"place": "Gent"}).status_code == 200
    refused(post(client, Role.POLICE, f"/weapons/{weapon}/deactivate", DEACTIVATION_BODY),
            "police role", "Weapon.Deactivated")
    refused(post(client, Role.POLICE, "/licences/transfer_licence/TL-1/revoke", {"reason": "r"}),
            "police role", "Licence.Revoked")


def test_tracing_records_trace_steps_only(client):
    weapon = manufacture(client, "ROLE-T")
    # Past the role check, refused by the domain: no such trace here.
    answer = post(client, Role.TRACING, f"/traces/{UNKNOWN_TRACE}/close", {"outcome": "done"})
    assert (answer.status_code, answer.json()["field"]) == (422, "trace")
    refused(post(client, Role.TRACING, f"/weapons/{weapon}/report-lost", {}), "tracing role", "Weapon.ReportedLost")
    assert client.get(f"/api/v1/weapons/{weapon}", headers=as_role(Role.TRACING)).status_code == 200


def test_deactivation_records_deactivation_and_destruction_only(client):
    weapon = manufacture(client, "ROLE-D")
    answer = post(client, Role.DEACTIVATION, f"/weapons/{weapon}/deactivate", {
        "certificate": "DC-9", "standard": "EU 2018/337", "inspecting_body": "PH", "inspected_on": "2026-01-01"})
    assert answer.status_code == 200, answer.text
    refused(post(client, Role.DEACTIVATION, f"/weapons/{weapon}/mark", {"mark": "M"}),
            "deactivation role", "Weapon.Marked")


def test_registry_answers_traces_and_keeps_the_register_not_exports(client):
    weapon = manufacture(client, "ROLE-R")
    assert post(client, Role.REGISTRY, f"/weapons/{weapon}/mark", {"mark": "R-1"}).status_code == 200
    answer = post(client, Role.REGISTRY, f"/traces/{UNKNOWN_TRACE}/respond", {})
    assert (answer.status_code, answer.json()["field"]) == (422, "trace")
    refused(post(client, Role.REGISTRY, "/shipments", {
        "weapon_ids": [weapon], "licence": "EL-1", "import_authorization": "IA-1", "to_state": "NL"}),
        "registry role", "Shipment.Opened")


def test_auditor_reads_and_verifies_but_records_nothing(client, node):
    weapon = manufacture(client, "ROLE-A")
    assert client.get(f"/api/v1/weapons/{weapon}", headers=as_role(Role.AUDITOR)).status_code == 200
    verify = client.get("/api/v1/node/verify", headers=as_role(Role.AUDITOR))
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text
    before = node.registry.recorder.max_notification_id()
    refused(post(client, Role.AUDITOR, f"/weapons/{weapon}/mark", {"mark": "A"}), "auditor role", "record")
    assert node.registry.recorder.max_notification_id() == before


def test_admin_manages_accounts_but_reads_no_weapon_and_records_nothing(client):
    weapon = manufacture(client, "ROLE-X")
    assert client.get("/api/v1/users", headers=as_role(Role.ADMIN)).status_code == 200
    refused(client.get(f"/api/v1/weapons/{weapon}", headers=as_role(Role.ADMIN)), "admin role", "read")
    refused(post(client, Role.ADMIN, f"/weapons/{weapon}/mark", {"mark": "A"}), "admin role", "record")
    refused(client.get("/api/v1/node/quarantine", headers=as_role(Role.ADMIN)), "admin role", "audit")
    refused(client.get("/api/v1/node/witnesses", headers=as_role(Role.ADMIN)), "admin role", "audit")


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_the_admin_manages_accounts(client, role):
    refused(client.get("/api/v1/users", headers=as_role(role)), f"{role.value} role", "admin")
