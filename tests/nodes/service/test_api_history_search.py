"""``GET /api/v1/weapons/{id}`` and ``GET /api/v1/weapons`` on SQLite and PostgreSQL: the weapon by
the start of its id, ``own=true``, a cut search with its count and note; refusals 4xx naming the
field, and no read audited for them."""

from __future__ import annotations

from domain.roles import Role

from service_story import as_role, manufacture, reads

POLICE = as_role(Role.POLICE)


def test_the_history_by_the_start_of_the_id_and_a_paged_search(backend_client):
    client, context = backend_client
    weapons = [manufacture(client, f"PAGE-{n}") for n in (1, 2, 3)]
    whole = client.get(f"/api/v1/weapons/{weapons[0]}", headers=POLICE).json()
    short = client.get(f"/api/v1/weapons/{weapons[0][:8]}", headers=POLICE)
    assert short.status_code == 200 and short.json() == whole and whole["own_only"] is False
    assert client.get(f"/api/v1/weapons/{weapons[0][:8]}", params={"own": "true"}, headers=POLICE).json()["own_only"]
    page = client.get("/api/v1/weapons", params={"serial": "PAGE*", "limit": 2}, headers=POLICE).json()
    assert [m["weapon_id"] for m in page["matches"]] == weapons[:2]
    assert (page["total"], page["cut"], page["note"]) == (3, True, "showing 1-2 of 3; offset/limit to page")
    rest = client.get("/api/v1/weapons", params={"serial": "PAGE*", "offset": 2}, headers=POLICE).json()
    assert [m["weapon_id"] for m in rest["matches"]] == weapons[2:]
    assert [(r.action, r.subject) for r in reads(context)] == [
        ("history", weapons[0]), ("history", weapons[0]), ("history", weapons[0]), ("search", "PAGE*"),
        ("search", "PAGE*")]


def test_refusals_name_the_field_and_are_not_audited(backend_client):
    client, context = backend_client
    manufacture(client, "PAGE-1")
    unknown = client.get("/api/v1/weapons/abcd0000", headers=POLICE)
    malformed = client.get("/api/v1/weapons/not-an-id", headers=POLICE)
    no_criterion = client.get("/api/v1/weapons", headers=POLICE)
    too_many = client.get("/api/v1/weapons", params={"serial": "PAGE*", "limit": 1001}, headers=POLICE)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "weapon")
    assert "abcd0000" in unknown.json()["detail"]
    assert (malformed.status_code, malformed.json()["field"]) == (422, "weapon")
    assert (no_criterion.status_code, no_criterion.json()["field"]) == (422, "serial")
    assert too_many.status_code == 422 and "limit" in too_many.text
    missing = client.get("/api/v1/weapons/00000000-0000-4000-8000-000000000000", headers=POLICE)
    assert missing.status_code == 404 and "00000000-0000-4000-8000-000000000000" in missing.json()["detail"]
    assert reads(context) == []
