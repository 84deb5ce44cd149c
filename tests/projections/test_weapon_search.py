"""Views.search: partial serial, make, model and calibre together, on each backend."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField


def names_of(belgium, found) -> list[str]:
    names = {str(getattr(belgium.ids, n)): n for n in ("w1", "w2", "w3", "w4", "w5", "w6", "w7")}
    return [names[r["weapon_id"]] for r in found]


def test_make_model_and_calibre_match_whole_ignoring_case(belgium):
    belgium.views.catch_up(belgium.registry)
    assert sorted(names_of(belgium, belgium.views.search(make="fn"))) == ["w1", "w2", "w4", "w5", "w6"]
    assert names_of(belgium, belgium.views.search(model="17")) == ["w7"]
    assert len(belgium.views.search(calibre="9MM")) == 7
    assert belgium.views.search(make="F") == []          # whole, not a prefix
    assert names_of(belgium, belgium.views.search(make=" browning ")) == ["w3"]


def test_criteria_combine_with_the_serial_pattern_and_keep_its_order_and_limit(belgium):
    belgium.views.catch_up(belgium.registry)
    assert names_of(belgium, belgium.views.search(serial="AB*", make="FN")) == ["w2", "w1"]   # by serial
    assert names_of(belgium, belgium.views.search(serial="AB*", make="glock", calibre="9mm")) == ["w7"]
    assert len(belgium.views.search(calibre="9mm", limit=3)) == 3
    [found] = belgium.views.search(model="17")
    assert found["description"] == {"make": "Glock", "model": "17", "calibre": "9mm"}
    assert found["marking"] == {"manufacturer": "Glock", "country": "AT", "serial": "AB?12Q"}


def test_no_criterion_or_a_malformed_one_names_the_field(belgium):
    with pytest.raises(InvalidField, match="serial"):
        belgium.views.search()
    with pytest.raises(InvalidField, match="make"):
        belgium.views.search(make="x" * 65)
    with pytest.raises(InvalidField, match="calibre"):
        belgium.views.search(calibre="9\x00mm")
