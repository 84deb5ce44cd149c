"""The diversion rule ``component-from-other-weapon`` (domain.diversion.components) on signed records: a part
found in a seized weapon names the weapon it came from and that weapon's point of diversion, or the
destruction it escaped; a part never recorded elsewhere fires nothing."""

from __future__ import annotations

import uuid

from domain.diversion import Rule, analyse
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY, parse_time
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id

T0 = parse_time("2025-01-01")
KEYS = {state: generate_key() for state in ("BE", "FR")}
DONOR_MARKING = {"manufacturer": "FN Herstal", "country": "BE", "serial": "D-1"}
DONOR = str(Marking.read(**DONOR_MARKING).weapon_id())
SEIZED = str(uuid.uuid4())
FRAME = str(uuid.uuid4())
DESCRIPTION = {"type": "pistol", "make": "FN", "model": "", "calibre": "9"}


class Records(list):
    def __init__(self) -> None:
        super().__init__()
        self.heads: dict[tuple[str, str], tuple[int, bytes]] = {}

    def add(self, node: str, stream: str, type: str, on: int, /, **body):
        version, prev = self.heads.get((node, stream), (0, GENESIS_PREV))
        record = seal(KEYS[node], node=node, stream=stream, version=version + 1, type=type, occurred_on=T0 + on * DAY,
                      recorded_at=(T0 + on * DAY) * 1_000_000 + len(self), authority=key_id(KEYS[node]), prev=prev,
                      body=body)
        self.heads[(node, stream)] = (version + 1, record.hash)
        self.append(record)
        return record


def life(donor_ending: str = "", *, removed: bool = False, destroyed: bool = False, from_donor: bool = True):
    r = Records()
    r.add("BE", DONOR, "Weapon.Manufactured", 0, marking=DONOR_MARKING, year=2020, holder="FN Herstal SA",
          **DESCRIPTION)
    r.add("BE", FRAME, "Component.Registered", 1, kind="frame", marking={**DONOR_MARKING, "serial": "F-1"})
    r.add("BE", FRAME, "Component.Installed", 1, weapon_id=DONOR, weapon_marking=DONOR_MARKING)
    if donor_ending:
        r.add("BE", DONOR, donor_ending, 5, place="Liège", circumstances="burglary")
    if removed:
        r.add("BE", FRAME, "Component.Removed", 6, weapon_id=DONOR, reason="worn")
    if destroyed:
        r.add("BE", FRAME, "Component.Destroyed", 7, method="shredded")
    r.add("FR", SEIZED, "Weapon.Seized", 10, marking={}, place="Lille", state="FR", circumstances="raid", flags=(),
          **DESCRIPTION)
    r.add("FR", FRAME, "Component.Registered", 10, kind="frame", marking={**DONOR_MARKING, "serial": "F-1"})
    r.add("FR", FRAME, "Component.Seized", 10, weapon_id=SEIZED, from_weapon=DONOR if from_donor else "", flags=())
    return r


def verdict(records):
    return analyse(SEIZED, list(reversed(records)), now=T0 + 20 * DAY, answered=("BE", "FR"))


def test_a_frame_from_a_stolen_weapon_names_the_theft():
    found = verdict(life("Weapon.ReportedStolen"))
    assert found.rule is Rule.COMPONENT_FROM_OTHER_WEAPON
    assert found.sentence.startswith("Weapon ")
    assert "holds the frame FN HERSTAL BE F-1 of weapon FN HERSTAL BE D-1, which left the legal custody of " \
           "FN Herstal SA in BE when reported stolen" in found.sentence
    assert (found.last_legal_custodian.holder, found.place) == ("FN Herstal SA", "Liège, BE")
    assert {e.type for e in found.evidence} == {"Weapon.Manufactured", "Weapon.ReportedStolen", "Component.Seized"}


def test_a_frame_of_a_weapon_still_held_left_its_holder():
    found = verdict(life())
    assert found.rule is Rule.COMPONENT_FROM_OTHER_WEAPON
    assert "on record in the legal custody of FN Herstal SA in BE: the frame left that custody" in found.sentence


def test_a_frame_removed_and_never_recorded_again_names_the_weapon_it_left():
    found = verdict(life(removed=True, from_donor=False))
    assert "removed from weapon FN HERSTAL BE D-1 on 2025-01-07" in found.sentence and "(worn)" in found.sentence


def test_a_destroyed_frame_found_escaped_the_destruction():
    found = verdict(life(removed=True, destroyed=True, from_donor=False))
    assert found.rule is Rule.COMPONENT_FROM_OTHER_WEAPON and "diverted from the destruction process" in found.sentence
    assert found.last_legal_custodian.state == "BE" and found.occurred_on == T0 + 7 * DAY


def test_a_part_never_recorded_elsewhere_fires_nothing():
    records = [r for r in life(from_donor=False) if r.node == "FR"]
    assert verdict(records).rule is Rule.NO_LEGAL_CUSTODY_ON_RECORD
