"""The URIs of weapons, parties and states: a weapon's URI gives back its marking as read and so the same
weapon id on any node, and is a URI by RFC 3986; anything else is refused naming the field."""

from __future__ import annotations

import json
import uuid

import pytest
from epcis_conformance import schema_path
from hypothesis import given, strategies as st
from jsonschema import FormatChecker

from domain.errors import InvalidField
from domain.marking import Marking
from nodes.epcis.vocabulary import MAPPINGS, party_named, party_uri, state_named, weapon_named, weapon_uri

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


def _marking(manufacturer, country, serial):
    try:
        marking = Marking.read(manufacturer, country, serial)
    except InvalidField:
        return None
    return marking if marking.is_complete else None


@given(_text, st.sampled_from(["BE", "NL", "AT", "US"]), _text)
def test_a_weapon_uri_carries_its_marking_as_read(manufacturer, country, serial):
    marking = _marking(manufacturer, country, serial)
    if marking is None:
        return
    uri = weapon_uri(marking.weapon_id(), marking.as_dict())
    assert FormatChecker().conforms(uri, "uri"), uri
    assert weapon_named(uri) == (marking.weapon_id(), marking)


@given(_text)
def test_a_party_uri_gives_back_the_name(name):
    uri = party_uri(name)
    assert FormatChecker().conforms(uri, "uri") and party_named(uri) == name


def test_a_weapon_without_a_complete_marking_is_named_by_its_id():
    weapon = uuid.uuid4()
    uri = weapon_uri(weapon, {"manufacturer": "?", "country": "BE", "serial": "AB??1"})
    assert uri == f"urn:uuid:{weapon}" and weapon_named(uri) == (weapon, None)
    assert party_named("urn:epc:id:pgln:0614141.00000") == "urn:epc:id:pgln:0614141.00000"


@pytest.mark.parametrize("uri", ["urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/0961414112345/21/1",
                                 "urn:uuid:not-a-uuid", "urn:armsledger:firearm:FN:BEL:1",
                                 "urn:armsledger:firearm:FN:ZZ:1", "urn:armsledger:firearm:%20:BE:1"])
def test_other_uris_name_no_firearm(uri):
    with pytest.raises(InvalidField) as refused:
        weapon_named(uri)
    assert refused.value.field == "epcList"
    with pytest.raises(InvalidField) as refused:
        state_named(uri, "sourceList")
    assert refused.value.field == "sourceList"


def test_every_mapped_step_and_disposition_is_a_cbv_word():
    # The GS1 schema lists CBV 2.0's words; every record type is mapped to one of them.
    definitions = json.loads(schema_path().read_text())["definitions"]
    steps, dispositions = (set(definitions[k]["anyOf"][1]["enum"]) for k in ("bizStep", "disposition"))
    assert {m.biz_step for m in MAPPINGS.values()} <= steps
    assert {m.disposition for m in MAPPINGS.values()} <= dispositions
