"""The customs, tracing, audit and admin desks in a real browser (Debian's chromium, Playwright, uvicorn).

One browser for the module; each test serves its own node (a federation of two where records
must cross a border) and signs in on a fresh browser context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from domain.marking import Marking
from nodes.settings import TraceSettings
from nodes.tracing import service

from browser import chromium, chromium_or_skip, served
from desk_app import PASSWORD, DeskTestContext, desk_app, open_desk_node
from desk_steps import manufacture, ship_belgian_pistol_to_france
from memory_federation import MemoryFederation


@pytest.fixture(scope="module")
def browser():
    chromium_or_skip()
    with chromium() as browser:
        yield browser


@contextmanager
def signed_in(browser, context: DeskTestContext, name: str) -> Iterator:
    """A page of a fresh browser context on ``context``'s desks, signed in as ``name``."""
    with served(desk_app(context)) as url:
        browser_context = browser.new_context(base_url=url)
        try:
            page = browser_context.new_page()
            page.set_default_timeout(10_000)
            page.goto("/sign-in")
            page.get_by_label("Name").fill(name)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"^(?!.*sign-in).*$"))
            yield page
        finally:
            browser_context.close()


def test_customs_confirms_the_receipt_of_a_shipment_from_a_partner(browser, tmp_path):
    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"])
    france = DeskTestContext(federation["FR"])
    try:
        shipment, weapon_id = ship_belgian_pistol_to_france(federation, "BRW-1")
        with signed_in(browser, france, "cleo") as page:
            page.get_by_role("navigation").get_by_role("link", name="Customs").click()
            row = page.locator("tr", has_text=shipment)
            assert "FN Herstal BRW-1" in row.inner_text()
            assert row.get_by_label("Received by").input_value() == "Armurerie Paris"
            row.get_by_role("button", name="Confirm receipt").click()
            assert page.get_by_role("status").first.inner_text() == f"Receipt of shipment {shipment} confirmed."
            assert page.get_by_text("No shipment to this state is awaiting receipt.").is_visible()
        assert france.node.views.lifecycle(weapon_id)["holder"] == "Armurerie Paris"
    finally:
        france.close()
        federation.close()


def test_tracing_answers_a_trace_received_by_sync_and_reads_the_verdict(browser, tmp_path):
    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"],
                                  settings=TraceSettings(autorespond=False))
    belgium = DeskTestContext(federation["BE"])
    try:
        marking = Marking.read("FN Herstal", "BE", "BRW-2")
        weapon_id = federation["BE"].registry.manufacture(marking=marking, type="pistol", make="FN", model="FNX",
                                                          calibre="9x19mm", year=2020, holder="Armurerie Liège")
        seized = federation["FR"].registry.seize(marking=marking, place="Lille", circumstances="traffic stop",
                                                 type="pistol", calibre="9x19mm")
        trace_id = str(service.submit(federation["FR"], to="BE", weapon_id=seized, circumstances="found in a car",
                                      legal_basis="CPP art 60", intended_use="prosecution"))
        federation.sync()
        with signed_in(browser, belgium, "tom") as page:
            page.get_by_role("navigation").get_by_role("link", name="Tracing").click()
            page.locator("section", has_text="Traces asked of this state").get_by_role("link").first.click()
            assert page.url.endswith(f"/tracing/{trace_id}")
            page.get_by_label("Respond with our records").check()
            page.get_by_role("button", name="Send the answer").click()
            assert page.locator("table.results", has_text="TraceAnswer.Responded").is_visible()
            page.get_by_role("link", name="Diversion verdict of a weapon").click()
            assert page.get_by_label("Weapon id").input_value() == str(weapon_id)
            page.get_by_role("button", name="Show the verdict").click()
            evidence = page.locator("table", has_text="The signed records the verdict rests on")
            assert "Weapon.Manufactured" in evidence.inner_text()
        assert ("verdict", str(weapon_id)) in [(r.action, r.subject) for r in belgium.reads]
    finally:
        belgium.close()
        federation.close()


@pytest.fixture
def one_node(tmp_path):
    node = open_desk_node(tmp_path / "home", str(tmp_path / "ledger.db"))
    context = DeskTestContext(node)
    try:
        yield context
    finally:
        context.close()
        node.close()


def test_the_auditor_sees_an_officers_read_in_the_read_audit(browser, one_node):
    weapon_id = manufacture(one_node, "BRW-3")
    with signed_in(browser, one_node, "paul") as page:
        page.goto(f"/weapons/{weapon_id}?purpose=case%2042")
    with signed_in(browser, one_node, "aud") as page:
        page.get_by_role("navigation").get_by_role("link", name="Audit").click()
        page.get_by_role("link", name="Read audit").click()
        page.get_by_label("Weapon id").fill(weapon_id)
        page.get_by_role("button", name="Show reads").click()
        rows = page.locator("table.results tbody tr")
        # count() does not wait: right after the click it may count the page still loading (seen once in a full run).
        expect(rows).to_have_count(1)
        assert "paul (police)" in rows.inner_text() and "case 42" in rows.inner_text()


def test_the_admin_adds_an_officer_who_can_then_sign_in(browser, one_node):
    with signed_in(browser, one_node, "ada") as page:
        assert page.url.endswith("/admin")
        form = page.locator("form", has_text="Add an account")
        form.get_by_label("Name").fill("nora")
        form.get_by_label("Role").select_option("customs")
        form.get_by_role("button", name="Add an account").click()
        password = page.locator("code.secret").inner_text()
        assert len(password) >= 12 and page.locator("td", has_text="nora").is_visible()
    assert one_node.accounts.sign_in("nora", password, "127.0.0.1").name == "nora"
