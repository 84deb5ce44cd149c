"""The history document (``nodes.registry.federated_history``) and ``weapon_by_prefix`` over real
nodes that exchange records through the in-memory federation: ours and partners' records in
business-time order, each with its source, origin, authority kind and officer, each value once."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import InvalidField, UnknownWeapon
from domain.marking import Marking
from domain.time import parse_time
from nodes.registry.federated_history import federated_history
from nodes.registry.reading import weapon_by_prefix

from memory_federation import MemoryFederation

PISTOL = Marking.read("FN Herstal", "BE", "FED-1001")
EVENT_FIELDS = {"type", "version", "occurred_on", "occurred_on_iso", "recorded_at", "recorded_at_iso", "node",
                "source", "authority", "authority_kind", "officer", "hash", "prev", "body", "verified", "problem",
                "revoked"}


@pytest.fixture
def federation(tmp_path, db_url):
    """BE and FR; FR, whose history is read, on each backend."""
    made = MemoryFederation(tmp_path, lambda s: db_url if s == "FR" else str(tmp_path / f"{s}.db"), ["BE", "FR"])
    yield made
    made.close()


def _stolen_in_be_seized_in_fr(federation: MemoryFederation) -> uuid.UUID:
    be, fr = federation["BE"], federation["FR"]
    weapon = be.registry.manufacture(marking=PISTOL, type="pistol", make="FN", model="Five-seveN", calibre="5.7x28",
                                     year=2020, holder="FN Herstal SA", occurred_on=parse_time("2020-03-02"))
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Liège", circumstances="burglary",
                       occurred_on=parse_time("2023-05-01"))
    assert federation.deliver("BE", "FR")  # a theft report goes to every partner
    fr.registry.seize(by="police", marking=PISTOL, place="Marseille", type="pistol", calibre="5.7x28",
                      circumstances="found in a car", occurred_on=parse_time("2024-11-08"))
    return weapon


def test_the_history_joins_a_partners_record_with_ours_in_business_time(federation):
    weapon = _stolen_in_be_seized_in_fr(federation)
    document = federated_history(federation["FR"], weapon)
    events = document["events"]
    assert [(e["type"], e["node"], e["source"]) for e in events] == [
        ("Weapon.ReportedStolen", "BE", "partner"), ("Weapon.Seized", "FR", "own")]
    assert [e["occurred_on_iso"][:10] for e in events] == ["2023-05-01", "2024-11-08"]
    assert [e["authority_kind"] for e in events] == ["police", "police"]
    assert [e["officer"] for e in events] == ["", ""]  # recorded by the node operator, not an officer
    assert document["verified"] and all(e["verified"] and e["problem"] is None for e in events)
    assert document["status"] == "seized" and document["place"] == "FR" and document["in_transit_to"] == ""
    assert document["marking"]["serial"] == "FED-1001" and document["own_only"] is False


def test_each_value_is_shown_once_the_signed_body_only_under_body(federation):
    weapon = _stolen_in_be_seized_in_fr(federation)
    for event in federated_history(federation["FR"], weapon)["events"]:
        assert set(event) == EVENT_FIELDS, set(event) ^ EVENT_FIELDS
    seized = federated_history(federation["FR"], weapon)["events"][-1]
    assert seized["body"]["place"] == "Marseille" and "place" not in seized


def test_own_only_leaves_out_partners_records(federation):
    weapon = _stolen_in_be_seized_in_fr(federation)
    document = federated_history(federation["FR"], weapon, own_only=True)
    assert [e["type"] for e in document["events"]] == ["Weapon.Seized"] and document["own_only"] is True


def test_a_weapon_known_only_from_a_partners_record_has_a_history_but_not_an_own_one(federation):
    be, fr = federation["BE"], federation["FR"]
    weapon = be.registry.manufacture(marking=PISTOL, type="pistol", make="FN", model="57", calibre="5.7x28", year=2020,
                                     holder="FN")
    be.registry.record("report_lost", by="police", weapon_id=weapon, place="Liège", circumstances="")
    assert federation.deliver("BE", "FR")
    assert [e["source"] for e in federated_history(fr, weapon)["events"]] == ["partner"]
    with pytest.raises(UnknownWeapon, match="no record of weapon FN Herstal / BE / FED-1001"):
        federated_history(fr, weapon, own_only=True, typed="FN Herstal / BE / FED-1001")


def test_no_record_repeats_what_the_officer_typed(federation):
    with pytest.raises(UnknownWeapon, match="no record of weapon 0000abcd") as refused:
        federated_history(federation["FR"], uuid.UUID(int=0xABCD << 96), typed="0000abcd")
    assert refused.value.field == "weapon"


def test_a_weapon_is_found_by_the_start_of_its_id_ours_or_a_partners(federation):
    be, fr = federation["BE"], federation["FR"]
    weapon = be.registry.manufacture(marking=PISTOL, type="pistol", make="FN", model="57", calibre="5.7x28", year=2020,
                                     holder="FN")
    be.registry.record("report_stolen", by="police", weapon_id=weapon, place="Liège", circumstances="")
    assert federation.deliver("BE", "FR")
    assert weapon_by_prefix(be, str(weapon)[:8]) == weapon
    assert weapon_by_prefix(fr, str(weapon)[:6].upper()) == weapon  # a partner's weapon, typed in capitals
    assert weapon_by_prefix(fr, str(uuid.UUID(int=7))) == uuid.UUID(int=7)  # a whole id is taken as it is
    with pytest.raises(InvalidField, match="no weapon has an id starting with 'ffffffff'") as none:
        weapon_by_prefix(fr, "ffffffff" if not str(weapon).startswith("ffffffff") else "00000000")
    with pytest.raises(InvalidField, match="'ab' is not an id or the start of one"):
        weapon_by_prefix(fr, "ab", field_name="weapon")
    assert none.value.field == "weapon"


def test_a_prefix_two_weapons_share_is_refused_naming_both(federation):
    be = federation["BE"]
    seen: dict[str, Marking] = {}
    for n in range(5000):  # two serials whose weapon ids share their first four characters
        marking = Marking.read("FN Herstal", "BE", f"AMB-{n}")
        twin = seen.setdefault(str(marking.weapon_id())[:4], marking)
        if twin is not marking:
            break
    ids = [be.registry.manufacture(marking=m, type="pistol", make="FN", model="HP", calibre="9", year=2020,
                                   holder="FN")
           for m in (twin, marking)]
    with pytest.raises(InvalidField, match="is the start of 2 weapon ids") as refused:
        weapon_by_prefix(be, str(ids[0])[:4])
    assert all(str(i) in str(refused.value) for i in ids)
