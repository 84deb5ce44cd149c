"""Licences listed and shown with their use: own licences and partners' authorizations, the shipments
made under each and the quantity left, enforced across every shipment under an export licence.

The exporting node (BE) runs on each backend (``db_url``); NL on SQLite. NL's authorization
reaches BE as a received record (memory_federation).
"""

from __future__ import annotations

import time

import pytest

from domain.errors import InvalidField, LicenceRefused
from domain.licence import LicenceKind, LicenceState
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.federation.crossborder import ExportAuthorizations
from nodes.federation.customs import authorizations
from nodes.registry.licences import licence_document, list_licences

NOW = int(time.time()) - 60


@pytest.fixture
def federated_states():
    return ["BE", "NL"]


@pytest.fixture
def be(fed):
    """BE with an export licence for 2 weapons to NL, NL's import authorization received, three weapons."""
    be, nl = fed["BE"], fed["NL"]
    dates = dict(valid_from=NOW - 100 * DAY, valid_until=NOW + 100 * DAY, occurred_on=NOW - 50 * DAY)
    be.registry.issue_licence(number="EL-2", kind=LicenceKind.EXPORT_LICENCE, holder="FN Herstal",
                              export_state="BE", import_state="NL", consignee="Dealer NL", quantity=2,
                              place_of_issue="Brussels", description="2 pistols FN Five-seveN", **dates)
    be.registry.issue_licence(number="TL-OLD", kind=LicenceKind.TRANSFER_LICENCE, holder="Jan Peeters",
                              valid_from=NOW - 400 * DAY, valid_until=NOW - 300 * DAY, occurred_on=NOW - 400 * DAY)
    ia = nl.registry.issue_licence(number="IA-9", kind=LicenceKind.IMPORT_AUTHORIZATION, holder="Dealer NL",
                                   export_state="BE", import_state="NL", consignee="Dealer NL", **dates)
    be.inbox.accept(nl.registry.envelopes(ia))
    for serial in ("P-1", "P-2", "P-3"):
        be.registry.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                model="Five-seveN", calibre="5.7x28", year=2020, holder="FN Herstal",
                                occurred_on=NOW - 60 * DAY)
    return be


def weapon(be, serial):
    return Marking.read("FN Herstal", "BE", serial).weapon_id()


def ship(be, serial, days_ago):
    return be.registry.export(weapon_ids=[weapon(be, serial)], licence="EL-2", import_authorization="IA-9",
                              to_state="NL", consignee="Dealer NL", occurred_on=NOW - days_ago * DAY)


def test_list_shows_own_licences_and_received_authorizations_filtered(be):
    numbers = lambda **filters: [(d["number"], d["origin"]) for d in list_licences(be, now=NOW, **filters)]  # noqa: E731
    assert numbers() == [("EL-2", "own"), ("TL-OLD", "own"), ("IA-9", "NL")]
    assert numbers(kind=LicenceKind.IMPORT_AUTHORIZATION) == [("IA-9", "NL")]
    assert numbers(holder="  dealer nl ") == [("IA-9", "NL")]
    assert numbers(state=LicenceState.EXPIRED) == [("TL-OLD", "own")]
    assert numbers(valid_on=NOW - 350 * DAY) == [("TL-OLD", "own")]
    assert numbers(holder="Nobody") == []


def test_show_gives_every_field_the_signature_and_the_shipments_with_the_quantity_left(be):
    shipment = ship(be, "P-1", 10)
    shown = licence_document(be, "el-2", now=NOW)
    assert (shown["place_of_issue"], shown["description"], shown["issued_on"]) == (
        "Brussels", "2 pistols FN Five-seveN", NOW - 50 * DAY)
    assert (shown["signature"], shown["origin"], shown["state"]) == ("verified", "own", "valid")
    assert [(u["shipment_id"], u["quantity"], u["received"]) for u in shown["shipments"]] == [(str(shipment), 1, False)]
    assert (shown["quantity_used"], shown["quantity_left"]) == (1, 1)
    assert shown["missing_content"] == []
    received = licence_document(be, "IA-9", LicenceKind.IMPORT_AUTHORIZATION, now=NOW)
    assert (received["origin"], received["issuer_state"]) == ("NL", "NL")
    assert received["signature"] == "verified on receipt from NL"
    assert [u["shipment_id"] for u in received["shipments"]] == [str(shipment)]
    assert received["quantity_left"] is None and "place_of_issue" in received["missing_content"]
    # Customs of the exporting state see NL's authorization as received, with its use.
    (listed,) = authorizations(be, now=NOW)
    assert (listed["number"], listed["direction"], listed["issuer_state"]) == ("IA-9", "received", "NL")
    assert [(u["shipment_id"], u["received"]) for u in listed["shipments"]] == [(str(shipment), False)]


@pytest.mark.parametrize(("number", "kind", "field", "reason"), [
    ("  ", None, "number", "required"),
    ("EL-404", None, "number", "no licence or authorization 'EL-404' is held here"),
    ("EL-2", LicenceKind.TRANSFER_LICENCE, "number", "no transfer_licence 'EL-2'"),
])
def test_show_refuses_naming_the_field_and_repeating_what_was_typed(be, number, kind, field, reason):
    with pytest.raises((InvalidField, LicenceRefused)) as refused:
        licence_document(be, number, kind)
    assert refused.value.field == field and reason in str(refused.value)


def test_a_third_weapon_under_an_export_licence_for_two_is_refused_writing_nothing(be):
    ship(be, "P-1", 10)
    ship(be, "P-2", 9)
    check = ExportAuthorizations(be)
    stored = len(be.registry.envelopes(weapon(be, "P-3")))
    with pytest.raises(LicenceRefused) as refused:
        check(to_state="NL", import_authorization="IA-9", transit_states=(), transit_no_objections=(),
              consignee="Dealer NL", quantity=1, occurred_on=NOW - 8 * DAY, licence="EL-2")
    assert refused.value.field == "licence"
    assert "export_licence EL-2 covers 2 weapons; 2 shipped under it already, 0 left" in str(refused.value)
    assert len(be.registry.envelopes(weapon(be, "P-3"))) == stored


def test_the_third_export_under_an_export_licence_for_two_is_refused(be):
    ship(be, "P-1", 10)
    ship(be, "P-2", 9)
    with pytest.raises(LicenceRefused) as refused:
        ship(be, "P-3", 8)
    assert refused.value.field == "licence"
    assert be.registry.weapon(weapon(be, "P-3")).status.value == "active"
