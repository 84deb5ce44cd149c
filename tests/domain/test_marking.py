"""Marking normalisation and weapon identity (ITI paras 8-9, FP art 8; DESIGN.md "Identity and marking")."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, strategies as st

from domain.errors import InvalidField
from domain.marking import (
    ARMSLEDGER_NAMESPACE,
    Marking,
    normalise,
    serial_pattern_to_regex,
    weapon_id_for,
)

# --- normalisation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ab12", "AB12"),                         # case
        ("Ab 12", "AB12"),                        # space
        ("AB\t12\n", "AB12"),                     # other white space
        ("AB\u00a012", "AB12"),                   # no-break space
        ("AB-12", "AB12"),                        # hyphen
        ("A.B.12", "AB12"),                       # dots
        ("AB/12", "AB12"),                        # slash
        ("AB\\12", "AB12"),                       # backslash
        ("AB - 1.2 / 3", "AB123"),                # all of them, in runs
        ("\uff21\uff22\uff11\uff12", "AB12"),     # full-width letters and digits (NFKC)
        ("AB\uff0d12", "AB12"),                   # full-width hyphen-minus (NFKC -> '-')
        ("\ufb01re", "FIRE"),                     # ligature fi (NFKC)
        ("AB\u2010\u201112", "AB12"),             # typographic hyphens (left alone by NFKC)
        ("AB\u201312", "AB12"),                   # en dash
        ("AB\u221212", "AB12"),                   # minus sign
        ("AB\u221512", "AB12"),                   # division slash
        ("\u2460", "1"),                          # circled digit one (NFKC)
        ("stra\u00dfe", "STRASSE"),               # upper case of sharp s
        ("AB?12", "AB?12"),                       # obliterated characters are kept
        ("A\u00b4", "\u00c1"),                     # spacing acute: NFKC gives " \u0301", composed again
        ("A\u0301", "\u00c1"),                     # decomposed input composes like typed
        ("A \u0301", "\u00c1"),                    # ... also across a removed space
    ],
)
def test_normalise(raw, normalised):
    assert normalise(raw) == normalised


@given(st.text(max_size=30))
def test_normalise_is_idempotent(text):
    # The marking index stores normalised serials and normalises search input again.
    assert normalise(normalise(text)) == normalise(text)


@given(st.text(max_size=30))
def test_normalised_text_has_no_separators_or_lower_case(text):
    result = normalise(text)
    assert not any(c in result for c in " -./\\\t\n")
    assert result == result.upper()


# --- weapon identity ------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        ("FN Herstal", "BE", "12-345"),
        ("fn herstal", "be", "12345"),
        ("FN-HERSTAL", " BE ", "12 345"),
        ("F.N. Herstal", "BE", "12/345"),
        ("\uff26\uff2e Herstal", "BE", "\uff11\uff12\u2010345"),
    ],
)
def test_weapon_id_is_the_same_for_differently_written_markings(written):
    reference = Marking.read("FN Herstal", "BE", "12345").weapon_id()
    assert Marking.read(*written).weapon_id() == reference
    assert weapon_id_for(*written) == reference


def test_weapon_id_is_uuid5_of_the_normalised_key():
    marking = Marking.read("F.N. Herstal", "be", "12-345")
    assert marking.key == "FNHERSTAL|BE|12345"
    assert marking.weapon_id() == uuid.uuid5(ARMSLEDGER_NAMESPACE, "FNHERSTAL|BE|12345")


@pytest.mark.parametrize(
    "other",
    [
        ("FN Herstal", "BE", "12346"),      # serial
        ("FN Herstel", "BE", "12345"),      # manufacturer
        ("FN Herstal", "FR", "12345"),      # country
        ("FN Herstal", "BE", "123450"),     # serial with one more character
        ("FN Herstal", "BE", "1234S"),      # 5 and S are not confused by normalisation
    ],
)
def test_weapon_id_differs_for_a_different_marking(other):
    assert Marking.read(*other).weapon_id() != Marking.read("FN Herstal", "BE", "12345").weapon_id()


def test_separator_cannot_shift_characters_between_fields():
    # "A|B" + "C" must not collide with "A" + "B|C": '|' separates the fields of the key.
    assert Marking.read("AB", "BE", "C1").weapon_id() != Marking.read("A", "BE", "BC1").weapon_id()


def test_raw_marking_is_kept_as_read():
    marking = Marking.read("  F.N. Herstal ", "be", " 12-345 ")
    assert marking.as_dict() == {"manufacturer": "F.N. Herstal", "country": "BE", "serial": "12-345"}


# --- invalid markings ------------------------------------------------------------------


@pytest.mark.parametrize("country", ["XX", "BEL", "B", "", "  ", None, "B3", "EU", "UK"])
def test_bad_country_is_refused(country):
    with pytest.raises(InvalidField) as info:
        Marking.read("FN Herstal", country, "12345")
    assert info.value.field == "country"


@pytest.mark.parametrize("serial", ["", "   ", None, "-", " ./-\\ "])
def test_empty_serial_is_refused(serial):
    with pytest.raises(InvalidField) as info:
        Marking.read("FN Herstal", "BE", serial)
    assert info.value.field == "serial"


@pytest.mark.parametrize("manufacturer", ["", "  ", None, "-.-"])
def test_empty_manufacturer_is_refused(manufacturer):
    with pytest.raises(InvalidField) as info:
        Marking.read(manufacturer, "BE", "12345")
    assert info.value.field == "manufacturer"


def test_overlong_serial_is_refused():
    with pytest.raises(InvalidField) as info:
        Marking.read("FN Herstal", "BE", "1" * 65)
    assert info.value.field == "serial"
    assert Marking.read("FN Herstal", "BE", "1" * 64).serial == "1" * 64


def test_control_characters_are_refused():
    with pytest.raises(InvalidField) as info:
        Marking.read("FN Herstal", "BE", "12\x00345")
    assert info.value.field == "serial"


def test_obliterated_serial_gets_no_derived_id():
    # ITI para 9: such a weapon gets a random id and a national mark.
    marking = Marking.read("FN Herstal", "BE", "12?45")
    assert not marking.is_complete
    with pytest.raises(InvalidField) as info:
        marking.weapon_id()
    assert info.value.field == "serial"
    with pytest.raises(InvalidField) as info:
        weapon_id_for("FN Herstal", "BE", "???45")
    assert info.value.field == "serial"
    assert Marking.read("FN Herstal", "BE", "12345").is_complete


# --- partial serial search --------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matches", "does_not_match"),
    [
        ("AB?12", ["AB912", "ABX12", "AB?12"], ["AB12", "AB9912", "AB912X", "XAB912"]),
        ("AB*", ["AB", "AB1", "AB123456"], ["A", "XAB1"]),
        ("*12", ["12", "AB12"], ["121", "AB123"]),
        ("A*B?C", ["AB1C", "AXYZB1C"], ["ABC", "AB1CD"]),
        ("ab-1.2", ["AB12"], ["AB123", "AB1"]),   # the pattern is normalised like a serial
        ("a b?", ["AB1"], ["AB", "AB12"]),
        ("A.B", ["AB"], ["A.B", "AXB"]),          # a dot is a separator, not a regex wildcard
        ("1+2", ["1+2"], ["12", "112"]),          # other regex syntax is literal
    ],
)
def test_serial_pattern_to_regex(pattern, matches, does_not_match):
    regex = serial_pattern_to_regex(pattern)
    for serial in matches:
        assert regex.fullmatch(serial) and regex.search(serial), serial
    for serial in does_not_match:
        # Anchored: search() must not find a partial serial inside a longer one.
        assert not regex.search(serial), serial


@pytest.mark.parametrize("pattern", ["", "   ", "-", " ./ ", None])
def test_serial_pattern_without_characters_is_refused(pattern):
    with pytest.raises(InvalidField) as info:
        serial_pattern_to_regex(pattern)
    assert info.value.field == "serial"


def test_overlong_serial_pattern_is_refused():
    with pytest.raises(InvalidField) as info:
        serial_pattern_to_regex("1" * 65)
    assert info.value.field == "serial"
