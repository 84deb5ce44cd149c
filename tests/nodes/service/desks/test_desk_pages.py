"""Each desk page over HTTP (no browser): status, content, refusals, and what reaches the ledger."""

from __future__ import annotations

import html

import pytest

from domain.licence import LicenceKind
from domain.marking import Marking
from nodes.accounts.officer import TooManyAttempts
from nodes.service.auth import SESSION_COOKIE

from desk_app import PASSWORD
from desk_steps import form_token, issue_transfer_licence, manufacture, sign_in

MADE = {"manufacturer": "FN Herstal", "country": "BE", "serial": "ZX-90001", "type": "pistol", "make": "FN",
        "model": "Five-seveN", "calibre": "5.7x28mm", "year": "2021", "holder": "Armurerie Liège"}


def weapon_of(context, serial: str):
    return context.node.registry.repository.__contains__(Marking.read("FN Herstal", "BE", serial).weapon_id())


# --- sign-in ---------------------------------------------------------------------------------

def test_sign_in_page_has_labelled_fields_and_a_one_off_token(client):
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert '<label for="f-name">Name</label>' in response.text
    assert '<label for="f-password">Password</label>' in response.text
    assert form_token(response.text) == response.cookies["armsledger_signin"]


def test_signing_in_sets_a_strict_httponly_session_cookie(client):
    token = form_token(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"name": "lena", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie


def test_over_tls_the_session_cookie_is_secure(desk_context):
    from fastapi.testclient import TestClient

    from desk_app import desk_app

    with TestClient(desk_app(desk_context), base_url="https://testserver") as client:
        token = form_token(client.get("/sign-in").text)
        response = client.post("/sign-in", data={"name": "lena", "password": PASSWORD, "csrf_token": token},
                               follow_redirects=False)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_signing_in_again_ends_the_earlier_session(client, desk_context):
    sign_in(client, "lena")
    first = set(desk_context.accounts.sessions)
    sign_in(client, "lena")
    assert len(desk_context.accounts.sessions) == 1 and not first & set(desk_context.accounts.sessions)


def test_a_wrong_password_says_so_without_telling_which_part_was_wrong(client):
    token = form_token(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"name": "lena", "password": "wrong", "csrf_token": token})
    assert response.status_code == 401
    assert "Name or password is wrong." in response.text
    assert 'href="#f-password"' in response.text
    assert SESSION_COOKIE not in client.cookies


def test_too_many_attempts_shows_when_to_try_again(client, desk_context, monkeypatch):
    def refuse(name, password, address):
        raise TooManyAttempts("too many", retry_after_s=90)

    monkeypatch.setattr(desk_context.accounts, "sign_in", refuse)
    token = form_token(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"name": "lena", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "90"
    assert "Try again in 90 seconds." in response.text


def test_sign_in_without_the_form_token_is_refused(client):
    client.get("/sign-in")
    response = client.post("/sign-in", data={"name": "lena", "password": PASSWORD})
    assert response.status_code == 403 and "This form has expired. Please sign in again." in response.text
    assert SESSION_COOKIE not in client.cookies


def test_a_page_without_a_session_sends_the_browser_to_sign_in(client):
    response = client.get("/search", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"


def test_signing_out_closes_the_session(client, desk_context):
    csrf = sign_in(client, "lena")
    assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 200
    assert desk_context.accounts.sessions == {}
    assert client.get("/search", follow_redirects=False).status_code == 303


def test_the_nav_shows_only_the_desks_of_the_role(client):
    sign_in(client, "paul")
    page = client.get("/search").text
    assert 'href="/search"' in page and 'href="/licensing"' not in page


def test_a_role_without_the_read_right_is_refused_the_search(client):
    sign_in(client, "ada")
    response = client.get("/search")
    assert response.status_code == 403 and "the admin role lacks the right to read" in response.text
    assert 'href="/"' in response.text


# --- search and timeline ----------------------------------------------------------------------

def test_search_by_partial_serial_links_to_the_timeline_and_is_audited(client, desk_context):
    wanted = manufacture(desk_context, "AB123456")
    manufacture(desk_context, "CD999999")
    sign_in(client, "lena")
    response = client.get("/search", params={"serial": "AB?23*", "purpose": "case 17"})
    assert response.status_code == 200
    assert f'href="/weapons/{wanted}?purpose=case%2017"' in response.text
    assert "CD999999" not in response.text
    assert [(r.action, r.subject, r.purpose, r.officer.name) for r in desk_context.reads] == [
        ("search", "AB?23*", "case 17", "lena")]


def test_a_read_the_audit_refuses_is_not_shown(client, desk_context, monkeypatch):
    from domain.errors import InvalidField

    def refuse(officer, action, subject, purpose=""):
        raise InvalidField("is longer than 500 characters", field="purpose")

    weapon_id = manufacture(desk_context, "AB123456")
    monkeypatch.setattr(desk_context, "append", refuse)
    sign_in(client, "lena")
    search = client.get("/search", params={"serial": "AB*", "purpose": "x" * 600})
    timeline = client.get(f"/weapons/{weapon_id}", params={"purpose": "x" * 600})
    assert search.status_code == timeline.status_code == 422
    assert 'href="#f-purpose"' in search.text and weapon_id not in search.text
    assert "Manufactured" not in timeline.text


def test_a_search_pattern_without_characters_names_the_serial_field(client, desk_context):
    sign_in(client, "lena")
    response = client.get("/search", params={"serial": "-/-"})
    assert response.status_code == 422
    assert 'href="#f-serial"' in response.text and 'aria-invalid="true"' in response.text
    assert desk_context.reads == []


def test_the_timeline_shows_one_verified_row_per_record_in_order(client, desk_context):
    weapon_id = manufacture(desk_context, "AB123456", holder="Dealer One")
    issue_transfer_licence(desk_context, "T-7", "Jan Peeters")
    desk_context.node.registry.transfer(by="licensing", weapon_id=weapon_id, to_holder="Jan Peeters", licence="T-7")
    desk_context.node.settle()
    sign_in(client, "paul")
    response = client.get(f"/weapons/{weapon_id}")
    assert response.status_code == 200
    body = response.text.split("<tbody>", 1)[1]
    rows = body.split("<tr")[1:]
    assert len(rows) == 2
    assert "Manufactured" in rows[0] and "Transferred" in rows[1]
    assert all("<td>BE</td>" in row and "Verified" in row for row in rows)
    hashes = [e.hash.hex() for e in desk_context.node.registry.envelopes(weapon_id)]
    assert all(f'title="{h}"' in row for h, row in zip(hashes, rows))
    assert [(r.action, r.subject) for r in desk_context.reads] == [("history", weapon_id)]


def test_the_timeline_of_an_unknown_or_malformed_weapon_names_the_weapon(client, desk_context):
    sign_in(client, "paul")
    unknown = client.get("/weapons/00000000-0000-4000-8000-000000000000")
    malformed = client.get("/weapons/not-a-uuid")
    assert (unknown.status_code, malformed.status_code) == (404, 422)
    assert 'href="#f-weapon"' in unknown.text and "is not an id or the start of one" in malformed.text
    assert desk_context.reads == []


# --- licensing desk --------------------------------------------------------------------------

def test_manufacture_through_the_desk_is_recorded_and_shows_its_timeline(client, desk_context):
    csrf = sign_in(client, "lena")
    response = client.post("/licensing/manufacture", data={**MADE, "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    weapon_id = str(Marking.read("FN Herstal", "BE", "ZX-90001").weapon_id())
    assert response.headers["location"] == f"/weapons/{weapon_id}"
    assert "Manufactured" in client.get(response.headers["location"]).text


def test_a_bad_field_shows_the_form_again_naming_it_and_writes_nothing(client, desk_context):
    csrf = sign_in(client, "lena")
    response = client.post("/licensing/manufacture", data={**MADE, "year": "soon", "csrf_token": csrf})
    assert response.status_code == 422
    assert 'href="#f-year">Year of manufacture:' in response.text
    assert 'value="ZX-90001"' in response.text
    assert not weapon_of(desk_context, "ZX-90001")


def test_a_form_without_the_csrf_token_is_refused_and_writes_nothing(client, desk_context):
    sign_in(client, "lena")
    response = client.post("/licensing/manufacture", data=MADE)
    assert response.status_code == 403 and "<h1>Not allowed</h1>" in response.text
    assert "csrf_token: missing or wrong CSRF token for this session" in response.text
    assert 'action="/sign-out"' not in response.text  # a request whose token failed is not taken as signed in
    assert not weapon_of(desk_context, "ZX-90001")


def test_a_role_that_may_not_record_manufacture_is_refused_naming_the_role(client, desk_context):
    csrf = sign_in(client, "paul")
    response = client.post("/licensing/manufacture", data={**MADE, "csrf_token": csrf})
    assert response.status_code == 403
    assert "Your role: the police role may not record Weapon.Manufactured" in response.text
    assert 'href="#f-role"' not in response.text
    assert not weapon_of(desk_context, "ZX-90001")


def test_a_desk_the_role_lacks_is_a_refusal_page_that_keeps_the_officers_desks(client):
    csrf = sign_in(client, "paul")
    response = client.get("/admin")
    assert response.status_code == 403 and "<h1>Not allowed</h1>" in response.text
    # Signed in, only not allowed this: the page keeps the officer's desks and a sign-out with the session's token.
    assert 'aria-label="Desks"' in response.text and f'name="csrf_token" value="{csrf}"' in response.text
    assert 'href="/admin"' not in response.text  # the desks the role holds, not the one refused


@pytest.mark.parametrize(("holder", "verdict"), [
    ("Jan Peeters", "Licence T-7 allows Jan Peeters to hold this weapon today."),
    ("Someone Else", "Refused: transfer licence T-7 belongs to 'Jan Peeters', not 'Someone Else'"),
])
def test_the_licence_check_gives_the_transfers_verdict_before_submitting(client, desk_context, holder, verdict):
    issue_transfer_licence(desk_context, "T-7", "Jan Peeters")
    sign_in(client, "lena")
    fragment = client.get("/licensing/licence-check", params={"to": holder, "licence": "T-7"},
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert verdict in html.unescape(fragment.text) and "<html" not in fragment.text
    assert [(r.action, r.subject) for r in desk_context.reads] == [("licence", "T-7")]


def test_the_licence_check_without_javascript_shows_the_form_with_the_verdict(client, desk_context):
    csrf = sign_in(client, "lena")
    page = client.post("/licensing/licence-check", data={"to": "Jan", "licence": "NOPE", "csrf_token": csrf})
    assert page.status_code == 200
    assert "Refused: no transfer_licence &#39;NOPE&#39; was issued by BE" in page.text
    assert 'value="Jan"' in page.text and "<html" in page.text


def test_a_transfer_through_the_desk_shows_in_the_timeline(client, desk_context):
    weapon_id = manufacture(desk_context, "AB123456")
    issue_transfer_licence(desk_context, "T-7", "Jan Peeters")
    csrf = sign_in(client, "lena")
    response = client.post("/licensing/transfer", data={"weapon": weapon_id, "to": "Jan Peeters", "licence": "T-7",
                                                        "csrf_token": csrf})
    assert response.status_code == 200 and "Transferred" in response.text
    assert desk_context.node.registry.weapon(weapon_id).holder == "Jan Peeters"


def test_a_transfer_without_a_valid_licence_is_refused_naming_the_licence(client, desk_context):
    weapon_id = manufacture(desk_context, "AB123456")
    csrf = sign_in(client, "lena")
    response = client.post("/licensing/transfer", data={"weapon": weapon_id, "to": "Jan", "licence": "T-404",
                                                        "csrf_token": csrf})
    assert response.status_code == 409 and 'href="#f-licence"' in response.text
    assert desk_context.node.registry.weapon(weapon_id).holder == "Armurerie Liège"


def test_a_licence_issued_then_revoked_is_looked_up_with_its_status(client, desk_context):
    csrf = sign_in(client, "lena")
    issued = client.post("/licensing/licences/issue", data={
        "csrf_token": csrf, "number": "T-100", "kind": "transfer_licence", "holder": "Jan Peeters",
        "valid_from": "2024-01-01", "valid_until": "2030-12-31", "quantity": "2"})
    assert issued.status_code == 200
    assert "Licence T-100" in issued.text and "2024-01-01 to 2030-12-31" in issued.text
    revoked = client.post("/licensing/licences/revoke", data={
        "csrf_token": csrf, "number": "T-100", "kind": "transfer_licence", "reason": "holder deceased"})
    assert revoked.status_code == 200 and ": holder deceased" in revoked.text
    licence = desk_context.node.registry.licence("T-100", LicenceKind.TRANSFER_LICENCE, field="number")
    assert licence.revoked_on is not None
    assert [r.action for r in desk_context.reads] == ["licence", "licence"]


def test_issuing_with_a_bad_date_names_the_field(client, desk_context):
    csrf = sign_in(client, "lena")
    response = client.post("/licensing/licences/issue", data={
        "csrf_token": csrf, "number": "T-100", "kind": "transfer_licence", "holder": "Jan",
        "valid_from": "yesterday", "valid_until": "2030-12-31"})
    assert response.status_code == 422 and 'href="#f-valid_from"' in response.text


def test_looking_up_an_unknown_licence_names_the_number(client, desk_context):
    sign_in(client, "paul")
    response = client.get("/licensing/licences", params={"number": "X-1", "kind": "export_licence"})
    assert response.status_code == 409 and 'href="#f-number"' in response.text
    assert desk_context.reads == []


def test_the_timeline_joins_a_partners_record_received_and_says_where_it_came_from(tmp_path):
    from fastapi.testclient import TestClient

    from desk_app import DeskTestContext, desk_app
    from memory_federation import MemoryFederation

    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"])
    try:
        belgium = DeskTestContext(federation["BE"])
        weapon_id = manufacture(belgium, "FED-3003")
        federation["FR"].registry.seize(by="police", marking=Marking.read("FN Herstal", "BE", "FED-3003"),
                                        place="Marseille", circumstances="found in a car")
        assert federation.deliver("FR", "BE")
        with TestClient(desk_app(belgium)) as client:
            sign_in(client, "paul")
            page = client.get(f"/weapons/{weapon_id}").text
    finally:
        federation.close()
    rows = page.split("<tbody>", 1)[1].split("<tr")[1:]
    assert ["Manufactured" in rows[0], "Seized" in rows[1]] == [True, True]
    assert "<td>BE</td>" in rows[0] and "<td>Verified</td>" in rows[0]
    assert "<td>FR</td>" in rows[1] and "Verified (received from FR)" in rows[1]


def test_a_weapon_known_only_from_a_partners_report_has_a_timeline(tmp_path):
    from fastapi.testclient import TestClient

    from desk_app import DeskTestContext, desk_app
    from memory_federation import MemoryFederation

    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"])
    try:
        weapon_id = manufacture(DeskTestContext(federation["BE"]), "FED-4004")
        federation["BE"].registry.record("report_stolen", by="police", weapon_id=weapon_id,
                                         place="Liège", circumstances="burglary")
        assert federation.deliver("BE", "FR")
        france = DeskTestContext(federation["FR"])
        with TestClient(desk_app(france)) as client:
            sign_in(client, "paul")
            response = client.get(f"/weapons/{weapon_id}")
    finally:
        federation.close()
    assert response.status_code == 200
    rows = response.text.split("<tbody>", 1)[1].split("<tr")[1:]
    assert len(rows) == 1 and "ReportedStolen" in rows[0] and "Verified (received from BE)" in rows[0]
    assert [(r.action, r.subject) for r in france.reads] == [("history", weapon_id)]


def test_the_licensing_desk_offers_only_the_forms_the_role_may_use(client):
    sign_in(client, "paul")
    desk = client.get("/licensing")
    assert desk.status_code == 200
    assert 'href="/licensing/licences"' in desk.text and 'href="/licensing/manufacture"' not in desk.text
    form = client.get("/licensing/manufacture")
    assert form.status_code == 403 and "the police role may not record Weapon.Manufactured" in form.text


def test_the_licensing_desk_of_a_licensing_officer_links_every_form(client):
    sign_in(client, "lena")
    desk = client.get("/licensing").text
    for path in ("manufacture", "transfer", "licences/issue", "licences/revoke", "licences"):
        assert f'href="/licensing/{path}"' in desk
    assert client.get("/licensing/manufacture").status_code == 200


def test_home_lists_the_desks_or_goes_to_the_only_one(client):
    sign_in(client, "lena")
    assert 'href="/licensing"' in client.get("/").text
    client.cookies.clear()
    sign_in(client, "ada")
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/admin"


def test_search_by_make_model_and_calibre_is_audited_with_every_criterion(client, desk_context):
    weapon_id = manufacture(desk_context, "MK-00042")
    sign_in(client, "paul")
    response = client.get("/search", params={"make": "fn", "model": "FIVE-SEVEN", "calibre": "5.7x28mm"})
    assert response.status_code == 200
    assert f'href="/weapons/{weapon_id}"' in response.text and "Five-seveN, 5.7x28mm" in response.text
    assert [(r.action, r.subject) for r in desk_context.reads] == [
        ("search", "make=fn model=FIVE-SEVEN calibre=5.7x28mm")]
    assert weapon_id not in client.get("/search", params={"make": "Glock"}).text


def test_an_overlong_make_names_its_field(client):
    sign_in(client, "paul")
    response = client.get("/search", params={"make": "x" * 65})
    assert response.status_code == 422
    assert 'href="#f-make"' in response.text
