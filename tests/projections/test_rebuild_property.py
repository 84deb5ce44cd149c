"""Properties of the views over random command sequences (SQLite; the contract tests cover PostgreSQL).

1. Rebuild equals incremental projection: catching up after arbitrary
   commands, in batches of any size, leaves the same views as one rebuild,
   in position order or by stream into fresh tables.
2. The folded state of every weapon equals the domain aggregate's, with
   business dates in any order (records typed in late).

Own records only: partner records arriving in any order are covered by
test_federated_fold_property.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from domain.errors import DomainError
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY, parse_time
from nodes.registry.application import Registry
from nodes.registry.storage import eventsourcing_env
from projections.rebuild_aside import rebuild_aside
from projections.views import Views

BASE = parse_time("2020-01-01")
MARKINGS = [Marking.read("FN Herstal", "BE", f"P-{i}") for i in range(3)]
WEAPON_IDS = [str(m.weapon_id()) for m in MARKINGS]
HOLDERS = ["FN Herstal SA", "Dealer A", "Dealer B"]


def issue_licences(registry: Registry) -> None:
    valid = {"valid_from": parse_time("2019-01-01"), "valid_until": parse_time("2030-12-31"),
             "occurred_on": parse_time("2019-01-01")}
    for holder in HOLDERS[1:]:
        registry.issue_licence(number=f"TL-{holder}", kind="transfer_licence", holder=holder, **valid)
    registry.issue_licence(number="EL-1", kind="export_licence", holder="FN Herstal SA", export_state="BE",
                           import_state="FR", weapons=tuple(WEAPON_IDS), **valid)


def run(registry: Registry, command: str, index: int, occurred_on: int) -> None:
    marking, weapon_id = MARKINGS[index], WEAPON_IDS[index]
    description = {"type": "pistol", "make": "FN", "model": "57", "calibre": "5.7", "year": 2019}
    holder = HOLDERS[index]
    if command == "manufacture":
        registry.manufacture(marking=marking, holder="FN Herstal SA", occurred_on=occurred_on, **description)
    elif command == "import":
        registry.import_weapon(marking=marking, from_state="DE", import_year=2021, import_authorization="IA-1",
                               holder="FN Herstal SA", shipment=f"S-DE-{index}", occurred_on=occurred_on,
                               **description)
    elif command == "transfer":
        registry.transfer(weapon_id=weapon_id, to_holder=holder, licence=f"TL-{holder}", occurred_on=occurred_on)
    elif command == "export":
        registry.export(weapon_ids=[weapon_id], licence="EL-1", import_authorization="IA-FR",
                        to_state="FR", occurred_on=occurred_on)
    elif command == "seize":
        registry.seize(marking=marking, place="Antwerp", circumstances="", occurred_on=occurred_on,
                       type="pistol", make="FN", model="57", calibre="5.7")
    else:
        by, fields = SIMPLE[command]
        registry.record(command, by=by, weapon_id=weapon_id, occurred_on=occurred_on, **fields)


SIMPLE = {
    "confirm_receipt": ("customs", {"received_by": "Importer"}),
    "mark": ("police", {"mark": "BE-1", "reason": "national"}),
    "report_lost": ("police", {"place": "Ghent", "circumstances": ""}),
    "report_stolen": ("police", {"place": "Liege", "circumstances": ""}),
    "recover": ("police", {"place": "Ghent", "holder": "Police"}),
    "confiscate": ("police", {"order": "O-1"}),
    "deactivate": ("deactivation", {"certificate": "C-1", "method": "welding", "standard": "EU 2018/337",
                                    "inspecting_body": "PH", "inspected_on": 0}),
    "destroy": ("police", {"method": "crushing", "certificate": "D-1"}),
}
COMMANDS = ["manufacture", "import", "transfer", "export", "seize", *SIMPLE]

# Each weapon's record is opened first (in any of the three ways, on any
# day), so that most later commands have a weapon to act on.
openings = st.tuples(*(
    st.tuples(st.sampled_from(["manufacture", "import", "seize"]), st.just(i), st.integers(0, 1000), st.booleans())
    for i in range(len(MARKINGS))
)).map(list)
steps = openings.flatmap(lambda opened: st.lists(
    st.tuples(
        st.sampled_from(COMMANDS),
        st.integers(0, len(MARKINGS) - 1),
        st.integers(0, 1000),          # business day: not in recording order
        st.booleans(),                 # catch the views up after this command?
    ),
    min_size=1, max_size=30,
).map(lambda more: opened + more))


def play(registry, views, steps, batch_size: int) -> None:
    """Licences issued, then the steps run, the views caught up after those that ask it, in batches of
    ``batch_size``, and once more at the end."""
    issue_licences(registry)
    views.BATCH_SIZE = batch_size
    for command, index, day, catch_up in steps:
        try:
            run(registry, command, index, BASE + day * DAY)
        except DomainError:
            pass  # refused by the domain: nothing recorded
        if catch_up:
            views.catch_up(registry)
    views.catch_up(registry)


@settings(max_examples=20, deadline=None)
@given(steps=steps, batch_size=st.integers(1, 7))
def test_rebuild_equals_incremental_catch_up_and_the_fold_equals_the_domain(identity, dump_views, steps, batch_size):
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "ledger.db")
        registry = Registry(db, identity)
        views = Views.open(eventsourcing_env(db))
        try:
            play(registry, views, steps, batch_size)
            incremental = dump_views(views)

            views.BATCH_SIZE = 1000
            views.REBUILD_ASIDE = False  # in position order
            assert views.rebuild(registry) == registry.recorder.max_notification_id()
            assert dump_views(views) == incremental
            # By stream into fresh tables: a node's own log is plain, so it does not fall back to the above.
            assert rebuild_aside(views.store, registry, None, None) == registry.recorder.max_notification_id()
            assert dump_views(views) == incremental

            for weapon_id in WEAPON_IDS:
                life = views.lifecycle(weapon_id)
                if life is None:
                    assert not registry.envelopes(weapon_id)
                    continue
                weapon = registry.weapon(weapon_id)
                assert (life["status"], life["holder"], life["place"], life["flags"]) == (
                    weapon.status.value, weapon.holder, weapon.place, list(weapon.flags))
                assert [e["version"] for e in life["events"]] == list(range(1, weapon.version + 1))
        finally:
            views.close()
            registry.close()
