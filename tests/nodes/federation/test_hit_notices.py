"""Hits on real nodes: a seizure or import of a weapon a partner reported lost or stolen warns at once,
stores a signed hit notice with the record, which only the reporting state receives and lists as an alert.

Records travel through the in-memory federation (memory_federation: the relay's sharing policy, the
receiver's acceptance); the first node runs on each backend. Over the real broker: test_hits_e2e.py.
"""

from __future__ import annotations

import time

import pytest

from domain import event_types as types
from domain.errors import InvalidField, UnknownWeapon
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.alerts.hits import alerts

NOW = int(time.time()) - 60
PISTOL = Marking.read("FN Herstal", "BE", "FN57-7001")


@pytest.fixture
def federated_states():
    """BE reports, FR seizes, NL looks on; BE runs on each backend."""
    return ["BE", "FR", "NL"]


def stolen_in_be(fed):
    be = fed["BE"]
    weapon = be.registry.report_missing(stolen=True, marking=PISTOL, type="pistol", make="FN", calibre="5.7x28",
                                        place="Liège", circumstances="burglary", occurred_on=NOW - 20 * DAY)
    fed.sync()
    return weapon


def test_a_seizure_of_a_weapon_be_reported_stolen_warns_fr_and_alerts_be_only(fed):
    weapon = stolen_in_be(fed)
    be, fr, nl = fed["BE"], fed["FR"], fed["NL"]
    recorded = fr.registry.record_seizure(marking=PISTOL, place="Marseille", circumstances="car search",
                                          occurred_on=NOW - 2 * DAY)
    assert recorded.weapon_id == weapon
    [hit] = recorded.hits
    assert (hit.reporting_state, hit.place, hit.recording_state) == ("BE", "Marseille", "FR")
    report = be.registry.envelopes(weapon)[-1]
    assert hit.reported_record == report.hash.hex() and report.type == types.REPORTED_STOLEN
    # the notice is stored with the seizure, signed by the police that seized
    notice = fr.registry.envelopes(hit.id)[0]
    assert notice.type == types.HIT_NOTICE_SENT and notice.authority == fr.identity.authority_key_ids["police"]
    fed.sync()
    [alert] = alerts(be)
    assert (alert["weapon_id"], alert["recording_state"], alert["place"]) == (str(weapon), "FR", "Marseille")
    assert alert["date"] == time.strftime("%Y-%m-%d", time.gmtime(NOW - 2 * DAY))
    assert alert["marking"]["serial"] == "FN57-7001" and alert["recorded"] == "seizure"
    assert alert["reported"] == "stolen" and alert["our_report"]["place"] == "Liège"
    assert alerts(nl) == [] and alerts(fr) == []  # only the reporting state receives it


def test_an_import_raises_a_hit_and_a_recovery_withdraws_the_report(fed):
    stolen_in_be(fed)
    nl = fed["NL"]
    recorded = nl.registry.record_import(marking=PISTOL, from_state="DE", import_authorization="NL-IA-9",
                                         holder="Wapenhandel BV", type="pistol", calibre="5.7x28",
                                         occurred_on=NOW - DAY)
    assert [h.reporting_state for h in recorded.hits] == ["BE"] and recorded.hits[0].recorded_type == types.IMPORTED
    fed.sync()
    assert [a["recorded"] for a in alerts(fed["BE"])] == ["import"]
    # BE's recovery goes where its report went: FR holds it, and a seizure there no longer hits
    fed["BE"].registry.record("recover", by="police", weapon_id=recorded.weapon_id, place="Liège", holder="",
                              occurred_on=NOW)
    fed.sync()
    assert fed["FR"].registry.record_seizure(marking=PISTOL, place="Lyon", circumstances="",
                                             occurred_on=NOW).hits == ()


def test_a_weapon_no_partner_reported_raises_no_hit(fed):
    recorded = fed["FR"].registry.record_seizure(marking=PISTOL, place="Lyon", circumstances="", occurred_on=NOW)
    assert recorded.hits == ()
    fed.sync()
    assert alerts(fed["BE"]) == []


def test_a_report_of_a_weapon_known_here_names_it_by_id_and_refuses_a_description(fed):
    be = fed["BE"]
    weapon = be.registry.manufacture(marking=PISTOL, type="pistol", make="FN", model="", calibre="5.7x28",
                                     year=2020, holder="FN Herstal", occurred_on=NOW - 100 * DAY)
    with pytest.raises(InvalidField) as info:
        be.registry.report_missing(stolen=True, marking=PISTOL, calibre="9mm", place="", occurred_on=NOW)
    assert info.value.field == "calibre"
    assert be.registry.report_missing(stolen=False, weapon_id=weapon, occurred_on=NOW) == weapon
    with pytest.raises(UnknownWeapon):
        be.registry.report_missing(stolen=True, weapon_id=Marking.read("X", "BE", "NONE").weapon_id())
    with pytest.raises(InvalidField) as info:
        be.registry.report_missing(stolen=True)
    assert info.value.field == "weapon"
    assert [e.type for e in be.registry.envelopes(weapon)] == [types.MANUFACTURED, types.REPORTED_LOST]
