"""Cross-border flows (FP art 10): authorizations checked before export, receipt, closing, overdue.

The exporting node (BE) runs on each backend (``db_url``); its partners on SQLite.
Records travel through the in-memory stand-in of the federation (memory_federation).
"""

from __future__ import annotations

import time
from uuid import UUID

import pytest

from domain.errors import InvalidState, LicenceRefused, UnknownWeapon
from domain.licence import LicenceKind, licence_id
from domain.marking import Marking
from domain.shipment import DEFAULT_OVERDUE_DAYS, Shipment
from domain.time import SECONDS_PER_DAY as DAY
from nodes.federation import crossborder
from nodes.settings import Settings

import insider

NOW = int(time.time()) - 60


@pytest.fixture
def federated_states():
    """BE, the exporting node, first: ``fed`` runs it on each backend."""
    return ["BE", "NL", "DE"]


def manufacture(fed, serial="FN-1", holder="FN Herstal") -> UUID:
    return fed["BE"].registry.manufacture(
        marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN", model="Five-seveN",
        calibre="5.7x28", year=2020, holder=holder, occurred_on=NOW - 300 * DAY)


def issue(node, number, kind, **fields):
    defaults = dict(holder="Wapenhandel BV", valid_from=NOW - 400 * DAY, valid_until=NOW + 400 * DAY,
                    export_state="BE", import_state="NL", occurred_on=NOW - 200 * DAY)
    return node.registry.issue_licence(number=number, kind=kind, **{**defaults, **fields})


def export_licence(fed, **fields):
    issue(fed["BE"], "EL-1", LicenceKind.EXPORT_LICENCE, holder="FN Herstal", transit_states=("DE",), **fields)


def export(fed, weapons, **fields):
    arguments = dict(weapon_ids=list(weapons), licence="EL-1", import_authorization="NL-IA-1", to_state="NL",
                     transit_states=("DE",), transit_no_objections=("DE-TNO-1",), consignee="Wapenhandel BV",
                     occurred_on=NOW - 100 * DAY)
    return fed["BE"].registry.export(**{**arguments, **fields})


def authorizations(fed, ia=None, tno=None, deliver=("NL", "DE")):
    """NL's import authorization and DE's transit no-objection; those of the states in ``deliver``
    are handed to BE as received records.

    Handed over directly rather than by the sharing policy, which would send an
    authorization naming another exporting state to that state, not to BE.
    """
    ia_id = issue(fed["NL"], "NL-IA-1", LicenceKind.IMPORT_AUTHORIZATION,
                  **{"consignee": "Wapenhandel BV", **(ia or {})})
    tno_id = issue(fed["DE"], "DE-TNO-1", LicenceKind.TRANSIT_NO_OBJECTION, holder="Wapenhandel BV",
                   transit_states=("DE",), **(tno or {}))
    for state, stream in (("NL", ia_id), ("DE", tno_id)):
        if state in deliver:
            hand_over(fed, state, stream)


def hand_over(fed, state, stream):
    fed["BE"].inbox.accept(fed[state].registry.envelopes(stream))


def prepared(fed, deliver=("NL", "DE")) -> UUID:
    """A weapon and an export licence on BE, and the authorizations of the states in ``deliver`` received."""
    weapon = manufacture(fed)
    export_licence(fed)
    authorizations(fed, deliver=deliver)
    return weapon


@pytest.fixture
def ready(fed):
    """BE holds a weapon and an export licence; NL's authorization and DE's no-objection have arrived."""
    return prepared(fed)


@pytest.fixture
def lite_ready(lite):
    return prepared(lite)


def last_export(node, weapon):
    return [e for e in node.registry.envelopes(weapon) if e.type == "Weapon.Exported"][-1]


# --- before the export ------------------------------------------------------------------------


def test_export_records_the_received_authorizations_as_evidence(fed, ready):
    export(fed, [ready])
    exported = last_export(fed["BE"], ready)
    received_ia = fed["BE"].inbox.received(
        node="NL", stream=str(licence_id("NL", LicenceKind.IMPORT_AUTHORIZATION, "NL-IA-1")))
    received_tno = fed["BE"].inbox.received(
        node="DE", stream=str(licence_id("DE", LicenceKind.TRANSIT_NO_OBJECTION, "DE-TNO-1")))
    assert exported.body["authorization_evidence"] == received_ia[0].hash.hex()
    assert exported.body["transit_evidence"] == (received_tno[0].hash.hex(),)
    # The export carries what the importer needs to open the weapon's record.
    assert exported.body["marking"]["serial"] == "FN-1" and exported.body["calibre"] == "5.7x28"


def test_export_is_refused_without_the_import_authorization_of_a_partner(fed):
    weapon = prepared(fed, deliver=("DE",))
    with pytest.raises(LicenceRefused, match="no import authorization 'NL-IA-1' of NL has been received") as e:
        export(fed, [weapon])
    assert e.value.field == "import_authorization"
    assert not [x for x in fed["BE"].registry.envelopes(weapon) if x.type == "Weapon.Exported"]


@pytest.mark.parametrize("ia, field, reason", [
    ({"valid_until": NOW - 150 * DAY}, "import_authorization", "expired"),
    ({"valid_from": NOW - 50 * DAY}, "import_authorization", "not valid before"),
    ({"export_state": "FR"}, "import_authorization", "export from FR, not from BE"),
    ({"consignee": "Shell Trading Ltd"}, "consignee", "authorizes consignee 'Shell Trading Ltd'"),
    ({"quantity": 1}, "import_authorization", "covers 1 weapon; 0 shipped under it already, 1 left"),
], ids=["expired", "not-yet-valid", "wrong-export-state", "consignee-mismatch", "quantity-exceeded"])
def test_export_is_refused_when_the_authorization_does_not_match(lite, ia, field, reason):
    first, second = manufacture(lite, "FN-1"), manufacture(lite, "FN-2")
    export_licence(lite)
    authorizations(lite, ia=ia)
    with pytest.raises(LicenceRefused, match=reason) as e:
        export(lite, [first, second])
    assert e.value.field == field


def test_quantity_counts_earlier_shipments_under_the_same_authorization(lite):
    first, second = manufacture(lite, "FN-1"), manufacture(lite, "FN-2")
    export_licence(lite)
    authorizations(lite, ia={"quantity": 1})
    export(lite, [first])
    with pytest.raises(LicenceRefused, match="covers 1 weapon; 1 shipped under it already, 0 left"):
        export(lite, [second], occurred_on=NOW - 90 * DAY)


def test_only_records_signed_as_shipment_openings_are_counted_against_the_quantity(lite):
    first, second = manufacture(lite, "FN-1"), manufacture(lite, "FN-2")
    export_licence(lite)
    authorizations(lite, ia={"quantity": 2})
    export(lite, [first])
    be = lite["BE"]
    # The first weapon's export row claims to open a shipment; only its signed type counts.
    insider.set_topic(be.settings.db, be.registry.recorder.events_table_name, first, 2, "Shipment.Opened")
    export(lite, [second], occurred_on=NOW - 90 * DAY)
    assert be.registry.weapon(second).status.value == "exported"


def test_revoked_authorization_is_refused_from_its_revocation_on(lite, lite_ready):
    nl = lite["NL"]
    revoked = nl.registry.repository.get(licence_id("NL", LicenceKind.IMPORT_AUTHORIZATION, "NL-IA-1"))
    revoked.revoke(authority=nl.registry.authority("licensing"), reason="end user sanctioned",
                   occurred_on=NOW - 120 * DAY)
    nl.registry.save(revoked)
    lite.deliver("NL", "BE")
    with pytest.raises(LicenceRefused, match="revoked"):
        export(lite, [lite_ready])


def test_transit_no_objection_of_a_partner_is_required(lite):
    weapon = prepared(lite, deliver=("NL",))
    with pytest.raises(LicenceRefused, match="no transit no objection 'DE-TNO-1' of DE") as e:
        export(lite, [weapon])
    assert e.value.field == "transit_no_objection"
    with pytest.raises(LicenceRefused, match="DE runs a node: give its transit no-objection number"):
        export(lite, [weapon], transit_no_objections=())


def test_paper_authorization_of_a_state_without_a_node_is_recorded_as_unverified(lite):
    weapon = manufacture(lite)
    issue(lite["BE"], "EL-US", LicenceKind.EXPORT_LICENCE, holder="FN Herstal", import_state="US")
    export(lite, [weapon], licence="EL-US", import_authorization="US-IA-77", to_state="US", transit_states=(),
           transit_no_objections=(), consignee="Gun Shop Inc")
    exported = last_export(lite["BE"], weapon)
    assert exported.body["import_authorization"] == "US-IA-77"
    assert exported.body["authorization_evidence"] == ""  # accepted on paper, not verified electronically


# --- receipt, closing, overdue ------------------------------------------------------------------


def test_receipt_opens_the_record_on_the_importer_and_closes_the_shipment_on_the_exporter(fed, ready):
    shipment = export(fed, [ready])
    be, nl = fed["BE"], fed["NL"]
    assert [s["shipment_id"] for s in crossborder.open_shipments(be, now=NOW)] == [str(shipment)]
    fed.deliver("BE", "NL")
    receipt = crossborder.confirm_receipt(nl, shipment=str(shipment), occurred_on=NOW - 95 * DAY)
    assert receipt.weapons == (str(ready),) and receipt.from_state == "BE"
    weapon = nl.registry.weapon(ready)
    assert weapon.holder == "Wapenhandel BV"
    assert weapon.import_marking == {"country": "NL", "year": weapon.import_marking["year"]}
    assert weapon.marking["serial"] == "FN-1" and weapon.imported_from == "BE" and not weapon.awaiting_receipt
    assert [e.type for e in nl.registry.envelopes(ready)] == ["Weapon.Imported", "Weapon.ReceiptConfirmed"]

    fed.deliver("NL", "BE")
    closed = be.registry.repository.get(shipment)
    assert isinstance(closed, Shipment) and not closed.is_open
    confirmation = be.registry.envelopes(shipment)[-1]
    assert confirmation.type == "Shipment.ReceiptConfirmed" and confirmation.body["confirmed_by_state"] == "NL"
    receipt_record = nl.registry.envelopes(ready)[-1]
    assert confirmation.body["confirmation"] == receipt_record.hash.hex()
    assert crossborder.open_shipments(be, now=NOW) == []
    with pytest.raises(InvalidState, match="receipt of shipment .* was confirmed already"):
        crossborder.confirm_receipt(nl, shipment=str(shipment))


def test_a_shipment_closes_only_when_every_weapon_is_confirmed(lite):
    first, second = manufacture(lite, "FN-1"), manufacture(lite, "FN-2")
    export_licence(lite)
    authorizations(lite)
    shipment = export(lite, [first, second])
    lite.deliver("BE", "NL")
    crossborder.confirm_receipt(lite["NL"], weapon_id=first)
    lite.deliver("NL", "BE")
    assert lite["BE"].registry.repository.get(shipment).is_open
    crossborder.confirm_receipt(lite["NL"], weapon_id=second)
    lite.deliver("NL", "BE")
    assert not lite["BE"].registry.repository.get(shipment).is_open


def test_receipt_of_a_shipment_never_announced_is_refused(lite):
    with pytest.raises(UnknownWeapon, match="no export to NL of shipment"):
        crossborder.confirm_receipt(lite["NL"], shipment="00000000-0000-0000-0000-000000000001")


def test_unconfirmed_shipments_are_overdue_after_the_configured_days(lite, lite_ready, monkeypatch):
    shipment = export(lite, [lite_ready])
    be = lite["BE"]
    listed = crossborder.open_shipments(be, now=NOW)
    assert listed[0]["overdue"] and listed[0]["overdue_days"] == DEFAULT_OVERDUE_DAYS
    configured = Settings.load({"ARMSLEDGER_OVERDUE_DAYS": "365"}, home=be.settings.home, db=be.settings.db)
    monkeypatch.setattr(be, "settings", configured)
    assert not crossborder.open_shipments(be, now=NOW)[0]["overdue"]
    assert crossborder.open_shipments(be, now=NOW, only_overdue=True) == []
    assert [s["shipment_id"] for s in crossborder.open_shipments(be, now=NOW, overdue_days=99, only_overdue=True)] \
        == [str(shipment)]
    with pytest.raises(Exception, match="not a whole number"):
        Settings.load({"ARMSLEDGER_OVERDUE_DAYS": "soon"})
