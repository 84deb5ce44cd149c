"""The one weapon fold (``domain.weapon_state``): what a federated fold may do that the aggregate refuses."""

from __future__ import annotations

import dataclasses
from functools import reduce

import pytest
from hypothesis import given, strategies as st

from domain import event_types as types
from domain.errors import UnknownWeapon
from domain.weapon import Weapon
from domain.weapon_state import (
    OPENING_TYPES,
    REGISTERING_TYPES,
    Status,
    WeaponState,
    evolve,
    evolve_all,
    replace,
)

MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "F-1"}
DESCRIPTION = {"type": "pistol", "make": "FN", "model": "57", "calibre": "5.7", "year": 2019}


def test_a_partners_export_registers_the_marking_it_carries():
    state = evolve(WeaponState(), types.EXPORTED, {"marking": MARKING, "to_state": "FR", "consignee": "Armurerie",
                                                   "shipment": "S-1", **DESCRIPTION})
    assert state.registered and state.marking == MARKING and state.year == 2019
    assert (state.status, state.place, state.holder, state.open_shipment) == (
        Status.EXPORTED, "FR", "Armurerie", "S-1")
    assert types.EXPORTED in REGISTERING_TYPES and types.EXPORTED not in OPENING_TYPES


def test_an_export_does_not_overwrite_a_marking_registered_before():
    made = evolve(WeaponState(), types.MANUFACTURED, {"marking": MARKING, "holder": "FN", **DESCRIPTION})
    other = {**MARKING, "serial": "F-2"}
    assert evolve(made, types.EXPORTED, {"marking": other, "to_state": "FR"}).marking == MARKING


@pytest.mark.parametrize("record_type", sorted(types.WEAPON_EVENT_TYPES))
def test_the_fold_never_refuses_a_record_whatever_comes_first(record_type):
    state = evolve(WeaponState(), record_type, {})
    assert isinstance(state, WeaponState)


def test_the_aggregate_refuses_what_the_fold_accepts_first():
    # The aggregate applies the same fold, after its own checks.
    transfer = Weapon.Transferred(originator_id=Weapon.create_id(), originator_version=1,
                                  timestamp=Weapon.Event.create_timestamp(), occurred_on=0, authority="k",
                                  from_holder="", to_holder="Dealer", licence="TL-1")
    with pytest.raises(UnknownWeapon):
        transfer.mutate(None)
    assert evolve(WeaponState(), types.TRANSFERRED, {"to_holder": "Dealer"}).holder == "Dealer"


def test_a_recovery_restores_the_status_the_record_names():
    lost = evolve(WeaponState(status=Status.SEIZED), types.REPORTED_LOST, {})
    assert (lost.status, lost.status_before_loss) == (Status.LOST, Status.SEIZED)
    assert evolve(lost, types.RECOVERED, {"restored_status": "seized"}).status is Status.SEIZED
    assert evolve(lost, types.RECOVERED, {"restored_status": "no such status"}).status is Status.ACTIVE


def test_a_seizure_after_destruction_keeps_the_status_and_adds_the_flag():
    destroyed = WeaponState(marking=MARKING, status=Status.DESTROYED)
    seized = evolve(destroyed, types.SEIZED, {"state": "NL", "flags": ("after-destruction",)})
    assert (seized.status, seized.place, seized.flags) == (Status.DESTROYED, "NL", ("after-destruction",))


def test_records_that_are_not_weapon_records_change_nothing():
    state = WeaponState(holder="x")
    assert evolve(state, types.SHIPMENT_OPENED, {"holder": "y"}) is state


# --- replace: dataclasses.replace's result, without the frozen __init__ ----------------------


SOME_STATE = WeaponState(marking=MARKING, type="pistol", year=2019, status=Status.LOST,
                         status_before_loss=Status.ACTIVE, marks=("M1",), components={"slide": {"component_id": "c"}})
CHANGES = [
    {},
    {"holder": "Dealer A"},
    {"status": Status.SEIZED, "place": "FR", "flags": ("obliterated",)},
    {"marking": {}, "year": 0, "status": None},
    {name: WeaponState().__dict__[name] for name in WeaponState.__dataclass_fields__},
]


@pytest.mark.parametrize("changes", CHANGES, ids=lambda c: ",".join(sorted(c)) or "none")
def test_replace_gives_what_dataclasses_replace_gives(changes):
    original = dataclasses.replace(SOME_STATE)
    replaced = replace(SOME_STATE, **changes)
    expected = dataclasses.replace(SOME_STATE, **changes)
    assert replaced == expected
    assert vars(replaced) == vars(expected)  # the same fields and nothing else
    assert replaced is not SOME_STATE and type(replaced) is WeaponState
    assert SOME_STATE == original  # the state replaced from is left as it was


def test_replace_keeps_the_state_frozen():
    replaced = replace(SOME_STATE, holder="Dealer A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        replaced.holder = "someone else"  # type: ignore[misc]


def test_replace_refuses_a_name_that_is_not_a_field():
    with pytest.raises(TypeError, match="'owner'"):
        replace(SOME_STATE, owner="Dealer A")
    with pytest.raises(TypeError):
        dataclasses.replace(SOME_STATE, owner="Dealer A")  # type: ignore[call-arg]


# --- evolve_all: evolve applied to each record in turn, one new state ------------------------

_TEXT = st.sampled_from(["", "BE", "FR", "FN Herstal", "Dealer A", "S-1", "pistol", "9mm"])
_MARKINGS = st.one_of(st.none(), st.just({}), st.fixed_dictionaries(
    {}, optional={"manufacturer": _TEXT, "country": _TEXT, "serial": _TEXT}))
_FLAGS = st.lists(_TEXT, max_size=2).map(tuple)
_PARTS = st.lists(st.one_of(st.just("not a component"), st.fixed_dictionaries(
    {}, optional={"kind": _TEXT, "component_id": _TEXT, "marking": _MARKINGS})), max_size=2).map(tuple)
# Every field a rule reads, each present or not: a body may lack any of them.
_BODIES = st.fixed_dictionaries({}, optional={
    "marking": _MARKINGS, "type": _TEXT, "make": _TEXT, "model": _TEXT, "calibre": _TEXT,
    "year": st.one_of(st.none(), st.integers(0, 2030)), "holder": _TEXT, "import_state": _TEXT,
    "import_year": st.integers(0, 2030), "from_state": _TEXT, "shipment": _TEXT, "to_state": _TEXT,
    "consignee": _TEXT, "received_by": _TEXT, "to_holder": _TEXT, "mark": _TEXT, "state": _TEXT,
    "restored_status": st.one_of(_TEXT, st.sampled_from([s.value for s in Status])), "flags": _FLAGS,
    "certificate": _TEXT, "components": _PARTS, "kind": _TEXT, "installed": _TEXT, "installed_marking": _MARKINGS,
    "to_type": _TEXT, "to_calibre": _TEXT, "conversion": _TEXT,
})
# Every weapon record, and one of another kind, which changes nothing.
_RECORDS = st.lists(st.tuples(st.sampled_from(sorted(types.WEAPON_EVENT_TYPES | {types.SHIPMENT_OPENED})), _BODIES),
                    max_size=8)


@given(before=_RECORDS, records=_RECORDS)
def test_evolve_all_gives_the_state_evolve_gives_record_by_record(before, records):
    start = reduce(lambda state, record: evolve(state, *record), before, WeaponState())
    expected = reduce(lambda state, record: evolve(state, *record), records, start)
    folded = evolve_all(start, records)
    assert folded == expected
    assert vars(folded) == vars(expected)  # the same fields and nothing else
    assert type(folded) is WeaponState
    assert start == reduce(lambda state, record: evolve(state, *record), before, WeaponState())  # left as it was


def test_evolve_all_ends_a_transit_as_evolve_does():
    exported = evolve(WeaponState(), types.EXPORTED, {"marking": MARKING, "to_state": "FR"})
    records = [(types.MARKED, {"mark": "M1"}), (types.RECEIPT_CONFIRMED, {"received_by": "Armurerie"})]
    assert evolve_all(exported, records[:1]).in_transit_to == "FR"
    assert evolve_all(exported, records).in_transit_to == ""


def test_evolve_all_of_no_weapon_record_is_the_state_itself():
    state = WeaponState(holder="x")
    assert evolve_all(state, []) is state
    assert evolve_all(state, [(types.SHIPMENT_OPENED, {"holder": "y"})]) is state


def test_evolve_all_keeps_the_state_frozen():
    folded = evolve_all(WeaponState(), [(types.TRANSFERRED, {"to_holder": "Dealer A"})])
    with pytest.raises(dataclasses.FrozenInstanceError):
        folded.holder = "someone else"  # type: ignore[misc]
