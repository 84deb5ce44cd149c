"""Settling an alarm through the API, on each backend through the group committer: the registry role
only (auditors review, they record nothing); a bad id or reason is 422 naming the field and writes
nothing; the quarantine then lists the alarm as settled and no longer counts it."""

from __future__ import annotations

from alarm_entries import quarantine_alarm_and_error

from domain.alarm import settlement_id
from domain.roles import Role

from service_story import as_role

QUARANTINE = "/api/v1/node/quarantine"


def settle(entry_id: int) -> str:
    return f"/api/v1/node/alarms/{entry_id}/settle"


def test_the_registry_settles_an_alarm_and_the_quarantine_lists_it_as_settled(backend_client):
    client, context = backend_client
    error, alarm = quarantine_alarm_and_error(context.node.inbox)
    before = client.get(QUARANTINE, headers=as_role(Role.AUDITOR)).json()
    assert before["alarms"] == 1 and before["entries"][1]["settled"] is None
    for role in (Role.AUDITOR, Role.ADMIN, Role.POLICE):
        assert client.post(settle(alarm), json={"reason": "x"}, headers=as_role(role)).status_code == 403
    for entry_id, body, field in ((alarm, {"reason": "  "}, "reason"), (alarm, {}, "reason"),
                                  (error, {"reason": "x"}, "id"), (999_999, {"reason": "x"}, "id"),
                                  (alarm, {"reason": "x", "why": "y"}, "why")):
        refused = client.post(settle(entry_id), json=body, headers=as_role(Role.REGISTRY))
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
    hash_ = before["entries"][1]["hash"]
    assert context.node.registry.envelopes(settlement_id(hash_)) == []  # nothing written

    done = client.post(settle(alarm), json={"reason": "BE's operator restored a backup; reviewed"},
                       headers=as_role(Role.REGISTRY))
    assert done.status_code == 200, done.text
    [record] = context.node.registry.envelopes(settlement_id(hash_))
    assert done.json()["record"] == record.hash.hex() and record.type == "Alarm.Settled"
    assert record.authority == context.node.identity.authority_key_ids["registry"]
    assert record.body["entry"] == hash_ and record.body["officer"] != ""  # the officer is named, signed
    after = client.get(QUARANTINE, headers=as_role(Role.AUDITOR)).json()
    assert after["alarms"] == 0
    assert after["entries"][1]["settled"]["reason"] == "BE's operator restored a backup; reviewed"
    assert after["entries"][1]["settled"]["officer"] == record.body["officer"]
    again = client.post(settle(alarm), json={"reason": "twice"}, headers=as_role(Role.REGISTRY))
    assert again.status_code == 422 and again.json()["field"] == "id" and "already" in again.text
    assert len(context.node.registry.envelopes(settlement_id(hash_))) == 1
