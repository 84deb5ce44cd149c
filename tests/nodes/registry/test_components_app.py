"""Components and conversions at the node, on SQLite and PostgreSQL: each command's records saved together
or not at all; a weapon's parts in its history and search; a component's life; the diversion verdict that
follows a part from a stolen weapon into a seized one."""

from __future__ import annotations

import time

import pytest

from domain.errors import InvalidField, InvalidState, LicenceRefused
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.bootstrap import init_node
from nodes.registry import components
from nodes.registry.component_reading import component_life, component_named
from nodes.registry.federated_history import federated_history
from nodes.registry.group_commit import GroupCommitter
from nodes.registry.weapon_search import Criteria, find_weapons
from nodes.settings import Settings
from nodes.tracing.lifecycle import diversion_verdict

NOW = int(time.time()) - 60
DESCRIPTION = dict(type="pistol", make="FN", model="Five-seveN", calibre="5.7x28", year=2020, holder="FN Herstal")


@pytest.fixture
def node(tmp_path, db_url):
    node = init_node(Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    yield node
    node.close()


def made(node, serial: str) -> str:
    return str(node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", serial), occurred_on=NOW - DAY,
                                         **DESCRIPTION))


def rows(node) -> int:
    return node.registry.recorder.max_notification_id() or 0


def parts(*texts: str):
    return [components.read_part(text) for text in texts]


def test_an_assembly_is_saved_whole_or_not_at_all(node):
    first, second = made(node, "W-1"), made(node, "W-2")
    before = rows(node)
    done = components.assemble(node.registry, by="licensing", weapon_id=first, occurred_on=NOW,
                               parts=parts("frame=FN Herstal/BE/F-1", "barrel=FN Herstal/BE/B-1"))
    assert rows(node) == before + 5 and len(done.component_ids) == 2  # Assembled, and Registered + Installed each
    before = rows(node)
    with pytest.raises(InvalidState) as info:  # a new slide, and the frame that is in the first weapon
        components.assemble(node.registry, by="licensing", weapon_id=second, occurred_on=NOW,
                            parts=parts("slide=FN Herstal/BE/S-9", "frame=FN Herstal/BE/F-1"))
    assert info.value.field == "component" and first in str(info.value)
    assert rows(node) == before  # the new slide was not registered either
    with pytest.raises(InvalidField) as info:
        components.read_part("frame:FN/BE/1")
    assert info.value.field == "component"


def test_a_replaced_part_destroyed_never_returns_and_a_destroyed_weapon_keeps_its_parts(node):
    weapon, other = made(node, "W-3"), made(node, "W-4")
    components.assemble(node.registry, by="licensing", weapon_id=weapon, occurred_on=NOW,
                        parts=parts("barrel=FN Herstal/BE/B-3", "frame=FN Herstal/BE/F-3"))
    components.replace_component(node.registry, by="licensing", weapon_id=weapon, kind="barrel",
                                 new=components.read_marking("FN Herstal/BE/B-4"), reason="worn out",
                                 destroy_removed=True, occurred_on=NOW)
    old = component_named(node, "FN Herstal/BE/B-3")
    life = component_life(node, old)
    assert life["status"] == "destroyed" and life["weapons"][0]["removed"] == "worn out"
    before = rows(node)
    with pytest.raises(InvalidState) as info:
        components.assemble(node.registry, by="licensing", weapon_id=other, occurred_on=NOW,
                            parts=parts("barrel=FN Herstal/BE/B-3"))
    assert "destroyed" in str(info.value)
    node.registry.record("destroy", by="deactivation", weapon_id=weapon, method="shredding", certificate="",
                         occurred_on=NOW)
    with pytest.raises(InvalidState) as info:
        components.assemble(node.registry, by="licensing", weapon_id=other, occurred_on=NOW,
                            parts=parts("frame=FN Herstal/BE/F-3"))
    assert f"destroyed with weapon {weapon}" in str(info.value)
    assert rows(node) == before + 1  # the destruction only
    history = federated_history(node, weapon)
    assert [(p["kind"], p["marking"]["serial"]) for p in history["components"]] == [("barrel", "B-4"),
                                                                                    ("frame", "F-3")]


def test_a_conversion_under_licence_changes_the_description(node):
    weapon = made(node, "W-5")
    with pytest.raises(LicenceRefused) as info:
        components.convert(node.registry, by="licensing", weapon_id=weapon, conversion="semi-to-full-automatic",
                           licence="CV-1", occurred_on=NOW)
    assert info.value.field == "licence"
    node.registry.issue_licence(number="CV-1", kind=LicenceKind.CONVERSION_LICENCE, holder="FN Herstal",
                                valid_from=NOW - DAY, valid_until=NOW + DAY, occurred_on=NOW - DAY)
    components.convert(node.registry, by="licensing", weapon_id=weapon, conversion="semi-to-full-automatic",
                       licence="CV-1", type="machine pistol", occurred_on=NOW)
    components.convert(node.registry, by="licensing", weapon_id=weapon, conversion="calibre", calibre="9x19",
                       occurred_on=NOW)
    history = federated_history(node, weapon)
    assert history["description"]["type"] == "machine pistol" and history["description"]["calibre"] == "9x19"
    assert history["conversions"] == ["semi-to-full-automatic", "calibre"] and history["verified"]


def test_a_frame_from_a_stolen_weapon_found_in_a_seized_one_names_the_stolen_weapon(node):
    stolen = made(node, "W-6")
    components.assemble(node.registry, by="licensing", weapon_id=stolen, occurred_on=NOW - DAY,
                        parts=parts("frame=FN Herstal/BE/F-6"))
    node.registry.record("report_stolen", by="police", weapon_id=stolen, place="Liège", circumstances="burglary",
                         occurred_on=NOW - DAY // 2)
    seized = str(node.registry.seize(marking=Marking.read("Unknown", "US", "X-1"), place="Gent",
                                     circumstances="raid", occurred_on=NOW))
    found = components.assemble(node.registry, by="police", weapon_id=seized, occurred_on=NOW,
                                parts=parts("frame=FN Herstal/BE/F-6"))
    assert found.flags == (f"component-from-weapon:{stolen}",)
    node.settle()
    verdict, _ = diversion_verdict(node, seized)
    assert verdict.rule.value == "component-from-other-weapon"
    assert "frame FN HERSTAL BE F-6 of weapon FN HERSTAL BE W-6" in verdict.sentence and "stolen" in verdict.sentence
    assert verdict.last_legal_custodian is not None and verdict.last_legal_custodian.holder == "FN Herstal"
    matches = find_weapons(node, Criteria(serial="F-6"))["matches"]
    assert [m["weapon_id"] for m in matches] == [seized]
    assert matches[0]["components"][0]["kind"] == "frame"
    life = component_life(node, component_named(node, "FN Herstal/BE/F-6", "frame"))
    assert [(w["weapon_id"], w["how"]) for w in life["weapons"]] == [(stolen, "installed"),
                                                                    (seized, "found when seized")]


def test_two_officers_installing_one_new_frame_at_once_one_is_refused(node):
    first, second = made(node, "W-7"), made(node, "W-8")
    committer = GroupCommitter(node, settle=False)
    committer.start()
    try:
        answers = [committer.enqueue(lambda registry, weapon=weapon: components.assemble(
            registry, by="licensing", weapon_id=weapon, parts=parts("frame=FN Herstal/BE/F-7"), occurred_on=NOW))
            for weapon in (first, second)]
        outcomes = [answer.exception(timeout=30) for answer in answers]
    finally:
        committer.close()
    assert sorted(type(e).__name__ for e in outcomes) == ["InvalidState", "NoneType"]
    life = component_life(node, component_named(node, "FN Herstal/BE/F-7"))
    assert len(life["weapons"]) == 1 and [e["type"] for e in life["events"]] == ["Component.Registered",
                                                                                 "Component.Installed"]
