"""The desks in a real browser: Debian's chromium driven by Playwright against a real uvicorn.

One server and one browser for the module (starting them is the slow part); each test
signs in on a fresh browser context and uses serials of its own.
"""

from __future__ import annotations

import re

import pytest

from domain.marking import Marking

from browser import chromium, chromium_or_skip, served
from desk_app import PASSWORD, DeskTestContext, desk_app, open_desk_node
from desk_steps import issue_transfer_licence, manufacture


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    chromium_or_skip()
    home = tmp_path_factory.mktemp("desk-browser")
    node = open_desk_node(home / "home", str(home / "ledger.db"))
    context = DeskTestContext(node)
    try:
        with served(desk_app(context)) as url, chromium() as browser:
            yield context, url, browser
    finally:
        node.close()


@pytest.fixture
def page(desk):
    _, url, browser = desk
    browser_context = browser.new_context(base_url=url)
    try:
        page = browser_context.new_page()
        page.set_default_timeout(10_000)
        yield page
    finally:
        browser_context.close()


def sign_in(page, name: str = "lena") -> None:
    page.goto("/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(search)?$"))


def timeline_rows(page) -> list[list[str]]:
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()]
            for row in page.locator("table.timeline tbody tr").all()]


def test_the_sign_in_page_refuses_a_wrong_password_then_signs_in(page):
    page.goto("/")
    assert page.url.endswith("/sign-in")
    page.get_by_label("Name").fill("lena")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().count("Name or password is wrong.") == 1
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Signed in as lena (licensing)").is_visible()
    assert page.get_by_role("navigation").get_by_role("link").all_inner_texts() == ["Search", "Licensing", "Customs"]


def test_search_by_partial_serial_opens_the_timeline_with_its_rows(desk, page):
    context = desk[0]
    weapon_id = manufacture(context, "SRCH-4711", holder="Dealer One")
    issue_transfer_licence(context, "T-4711", "Jan Peeters")
    context.node.registry.transfer(by="licensing", weapon_id=weapon_id, to_holder="Jan Peeters", licence="T-4711")
    context.node.settle()
    sign_in(page, "paul")
    page.goto("/search")
    page.get_by_label("Serial number").fill("SRCH?71*")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="SRCH-4711").click()
    page.wait_for_url(f"**/weapons/{weapon_id}")
    rows = timeline_rows(page)
    assert [row[1] for row in rows] == ["Manufactured", "Transferred"]
    assert all(row[2] == "BE" and row[3] == "licensing" and row[5] == "Verified" for row in rows)
    assert [row[6] for row in rows] == [e.hash.hex()[:16] for e in context.node.registry.envelopes(weapon_id)]


def test_a_manufacture_recorded_at_the_licensing_desk_shows_in_the_timeline(desk, page):
    sign_in(page)
    page.get_by_role("navigation").get_by_role("link", name="Licensing").click()
    page.get_by_role("link", name="Record a manufacture").click()
    for label, value in [("Manufacturer (as marked)", "Beretta"), ("Country of manufacture (ISO code, e.g. BE)", "IT"),
                         ("Serial number", "PB-2024-77"), ("Type (e.g. pistol)", "pistol"), ("Make", "Beretta"),
                         ("Model", "92FS"), ("Calibre", "9x19mm"), ("Year of manufacture", "2019"),
                         ("Holder", "Armeria Roma")]:
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Record manufacture").click()
    weapon_id = Marking.read("Beretta", "IT", "PB-2024-77").weapon_id()
    page.wait_for_url(f"**/weapons/{weapon_id}")
    assert [row[1] for row in timeline_rows(page)] == ["Manufactured"]
    assert desk[0].node.registry.weapon(weapon_id).holder == "Armeria Roma"


def test_the_licence_check_shows_its_verdict_in_place_before_the_transfer(desk, page):
    context = desk[0]
    weapon_id = manufacture(context, "CHK-1001")
    issue_transfer_licence(context, "T-1001", "Marie Dubois")
    sign_in(page)
    page.goto("/licensing/transfer")
    page.get_by_label("Weapon id").fill(weapon_id)
    page.get_by_label("New holder", exact=True).fill("Someone Else")
    page.get_by_label("Transfer licence number of the new holder").fill("T-1001")
    page.get_by_role("button", name="Check the licence").click()
    verdict = page.locator("#licence-check .refused")
    assert "belongs to 'Marie Dubois'" in verdict.inner_text()
    assert page.url.endswith("/licensing/transfer")   # htmx swapped the verdict in; no navigation
    page.get_by_label("New holder", exact=True).fill("Marie Dubois")
    page.get_by_role("button", name="Check the licence").click()
    assert "allows Marie Dubois" in page.locator("#licence-check .ok").inner_text()
    page.get_by_role("button", name="Record transfer").click()
    page.wait_for_url(f"**/weapons/{weapon_id}")
    assert [row[1] for row in timeline_rows(page)] == ["Manufactured", "Transferred"]


def test_the_pages_and_htmx_run_under_the_content_security_policy(desk, page):
    context = desk[0]
    weapon_id = manufacture(context, "CSP-5005")
    issue_transfer_licence(context, "T-5005", "Marie Dubois")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    sign_in(page)
    for path in ("/search?serial=CSP*", f"/weapons/{weapon_id}", "/licensing", "/licensing/manufacture",
                 "/licensing/licences/issue", "/licensing/licences?number=T-5005&kind=transfer_licence"):
        response = page.goto(path)
        assert response.ok and "script-src 'self'" in response.headers["content-security-policy"], path
    page.goto(f"/licensing/transfer?weapon={weapon_id}")
    page.get_by_label("New holder", exact=True).fill("Marie Dubois")
    page.get_by_label("Transfer licence number of the new holder").fill("T-5005")
    page.get_by_role("button", name="Check the licence").click()
    assert "allows Marie Dubois" in page.locator("#licence-check .ok").inner_text()
    assert page.evaluate("typeof htmx") == "object"
    assert [m for m in console if "Content Security Policy" in m or "Error" in m] == []


def test_a_form_stripped_of_its_csrf_token_is_refused(desk, page):
    sign_in(page)
    page.goto("/licensing/licences/revoke")
    page.locator("#main input[name=csrf_token]").evaluate("input => input.remove()")
    page.get_by_label("Licence number").fill("T-NONE")
    page.get_by_label("Reason").fill("test")
    with page.expect_response("**/licensing/licences/revoke") as posted:
        page.get_by_role("button", name="Revoke licence").click()
    assert posted.value.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "missing or wrong CSRF token" in page.get_by_role("alert").inner_text()


def test_the_main_path_works_with_the_keyboard_alone(desk, page):
    weapon_id = manufacture(desk[0], "KEY-2002")
    page.goto("/sign-in")
    assert page.evaluate("document.activeElement.id") == "f-name"   # autofocus
    page.keyboard.type("dina")          # a role whose only desk is the search: signing in lands there
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/search")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-serial"
    page.keyboard.type("KEY2*")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?serial=*")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "KEY-2002":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/weapons/{weapon_id}")
    assert [row[1] for row in timeline_rows(page)] == ["Manufactured"]
