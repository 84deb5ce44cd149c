"""Stolen-weapon hits in the domain (``domain.hit``): which partner reports a record hits, the notice it
sends, and the schema a partner checks the notice against before accepting it."""

from __future__ import annotations

import uuid

import pytest

from domain import event_types as types
from domain.authority import AuthorityKind
from domain.errors import InvalidField, NotPermitted
from domain.hit import HitNotice, hit_notice_id, outstanding_reports
from domain.schema import domain_schema

from signed_streams import PartnerRecord

WEAPON = str(uuid.uuid4())
MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "FN57-0042"}


def record(node, version, record_type, occurred_on=100):
    return PartnerRecord(node=node, stream=WEAPON, version=version, type=record_type, occurred_on=occurred_on,
                         hash=bytes([version]) * 32)


def test_a_report_is_outstanding_until_the_same_partner_records_a_recovery():
    nl_stolen = record("NL", 4, types.REPORTED_STOLEN, occurred_on=300)
    held = [record("DE", 2, types.REPORTED_LOST, occurred_on=200), record("DE", 3, types.RECOVERED),
            nl_stolen, record("FR", 1, types.EXPORTED), record("IT", 5, types.REPORTED_LOST, occurred_on=100)]
    assert [(r.node, r.version) for r in outstanding_reports(held, own_state="BE")] == [("IT", 5), ("NL", 4)]
    # our own report is no partner's; a later report after a recovery is outstanding again
    assert outstanding_reports([record("BE", 2, types.REPORTED_STOLEN)], own_state="BE") == []
    again = [record("DE", 2, types.REPORTED_LOST), record("DE", 3, types.RECOVERED),
             record("DE", 6, types.REPORTED_STOLEN)]
    assert [r.version for r in outstanding_reports(again, own_state="BE")] == [6]


def send(authorities, now, report=None, **overrides):
    fields = dict(authority=authorities[AuthorityKind.POLICE], weapon_id=WEAPON, marking=MARKING, place="Lille",
                  recorded_type=types.SEIZED, recorded_version=3, occurred_on=now,
                  report=report or record("NL", 4, types.REPORTED_STOLEN))
    fields.update(overrides)
    return HitNotice.send(**fields)


def test_the_notice_names_weapon_marking_place_date_states_and_the_report_hit(authorities, now):
    notice = send(authorities, now)
    event = notice.collect_events()[-1]
    assert event.TOPIC == types.HIT_NOTICE_SENT and event.occurred_on == now
    assert (event.weapon_id, event.marking, event.place) == (WEAPON, MARKING, "Lille")
    assert (event.recording_state, event.reporting_state) == ("BE", "NL")
    assert (event.reported_record, event.reported_type) == ((bytes([4]) * 32).hex(), types.REPORTED_STOLEN)
    assert (event.recorded_type, event.recorded_version) == (types.SEIZED, 3)
    # one notice per record of ours and reporting state: the same inputs give the same id
    assert notice.id == hit_notice_id(WEAPON, 3, "NL") != hit_notice_id(WEAPON, 3, "DE")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"report": record("NL", 4, types.SEIZED)}, "report"),             # no loss or theft report
    ({"report": record("BE", 4, types.REPORTED_STOLEN)}, "report"),    # our own report
    ({"weapon_id": str(uuid.uuid4())}, "report"),                      # the report of another weapon
    ({"recorded_type": types.TRANSFERRED}, "recorded_type"),           # a transfer raises no hit
    ({"place": "x" * 201}, "place"),
])
def test_a_notice_that_would_say_something_false_is_refused(authorities, now, overrides, field):
    with pytest.raises(InvalidField) as info:
        send(authorities, now, **overrides)
    assert info.value.field == field


def test_the_authority_that_recorded_the_seizure_or_import_signs_it(authorities, now):
    for kind in (AuthorityKind.POLICE, AuthorityKind.CUSTOMS, AuthorityKind.LICENSING, AuthorityKind.REGISTRY):
        assert send(authorities, now, authority=authorities[kind]).collect_events()[-1].authority == f"{kind.value}-key"
    with pytest.raises(NotPermitted) as info:
        send(authorities, now, authority=authorities[AuthorityKind.DEACTIVATION])
    assert info.value.field == "authority"


def body_of(authorities, now, **changes):
    event = send(authorities, now).collect_events()[-1]
    body = {k: v for k, v in vars(event).items()
            if k not in ("originator_id", "originator_version", "timestamp", "occurred_on", "authority",
                         "originator_topic")}
    body.update(changes)
    return body


def test_the_schema_accepts_the_notice_from_its_recording_state_only(authorities, now):
    schema = domain_schema()
    stream = str(hit_notice_id(WEAPON, 3, "NL"))
    schema.check(stream=stream, type=types.HIT_NOTICE_SENT, body=body_of(authorities, now), node="BE")
    refusals = [
        ({"reported_record": "not a hash"}, "BE", "body.reported_record"),
        ({"reporting_state": "Netherlands"}, "BE", "body.reporting_state"),
        ({"weapon_id": "pistol"}, "BE", "body.weapon_id"),
        ({"recorded_version": 0}, "BE", "body.recorded_version"),
        ({}, "FR", "body.recording_state"),  # FR signing a notice that says BE recorded it
    ]
    for changes, node, field in refusals:
        with pytest.raises(InvalidField) as info:
            schema.check(stream=stream, type=types.HIT_NOTICE_SENT, body=body_of(authorities, now, **changes),
                         node=node)
        assert info.value.field == field, changes
