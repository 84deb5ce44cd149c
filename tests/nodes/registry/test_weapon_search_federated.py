"""``find_weapons`` over our views and the partners' records held: a partner's seizure of a weapon
we never recorded is found by its serial, a weapon held both ways is listed once, and a cut result
says how many matched and how to page."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.marking import Marking
from nodes.registry.weapon_search import Criteria, find_weapons, paging_note

from memory_federation import MemoryFederation


@pytest.fixture
def federation(tmp_path, db_url):
    """BE (searched, on each backend) and FR, which seizes BE-made weapons: the seizures go to BE."""
    made = MemoryFederation(tmp_path, lambda s: db_url if s == "BE" else str(tmp_path / f"{s}.db"), ["BE", "FR"])
    yield made
    made.close()


def _weapons(federation: MemoryFederation) -> dict[str, str]:
    be, fr = federation["BE"], federation["FR"]
    ours = {serial: str(be.registry.manufacture(
        marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN", model="Five-seveN",
        calibre="5.7x28", year=2020, holder="FN Herstal SA")) for serial in ("SRC-1", "SRC-3")}
    seized = {serial: str(fr.registry.seize(by="police", marking=Marking.read("FN Herstal", "BE", serial),
                                            type="pistol", make="FN", model="Five-seveN", calibre="5.7x28",
                                            place="Marseille", circumstances="found in a car"))
              for serial in ("SRC-2", "SRC-3")}  # SRC-2 was never recorded in BE; SRC-3 was
    assert federation.deliver("FR", "BE")
    return {**ours, **seized}


def test_a_partners_record_is_found_and_a_weapon_held_both_ways_listed_once(federation):
    ids = _weapons(federation)
    found = find_weapons(federation["BE"], Criteria(serial="SRC*"))
    assert [(m["marking"]["serial"], m["held"], m["nodes"]) for m in found["matches"]] == [
        ("SRC-1", "own", ["BE"]), ("SRC-2", "partner", ["FR"]), ("SRC-3", "own", ["BE"])]
    assert [m["weapon_id"] for m in found["matches"]] == [ids["SRC-1"], ids["SRC-2"], ids["SRC-3"]]
    assert found["matches"][1]["status"] == "seized" and found["total"] == 3 and found["cut"] is False
    assert paging_note(found) == ""
    by_make = find_weapons(federation["BE"], Criteria(make="fn", model="FIVE-SEVEN"))
    assert by_make["total"] == 3  # partners' records match make and model too, whole and in any case


def test_a_cut_result_says_how_many_matched_and_how_to_page(federation):
    _weapons(federation)
    first = find_weapons(federation["BE"], Criteria(serial="SRC*"), limit=2)
    second = find_weapons(federation["BE"], Criteria(serial="SRC*"), offset=2, limit=2)
    assert [m["marking"]["serial"] for m in first["matches"]] == ["SRC-1", "SRC-2"]
    assert [m["marking"]["serial"] for m in second["matches"]] == ["SRC-3"]
    assert first["cut"] and first["total"] == second["total"] == 3
    assert paging_note(first) == "showing 1-2 of 3; --offset/--limit to page"
    assert paging_note(second, "offset/limit") == "showing 3-3 of 3; offset/limit to page"


@pytest.mark.parametrize(("criteria", "page", "field"), [
    (Criteria(), {}, "serial"),
    (Criteria(serial="-/-"), {}, "serial"),
    (Criteria(make="x" * 65), {}, "make"),
    (Criteria(serial="SRC*"), {"offset": -1}, "offset"),
    (Criteria(serial="SRC*"), {"limit": 0}, "limit"),
    (Criteria(serial="SRC*"), {"limit": 1001}, "limit"),
])
def test_a_bad_criterion_or_page_is_refused_naming_it(federation, criteria, page, field):
    with pytest.raises(InvalidField) as refused:
        find_weapons(federation["BE"], criteria, **page)
    assert refused.value.field == field
