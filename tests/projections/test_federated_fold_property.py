"""Rebuild equals fold for any order in which own and partner records arrive (SQLite).

BE's own log and the log of records received from FR hold records about the same
weapons, each node's chain in its own version order, with business dates in any
order. They arrive interleaved in any way, and the views catch up with either
log at any moment, in batches of any size. Then:

1. the views equal a rebuild (BE's log, then FR's);
2. every weapon's row equals a naive reference: ``domain.weapon_state.evolve``
   reduced over all records in lifecycle order, computed here from scratch.
"""

from __future__ import annotations

import tempfile
from functools import reduce
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment
from hypothesis import given, settings, strategies as st

from domain import event_types as types
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY, parse_time
from domain.weapon_state import Status, WeaponState, evolve
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id
from nodes.registry.storage import eventsourcing_env
from projections.views import Views

BASE = parse_time("2020-01-01")
NODES = ("BE", "FR")
KEYS = {node: generate_key() for node in NODES}
MARKINGS = [Marking.read("FN Herstal", "BE", f"F-{i}") for i in range(2)]
WEAPONS = [str(m.weapon_id()) for m in MARKINGS]
HOLDERS = ["FN Herstal SA", "Dealer A", "Armurerie Paris", ""]
# Corrections name an earlier record: tests/projections/test_corrected_views.py folds them.
TYPES = sorted(types.WEAPON_EVENT_TYPES - {types.CORRECTED})


def body(record_type: str, node: str, weapon: int, holder: str, choice: int, version: int) -> dict:
    """Fields of a record of ``record_type`` by ``node`` (those of domain/weapon.py's events)."""
    other = "FR" if node == "BE" else "BE"
    marking = MARKINGS[weapon].as_dict()
    description = {"type": "pistol", "make": "FN", "model": "57", "calibre": "5.7", "year": 2019}
    shipment = f"S-{weapon}-{node}-{version}"
    return {
        types.MANUFACTURED: {"marking": marking, "holder": holder, **description},
        types.IMPORTED: {"marking": marking, "holder": holder, "from_state": other, "import_state": node,
                         "import_year": 2021, "import_authorization": "IA-1", "shipment": shipment, **description},
        types.EXPORTED: {"marking": marking, "from_state": node, "to_state": other, "transit_states": (),
                         "consignee": holder, "shipment": shipment, "licence": "EL-1",
                         "import_authorization": "IA-1", **description},
        types.RECEIPT_CONFIRMED: {"shipment": shipment, "from_state": other, "received_by": holder},
        types.TRANSFERRED: {"from_holder": "", "to_holder": holder, "licence": "TL-1"},
        types.MARKED: {"mark": f"{node}-{choice}", "reason": "national"},
        types.REPORTED_LOST: {"place": "Ghent", "circumstances": ""},
        types.REPORTED_STOLEN: {"place": "Lille", "circumstances": ""},
        types.RECOVERED: {"place": "Ghent", "holder": holder, "restored_status": list(Status)[choice].value},
        types.SEIZED: {"marking": marking, "place": "Antwerp", "state": node, "circumstances": "",
                       "flags": ("marking-differs",) if choice % 2 else (), **description},
        types.CONFISCATED: {"order": "O-1"},
        types.DEACTIVATED: {"certificate": f"C-{choice}", "method": "welding"},
        types.DESTROYED: {"method": "crushing", "certificate": "D-1"},
        types.REACTIVATED: {"licence": "RL-1", "holder": holder, "reason": "museum", "certificate": f"C-{choice}"},
        types.ASSEMBLED: {"components": ({"component_id": WEAPONS[1 - weapon], "kind": "frame", "marking": marking},),
                          "flags": ()},
        types.COMPONENT_REPLACED: {"kind": "frame", "removed": WEAPONS[1 - weapon], "removed_marking": marking,
                                   "installed": WEAPONS[weapon], "installed_marking": marking, "reason": "worn"},
        types.CONVERTED: {"conversion": "calibre", "from_type": "pistol", "to_type": "pistol", "from_calibre": "5.7",
                          "to_calibre": f"{choice}mm", "licence": "", "description": "", "flags": ()},
    }[record_type]


records = st.lists(st.tuples(
    st.sampled_from(NODES), st.integers(0, len(WEAPONS) - 1), st.sampled_from(TYPES),
    st.sampled_from(HOLDERS), st.integers(0, len(Status) - 1), st.integers(0, 300),
), min_size=1, max_size=25)


def sign(drawn: list[tuple]) -> list[Envelope]:
    """The drawn records as each node signs them, chained per (node, weapon): in arrival order."""
    heads: dict[tuple[str, str], tuple[int, bytes]] = {}
    signed = []
    for tick, (node, weapon, record_type, holder, choice, day) in enumerate(drawn):
        stream = WEAPONS[weapon]
        version, prev = heads.get((node, stream), (0, GENESIS_PREV))
        envelope = seal(KEYS[node], node=node, stream=stream, version=version + 1, type=record_type,
                        occurred_on=BASE + day * DAY, recorded_at=(BASE + tick) * 1_000_000,
                        authority=key_id(KEYS[node]), prev=prev,
                        body=body(record_type, node, weapon, holder, choice, version + 1))
        heads[(node, stream)] = (version + 1, envelope.hash)
        signed.append(envelope)
    return signed


def log(path: Path, name: str) -> SimpleNamespace:
    factory = InfrastructureFactory.construct(Environment(name, eventsourcing_env(str(path))))
    return SimpleNamespace(name=name, recorder=factory.application_recorder(), factory=factory)


def reference(weapon_id: str, envelopes: list[Envelope]) -> WeaponState | None:
    """Naive lifecycle order (docs of projections.weapon_state), then the domain's fold."""
    mine = [e for e in envelopes if e.stream == weapon_id]
    if not mine:
        return None
    keyed = []
    for node in NODES:
        running = None
        for e in sorted((e for e in mine if e.node == node), key=lambda e: e.version):
            running = e.occurred_on if running is None else max(running, e.occurred_on)
            keyed.append(((running, e.node, e.version), e))
    ordered = [e for _, e in sorted(keyed, key=lambda pair: pair[0])]
    return reduce(lambda state, e: evolve(state, e.type, e.body), ordered, WeaponState())


@settings(max_examples=25, deadline=None)
@given(drawn=records, catch_ups=st.lists(st.sampled_from(["", "BE", "FR", "both"]), min_size=25, max_size=25),
       batch_size=st.integers(1, 5))
def test_views_equal_a_rebuild_and_the_domain_fold_whatever_the_arrival_order(dump_views, drawn, catch_ups,
                                                                              batch_size):
    envelopes = sign(drawn)
    with tempfile.TemporaryDirectory() as tmp:
        logs = {"BE": log(Path(tmp) / "be.db", "armsledger"), "FR": log(Path(tmp) / "fr.db", "received_fr")}
        views = Views.open(eventsourcing_env(str(Path(tmp) / "views.db")))
        try:
            views.BATCH_SIZE = batch_size
            for envelope, when in zip(envelopes, catch_ups):
                logs[envelope.node].recorder.insert_events([StoredEvent(
                    originator_id=UUID(envelope.stream), originator_version=envelope.version, topic=envelope.type,
                    state=envelope.to_bytes())])
                for node in NODES if when == "both" else (when,) if when else ():
                    views.catch_up(logs[node])
            for node in NODES:
                views.catch_up(logs[node])
            incremental = dump_views(views)

            views.BATCH_SIZE = 1000
            views.rebuild(logs["BE"])
            views.catch_up(logs["FR"])
            assert dump_views(views) == incremental

            for weapon_id in WEAPONS:
                life, expected = views.lifecycle(weapon_id), reference(weapon_id, envelopes)
                if expected is None:
                    assert life is None
                    continue
                assert life is not None
                assert (life["status"], life["holder"], life["place"], life["flags"], life["marking"]) == (
                    expected.status.value if expected.status else "", expected.holder, expected.place,
                    list(expected.flags),
                    {k: expected.marking.get(k, "") for k in ("manufacturer", "country", "serial")})
                assert {(e["node"], e["version"]) for e in life["events"]} == {
                    (e.node, e.version) for e in envelopes if e.stream == weapon_id}
        finally:
            views.close()
            for each in logs.values():
                each.factory.close()
