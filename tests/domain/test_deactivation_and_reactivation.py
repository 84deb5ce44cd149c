"""Deactivation certificates and reactivation in the domain (FP art 9, EU 2018/337): the certificate's
content, the reactivation licence, the fold's flag, the schema, and the diversion verdict."""

from __future__ import annotations

import pytest

from domain import event_types as types
from domain.authority import AuthorityKind
from domain.diversion import Rule, analyse
from domain.errors import InvalidField, InvalidState, LicenceRefused, NotPermitted
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.schema import domain_schema
from domain.time import SECONDS_PER_DAY as DAY, parse_time
from domain.weapon_state import REACTIVATED_FLAG, Status, WeaponState, evolve
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id

L, P, D = AuthorityKind.LICENSING, AuthorityKind.POLICE, AuthorityKind.DEACTIVATION
CERTIFIED = {"standard": "EU 2018/337", "inspecting_body": "Banc d'Epreuves de Liege"}


@pytest.fixture
def deactivated(authorities, make_weapon, now):
    w = make_weapon()
    w.deactivate(authority=authorities[D], certificate="DC-1", method="EU 2015/2403", inspected_on=now - DAY,
                 occurred_on=now, **CERTIFIED)
    return w


def reactivation_licence(make_licence, weapon, **overrides):
    fields = {"number": "RL-1", "weapons": (str(weapon.id),), "holder": "Musée d'Armes", **overrides}
    return make_licence(LicenceKind.REACTIVATION_LICENCE, **fields)


# --- the certificate's content -------------------------------------------------------------------

def test_the_deactivation_record_is_the_certificate_naming_the_weapon(deactivated, now):
    event = deactivated.collect_events()[-1]
    assert (event.certificate, event.standard, event.inspecting_body) == ("DC-1", *CERTIFIED.values())
    assert event.inspected_on == now - DAY
    assert event.marking == {"manufacturer": "FN Herstal", "country": "BE", "serial": "1001"}
    assert (event.type, event.make, event.model, event.calibre, event.year) == (
        "pistol", "FN", "Five-seveN", "5.7x28", 2020)


@pytest.mark.parametrize(("change", "field"), [
    ({"standard": " "}, "standard"),
    ({"inspecting_body": ""}, "inspecting_body"),
    ({"inspected_on": "2024-01-01"}, "inspected_on"),
    ({"certificate": ""}, "certificate"),
])
def test_a_deactivation_states_every_item_of_its_certificate(authorities, make_weapon, now, change, field):
    w = make_weapon()
    fields = {"certificate": "DC-1", "method": "", "inspected_on": now, "occurred_on": now, **CERTIFIED, **change}
    with pytest.raises(InvalidField) as info:
        w.deactivate(authority=authorities[D], **fields)
    assert info.value.field == field
    assert w.status is Status.ACTIVE and w.version == 1


def test_an_inspection_after_the_deactivation_is_refused(authorities, make_weapon, now):
    w = make_weapon()
    with pytest.raises(InvalidField) as info:
        w.deactivate(authority=authorities[D], certificate="DC-1", method="", inspected_on=now,
                     occurred_on=now - DAY, **CERTIFIED)
    assert info.value.field == "inspected_on" and "after the deactivation" in str(info.value)


def test_an_old_deactivation_record_without_the_certificate_fields_is_still_valid():
    schema = domain_schema()
    old = {"certificate": "DC-9", "method": "welding"}
    schema.check(stream=str(Marking.read("FN", "BE", "1").weapon_id()), type=types.DEACTIVATED, body=old)
    state = evolve(WeaponState(status=Status.ACTIVE), types.DEACTIVATED, old)
    assert state.status is Status.DEACTIVATED and state.deactivation_certificate == "DC-9"
    with pytest.raises(InvalidField) as info:
        schema.check(stream=str(Marking.read("FN", "BE", "1").weapon_id()), type=types.DEACTIVATED,
                     body={**old, "inspected_on": "yesterday"})
    assert info.value.field == "body.inspected_on"


# --- reactivation ----------------------------------------------------------------------------------

def test_a_reactivation_under_licence_makes_it_a_firearm_again_with_a_flag(deactivated, authorities, make_licence,
                                                                          now):
    licence = reactivation_licence(make_licence, deactivated)
    deactivated.reactivate(authority=authorities[L], licence=licence, reason="restored for display", occurred_on=now)
    event = deactivated.collect_events()[-1]
    assert event.TOPIC == types.REACTIVATED
    assert (event.licence, event.holder, event.certificate) == ("RL-1", "Musée d'Armes", "DC-1")
    assert deactivated.status is Status.ACTIVE and deactivated.holder == "Musée d'Armes"
    assert deactivated.flags == (REACTIVATED_FLAG,) and deactivated.deactivation_certificate == ""
    transfer = make_licence(LicenceKind.TRANSFER_LICENCE, number="TL-2", holder="Jan")
    deactivated.transfer(authority=authorities[L], to_holder="Jan", licence=transfer, occurred_on=now)
    assert deactivated.holder == "Jan"


@pytest.mark.parametrize(("licence", "field", "words"), [
    (None, "licence", "needs a reactivation licence"),
    ({"kind": LicenceKind.TRANSFER_LICENCE}, "licence", "not a reactivation_licence"),
    ({"weapons": ("00000000-0000-0000-0000-000000000000",)}, "licence", "does not cover weapon"),
    ({"weapons": (), "holder": "Someone Else"}, "licence", "not to the weapon's holder"),
    ({"valid_until": -1}, "licence", "expired"),
])
def test_a_reactivation_without_a_licence_that_allows_it_is_refused(deactivated, authorities, make_licence, now,
                                                                   licence, field, words):
    given = None
    if licence is not None:
        kind = licence.pop("kind", LicenceKind.REACTIVATION_LICENCE)
        if licence.get("valid_until") == -1:
            licence.update(valid_from=now - 20 * DAY, valid_until=now - 5 * DAY)
        fields = {"number": "RL-1", "weapons": (str(deactivated.id),), "holder": "Musée", **licence}
        given = make_licence(kind, **fields)
    before = deactivated.version
    with pytest.raises((InvalidField, LicenceRefused)) as info:
        deactivated.reactivate(authority=authorities[L], licence=given, reason="museum", occurred_on=now)
    assert info.value.field == field and words in str(info.value)
    assert deactivated.status is Status.DEACTIVATED and deactivated.version == before


def test_only_a_deactivated_weapon_is_reactivated_and_only_by_the_licensing_authority(
        deactivated, authorities, make_weapon, make_licence, now):
    active = make_weapon("2002")
    with pytest.raises(InvalidState) as info:
        active.reactivate(authority=authorities[L], licence=reactivation_licence(make_licence, active),
                          reason="museum", occurred_on=now)
    assert info.value.field == "weapon" and "only a deactivated weapon" in str(info.value)
    with pytest.raises(NotPermitted) as refused:
        deactivated.reactivate(authority=authorities[P], licence=reactivation_licence(make_licence, deactivated),
                               reason="museum", occurred_on=now)
    assert refused.value.field == "authority"


def test_a_reactivation_record_fits_the_schema(deactivated, authorities, make_licence, now):
    deactivated.reactivate(authority=authorities[L], licence=reactivation_licence(make_licence, deactivated),
                           reason="museum", occurred_on=now)
    event = deactivated.collect_events()[-1]
    body = {name: getattr(event, name) for name in ("licence", "holder", "reason", "certificate")}
    domain_schema().check(stream=str(deactivated.id), type=types.REACTIVATED, body=body)
    with pytest.raises(InvalidField) as info:
        domain_schema().check(stream=str(deactivated.id), type=types.REACTIVATED, body={**body, "licence": 7})
    assert info.value.field == "body.licence"


# --- the diversion verdict ----------------------------------------------------------------------------

T0 = parse_time("2024-03-01")
KEY = generate_key()
MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "777"}
WEAPON = str(Marking.read(**MARKING).weapon_id())


def _chain(*records: tuple[str, int, dict]) -> list[Envelope]:
    signed, prev = [], GENESIS_PREV
    for version, (record_type, on, body) in enumerate(records, start=1):
        envelope = seal(KEY, node="BE", stream=WEAPON, version=version, type=record_type, occurred_on=T0 + on * DAY,
                        recorded_at=(T0 + on * DAY) * 1_000_000, authority=key_id(KEY), prev=prev, body=body)
        signed.append(envelope)
        prev = envelope.hash
    return signed


MADE = (types.MANUFACTURED, 0, {"marking": MARKING, "type": "pistol", "make": "FN", "model": "", "calibre": "9",
                                "year": 2020, "holder": "FN Herstal SA"})
DEACTIVATED = (types.DEACTIVATED, 10, {"certificate": "DC-5", "method": "", **CERTIFIED})
TRANSFERRED = (types.TRANSFERRED, 30, {"from_holder": "Musée", "to_holder": "Jan", "licence": "TL-1"})


def test_a_reactivated_weapon_that_changes_hands_is_not_diverted_and_its_verdict_says_so():
    records = _chain(MADE, DEACTIVATED, (types.REACTIVATED, 20, {"licence": "RL-4", "holder": "Musée", "reason": "x",
                                                                 "certificate": "DC-5"}), TRANSFERRED)
    verdict = analyse(WEAPON, records, now=T0 + 40 * DAY)
    assert verdict.rule is Rule.NO_DIVERSION_FOUND and verdict.reactivated
    assert "held by Jan" in verdict.sentence
    assert "reactivated in BE" in verdict.sentence and "RL-4" in verdict.sentence and "DC-5" in verdict.sentence
    assert verdict.to_dict()["reactivated"] is True


def test_a_deactivated_weapon_that_changes_hands_without_reactivation_is_still_diverted():
    verdict = analyse(WEAPON, _chain(MADE, DEACTIVATED, TRANSFERRED), now=T0 + 40 * DAY)
    assert verdict.rule is Rule.RECORD_AFTER_DEACTIVATION and not verdict.reactivated
    assert "reactivated" not in verdict.sentence
