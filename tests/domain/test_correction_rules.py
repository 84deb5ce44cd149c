"""The rules of a correction (``domain.correction``), the records read as corrected (``domain.corrected``),
the aggregate's fold after a correction and the default recipients of a correction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain import event_types as types
from domain.authority import Authority, AuthorityKind
from domain.corrected import as_corrected, corrections
from domain.correction import correction_fields
from domain.errors import InvalidField, NotPermitted
from domain.sharing import default_recipients
from domain.time import format_time

L, C, P = AuthorityKind.LICENSING, AuthorityKind.CUSTOMS, AuthorityKind.POLICE
STREAM = "8c8a9a7e-3f0e-5c55-9d1b-4b7a8f1e2d3c"


@dataclass(frozen=True)
class Record:
    type: str
    version: int
    body: dict[str, Any]
    occurred_on: int = 1_600_000_000
    node: str = "BE"
    stream: str = STREAM
    recorded_at: int = 0
    authority: str = "key"
    hash: bytes = field(default=b"")

    def __post_init__(self):
        object.__setattr__(self, "hash", hashlib.sha256(f"{self.node}{self.version}{self.type}".encode()).digest())


SEIZED = Record(types.SEIZED, 2, {"marking": {}, "type": "pistol", "make": "", "model": "", "calibre": "9mm",
                                  "place": "Antwerp", "state": "BE", "circumstances": "", "flags": ()})


def fields(record=SEIZED, by=P, state="BE", changes=(("place", "Ghent"),), corrected=None):
    return correction_fields(record, authority=Authority("k", by, state), changes=list(changes), reason="typo",
                             corrected=corrected or {})


def test_a_correction_names_the_record_and_its_old_and_new_values():
    got = fields(changes=[("place", " Ghent "), ("occurred_on", "2020-09-01")])
    assert got["record"] == SEIZED.hash.hex() and got["record_version"] == 2 and got["record_type"] == types.SEIZED
    assert got["old_values"] == {"place": "Antwerp", "occurred_on": SEIZED.occurred_on}
    assert format_time(got["new_values"]["occurred_on"])[:10] == "2020-09-01" and got["new_values"]["place"] == "Ghent"
    again = fields(changes=[("place", "Bruges")], corrected={"place": "Ghent"})
    assert again["old_values"] == {"place": "Ghent"}  # a second correction starts from the first's values


@pytest.mark.parametrize(("kwargs", "error", "field_name"), [
    ({"state": "NL"}, NotPermitted, "record"),                                     # a partner's record
    ({"by": L}, NotPermitted, "by"),                                               # licensing records no seizure
    ({"record": Record(types.CONVERTED, 3, {})}, InvalidField, "record"),
    ({"changes": []}, InvalidField, "field"),
    ({"changes": [("marking", "x")]}, InvalidField, "field"),
    ({"changes": [("flags", "x")]}, InvalidField, "field"),
    ({"changes": [("colour", "red")]}, InvalidField, "field"),
    ({"changes": [("place", "a"), ("place", "b")]}, InvalidField, "field"),
    ({"changes": [("place", "Antwerp")]}, InvalidField, "value"),
    ({"changes": [("calibre", " ")]}, InvalidField, "value"),
    ({"changes": [("place", "x" * 201)]}, InvalidField, "value"),
    ({"changes": [("occurred_on", "tomorrow")]}, InvalidField, "value"),
])
def test_refusals_name_the_field(kwargs, error, field_name):
    with pytest.raises(error) as info:
        fields(**kwargs)
    assert info.value.field == field_name


def test_a_year_is_checked_as_when_manufacturing():
    made = Record(types.MANUFACTURED, 1, {"marking": {"manufacturer": "FN", "country": "BE", "serial": "1"},
                                         "type": "pistol", "make": "", "model": "", "calibre": "9mm",
                                         "year": 2019, "holder": "FN"}, occurred_on=1_577_836_800)  # 2020-01-01
    assert fields(made, by=L, changes=[("year", "2018")])["new_values"] == {"year": 2018}
    for bad in ("1700", "MMXX", "2021"):  # out of range, no number, after the record's date
        with pytest.raises(InvalidField) as info:
            fields(made, by=L, changes=[("year", bad)])
        assert info.value.field == "value", bad


def _correction(version: int, corrected: Record, **values) -> Record:
    return Record(types.CORRECTED, version, {"record": corrected.hash.hex(), "record_version": corrected.version,
                                             "record_type": corrected.type, "old_values": {}, "new_values": values,
                                             "reason": "x"})


def test_records_read_as_corrected_the_latest_value_winning():
    first, second = _correction(3, SEIZED, place="Ghent", occurred_on=5), _correction(4, SEIZED, place="Bruges")
    partner = Record(types.SEIZED, 2, dict(SEIZED.body), node="NL")  # same version, other node: untouched
    read = as_corrected([SEIZED, first, second, partner])
    assert [r.type for r in read] == [types.SEIZED, types.SEIZED]
    assert (read[0].body["place"], read[0].occurred_on, read[0].hash) == ("Bruges", 5, SEIZED.hash)
    assert read[1] is partner
    assert corrections([second, first]) == {("BE", 2): {"place": "Bruges", "occurred_on": 5}}


def test_the_aggregate_folds_again_after_a_correction(make_weapon, authorities, now):
    weapon = make_weapon(holder="FN Herstal")
    made = Record(types.MANUFACTURED, 1, {}, authority=authorities[L].key_id)
    weapon.correct(authority=authorities[L], occurred_on=now,
                   **{**_correction(2, made, holder="FN Browning", calibre="5.7mm").body, "reason": "typo"})
    assert (weapon.holder, weapon.calibre, weapon.marking["serial"]) == ("FN Browning", "5.7mm", "1001")
    assert weapon.collect_events()[-1].TOPIC == types.CORRECTED


def test_a_correction_goes_to_whoever_received_the_record_it_corrects():
    stolen = Record(types.REPORTED_STOLEN, 2, {"place": "Liège"})
    made = Record(types.MANUFACTURED, 1, {})
    own = {STREAM: [made, stolen]}
    partners = frozenset({"NL", "FR"})
    assert default_recipients(_correction(3, stolen), partners, own.__getitem__) == partners
    assert default_recipients(_correction(4, made), partners, own.__getitem__) == frozenset()
    assert default_recipients(_correction(5, Record(types.MARKED, 9, {})), partners, own.__getitem__) == frozenset()
