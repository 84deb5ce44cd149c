"""Essential components and conversions in the domain (domain.component, domain.assembly): the rules, each
with the record it writes or the field a refusal names; the folds of both sides."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from domain import event_types as types
from domain.authority import PERMISSIONS, AuthorityKind
from domain.component import (
    Component,
    ComponentState,
    ComponentStatus,
    Host,
    check_kind,
    component_id,
    components_named,
    evolve_component,
)
from domain.errors import InvalidField, InvalidState, LicenceRefused, NotPermitted, UnknownWeapon
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.schema import domain_schema
from domain.weapon_state import WeaponState, evolve

L, C, P, D, R = (AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE, AuthorityKind.DEACTIVATION,
                 AuthorityKind.REGISTRY)
FRAME = Marking.read("FN Herstal", "BE", "F-1")


def part(kind="frame", marking=FRAME):
    return (kind, str(component_id(kind, marking)), marking.as_dict())


def component(a, now, kind="frame", marking=FRAME, by=L):
    return Component.register(authority=a[by], kind=kind, marking=marking, occurred_on=now)


@pytest.fixture
def a(authorities):
    return authorities


def test_a_component_id_comes_from_its_kind_and_normalised_marking():
    assert component_id("frame", FRAME) == component_id("frame", Marking.read("fn herstal", "be", "F 1"))
    assert component_id("frame", FRAME) != component_id("barrel", FRAME) != FRAME.weapon_id()
    with pytest.raises(InvalidField) as info:
        component_id("frame", Marking.read("FN", "BE", "F?1"))
    assert info.value.field == "serial"


def test_kinds_are_the_essential_ones_and_those_a_state_adds():
    assert check_kind(" Breech  Block ") == "breech-block"
    assert check_kind("cylinder", extra=("cylinder",)) == "cylinder"
    with pytest.raises(InvalidField) as info:
        check_kind("cylinder", field="component")
    assert info.value.field == "component" and "frame" in str(info.value)


def test_lawful_assembly_records_each_part_once_per_kind(make_weapon, a, now):
    weapon = make_weapon()
    weapon.assemble(authority=a[L], parts=(part(), part("barrel")), occurred_on=now)
    assert set(weapon.components) == {"frame", "barrel"} and weapon.collect_events()[-1].flags == ()
    for parts, field in (((part(),), "component"), ((part("slide"), part("slide")), "component"), ((), "component")):
        with pytest.raises((InvalidState, InvalidField)) as info:
            weapon.assemble(authority=a[L], parts=parts, occurred_on=now)
        assert info.value.field == field
    with pytest.raises(NotPermitted):
        weapon.assemble(authority=a[D], parts=(part("slide"),), occurred_on=now)


def test_police_record_the_parts_of_a_seized_weapon_only_and_flagged(make_weapon, a, now):
    weapon = make_weapon()
    with pytest.raises(InvalidState) as info:
        weapon.assemble(authority=a[P], parts=(part(),), occurred_on=now)
    assert info.value.field == "weapon" and "seized" in str(info.value)
    weapon.seize(authority=a[P], place="Gent", circumstances="raid", occurred_on=now)
    with pytest.raises(InvalidState):  # nor may the licensing authority work on a seized weapon
        weapon.assemble(authority=a[L], parts=(part(),), occurred_on=now)
    weapon.assemble(authority=a[P], parts=(part(),), occurred_on=now)
    assert weapon.flags[-1] == "components-found"


def test_a_component_is_in_one_weapon_at_a_time(a, now):
    frame = component(a, now)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    frame.install(authority=a[L], weapon_id=first, weapon_marking={}, host=None, occurred_on=now)
    for target, said in ((second, "one weapon at a time"), (first, "already")):
        with pytest.raises(InvalidState) as info:
            frame.install(authority=a[L], weapon_id=target, weapon_marking={}, host=Host(first, "active"),
                          occurred_on=now)
        assert info.value.field == "component" and said in str(info.value)
    with pytest.raises(InvalidState) as info:
        frame.destroy(authority=a[D], method="shredded", occurred_on=now)
    assert "replace-component" in str(info.value)
    frame.remove(authority=a[L], weapon_id=first, reason="worn", occurred_on=now)
    frame.install(authority=a[L], weapon_id=second, weapon_marking={}, host=None, occurred_on=now)
    assert frame.status is ComponentStatus.INSTALLED and frame.weapon_id == second


@pytest.mark.parametrize("host_status", ["destroyed", "deactivated"])
def test_a_part_that_went_with_its_weapon_is_never_installed_again(a, now, host_status):
    frame = component(a, now)
    first = str(uuid.uuid4())
    frame.install(authority=a[L], weapon_id=first, weapon_marking={}, host=None, occurred_on=now)
    with pytest.raises(InvalidState) as info:
        frame.install(authority=a[L], weapon_id=str(uuid.uuid4()), weapon_marking={}, host=Host(first, host_status),
                      occurred_on=now)
    assert host_status in str(info.value)


def test_a_destroyed_component_stays_destroyed_and_is_flagged_when_found(a, now):
    frame = component(a, now)
    frame.destroy(authority=a[D], method="shredded", occurred_on=now)
    with pytest.raises(InvalidState):
        frame.install(authority=a[L], weapon_id=str(uuid.uuid4()), weapon_marking={}, host=None, occurred_on=now)
    with pytest.raises(InvalidState):
        frame.destroy(authority=a[D], method="again", occurred_on=now)
    with pytest.raises(NotPermitted):
        frame.seize(authority=a[L], weapon_id=str(uuid.uuid4()), host=None, occurred_on=now)
    frame.seize(authority=a[P], weapon_id=str(uuid.uuid4()), host=None, occurred_on=now)
    assert frame.status is ComponentStatus.DESTROYED and frame.state.flags == ("component-after-destruction",)


def test_a_part_found_in_another_weapon_names_the_weapon_it_came_from(a, now):
    frame, donor, seized = component(a, now), str(uuid.uuid4()), str(uuid.uuid4())
    frame.install(authority=a[L], weapon_id=donor, weapon_marking={}, host=None, occurred_on=now)
    frame.seize(authority=a[C], weapon_id=seized, host=Host(donor, "stolen"), occurred_on=now)
    event = frame.collect_events()[-1]
    assert event.from_weapon == donor and event.flags == (f"component-from-weapon:{donor}",)
    assert frame.weapon_id == seized and frame.status is ComponentStatus.SEIZED


def test_replacement_needs_a_part_of_that_kind_on_record(make_weapon, a, now):
    weapon = make_weapon()
    with pytest.raises(InvalidState) as info:
        weapon.replace_component(authority=a[L], kind="barrel", installed=str(uuid.uuid4()), installed_marking={},
                                 reason="worn", occurred_on=now)
    assert info.value.field == "kind"
    weapon.assemble(authority=a[L], parts=(part("barrel"),), occurred_on=now)
    new = Marking.read("FN Herstal", "BE", "B-2")
    removed = weapon.replace_component(authority=a[L], kind="barrel", installed=str(component_id("barrel", new)),
                                       installed_marking=new.as_dict(), reason="worn", occurred_on=now)
    assert removed == str(component_id("barrel", FRAME))
    assert weapon.components["barrel"]["marking"]["serial"] == "B-2"
    with pytest.raises(InvalidField) as info:
        weapon.replace_component(authority=a[L], kind="barrel", installed=removed, installed_marking={}, reason=" ",
                                 occurred_on=now)
    assert info.value.field == "reason"


def test_a_calibre_change_needs_a_new_calibre_and_no_licence(make_weapon, a, now):
    weapon = make_weapon()
    for calibre in ("", "5.7X28"):
        with pytest.raises(InvalidField) as info:
            weapon.convert(authority=a[L], conversion="calibre", calibre=calibre, occurred_on=now)
        assert info.value.field == "calibre"
    weapon.convert(authority=a[L], conversion="calibre", calibre="9x19", occurred_on=now)
    assert weapon.calibre == "9x19" and weapon.state.conversions == ("calibre",)
    event = weapon.collect_events()[-1]
    assert (event.from_calibre, event.to_calibre, event.licence, event.flags) == ("5.7x28", "9x19", "", ())


def test_a_lawful_conversion_needs_a_conversion_licence_of_the_holder(make_weapon, make_licence, a, now):
    weapon = make_weapon()
    with pytest.raises(InvalidField) as info:
        weapon.convert(authority=a[L], conversion="alarm-to-firearm", occurred_on=now)
    assert info.value.field == "licence"
    refusals = [make_licence(LicenceKind.TRANSFER_LICENCE, number="TL-1"),
                make_licence(LicenceKind.CONVERSION_LICENCE, number="CV-1", holder="Someone else"),
                make_licence(LicenceKind.CONVERSION_LICENCE, number="CV-2", weapons=(str(uuid.uuid4()),))]
    for licence in refusals:
        with pytest.raises(LicenceRefused) as refused:
            weapon.convert(authority=a[L], conversion="alarm-to-firearm", licence=licence, occurred_on=now)
        assert refused.value.field == "licence"
    licence = make_licence(LicenceKind.CONVERSION_LICENCE, number="CV-3")
    weapon.convert(authority=a[L], conversion="alarm-to-firearm", type="pistol", licence=licence, occurred_on=now)
    assert weapon.collect_events()[-1].licence == "CV-3"
    with pytest.raises(InvalidField) as info:
        weapon.convert(authority=a[L], conversion="made-up", occurred_on=now)
    assert info.value.field == "kind"


def test_a_deactivated_weapon_is_reactivated_not_converted_but_a_conversion_found_is_flagged(make_weapon, a, now):
    weapon = make_weapon()
    with pytest.raises(InvalidField) as info:
        weapon.convert(authority=a[L], conversion="deactivated-to-firearm", occurred_on=now)
    assert "reactivat" in str(info.value) and info.value.field == "kind"
    weapon.deactivate(authority=a[D], certificate="DC-1", method="EU 2015/2403", standard="EU 2018/337",
                      inspecting_body="Proof House Liège", inspected_on=now, occurred_on=now)
    with pytest.raises(InvalidState) as state:
        weapon.convert(authority=a[L], conversion="calibre", calibre="9x19", occurred_on=now)
    assert "deactivated" in str(state.value)
    weapon.seize(authority=a[P], place="Gent", circumstances="raid", occurred_on=now)
    weapon.convert(authority=a[P], conversion="deactivated-to-firearm", description="plug drilled out",
                   occurred_on=now)
    assert weapon.flags[-1] == "conversion-found" and weapon.collect_events()[-1].licence == ""


def test_component_records_open_no_weapon_nor_component_record(make_weapon, a, now):
    weapon = make_weapon()
    weapon.assemble(authority=a[L], parts=(part(),), occurred_on=now)
    assembled = dataclasses.replace(weapon.collect_events()[-1], originator_version=1)
    with pytest.raises(UnknownWeapon):
        assembled.mutate(None)
    frame = component(a, now)
    frame.destroy(authority=a[D], method="x", occurred_on=now)
    destroyed = dataclasses.replace(frame.collect_events()[-1], originator_version=1)
    with pytest.raises(UnknownWeapon) as info:
        destroyed.mutate(None)
    assert info.value.field == "component"


def test_the_folds_of_both_sides_are_total_and_keep_parts_by_kind():
    state = evolve(WeaponState(), types.ASSEMBLED, {"components": ({"component_id": "c1", "kind": "frame",
                                                                     "marking": FRAME.as_dict()}, "junk")})
    state = evolve(state, types.COMPONENT_REPLACED, {"kind": "frame", "installed": "c2", "installed_marking": {}})
    assert dict(state.components) == {"frame": {"component_id": "c2", "marking": {}}}
    assert evolve(WeaponState(), types.CONVERTED, {}).conversions == ("",)
    assert evolve_component(ComponentState(), "Component.Unknown", {}) == ComponentState()
    assert components_named([(types.ASSEMBLED, {"components": ({"component_id": "c1"},)}),
                             (types.COMPONENT_REPLACED, {"removed": "c1", "installed": "c2"})]) == ["c1", "c2"]


def test_every_component_record_is_in_the_permissions_and_the_schema():
    schema = domain_schema()
    for record_type in (*types.COMPONENT_EVENT_TYPES, types.ASSEMBLED, types.COMPONENT_REPLACED, types.CONVERTED):
        assert PERMISSIONS[record_type] and record_type in schema.bodies
    assert PERMISSIONS[types.COMPONENT_INSTALLED] == {L, R} and PERMISSIONS[types.COMPONENT_SEIZED] == {P, C}
    weapon_id = str(uuid.uuid4())
    with pytest.raises(InvalidField) as info:
        schema.check(stream=weapon_id, type=types.COMPONENT_SEIZED,
                     body={"weapon_id": weapon_id, "from_weapon": "not-a-uuid", "flags": ()})
    assert info.value.field == "body.from_weapon"
