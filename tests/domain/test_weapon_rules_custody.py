"""Rules added after review: recovery restores the custody before the loss; an export
must follow its licence's route and consignee; a seizure with a different marking is flagged."""

from __future__ import annotations

import pytest

from domain.authority import AuthorityKind
from domain.errors import LicenceRefused
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.weapon import Status

L, C, P = AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE


def test_a_weapon_lost_from_police_custody_is_seized_again_when_recovered(authorities, make_weapon, now):
    weapon = make_weapon()
    weapon.seize(authority=authorities[P], place="Antwerp", circumstances="raid", occurred_on=now)
    weapon.report_stolen(authority=authorities[P], place="evidence room", circumstances="break-in", occurred_on=now)
    weapon.recover(authority=authorities[P], place="Ghent", holder="", occurred_on=now)
    assert weapon.status is Status.SEIZED
    assert weapon.pending_events[-1].restored_status == "seized"


def test_a_weapon_lost_by_its_holder_is_held_again_when_recovered(authorities, make_weapon, now):
    weapon = make_weapon()
    weapon.report_lost(authority=authorities[P], place="train", circumstances="left behind", occurred_on=now)
    weapon.recover(authority=authorities[P], place="Namur", holder="", occurred_on=now)
    assert weapon.status is Status.ACTIVE


@pytest.mark.parametrize("overrides, export, field", [
    ({"transit_states": ("DE",)}, {"transit_states": ("FR",)}, "via"),
    ({"consignee": "Wapenhandel Utrecht BV"}, {"consignee": "Someone Else"}, "consignee"),
    ({"export_state": "FR"}, {}, "licence"),
])
def test_an_export_off_the_licensed_route_or_consignee_is_refused(authorities, make_weapon, make_licence, now,
                                                                   overrides, export, field):
    weapon = make_weapon()
    licence = make_licence(LicenceKind.EXPORT_LICENCE, **overrides)
    with pytest.raises(LicenceRefused) as refused:
        weapon.export(authority=authorities[C], licence=licence, import_authorization="NL-IA-1", to_state="NL",
                      occurred_on=now, shipment="S-1", **export)
    assert refused.value.field == field


def test_an_export_on_the_licensed_route_passes(authorities, make_weapon, make_licence, now):
    weapon = make_weapon()
    licence = make_licence(LicenceKind.EXPORT_LICENCE, transit_states=("DE",), consignee="Wapenhandel Utrecht BV")
    weapon.export(authority=authorities[C], licence=licence, import_authorization="NL-IA-1", to_state="NL",
                  transit_states=("DE",), consignee="WAPENHANDEL UTRECHT B.V.", occurred_on=now, shipment="S-1")
    assert weapon.status is Status.EXPORTED


def test_a_seizure_reading_another_marking_keeps_it_and_is_flagged(authorities, make_weapon, now):
    weapon = make_weapon(serial="1001")
    read = Marking.read("FN Herstal", "BE", "1007")
    weapon.seize(authority=authorities[P], place="Liège", circumstances="serial re-stamped", occurred_on=now,
                 marking=read)
    seized = weapon.pending_events[-1]
    assert "marking-differs" in seized.flags
    assert seized.marking["serial"] == "1007"


def test_a_seizure_reading_the_same_marking_is_not_flagged(authorities, make_weapon, now):
    weapon = make_weapon(serial="1001")
    weapon.seize(authority=authorities[P], place="Liège", circumstances="raid", occurred_on=now,
                 marking=Marking.read("FN-Herstal", "be", "10.01"))
    assert weapon.pending_events[-1].flags == ()
