"""The copies of stored aggregates the group committer hands to commands: a command that changes
its copy (and then fails) never changes the stored state the next command starts from."""

from __future__ import annotations

import time
from dataclasses import dataclass

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.bootstrap import init_node
from nodes.registry.staging import fresh_copy
from nodes.settings import Settings

NOW = int(time.time()) - 60


def test_a_weapon_copy_changed_by_a_command_leaves_the_stored_weapon_as_it_was(tmp_path):
    settings = Settings.load(environ={}, home=tmp_path / "be", db=str(tmp_path / "be.db"), passphrase="copies test")
    with init_node(settings, "BE") as node:
        registry = node.registry
        registry.issue_licence(number="TL-B", kind=LicenceKind.TRANSFER_LICENCE, holder="holder B",
                               valid_from=NOW - DAY, valid_until=NOW + DAY, occurred_on=NOW - DAY)
        weapon_id = registry.manufacture(marking=Marking.read("FN Herstal", "BE", "COPY-1"), type="pistol",
                                         make="FN", model="Five-seveN", calibre="5.7x28", year=2020,
                                         holder="FN Herstal", occurred_on=NOW - DAY)
        stored = registry.weapon(weapon_id)
        before = (stored.version, stored.state, stored.applied)
        changed = fresh_copy(stored)
        # Shallow: every attribute of a weapon is a value, shared by the copy (a deep copy took a
        # fifth of the group commit writer's time).
        assert changed.state is stored.state and changed.applied is stored.applied
        changed.transfer(authority=registry.authority("licensing"), to_holder="holder B", occurred_on=NOW,
                         licence=registry.licence("TL-B", LicenceKind.TRANSFER_LICENCE, field="licence"))
        assert changed.state.holder == "holder B" and changed.version == before[0] + 1
        assert (stored.version, stored.state, stored.applied) == before
        assert stored.state.holder == "FN Herstal"
        assert len(changed.applied.records) == len(stored.applied.records) + 1
        assert not stored.collect_events() and len(changed.collect_events()) == 1


@dataclass
class _Changeable:
    """An aggregate-like object holding a mutable mapping."""

    marking: dict
    _pending_events: list


def test_an_aggregate_holding_a_mutable_value_is_copied_deeply():
    stored = _Changeable({"serial": "A1"}, [])
    copied = fresh_copy(stored)
    copied.marking["serial"] = "changed"
    assert stored.marking == {"serial": "A1"}


def test_no_aggregate_is_no_copy():
    assert fresh_copy(None) is None
