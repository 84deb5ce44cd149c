"""A damaged store through the API, on SQLite and PostgreSQL: when a record the read models hold is gone
from the node's log or altered there (tampering, a damaged disk), the answer says the store is damaged and
that the operator should run ``armsledger verify``, with no positions or streams for the client; the node
logs the specifics; other weapons read as before."""

from __future__ import annotations

import logging

from domain.roles import Role
from tests.support.insider import sql

from service_story import LICENSING, as_role, day, manufacture

POLICE = as_role(Role.POLICE)


def _assemble(client, weapon: str, frame: str) -> None:
    answer = client.post(f"/api/v1/weapons/{weapon}/assemble", headers=LICENSING, json={
        "components": [{"kind": "frame", "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": frame}}],
        "date": day(-5)})
    assert answer.status_code == 201, answer.text


def _by_component(client, serial: str):
    return client.get("/api/v1/weapons", params={"serial": serial}, headers=POLICE)


def test_a_record_altered_in_the_log_is_reported_as_a_damaged_store(backend_client, caplog):
    client, context = backend_client
    damaged, intact = manufacture(client, "DMG-1"), manufacture(client, "DMG-2")
    _assemble(client, damaged, "ZF-1")
    _assemble(client, intact, "ZF-2")
    # Found by its frame's serial: the search reads the weapon's lifecycle from the views.
    found = _by_component(client, "ZF-1")
    assert found.status_code == 200, found.text
    assert [w["weapon_id"] for w in found.json()["matches"]] == [damaged]

    db, log = context.node.settings.db, context.node.views.store.own_log
    assert log is not None  # the views point at the log's rows for the node's own records
    (position,) = sql(db, "SELECT MIN(notification_id) FROM view_events WHERE stream = ?", damaged)[0]
    sql(db, f"UPDATE {log.sql_table} SET state = ? WHERE {log.position} = ?", b"\x80", position)

    with caplog.at_level(logging.ERROR, logger="nodes.service.errors"):
        answer = _by_component(client, "ZF-1")
    assert answer.status_code == 500
    assert "store is damaged" in answer.json()["detail"] and "armsledger verify" in answer.json()["detail"]
    assert damaged not in answer.text and str(position) not in answer.json()["detail"]
    logged = [r.getMessage() for r in caplog.records if "store damaged" in r.getMessage()]
    assert logged and f"position {position}" in logged[0] and damaged in logged[0]

    other = _by_component(client, "ZF-2")  # the other weapons read as before
    assert other.status_code == 200, other.text
    assert [w["weapon_id"] for w in other.json()["matches"]] == [intact]


def test_a_record_deleted_from_the_log_is_reported_as_a_damaged_store(backend_client):
    client, context = backend_client
    damaged = manufacture(client, "DMG-3")
    _assemble(client, damaged, "ZF-3")
    assert _by_component(client, "ZF-3").status_code == 200
    db, log = context.node.settings.db, context.node.views.store.own_log
    assert log is not None
    (position,) = sql(db, "SELECT MAX(notification_id) FROM view_events WHERE stream = ?", damaged)[0]
    sql(db, f"DELETE FROM {log.sql_table} WHERE {log.position} = ?", position)
    answer = _by_component(client, "ZF-3")
    assert answer.status_code == 500 and "store is damaged" in answer.json()["detail"]
