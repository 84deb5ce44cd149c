"""``/api/v1/disclosures`` on two nodes over a real broker, each driven through its HTTP API: FR's tracing
officer asks BE for the identity behind a holder reference, BE's registry releases it, FR reads it; roles
without the right get 403 naming ``role``, bad bodies 422 naming the field, a second answer 409, and nothing
is written on refusal. The release and the reading are in each node's read audit. FR writes through the
group committer. Both nodes on ``db_url`` (SQLite, then PostgreSQL: a database each)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from deploy.throwaway_postgres import throwaway_database
from domain.roles import Role
from nodes.service.app import create_app

from federation_nodes import Cluster
from retention_story import OLD_NAME, holders_story
from service_story import as_role, reads, service_of


@pytest.fixture
def pair(tmp_path, kafka_bootstrap, db_url, request) -> Iterator[tuple[Cluster, TestClient, TestClient]]:
    with contextlib.ExitStack() as stack:
        dbs = {"BE": db_url}
        if not db_url.endswith(".db"):
            dbs["FR"] = stack.enter_context(throwaway_database(request.getfixturevalue("pg_dsn"), "armsledger_test"))
        cluster = stack.enter_context(Cluster(tmp_path, kafka_bootstrap, ["BE", "FR"], db=dbs))
        be_context, fr_context = service_of(cluster["BE"]), service_of(cluster["FR"], group_commit=True)
        stack.callback(fr_context.committer.close)
        be = stack.enter_context(TestClient(create_app(be_context, desks=False)))
        fr = stack.enter_context(TestClient(create_app(fr_context, desks=False)))
        yield cluster, be, fr


def _error(answer, status: int) -> str:
    assert answer.status_code == status, answer.text
    return answer.text


def test_a_disclosure_asked_released_and_read_through_the_apis(pair):
    cluster, be, fr = pair
    be_node, fr_node = cluster["BE"], cluster["FR"]
    (be_node.settings.home / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": ["FR"]}}))
    holders = holders_story(be_node)
    cluster.settle()
    (weapon,) = [e.stream for _, e in fr_node.inbox.received_notifications(1, 1000)
                 if e.body.get("holder") == holders.old]
    tracing = as_role(Role.TRACING)
    asked = {"person": holders.old, "weapon_id": weapon, "purpose": "case 2026/77", "legal_basis": "CPP art 60-1"}

    assert "role" in _error(fr.post("/api/v1/disclosures", headers=as_role(Role.CUSTOMS), json=asked), 403)
    assert "person" in _error(fr.post("/api/v1/disclosures", headers=tracing,
                                      json={**asked, "person": "person:AAAAAAAAAAAAAAAAAAAAAAAAAA"}), 422)
    assert "purpose" in _error(fr.post("/api/v1/disclosures", headers=tracing, json={**asked, "purpose": ""}), 422)
    assert "weapon" in _error(fr.post("/api/v1/disclosures", headers=tracing, json={**asked, "weapon_id": "x"}), 422)
    assert fr.get("/api/v1/disclosures", headers=tracing).json() == {"disclosures": []}
    made = fr.post("/api/v1/disclosures", headers=tracing, json=asked)
    assert made.status_code == 201, made.text
    request = made.json()["request"]
    assert made.json()["event"] == "DisclosureRequest.Requested"
    cluster.settle()

    registry = as_role(Role.REGISTRY)
    assert "role" in _error(be.post(f"/api/v1/disclosures/{request}/release", headers=as_role(Role.POLICE),
                                    json={}), 403)
    assert "request" in _error(be.post("/api/v1/disclosures/ffff/release", headers=registry, json={}), 422)
    assert "reason" in _error(be.post(f"/api/v1/disclosures/{request}/refuse", headers=registry,
                                      json={"reason": ""}), 422)
    (listed,) = be.get("/api/v1/disclosures", headers=registry).json()["disclosures"]
    assert (listed["direction"], listed["status"]) == ("in", "requested")
    released = be.post(f"/api/v1/disclosures/{request[:8]}/release", headers=as_role(Role.REGISTRY, "FR 77"),
                       json={})
    assert released.status_code == 200, released.text
    assert "answered already" in _error(be.post(f"/api/v1/disclosures/{request}/release", headers=registry,
                                                json={}), 409)
    assert [(r.role, r.purpose) for r in reads(be.app.state.context) if r.action == "disclosure"] == [
        ("registry", "FR 77")]
    cluster.settle()

    assert "role" in _error(fr.get(f"/api/v1/disclosures/{request}", headers=as_role(Role.CUSTOMS)), 403)
    shown = fr.get(f"/api/v1/disclosures/{request}", headers=as_role(Role.TRACING, "case 2026/77"))
    assert shown.status_code == 200, shown.text
    assert shown.json()["identity"]["name"] == OLD_NAME and shown.json()["disclosure"]["status"] == "released"
    (read,) = [r for r in reads(fr.app.state.context) if r.action == "disclosure"]
    assert (read.role, read.purpose, read.subject) == ("tracing", "case 2026/77",
                                                       f"{request} {holders.old} released by BE")
