"""The retention report and run through the API, on each backend through the group committer: the report for
auditors and the registry only, the run for the registry only (it signs the erasure record); a bad date is
422 naming ``on`` and erases nothing."""

from __future__ import annotations

from domain.erasure import erasure_id
from domain.roles import Role

from retention_story import holders_story
from service_story import as_role

REPORT, RUN = "/api/v1/retention/report", "/api/v1/retention/run"


def test_auditors_read_the_report_and_the_registry_runs_the_erasure(backend_client):
    client, context = backend_client
    holders = holders_story(context.node)
    report = client.get(REPORT, params={"on": "2026-01-01"}, headers=as_role(Role.AUDITOR))
    assert report.status_code == 200, report.text
    assert [p["reference"] for p in report.json()["erasable"]] == [holders.old]
    dry = client.post(RUN, json={"dry_run": True}, headers=as_role(Role.REGISTRY))
    assert dry.status_code == 200 and dry.json()["would_erase"] == [holders.old] and dry.json()["erased"] == []
    done = client.post(RUN, json={}, headers=as_role(Role.REGISTRY))
    assert done.status_code == 200, done.text
    assert done.json()["erased"] == [holders.old]
    [erasure] = context.node.registry.envelopes(erasure_id(holders.old))
    assert erasure.body["officer"] != ""          # the registry officer who ran it is named in the signed body
    after = client.get(REPORT, headers=as_role(Role.REGISTRY)).json()
    assert after["erasable"] == [] and after["unfinished"] == []


def test_refusals_name_the_role_or_the_field_and_erase_nothing(backend_client):
    client, context = backend_client
    holders = holders_story(context.node)
    assert client.get(REPORT, headers=as_role(Role.POLICE)).status_code == 403
    assert client.get(REPORT).status_code == 401
    assert client.post(RUN, json={}, headers=as_role(Role.AUDITOR)).status_code == 403
    refused = client.post(RUN, json={}, headers=as_role(Role.LICENSING))
    assert refused.status_code == 403 and "PersonErasure.Recorded" in refused.text
    for body in ({"on": "2999-01-01"}, {"on": "soon"}):
        refused = client.post(RUN, json=body, headers=as_role(Role.REGISTRY))
        assert refused.status_code == 422 and refused.json()["field"] == "on", refused.text
    assert client.get(REPORT, params={"on": "May"}, headers=as_role(Role.AUDITOR)).json()["field"] == "on"
    unknown = client.post(RUN, json={"dry": True}, headers=as_role(Role.REGISTRY))
    assert unknown.status_code == 422 and unknown.json()["field"] == "dry"
    assert context.node.registry.envelopes(erasure_id(holders.old)) == []
    assert client.get(REPORT, headers=as_role(Role.REGISTRY)).json()["erasable"][0]["reference"] == holders.old
