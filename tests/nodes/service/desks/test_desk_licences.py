"""The licensing desk's reading pages (licences listed and shown with their use, a holder's weapons)
and the customs desk's days open and authorizations, over HTTP with a signed-in officer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.licence import LicenceKind

from desk_app import DeskTestContext, desk_app
from desk_steps import NOW, manufacture, ship_belgian_pistol_to_france, sign_in
from memory_federation import MemoryFederation

DAY = 86_400


def test_licences_are_listed_and_shown_with_every_field_and_reads_audited(client, desk_context):
    desk_context.node.registry.issue_licence(
        number="EL-7", kind=LicenceKind.EXPORT_LICENCE, holder="FN Herstal", export_state="BE", import_state="NL",
        valid_from=NOW - 10 * DAY, valid_until=NOW + 10 * DAY, occurred_on=NOW - 10 * DAY, quantity=4,
        place_of_issue="Brussels", description="4 pistols FN Five-seveN")
    sign_in(client, "paul")
    home = client.get("/licensing").text
    assert 'href="/licensing/licences/list"' in home and 'href="/licensing/holders"' in home
    listed = client.get("/licensing/licences/list", params={"kind": "export_licence", "state": "valid"})
    assert listed.status_code == 200 and 'href="/licensing/licences?number=EL-7&amp;kind=export_licence"' in listed.text
    shown = client.get("/licensing/licences", params={"number": "el-7"})
    for text in ("Licence EL-7", "Brussels", "4 pistols FN Five-seveN", "4: 0 shipped, 4 left", "verified",
                 "No shipment was made under it.", "FP art 10(3) content not stated: end_user"):
        assert text in shown.text, text
    refused = client.get("/licensing/licences/list", params={"state": "lapsed"})
    assert refused.status_code == 422 and "&#39;lapsed&#39; is not a licence state" in refused.text
    missing = client.get("/licensing/licences", params={"number": "EL-404"})
    assert missing.status_code == 409 and "EL-404" in missing.text
    assert [(r.action, r.subject) for r in desk_context.reads] == [
        ("licence", "licences kind=export_licence state=valid"), ("licence", "export_licence EL-7 of BE")]


def test_a_holders_weapons_are_shown_with_their_status(client, desk_context):
    weapon = manufacture(desk_context, "HW-1", holder="Jan Peeters")
    sign_in(client, "lena")
    page = client.get("/licensing/holders", params={"holder": "jan peeters"})
    assert page.status_code == 200 and f'href="/weapons/{weapon}"' in page.text and "HW-1" in page.text
    assert "active" in page.text
    none = client.get("/licensing/holders", params={"holder": "Nobody"})
    assert "Nobody holds no weapon on this register." in none.text
    assert [r.subject for r in desk_context.reads] == ["holder jan peeters", "holder Nobody"]


def test_customs_shows_days_open_and_the_authorizations_with_their_use(tmp_path):
    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"])
    try:
        shipment, _ = ship_belgian_pistol_to_france(federation)
        france = DeskTestContext(federation["FR"])
        with TestClient(desk_app(france)) as client:
            sign_in(client, "cleo")
            page = client.get("/customs").text
        france.close()
    finally:
        federation.close()
    assert f"<code>{shipment}</code>" in page and "<td>10</td>" in page  # exported 10 days ago
    assert "Import authorizations and transit no-objections" in page and "Sent (issued here)" in page
    assert ">FR-IA-1</a>" in page and "Shipments: 1; weapons: 1" in page


def test_the_issue_form_records_the_place_of_issue_and_the_description(client, desk_context):
    csrf = sign_in(client, "lena")
    issued = client.post("/licensing/licences/issue", data={
        "csrf_token": csrf, "number": "EL-100", "kind": "export_licence", "holder": "FN Herstal",
        "valid_from": "2024-01-01", "valid_until": "2030-12-31", "place_of_issue": "Liège",
        "export_state": "be", "import_state": "nl", "end_user": "Police NL", "description": "3 rifles FN FAL",
        "quantity": "3"})
    assert issued.status_code == 200
    assert "3 rifles FN FAL" in issued.text and "at Liège" in issued.text
    assert "FP art 10(3) content not stated" not in issued.text
    licence = desk_context.node.registry.licence("EL-100", LicenceKind.EXPORT_LICENCE, field="number")
    assert (licence.place_of_issue, licence.description) == ("Liège", "3 rifles FN FAL")
