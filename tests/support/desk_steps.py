"""Steps the desk tests share: reading a form's token, signing in, and records made behind the desks."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from domain.licence import LicenceKind
from domain.marking import Marking

from desk_app import PASSWORD, DeskTestContext

TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def form_token(html: str) -> str:
    """The CSRF (or sign-in) token of the first form of a page."""
    found = TOKEN.search(html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(client: TestClient, name: str) -> str:
    """Sign ``client`` in as ``name``; returns the session's CSRF token."""
    token = form_token(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"name": name, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return form_token(client.get("/search" if name != "ada" else "/").text)


def manufacture(context: DeskTestContext, serial: str, holder: str = "Armurerie Liège") -> str:
    """Record a manufacture straight through the registry; returns the weapon id."""
    weapon_id = context.node.registry.manufacture(
        by="licensing", marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
        model="Five-seveN", calibre="5.7x28mm", year=2020, holder=holder)
    context.node.settle()
    return str(weapon_id)


def issue_transfer_licence(context: DeskTestContext, number: str, holder: str) -> None:
    context.node.registry.issue_licence(by="licensing", number=number, kind=LicenceKind.TRANSFER_LICENCE,
                                        holder=holder, valid_from=0, valid_until=4_102_444_800)
    context.node.settle()


DAY = 86_400
NOW = int(time.time()) - 60


def ship_belgian_pistol_to_france(federation, serial: str = "CU-1") -> tuple[str, str]:
    """BE exports a pistol to FR under FR's import authorization, delivered by sync; (shipment, weapon)."""
    belgium, france = federation["BE"].registry, federation["FR"].registry
    weapon_id = belgium.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                    model="Five-seveN", calibre="5.7x28mm", year=2020, holder="FN Herstal",
                                    occurred_on=NOW - 30 * DAY)
    licence = dict(holder="Armurerie Paris", valid_from=NOW - 60 * DAY, valid_until=NOW + 60 * DAY,
                   export_state="BE", import_state="FR", occurred_on=NOW - 20 * DAY)
    france.issue_licence(number="FR-IA-1", kind=LicenceKind.IMPORT_AUTHORIZATION, **licence)
    federation.sync()
    belgium.issue_licence(number="BE-EL-1", kind=LicenceKind.EXPORT_LICENCE, **{**licence, "holder": "FN Herstal"})
    shipment = belgium.export(weapon_ids=[weapon_id], licence="BE-EL-1", import_authorization="FR-IA-1",
                              to_state="FR", consignee="Armurerie Paris", occurred_on=NOW - 10 * DAY)
    federation.sync()
    return str(shipment), str(weapon_id)
