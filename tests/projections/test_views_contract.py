"""Contract of projections.views.Views, run on SQLite and on PostgreSQL (``db_url``).

The registry is the scenario of this folder's conftest; every query is
checked against what was recorded, and the tracking against crashes,
repetition and records the views do not know.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from eventsourcing.persistence import PersistenceError, StoredEvent, Tracking

from domain.errors import InvalidField
from domain.marking import normalise, serial_pattern_to_regex
from domain.time import parse_time as D
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.registry.storage import eventsourcing_env
from projections.batch import project_batch
from projections.errors import TrackingConflict
from projections.serial_search import serial_like
from projections.views import Views


def test_lifecycle_lists_every_record_in_order_with_the_current_state_or_is_none(belgium):
    belgium.views.catch_up(belgium.registry)
    life = belgium.views.lifecycle(belgium.ids.w3)

    assert life["weapon_id"] == str(belgium.ids.w3)
    assert life["marking"] == {"manufacturer": "Browning", "country": "BE", "serial": "XY 999"}
    assert life["description"] == {"type": "shotgun", "make": "Browning", "model": "M1", "calibre": "9mm",
                                   "year": 2020}
    assert [e["type"] for e in life["events"]] == [
        "Weapon.Manufactured", "Weapon.Seized", "Weapon.Destroyed", "Weapon.Seized"]
    assert life["status"] == "destroyed"
    assert life["place"] == "BE"
    assert life["flags"] == ["after-destruction"]
    stored = belgium.registry.envelopes(belgium.ids.w3)
    assert [(e["version"], e["hash"], e["node"], e["authority"], e["occurred_on"], e["recorded_at"])
            for e in life["events"]] == [
        (s.version, s.hash.hex(), "BE", s.authority, s.occurred_on, s.recorded_at) for s in stored]
    assert life["events"][2]["fields"] == {"method": "crushing", "certificate": "D-1", "officer": ""}

    assert belgium.views.lifecycle(uuid.uuid4()) is None
    assert belgium.views.custody(str(uuid.uuid4())) is None
    with pytest.raises(InvalidField, match="weapon"):
        belgium.views.lifecycle("not-a-uuid")


def test_state_and_custody_equal_the_domain_aggregate(belgium):
    belgium.views.catch_up(belgium.registry)
    for name in ("w1", "w2", "w3", "w4", "w5", "w6", "w7"):
        weapon = belgium.registry.weapon(getattr(belgium.ids, name))
        life = belgium.views.lifecycle(weapon.id)
        assert (life["status"], life["holder"], life["place"], life["flags"]) == (
            weapon.status.value, weapon.holder, weapon.place, list(weapon.flags)), name

    assert belgium.views.custody(belgium.ids.w1) == {
        "weapon_id": str(belgium.ids.w1), "holder": "Dealer A", "place": "BE", "status": "lost",
        "since": D("2024-04-10")}
    assert belgium.views.custody(belgium.ids.w2) == {
        "weapon_id": str(belgium.ids.w2), "holder": "", "place": "FR", "status": "exported",
        "since": D("2024-02-10")}


SERIAL_SEARCHES = [
    ("AB?12*", {"w1", "w2", "w7"}),     # one unknown character, then any run
    ("ab-7123", {"w1"}),                # exact, normalised
    ("*999", {"w3"}),                   # wildcard first: searched on the reversed serial
    ("??99?", {"w3"}),
    ("*12*", {"w1", "w2", "w7"}),
    ("CH_1*", {"w6"}),                  # '_' is a literal character of a serial, not a wildcard
    ("C%", set()),                      # so is '%'
    ("Q9*", set()),                     # no match
]


def test_marking_index_finds_exact_markings_and_partial_serials_as_the_domain_defines_them(belgium):
    belgium.views.catch_up(belgium.registry)
    assert belgium.views.find_by_marking("fn  herstal", "be", "ab 71.23") == [str(belgium.ids.w1)]
    assert belgium.views.find_by_marking("FN Herstal", "BE", "AB-712") == []
    assert belgium.views.find_by_marking("FN Herstal", "FR", "AB-7123") == []
    assert belgium.views.find_by_marking("Glock", "AT", "AB?12Q") == [str(belgium.ids.w7)]
    with pytest.raises(InvalidField, match="country"):
        belgium.views.find_by_marking("FN Herstal", "XX", "AB-7123")

    names = {str(getattr(belgium.ids, n)): n for n in ("w1", "w2", "w3", "w4", "w5", "w6", "w7")}
    for pattern, expected in SERIAL_SEARCHES:
        found = belgium.views.search_serial(pattern)
        assert {names[r["weapon_id"]] for r in found} == expected, pattern
        regex = serial_pattern_to_regex(pattern)  # the domain's definition of a match
        assert all(regex.fullmatch(normalise(r["marking"]["serial"])) for r in found), pattern
    assert belgium.views.search_serial("ab-7123") == [{
        "weapon_id": str(belgium.ids.w1), "status": "lost",
        "marking": {"manufacturer": "FN Herstal", "country": "BE", "serial": "AB-7123"}}]
    assert len(belgium.views.search_serial("*", limit=2)) == 2
    with pytest.raises(InvalidField, match="serial"):
        belgium.views.search_serial("  ")


def test_open_shipments_close_on_receipt_confirmations_from_partner_nodes(belgium, partners):
    views, ids = belgium.views, belgium.ids
    views.catch_up(belgium.registry)
    now = D("2024-03-11")
    opened = views.open_shipments(now)
    assert [s["shipment_id"] for s in opened] == [str(ids.s1), str(ids.s2), str(ids.s3)]
    assert opened[0] == {
        "shipment_id": str(ids.s1), "node": "BE", "export_licence": "EL-FR", "import_authorization": "IA-FR-1",
        "from_state": "BE", "to_state": "FR", "transit": ["DE"], "consignee": "", "weapons": [str(ids.w2)],
        "exported_on": D("2024-02-10"), "age_days": 30}
    assert [s["shipment_id"] for s in views.open_shipments(now, overdue_days=25)] == [str(ids.s1)]
    assert [s["shipment_id"] for s in views.open_shipments(now, overdue_days=20)] == [str(ids.s1), str(ids.s2)]

    assert views.catch_up(partners.france_log) > 0        # Weapon.ReceiptConfirmed naming S1
    assert views.catch_up(partners.netherlands_log) == 1  # Shipment.ReceiptConfirmed of S2
    assert [s["shipment_id"] for s in views.open_shipments(now)] == [str(ids.s3)]


def test_partner_records_join_the_lifecycle_in_business_order_whatever_order_they_arrive_in(belgium, partners):
    views = belgium.views
    views.catch_up(belgium.registry)
    views.catch_up(partners.france_log)
    life = views.lifecycle(belgium.ids.w2)
    assert [(e["node"], e["type"]) for e in life["events"]] == [
        ("BE", "Weapon.Manufactured"), ("BE", "Weapon.Exported"),
        ("FR", "Weapon.Imported"), ("FR", "Weapon.ReceiptConfirmed")]
    assert (life["status"], life["holder"], life["place"]) == ("active", "Armurerie Paris", "FR")

    views.rebuild(partners.france_log)   # FR's records first this time, then BE's
    views.catch_up(belgium.registry)
    assert views.lifecycle(belgium.ids.w2) == life


def test_statistics_count_records_weapons_and_seizures(belgium):
    belgium.views.catch_up(belgium.registry)
    stats = belgium.views.statistics()
    assert stats["by_type"]["Weapon.Manufactured"] == 6
    assert stats["by_type"]["Weapon.Seized"] == 3
    assert stats["by_type"]["Licence.Issued"] == 4
    assert "Authority.Certified" not in stats["by_type"]
    assert stats["events"] == sum(stats["by_type"].values()) == stats["by_state"]["BE"]
    assert stats["weapons"] == 7
    assert stats["by_weapon_type"] == {"pistol": 4, "revolver": 1, "rifle": 1, "shotgun": 1}
    assert stats["by_country_of_manufacture"] == {"AT": 1, "BE": 6}
    assert stats["by_month"]["2024-04"] == 3
    assert stats["seizures_by_type_and_month"] == {"pistol": {"2024-03": 1},
                                                   "shotgun": {"2024-03": 1, "2024-04": 1}}
    assert stats["seizures_by_country_of_manufacture"] == {"AT": 1, "BE": 2}


def test_catch_up_in_small_batches_then_again_then_rebuild_give_the_same_views(belgium, dump_views):
    last = belgium.registry.recorder.max_notification_id()
    belgium.views.BATCH_SIZE = 3   # weapons' records spread over many transactions
    assert belgium.views.catch_up(belgium.registry) == last
    before = dump_views(belgium.views)
    assert before["view_weapons"] and before["view_shipments"]
    assert belgium.views.catch_up(belgium.registry) == 0
    assert belgium.views.position(belgium.registry) == last
    assert dump_views(belgium.views) == before

    belgium.views.BATCH_SIZE = 1000
    assert belgium.views.rebuild(belgium.registry) == last
    assert dump_views(belgium.views) == before

    # Views of an older layout (no layout version recorded) are dropped on open, then rebuilt.
    with belgium.views.store.datastore.transaction(commit=True) as cursor:
        cursor.execute("DELETE FROM views_tracking WHERE application_name = '__views_schema__'")
    with Views.open(eventsourcing_env(belgium.db), own_log=belgium.registry.name) as reopened:
        assert reopened.position(belgium.registry) == 0
        assert reopened.lifecycle(belgium.ids.w1) is None
        assert reopened.catch_up(belgium.registry) == last
        assert dump_views(reopened) == before


def test_a_catch_up_of_views_at_the_end_of_the_log_opens_no_write_transaction(belgium):
    views = belgium.views
    assert views.catch_up(belgium.registry) == belgium.registry.recorder.max_notification_id()
    opened = []
    transaction = views.store.transaction
    views.store.transaction = lambda *a, **k: opened.append(1) or transaction(*a, **k)
    try:
        assert views.catch_up(belgium.registry) == 0
        assert opened == []  # sixteen officers' searches no longer queue for the views' writer
        assert views.catch_up(belgium.registry, until=1) == 0  # a bounded catch-up goes the long way
        assert opened
    finally:
        del views.store.transaction


def test_records_of_unknown_types_and_undecodable_bytes_are_skipped_but_tracked(belgium):
    key = generate_key()
    mystery = seal(key, node="BE", stream=str(uuid.uuid4()), version=1, type="Mystery.Happened",
                   occurred_on=D("2024-05-01"), recorded_at=0, authority=key_id(key), prev=GENESIS_PREV,
                   body={"what": "unknown to this code"})
    belgium.registry.recorder.insert_events([
        StoredEvent(originator_id=uuid.UUID(mystery.stream), originator_version=1, topic=mystery.type,
                    state=mystery.to_bytes()),
        StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="Weapon.Seized", state=b"\xc1garbage"),
    ])
    belgium.registry.record("mark", by="police", weapon_id=belgium.ids.w4, mark="BE-2024-1",
                            reason="national mark", occurred_on=D("2024-05-02"))

    last = belgium.registry.recorder.max_notification_id()
    assert belgium.views.catch_up(belgium.registry) == last
    assert belgium.views.position(belgium.registry) == last
    assert belgium.views.statistics()["by_type"].get("Mystery.Happened") is None
    assert belgium.views.lifecycle(belgium.ids.w4)["events"][-1]["type"] == "Weapon.Marked"


def test_a_batch_that_fails_midway_leaves_neither_rows_nor_tracking(belgium):
    with belgium.views.store.datastore.transaction(commit=True) as cursor:
        cursor.execute("DROP TABLE view_shipment_weapons")  # written after events and weapons
    with pytest.raises(PersistenceError):
        belgium.views.catch_up(belgium.registry)
    assert belgium.views.position(belgium.registry) == 0
    assert belgium.views.lifecycle(belgium.ids.w1) is None

    belgium.views.store.create_table()
    assert belgium.views.catch_up(belgium.registry) == belgium.registry.recorder.max_notification_id()
    assert belgium.views.lifecycle(belgium.ids.w1)["status"] == "lost"


def test_a_batch_is_applied_once_even_when_written_twice_or_by_another_process(belgium, dump_views):
    notifications = belgium.registry.recorder.select_notifications(start=1, limit=1000)
    store = belgium.views.store
    batch = project_batch(notifications, store.load_weapons, store.load_weapon_events)
    tracking = Tracking(belgium.registry.name, batch.last_notification_id)
    store.write(batch, tracking)
    before = dump_views(belgium.views)
    with pytest.raises(TrackingConflict):
        store.write(batch, tracking)
    assert dump_views(belgium.views) == before

    with Views.open(eventsourcing_env(belgium.db), own_log=belgium.registry.name) as other:
        assert other.position(belgium.registry) == belgium.registry.recorder.max_notification_id()
        assert other.catch_up(belgium.registry) == 0
        assert other.custody(belgium.ids.w4)["status"] == "stolen"


def test_rows_written_again_under_another_log_change_nothing(belgium, dump_views):
    """Rows that are new to the batch but held already (another log held the same records, a weapon
    written meanwhile) end as the conflict clauses say: the events kept, the weapons updated."""
    notifications = belgium.registry.recorder.select_notifications(start=1, limit=1000)
    store = belgium.views.store
    batch = project_batch(notifications, store.load_weapons, store.load_weapon_events)
    assert batch.new_weapon_ids == {w.weapon_id for w in batch.weapons} != set()
    store.write(batch, Tracking(belgium.registry.name, batch.last_notification_id))
    once = dump_views(belgium.views)

    store.write(batch, Tracking("received_again", batch.last_notification_id))
    assert dump_views(belgium.views) == once
    assert belgium.views.position(SimpleNamespace(name="received_again")) == batch.last_notification_id


def test_serial_search_uses_the_serial_indexes(db_url):
    with Views.open(eventsourcing_env(db_url)) as views:
        for pattern, index in (("AB?12*", "view_weapons_serial"), ("*3456", "view_weapons_serial_reversed")):
            like = serial_like(pattern)
            query = f"SELECT weapon_id FROM view_weapons WHERE {like.column} LIKE ? ESCAPE '\\'"
            with views.store.reading() as cursor:
                if db_url.startswith("postgresql://"):
                    cursor.execute("SET LOCAL enable_seqscan = off")  # the table is empty: force the choice
                    plan = views.store.select(cursor, "EXPLAIN " + query, [like.pattern])
                else:
                    plan = views.store.select(cursor, "EXPLAIN QUERY PLAN " + query, [like.pattern])
            assert index in str([tuple(dict(row).values()) for row in plan]), (pattern, plan)


def test_weapons_are_found_by_the_start_of_their_id(belgium):
    belgium.views.catch_up(belgium.registry)
    w1 = str(belgium.ids.w1)
    assert belgium.views.weapon_ids_starting(w1[:8]) == [w1]
    assert belgium.views.weapon_ids_starting(w1) == [w1]
    everything = belgium.views.weapon_ids_starting("", limit=100)
    assert len(everything) == 7 and everything == sorted(everything)
    assert len(belgium.views.weapon_ids_starting("", limit=2)) == 2
    assert belgium.views.weapon_ids_starting("zzzz") == []
