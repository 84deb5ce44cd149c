"""The audit desk over HTTP: verification on demand in a worker, checkpoints, quarantine, the read audit."""

from __future__ import annotations

import time

from alarm_entries import quarantine_alarm_and_error

from nodes.federation.alarms import settle_command

from desk_steps import manufacture, sign_in


def wait_for_verification(client, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get("/audit/verify", headers={"HX-Request": "true"}).text
        if "hx-trigger" not in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the verification did not finish")


def test_only_the_audit_right_reaches_the_audit_desk(client):
    sign_in(client, "lena")
    for path in ("/audit", "/audit/reads", "/audit/verify"):
        response = client.get(path)
        assert response.status_code == 403 and "the licensing role lacks the right to audit" in response.text


def test_the_store_is_verified_only_when_asked_and_the_report_shown(client, desk_context):
    manufacture(desk_context, "AU-1")
    csrf = sign_in(client, "aud")
    page = client.get("/audit")
    assert page.status_code == 200 and "Not verified since the service started." in page.text
    assert "Checkpoints of this node (1 in all" in page.text and "Nothing in quarantine." in page.text
    started = client.post("/audit/verify", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/audit/verify"
    report = wait_for_verification(client)
    assert "Every record, checkpoint and received record verifies." in report
    assert "<dt>Checkpoints checked</dt><dd>1</dd>" in report
    assert "<dt>Records after the latest checkpoint</dt><dd>0</dd>" in report


def test_a_second_verification_while_one_runs_is_refused(client, desk_context, monkeypatch):
    import threading

    from nodes.service.desks import audit_pages

    release = threading.Event()
    monkeypatch.setattr(audit_pages, "verify_store", lambda node: release.wait(30))
    csrf = sign_in(client, "aud")
    assert client.post("/audit/verify", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    again = client.post("/audit/verify", data={"csrf_token": csrf})
    release.set()
    assert again.status_code == 409 and "one is already running" in again.text


def test_the_read_audit_shows_who_read_what_with_filters(client, desk_context):
    weapon_id = manufacture(desk_context, "AU-2")
    sign_in(client, "paul")
    client.get(f"/weapons/{weapon_id}", params={"purpose": "case 9"})
    client.get("/search", params={"serial": "AU*"})
    client.cookies.clear()
    sign_in(client, "aud")
    everything = client.get("/audit/reads").text
    assert "<td>paul (police)</td><td>history</td>" in everything and "<td>AU*</td>" in everything
    by_weapon = client.get("/audit/reads", params={"weapon": weapon_id}).text
    assert "case 9" in by_weapon and "<td>AU*</td>" not in by_weapon
    assert "No read matches." in client.get("/audit/reads", params={"user": "lena"}).text
    assert "No read matches." in client.get("/audit/reads", params={"until": "2001-01-01"}).text


def test_a_malformed_filter_names_its_field(client):
    sign_in(client, "aud")
    response = client.get("/audit/reads", params={"since": "yesterday"})
    assert response.status_code == 422 and 'href="#f-since"' in response.text
    page = client.get("/audit", params={"after": "x"})
    assert page.status_code == 422 and "is not a whole number" in page.text


def test_the_quarantine_shows_an_alarm_as_settled_with_the_reason(client, desk_context):
    node = desk_context.node
    _, alarm = quarantine_alarm_and_error(node.inbox)
    sign_in(client, "aud")
    assert "fork-or-rewrite" in client.get("/audit").text and "(settled" not in client.get("/audit").text
    settle_command(node, alarm, "checked with BE's operator")(node.registry)
    node.settle()
    assert "alarm (settled: checked with BE&#39;s operator)" in client.get("/audit").text
