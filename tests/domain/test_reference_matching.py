"""The reference table's entries and the matching of typed descriptions (domain.reference): tables of
names that are one make or calibre, entries refused naming their field, each outcome of a match, and
the reference entry a trace request carries as the schema checks it."""

from __future__ import annotations

import uuid

import pytest

from domain import reference
from domain.errors import InvalidField
from domain.reference import (
    AMBIGUOUS,
    MATCHED,
    UNMATCHED,
    ReferenceEntry,
    calibre_key,
    calibre_name,
    make_key,
    match_description,
    model_key,
)
from domain.schema import domain_schema
from domain.trace import check_reference

GLOCK = ReferenceEntry.read(ref_id="ST-0001", make="Glock", model="17", type="pistol", calibres="9x19mm",
                            country="AT", source="starter")
FIVESEVEN = ReferenceEntry.read(ref_id="ST-0008", make="FN Herstal", model="Five-seveN", type="pistol",
                                calibres="5.7x28mm", country="BE")
USP = ReferenceEntry.read(ref_id="ST-0023", make="Heckler & Koch", model="USP", type="pistol",
                          calibres="9x19mm; .40 S&W; .45 ACP")
USP_COMPACT_9 = ReferenceEntry.read(ref_id="NAT-17", make="H&K", model="USP", type="pistol", calibres="9mm")
TABLE = [GLOCK, FIVESEVEN, USP]


@pytest.mark.parametrize("names", [
    ("9mm", "9 mm", "9x19", "9x19mm", "9×19 mm", "9mm Luger", "9mm Parabellum", "9MM PARA"),
    (".380 ACP", "380 auto", "9x17mm", "9mm Kurz"),
    (".45 ACP", "45 Auto", "11.43x23mm"),
    ("5.56x45mm", "5.56x45", "5.56 NATO"),
    ("7.62x39mm", "7.62x39", "7,62x39"),
    ("12 gauge", "12 ga", "12/70", "12G"),
])
def test_other_names_of_a_calibre_are_one_calibre(names):
    assert len({calibre_key(name) for name in names}) == 1, {name: calibre_key(name) for name in names}


@pytest.mark.parametrize("one, other", [
    ("9mm", "9x18mm Makarov"), ("9mm", ".380 ACP"), (".223 Remington", "5.56x45mm"),
    ("7.62x39mm", "7.62x51mm"), ("12 gauge", "20 gauge"), (".38 Special", ".357 Magnum"),
])
def test_calibres_that_differ_stay_apart(one, other):
    assert calibre_key(one) != calibre_key(other)


def test_no_name_stands_for_two_calibres_or_makes():
    for groups, key_of in ((reference._CALIBRE_NAMES, reference._calibre_text_key),
                           (reference._MAKE_NAMES, reference.text_key)):
        owner: dict[str, str] = {}
        for group in groups:
            for name in group:
                assert owner.setdefault(key_of(name), group[0]) == group[0], (name, owner[key_of(name)], group[0])


def test_makes_and_models_compare_without_case_accents_and_punctuation():
    assert make_key("S&W") == make_key("Smith and Wesson") == make_key("SMITH & WESSON")
    assert make_key("Česká zbrojovka") == make_key("CZ") == make_key("ceska zbrojovka")
    assert make_key("FN") == make_key("Fabrique Nationale") != make_key("Glock")
    assert model_key("Five-seveN") == model_key("five seven") != model_key("Five-six")
    assert calibre_name("9mm Luger") == "9x19mm" and calibre_name("4.2 Odd") == "4.2 Odd"


@pytest.mark.parametrize("fields, field", [
    (dict(ref_id=""), "id"),
    (dict(ref_id="ST 1"), "id"),
    (dict(ref_id="-ST1"), "id"),
    (dict(ref_id="X" * 33), "id"),
    (dict(make=" "), "make"),
    (dict(make="&&"), "make"),
    (dict(model=""), "model"),
    (dict(type=""), "type"),
    (dict(calibres=""), "calibre"),
    (dict(calibres=";;"), "calibre"),
    (dict(calibres=";".join(f"{n}mm" for n in range(1, 10))), "calibre"),
    (dict(country="Belgium"), "country"),
    (dict(source="a\x00b"), "source"),
])
def test_an_entry_is_refused_naming_its_field(fields, field):
    given = dict(ref_id="ST-1", make="Glock", model="17", type="pistol", calibres="9mm", country="AT", source="s")
    with pytest.raises(InvalidField) as refused:
        ReferenceEntry.read(**{**given, **fields})
    assert refused.value.field == field


def test_an_entry_is_kept_as_written_with_its_calibres():
    assert USP.calibres == ("9x19mm", ".40 S&W", ".45 ACP") and USP.country == ""
    assert USP.to_dict()["calibre"] == "9x19mm; .40 S&W; .45 ACP"
    assert USP.calibre_keys == (calibre_key("9mm"), calibre_key(".40 S&W"), calibre_key(".45 ACP"))


def test_a_description_matches_by_make_model_and_calibre_under_their_other_names():
    found = match_description(make="FN", model="five-seven", calibre="5.7x28", candidates=TABLE)
    assert (found.status, found.entry, found.flagged) == (MATCHED, FIVESEVEN, False)
    assert match_description(make="HK", model="usp", calibre=".45 Auto", candidates=TABLE).entry == USP
    # without a calibre, make and model decide
    assert match_description(make="glock", model="17", calibre="", candidates=TABLE).entry == GLOCK


@pytest.mark.parametrize("make, model, calibre, says", [
    ("Glock", "18", "9mm", "no entry for make 'Glock' model '18'"),
    ("Glock", "17", ".45 ACP", "calibre '.45 ACP' is not that of ST-0001 (9x19mm)"),
    ("", "17", "9mm", "no make and model to match"),
    ("Glock", " ", "9mm", "no make and model to match"),
    ("Acme", "X", "", "no entry for make 'Acme' model 'X'"),
])
def test_a_description_that_matches_nothing_is_flagged_with_the_reason(make, model, calibre, says):
    found = match_description(make=make, model=model, calibre=calibre, candidates=TABLE)
    assert found.status == UNMATCHED and found.flagged and found.entry is None
    assert says in found.reason


def test_a_description_fitting_several_entries_names_them():
    found = match_description(make="H&K", model="USP", calibre="9mm", candidates=[*TABLE, USP_COMPACT_9])
    assert found.status == AMBIGUOUS and found.flagged and found.candidates == ("ST-0023", "NAT-17")
    assert found.to_dict()["id"] is None and found.to_dict()["candidates"] == ["ST-0023", "NAT-17"]
    assert match_description(make="H&K", model="USP", calibre=".40 S&W", candidates=[*TABLE, USP_COMPACT_9]
                             ).entry == USP


CARRIED = {"id": "ST-0008", "make": "FN Herstal", "model": "Five-seveN", "type": "pistol", "calibre": "5.7x28mm"}
SUBMITTED = {"requesting_state": "BE", "addressee": "NL", "weapon_id": str(uuid.uuid4()),
             "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": "A1"}, "type": "pistol",
             "calibre": "5.7", "circumstances": "found", "legal_basis": "CPP", "intended_use": "x",
             "priority": "routine", "parent": "", "hop": 1}


def test_a_trace_request_carries_a_reference_entry_or_none_and_older_requests_lack_it():
    schema = domain_schema()
    for body in (SUBMITTED, {**SUBMITTED, "reference": {}}, {**SUBMITTED, "reference": CARRIED}):
        schema.check(stream=str(uuid.uuid4()), type="TraceRequest.Submitted", body=body)
    assert check_reference(CARRIED) == CARRIED and check_reference({}) == {}


@pytest.mark.parametrize("carried, says", [
    ({**CARRIED, "owner": "x"}, "no field 'owner'"),
    ({"make": "FN"}, "names no reference id"),
    ({**CARRIED, "calibre": 9}, "calibre must be text"),
    ({**CARRIED, "model": "a\x01"}, "control characters"),
])
def test_a_malformed_reference_in_a_trace_request_is_refused(carried, says):
    with pytest.raises(InvalidField, match=says) as refused:
        check_reference(carried)
    assert refused.value.field == "reference"
    with pytest.raises(InvalidField) as at_ingest:
        domain_schema().check(stream=str(uuid.uuid4()), type="TraceRequest.Submitted",
                              body={**SUBMITTED, "reference": carried})
    assert at_ingest.value.field == "body.reference"
