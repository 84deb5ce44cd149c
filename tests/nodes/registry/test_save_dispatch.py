"""Saving and reading aggregates without eventsourcing's runtime-protocol checks, with the library's
results. (On Python 3.11 each ``isinstance`` of a runtime protocol walks the protocol's members: tens
of µs, twice per command on the group committer's one writer thread, once per event read.)"""

from __future__ import annotations

import collections
import time
import typing
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from nodes.bootstrap import init_node
from nodes.registry.application import Registry
from nodes.registry.staging import projected
from nodes.settings import Settings

NOW = int(time.time()) - 60


@pytest.fixture
def registry(tmp_path, db_url):
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    node.registry.issue_licence(number="TL-B", kind=LicenceKind.TRANSFER_LICENCE, holder="holder B",
                                valid_from=NOW - DAY, valid_until=NOW + DAY, occurred_on=NOW - DAY)
    yield node.registry
    node.close()


def weapon(registry: Registry, serial: str) -> uuid.UUID:
    return registry.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                model="Five-seveN", calibre="5.7x28", year=2020, holder="FN Herstal",
                                occurred_on=NOW - DAY)


@pytest.fixture
def protocol_checks(monkeypatch) -> collections.Counter[str]:
    """The runtime protocols asked of by ``isinstance`` from now on, counted by name."""
    asked: collections.Counter[str] = collections.Counter()
    checked = typing._ProtocolMeta.__instancecheck__  # type: ignore[attr-defined]

    def counting(cls: Any, instance: object) -> bool:
        asked[cls.__name__] += 1
        return bool(checked(cls, instance))

    monkeypatch.setattr(typing._ProtocolMeta, "__instancecheck__", counting)  # type: ignore[attr-defined]
    return asked


def test_a_transfer_reads_and_saves_without_asking_a_runtime_protocol(registry, protocol_checks):
    weapon_id = weapon(registry, "DISPATCH-1")
    protocol_checks.clear()
    registry.transfer(weapon_id=weapon_id, to_holder="holder B", licence="TL-B", occurred_on=NOW)
    read_back = registry.weapon(weapon_id)
    assert read_back.state.holder == "holder B" and read_back.version == 2
    assert protocol_checks == {}


def test_aggregates_and_bare_events_saved_together_are_stored_in_one_go_and_in_order(registry):
    first, second = weapon(registry, "DISPATCH-2"), weapon(registry, "DISPATCH-3")
    licence = registry.licence("TL-B", LicenceKind.TRANSFER_LICENCE, field="licence")
    changed = [registry.weapon(first), registry.weapon(second)]
    for each in changed:
        each.transfer(authority=registry.authority("licensing"), to_holder="holder B", licence=licence,
                      occurred_on=NOW)
    before = registry.recorder.max_notification_id()
    bare = changed[1].collect_events()  # the second weapon's event, given as an event: the library's way
    registry.save(changed[0], None, *bare)
    stored = registry.recorder.select_notifications(start=before + 1, limit=10)
    assert [n.originator_id for n in stored] == [first, second]
    assert all(registry.weapon(w).state.holder == "holder B" for w in (first, second))


@dataclass(frozen=True)
class _Counted:
    """What a snapshot is to ``projected``: an event that is no aggregate's event, with the library's
    protocol members: it goes the library's way."""

    originator_id: uuid.UUID
    originator_version: int
    timestamp: Any = None

    def mutate(self, aggregate: list[int] | None) -> list[int]:
        return [*(aggregate or []), self.originator_version]


def test_an_event_of_no_aggregate_class_is_projected_the_library_way():
    stream = uuid.uuid4()
    assert projected(None, [_Counted(stream, 1), _Counted(stream, 2)]) == [1, 2]  # type: ignore[arg-type]
