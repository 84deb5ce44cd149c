"""Shipments (FP art 10): opened under an export licence, closed by the importer's receipt."""

from __future__ import annotations

import pytest

from domain.authority import AuthorityKind
from domain.errors import InvalidField, InvalidState
from domain.shipment import Shipment

C = AuthorityKind.CUSTOMS


@pytest.fixture
def open_shipment(authorities, now):
    def open_(**overrides) -> Shipment:
        fields = dict(export_licence="EL-1", import_authorization="IA-NL-1", import_state="NL",
                      weapons=("w1", "w2"), occurred_on=now)
        fields.update(overrides)
        return Shipment.open(authority=authorities[C], **fields)

    return open_


def test_open_then_confirm_receipt(open_shipment, authorities, now):
    shipment = open_shipment(transit_states=("de",), transit_no_objections=("TNO-DE-1",), consignee="Dealer NL")
    assert shipment.is_open
    assert (shipment.export_state, shipment.import_state, shipment.transit_states) == ("BE", "NL", ("DE",))
    assert shipment.weapons == ("w1", "w2") and shipment.exported_on == now
    shipment.confirm_receipt(authority=authorities[C], confirmed_by_state="NL", confirmation="NL-RC-1",
                             occurred_on=now)
    assert not shipment.is_open and shipment.received_on == now
    assert [e.TOPIC for e in shipment.collect_events()] == ["Shipment.Opened", "Shipment.ReceiptConfirmed"]


def test_every_shipment_has_its_own_id(open_shipment):
    assert open_shipment().id != open_shipment().id


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"weapons": ()}, "weapon"),
        ({"weapons": ("w1", "w1")}, "weapon"),
        ({"import_state": "XX"}, "to"),
        ({"import_authorization": ""}, "import_authorization"),
        ({"transit_states": ("ZZ",)}, "via"),
        ({"transit_states": ("DE", "FR"), "transit_no_objections": ("TNO-DE-1",)}, "transit_no_objection"),
    ],
)
def test_open_refused(override, field, open_shipment):
    with pytest.raises(InvalidField) as info:
        open_shipment(**override)
    assert info.value.field == field


def test_receipt_is_confirmed_by_the_importing_state_once(open_shipment, authorities, now):
    shipment = open_shipment()
    with pytest.raises(InvalidState) as info:
        shipment.confirm_receipt(authority=authorities[C], confirmed_by_state="DE", confirmation="x", occurred_on=now)
    assert info.value.field == "shipment"
    shipment.confirm_receipt(authority=authorities[C], confirmed_by_state="NL", confirmation="x", occurred_on=now)
    with pytest.raises(InvalidState) as info:
        shipment.confirm_receipt(authority=authorities[C], confirmed_by_state="NL", confirmation="x", occurred_on=now)
    assert info.value.field == "shipment"
