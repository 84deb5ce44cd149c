"""Loss and theft reports that open a weapon's record from its marking, the description every report
carries, and the manufacture date that may not precede the year of manufacture (``domain.weapon``)."""

from __future__ import annotations

import pytest

from domain.authority import AuthorityKind
from domain.errors import InvalidField, InvalidState
from domain.marking import Marking
from domain.time import parse_time
from domain.weapon import Status, Weapon

P, L = AuthorityKind.POLICE, AuthorityKind.LICENSING
MARKING = Marking.read("Glock", "AT", "PAPER-77")


def replay(weapon):
    """The weapon as another reader folds it from its events alone (what a reload does)."""
    rebuilt = None
    for event in weapon.collect_events():
        rebuilt = event.mutate(rebuilt)
    return rebuilt


def test_a_report_of_a_weapon_on_no_register_opens_its_record_from_the_marking(authorities, now):
    weapon = Weapon.register_report(MARKING.weapon_id(), stolen=True, marking=MARKING, type="pistol", make="Glock",
                                    calibre="9x19", year=2015, authority=authorities[P], place="Gent",
                                    circumstances="burglary at a private holder's home", occurred_on=now)
    event = weapon.collect_events()[-1]
    assert event.TOPIC == "Weapon.ReportedStolen" and event.originator_version == 1
    assert (event.marking, event.type, event.calibre, event.year) == (MARKING.as_dict(), "pistol", "9x19", 2015)
    rebuilt = Weapon.register_report(MARKING.weapon_id(), stolen=False, marking=MARKING, authority=authorities[P],
                                     place="", circumstances="", occurred_on=now)
    folded = replay(rebuilt)
    assert folded.id == MARKING.weapon_id() and folded.status is Status.LOST
    assert dict(folded.marking) == MARKING.as_dict() and folded.type == ""  # nothing more was known


def test_a_report_needs_a_complete_marking_that_names_the_weapon(authorities, now):
    report = dict(authority=authorities[P], place="", circumstances="", occurred_on=now)
    obliterated = Marking.read("Glock", "AT", "PA??R-77")
    with pytest.raises(InvalidField) as info:
        Weapon.register_report(MARKING.weapon_id(), stolen=True, marking=obliterated, **report)
    assert info.value.field == "serial"
    with pytest.raises(InvalidField) as info:
        Weapon.register_report(Marking.read("Glock", "AT", "OTHER").weapon_id(), stolen=True, marking=MARKING,
                               **report)
    assert info.value.field == "weapon"
    with pytest.raises(InvalidField) as info:
        Weapon.register_report(MARKING.weapon_id(), stolen=True, marking=MARKING, year=1200, **report)
    assert info.value.field == "year"


def test_a_report_of_a_weapon_on_record_carries_its_marking_and_description(make_weapon, authorities, now):
    weapon = make_weapon("R-1")
    weapon.report_stolen(authority=authorities[P], place="Liège", circumstances="", occurred_on=now)
    event = weapon.collect_events()[-1]
    assert event.marking["serial"] == "R-1" and (event.type, event.model, event.year) == ("pistol", "Five-seveN", 2020)
    with pytest.raises(InvalidState):
        weapon.report_lost(authority=authorities[P], place="", circumstances="", occurred_on=now)


def manufacture(authorities, year, date):
    return Weapon.manufacture(authority=authorities[L], marking=Marking.read("FN", "BE", f"Y-{year}"), type="pistol",
                              make="FN", model="", calibre="9", year=year, holder="FN", occurred_on=parse_time(date))


def test_a_manufacture_date_before_the_year_of_manufacture_is_refused_naming_the_date(authorities):
    with pytest.raises(InvalidField) as info:
        manufacture(authorities, 2021, "2020-12-31")
    assert info.value.field == "occurred_on" and "2020-12-31" in str(info.value) and "2021" in str(info.value)
    assert manufacture(authorities, 2021, "2021-01-01").year == 2021
    assert manufacture(authorities, 2019, "2021-06-01").year == 2019  # made earlier, registered later
