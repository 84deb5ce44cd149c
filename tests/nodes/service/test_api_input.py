"""What the service does with bad or missing credentials, bad bodies, huge bodies, and what every
answer carries: 401/403/413/422 with a reason naming the field, security headers, the OpenAPI 3.1
document and the interactive docs."""

from __future__ import annotations

import pytest

from domain.roles import Role

from service_story import LICENSING, as_role, manufacture, reads

GOOD = {"marking": {"manufacturer": "FN", "country": "BE", "serial": "IN-1"}, "type": "pistol",
        "calibre": "9mm", "year": 2020, "holder": "FN"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"},
                                     {"Cookie": "armsledger_session=unknown"}])
def test_no_valid_credentials_is_401(client, headers):
    answer = client.post("/api/v1/weapons/manufacture", headers=headers, json=GOOD)
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["detail"]
    assert client.get("/api/v1/weapons", params={"serial": "X"}, headers=headers).status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"year": 0}, "year"),
    ({"year": "soon"}, "year"),
    ({"holder": ""}, "holder"),
    ({"marking": {"manufacturer": "FN", "country": "BEL", "serial": "S"}}, "marking.country"),
    ({"marking": {"manufacturer": "FN", "country": "ZZ", "serial": "S"}}, "country"),
    ({"date": "yesterday"}, "date"),
    ({"colour": "black"}, "colour"),
    ({"marking": {"manufacturer": "FN", "country": "BE", "serial": "S", "extra": 1}}, "marking.extra"),
])
def test_a_bad_body_is_422_naming_the_field(client, change, field):
    answer = client.post("/api/v1/weapons/manufacture", headers=LICENSING, json={**GOOD, **change})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.json()
    assert answer.json()["detail"].startswith(f"{field}: ")


def test_a_missing_field_and_a_body_that_is_no_json_are_422(client):
    missing = client.post("/api/v1/weapons/manufacture", headers=LICENSING,
                          json={k: v for k, v in GOOD.items() if k != "calibre"})
    assert (missing.status_code, missing.json()["field"]) == (422, "calibre")
    garbled = client.post("/api/v1/weapons/manufacture", headers={**LICENSING, "Content-Type": "application/json"},
                          content=b"{not json")
    assert garbled.status_code == 422


def test_a_bad_path_or_query_parameter_is_422_naming_it(client):
    answer = client.post("/api/v1/weapons/not-a-uuid/transfer", headers=as_role(Role.LICENSING),
                         json={"to_holder": "Dealer A", "licence": "TL-1"})
    assert (answer.status_code, answer.json()["field"]) == (422, "path.weapon_id")
    answer = client.get("/api/v1/weapons/not-a-uuid", headers=as_role(Role.POLICE))  # an id or its start
    assert (answer.status_code, answer.json()["field"]) == (422, "weapon")
    assert "'not-a-uuid'" in answer.json()["detail"]
    answer = client.get("/api/v1/shipments", params={"overdue_days": -1}, headers=as_role(Role.CUSTOMS))
    assert (answer.status_code, answer.json()["field"]) == (422, "query.overdue_days")
    answer = client.get("/api/v1/licences/permit/7", headers=as_role(Role.POLICE))
    assert (answer.status_code, answer.json()["field"]) == (422, "kind")


def test_a_huge_body_is_413_before_any_route_reads_it(client, node):
    before = node.registry.recorder.max_notification_id()
    answer = client.post("/api/v1/weapons/manufacture", headers=LICENSING,
                         json={**GOOD, "holder": "x" * 2_000_000})
    assert answer.status_code == 413, answer.text
    assert answer.json()["field"] == "body"
    streamed = client.post("/api/v1/weapons/manufacture", headers={**LICENSING, "Content-Type": "application/json"},
                           content=(b"x" * 100_000 for _ in range(20)))
    assert streamed.status_code == 413, streamed.text
    assert node.registry.recorder.max_notification_id() == before


def test_every_answer_carries_the_security_headers(client):
    for answer in (client.get("/healthz"), client.get("/api/v1/weapons", params={"serial": "X"}),
                   client.post("/api/v1/weapons/manufacture", headers=LICENSING, json={})):
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "server" not in {k.lower() for k in answer.headers} or "uvicorn" not in answer.headers["server"]


def test_openapi_is_3_1_and_lists_every_officer_action(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in ("/api/v1/weapons/manufacture", "/api/v1/weapons/import", "/api/v1/weapons/seize",
                 "/api/v1/weapons/{weapon_id}/transfer", "/api/v1/weapons/{weapon_id}/destroy",
                 "/api/v1/weapons/{weapon_id}", "/api/v1/weapons", "/api/v1/weapons/{weapon_id}/verdict",
                 "/api/v1/licences", "/api/v1/licences/{kind}/{number}", "/api/v1/shipments",
                 "/api/v1/shipments/receipt", "/api/v1/traces", "/api/v1/traces/{trace_id}/refuse",
                 "/api/v1/statistics", "/api/v1/node/quarantine", "/api/v1/node/verify", "/api/v1/session",
                 "/api/v1/tokens", "/api/v1/users", "/api/v1/audit/reads", "/healthz", "/readyz", "/metrics"):
        assert path in paths, path
    destroy = paths["/api/v1/weapons/{weapon_id}/destroy"]["post"]["requestBody"]["content"]["application/json"]
    assert destroy["schema"]["$ref"].endswith("/Destroy")
    assert document["components"]["schemas"]["Destroy"]["additionalProperties"] is False


def test_the_interactive_docs_are_served(client):
    answer = client.get("/docs")
    assert answer.status_code == 200 and "swagger" in answer.text.lower()
    assert "/openapi.json" in answer.text


def test_a_write_answers_after_its_record_is_sealed(client, node):
    weapon = manufacture(client, "SEAL-1")
    checkpoint = node.sealer.latest_checkpoint()
    assert checkpoint is not None and checkpoint.size == node.registry.recorder.max_notification_id()
    assert weapon


def test_a_purpose_over_500_characters_is_422_naming_the_header(client, context):
    answer = client.get("/api/v1/weapons", params={"serial": "X*"}, headers=as_role(Role.POLICE, "p" * 501))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"].lower() == "header.x-purpose"
    assert reads(context) == []
