"""A failure of the node on a desk's page, on SQLite and PostgreSQL: the officer gets a page in the desks'
language with the same status as the API's answer, saying what happened and what to do, never the API's
JSON and never the failure's specifics; the API's answers stay JSON in the same app."""

from __future__ import annotations

import logging
import re

import pytest
from cheap_kek import KEK_ENVIRON
from fastapi.testclient import TestClient

from domain.roles import Role
from nodes.bootstrap import init_node
from nodes.errors import StorageError
from nodes.service.app import create_app
from nodes.service.desks import search_pages
from nodes.settings import Settings
from tests.support.insider import sql

from fixed_directory import password_of
from service_story import LICENSING, as_role, day, manufacture, service_of

POLICE = as_role(Role.POLICE)


@pytest.fixture
def desks(tmp_path, db_url):
    """A browser signed in as the police officer at the desks of a node's whole service (API and desks),
    on each backend in turn; answers to a failure are given, not raised into the test."""
    node = init_node(Settings.load(environ=KEK_ENVIRON, home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    context = service_of(node)
    with TestClient(create_app(context), raise_server_exceptions=False) as browser:
        form = browser.get("/sign-in").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, "the sign-in page has its form token"
        signed_in = browser.post("/sign-in", follow_redirects=False, data={
            "name": Role.POLICE.value, "password": password_of(Role.POLICE), "csrf_token": token.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        yield browser, context
    context.read_audit.close()
    node.close()


def _page(answer, status: int, title: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert f"<h1>{title}</h1>" in answer.text
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
    return answer.text


def _signed_in_page(page: str) -> str:
    """The failure page of a request that got past the sign-in check keeps the officer's navigation and a
    sign-out form carrying the session's CSRF token (the token of every desk page of the session)."""
    assert 'aria-label="Desks"' in page and 'href="/search"' in page, page
    token = re.search(r'action="/sign-out">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert token, "a sign-out form with the session's token"
    return token.group(1)


def test_a_damaged_store_is_a_page_that_tells_the_officer_whom_to_tell(desks, caplog):
    browser, context = desks
    weapon = manufacture(browser, "DSK-1")
    assembled = browser.post(f"/api/v1/weapons/{weapon}/assemble", headers=LICENSING, json={
        "components": [{"kind": "frame", "marking": {"manufacturer": "FN Herstal", "country": "BE",
                                                     "serial": "ZF-9"}}], "date": day(-5)})
    assert assembled.status_code == 201, assembled.text
    assert browser.get("/search", params={"serial": "ZF-9"}).status_code == 200
    db, log = context.node.settings.db, context.node.views.store.own_log
    assert log is not None
    (position,) = sql(db, "SELECT MIN(notification_id) FROM view_events WHERE stream = ?", weapon)[0]
    sql(db, f"UPDATE {log.sql_table} SET state = ? WHERE {log.position} = ?", b"\x80", position)

    with caplog.at_level(logging.ERROR, logger="nodes.service.errors"):
        page = _page(browser.get("/search", params={"serial": "ZF-9"}), 500, "The node&#39;s store is damaged")
    assert "armsledger verify" in page and weapon not in page and f"position {position}" not in page
    _signed_in_page(page)
    assert any(f"position {position}" in r.getMessage() for r in caplog.records)  # the specifics: the node's log
    api = browser.get("/api/v1/weapons", params={"serial": "ZF-9"}, headers=POLICE)  # the API: JSON as before
    assert api.status_code == 500 and "store is damaged" in api.json()["detail"]


def test_a_database_away_and_an_error_of_ours_are_pages_without_their_specifics(desks, monkeypatch, caplog):
    browser, _ = desks

    def away(*_, **__):
        raise StorageError("connection refused by db.internal:5432")

    monkeypatch.setattr(search_pages, "find_weapons", away)
    page = _page(browser.get("/search", params={"serial": "AB1"}), 503, "The node cannot serve this now")
    assert "db.internal" not in page and "look at the weapon" in page
    session_token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/").text)
    assert session_token and _signed_in_page(page) == session_token.group(1)

    def broken(*_, **__):
        raise RuntimeError("secret internals 0xdeadbeef")

    monkeypatch.setattr(search_pages, "find_weapons", broken)
    with caplog.at_level(logging.ERROR, logger="nodes.service.errors"):
        page = _page(browser.get("/search", params={"serial": "AB1"}), 500, "Something went wrong")
    assert "0xdeadbeef" not in page and "logged on the node" in page
    assert any(r.exc_info and "0xdeadbeef" in str(r.exc_info[1]) for r in caplog.records)
    api = browser.get("/api/v1/weapons", params={"serial": "AB1"}, headers=POLICE)
    assert api.status_code == 200 and api.headers["content-type"] == "application/json"


def test_an_address_with_no_page_is_a_page_and_one_under_the_api_is_json(desks):
    browser, _ = desks
    page = _page(browser.get("/no-such-desk"), 404, "Page not found")
    assert '<a href="/">' in page
    assert 'action="/sign-out"' not in page  # no route, no sign-in check: the directory is not asked
    api = browser.get("/api/v1/no-such-route", headers=POLICE)
    assert api.status_code == 404 and api.json()["detail"] == "Not Found"
    assert browser.get("/healthz").json() == {"status": "ok"}
