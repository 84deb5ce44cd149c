"""The fold's in-transit state: an export is in transit until a record of its arrival."""

from __future__ import annotations

from domain import event_types as types
from domain.weapon_state import Status, WeaponState, evolve

MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "386PN04127"}


def _exported() -> WeaponState:
    made = evolve(WeaponState(), types.MANUFACTURED, {"marking": MARKING, "holder": "FN Herstal SA"})
    return evolve(made, types.EXPORTED, {"to_state": "IT", "consignee": "Armeria Bresciana Srl", "shipment": "S-1"})


def test_an_export_is_in_transit_to_the_importing_state_until_receipt_is_confirmed():
    exported = _exported()
    assert (exported.status, exported.in_transit_to, exported.holder) == (
        Status.EXPORTED, "IT", "Armeria Bresciana Srl")
    received = evolve(exported, types.RECEIPT_CONFIRMED, {"received_by": "Armeria Bresciana Srl"})
    assert received.in_transit_to == "" and received.holder == "Armeria Bresciana Srl"


def test_a_mark_or_a_theft_on_the_way_leaves_it_in_transit_and_a_seizure_ends_it():
    marked = evolve(_exported(), types.MARKED, {"mark": "IT-2023"})
    stolen = evolve(marked, types.REPORTED_STOLEN, {"place": "Milano"})
    assert marked.in_transit_to == stolen.in_transit_to == "IT"
    seized = evolve(stolen, types.SEIZED, {"state": "FR", "place": "Marseille"})
    assert seized.in_transit_to == "" and seized.place == "FR" and seized.status is Status.SEIZED


def test_a_theft_report_that_carries_the_marking_registers_an_unknown_weapon():
    stolen = evolve(WeaponState(), types.REPORTED_STOLEN, {"marking": MARKING, "type": "pistol", "place": "Liège"})
    assert stolen.registered and stolen.marking == MARKING and stolen.type == "pistol"
    assert stolen.status is Status.STOLEN
    assert not evolve(WeaponState(), types.REPORTED_LOST, {"place": "Liège"}).registered
