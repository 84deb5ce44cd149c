"""``POST /api/v1/records/{record}/correct`` on both backends through the group committer: the corrected
values in the history, the role check on the corrected type, refusals naming the field and writing nothing."""

from __future__ import annotations

from domain.roles import Role

from service_story import LICENSING, as_role, day, manufacture

POLICE = as_role(Role.POLICE, "case 12")


def _events(client, weapon: str) -> list[dict]:
    answer = client.get(f"/api/v1/weapons/{weapon}", headers=POLICE)
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]


def test_a_correction_through_the_api_on_each_backend(backend_client):
    client, context = backend_client
    weapon = manufacture(client, "API-K1")
    made = _events(client, weapon)[0]
    answer = client.post(f"/api/v1/records/{made['hash'][:8]}/correct", headers=LICENSING, json={
        "changes": [{"field": "calibre", "value": "5.7x28mm"}, {"field": "holder", "value": "FN Browning"}],
        "reason": "typed from the wrong sheet"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["new_values"] == {"calibre": "5.7x28mm", "holder": "FN Browning"}
    document = client.get(f"/api/v1/weapons/{weapon}", headers=POLICE).json()
    assert (document["description"]["calibre"], document["holder"]) == ("5.7x28mm", "FN Browning")
    original = document["events"][0]
    assert original["body"]["calibre"] == "5.7x28" and original["corrected"]["holder"] == "FN Browning"
    assert original["corrections"][0]["authority_kind"] == "licensing"
    assert document["events"][-1]["officer"]  # the correction names the officer who made it


def test_refusals_name_the_field_and_write_nothing(client, context):
    weapon = manufacture(client, "API-K2")
    made = _events(client, weapon)[0]["hash"]
    before = context.node.registry.recorder.max_notification_id()
    good = {"changes": [{"field": "calibre", "value": "9mm"}], "reason": "x"}
    cases = [
        (made, POLICE, good, 403, "role"),                      # police may not record a manufacture
        (made, as_role(Role.AUDITOR), good, 403, "role"),
        ("abc", LICENSING, good, 422, "record"),
        ("f" * 12, LICENSING, good, 422, "record"),
        (made, LICENSING, {**good, "changes": []}, 422, "changes"),
        (made, LICENSING, {**good, "extra": 1}, 422, "extra"),
        (made, LICENSING, {**good, "changes": [{"field": "marking", "value": "X"}]}, 422, "field"),
        (made, LICENSING, {**good, "changes": [{"field": "year", "value": "1066"}]}, 422, "value"),
        (made, LICENSING, {**good, "reason": ""}, 422, "reason"),
        (made, LICENSING, {**good, "date": day(30)}, 422, "occurred_on"),
    ]
    for record, headers, body, status, field in cases:
        answer = client.post(f"/api/v1/records/{record}/correct", headers=headers, json=body)
        assert answer.status_code == status, (record, body, answer.text)
        assert field in answer.text, (record, answer.text)
    assert context.node.registry.recorder.max_notification_id() == before
