"""``compare_views`` makes the rows of a plain log in memory, read by stream, and finds what the reference finds:
the log projected into scratch views as a rebuild does (``compare_with_scratch_views``), on each backend.

Each case edits one row of BE's views (``conftest.build_belgium``): altered, missing, or one that the log does
not project, for each view table. Both ways must name the same rows with the same words, in the same order.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings, strategies as st
from test_rebuild_property import WEAPON_IDS, play, steps

from domain.marking import Marking
from domain.time import SECONDS_PER_DAY, format_time
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.registry.application import Registry
from nodes.registry.corrections import correct_record
from nodes.registry.storage import eventsourcing_env
from projections import projected_rows
from projections.compare import compare_views, compare_with_scratch_views
from projections.errors import UnreadableLog
from projections.projected_rows import NotPlain, Shipments, rows_by_stream
from projections.views import Views

from insider import row_id, sql

# (what the insider does, SQL with {w1}, {w2}, {s1}, {s3} ids, the one mismatch it makes: table, words)
EDITS = [
    ("alter an event", "UPDATE view_events SET authority = 'forged' WHERE stream = '{w2}' AND version = 1",
     "view_events", "column authority: expected '"),
    ("delete an event", "DELETE FROM view_events WHERE stream = '{w1}' AND version = 2",
     "view_events", "version=2: row missing (the log projects it)"),
    ("add an event", "INSERT INTO view_events SELECT stream, node, version + 100, notification_id, type, occurred_on, "
     "sequence_on, recorded_at, month, authority, envelope FROM view_events WHERE stream = '{w1}' AND version = 1",
     "view_events", "version=101: row found that the log does not project"),
    ("alter a weapon", "UPDATE view_weapons SET status = 'destroyed' WHERE weapon_id = '{w2}'",
     "view_weapons", "column status: expected 'exported', found 'destroyed'"),
    ("delete a weapon", "DELETE FROM view_weapons WHERE weapon_id = '{w2}'",
     "view_weapons", "row missing (the log projects it)"),
    ("add a weapon", "INSERT INTO view_weapons SELECT 'ffffffff-0000-0000-0000-000000000000', opened_by, manufacturer, "
     "country, serial, marking_key, serial_key, serial_key_reversed, type, make, model, calibre, year, status, "
     "holder, place, since, flags, last_sequence_on, last_node, last_version "
     "FROM view_weapons WHERE weapon_id = '{w1}'",
     "view_weapons", "weapon_id=ffffffff-0000-0000-0000-000000000000: row found that the log does not project"),
    ("alter a shipment", "UPDATE view_shipments SET consignee = 'Mallory' WHERE shipment_id = '{s1}'",
     "view_shipments", "found 'Mallory'"),
    ("delete a shipment", "DELETE FROM view_shipments WHERE shipment_id = '{s3}'",
     "view_shipments", "row missing (the log projects it)"),
    ("add a shipment", "INSERT INTO view_shipments (shipment_id) VALUES ('ffffffff-0000-0000-0000-000000000000')",
     "view_shipments", "row found that the log does not project"),
    ("move a weapon to another shipment", "UPDATE view_shipment_weapons SET shipment_id = '{s3}' "
     "WHERE shipment_id = '{s1}'", "view_shipment_weapons", "row missing (the log projects it)"),
]


def edit(belgium, statement: str) -> None:
    ids = belgium.ids
    sql(belgium.db, statement.format(w1=ids.w1, w2=ids.w2, s1=ids.s1, s3=ids.s3))


def both_ways(belgium) -> tuple[list[str], list[str]]:
    return ([str(m) for m in compare_views(belgium.views, belgium.registry)],
            [str(m) for m in compare_with_scratch_views(belgium.views, belgium.registry)])


def test_the_scenario_is_a_plain_log(belgium):
    """So that the cases below compare the rows made in memory, not the reference with itself."""
    shipments = Shipments()
    streams = list(rows_by_stream(belgium.registry.recorder, 10 ** 9, shipments))
    assert sum(1 for _, weapon in streams if weapon is not None) == 7
    assert len(shipments.shipment_rows()) == 3


@pytest.mark.parametrize(("statement", "table", "reported"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_an_edited_row_is_named_as_the_scratch_views_name_it(belgium, statement, table, reported):
    belgium.views.catch_up(belgium.registry)
    assert both_ways(belgium) == ([], [])
    edit(belgium, statement)
    in_memory, reference = both_ways(belgium)
    assert in_memory == reference
    assert len(in_memory) >= 1 and all(line.startswith(table + " ") for line in in_memory)
    assert any(reported in line for line in in_memory)
    # The rows decoded without the canonical check (verify's log audit makes it) are the same rows.
    assert [str(m) for m in compare_views(belgium.views, belgium.registry, canonical_known=True)] == in_memory


def test_views_caught_up_a_record_at_a_time_compare_equal(belgium):
    """A catch-up of one record per batch continues each weapon's fold from its stored row at every record:
    the rows made in memory, folded once per weapon, are the same."""
    belgium.views.BATCH_SIZE = 1
    belgium.views.catch_up(belgium.registry)
    assert both_ways(belgium) == ([], [])


def test_corrected_records_compare_as_the_scratch_views_do(belgium):
    registry = belgium.registry
    weapon = registry.manufacture(marking=Marking.read("Acme", "BE", "V-1"), type="pistol", make="Acme",
                                  model="A1", calibre="9mm", year=2019, holder="Acme Arms", occurred_on=1_600_000_000)
    registry.record("report_lost", by="police", weapon_id=weapon, place="Ghent", circumstances="",
                    occurred_on=1_600_000_000 + SECONDS_PER_DAY)
    [made, lost] = registry.envelopes(weapon)
    correct_record(registry, record=made.hash.hex(), changes=[("holder", "Acme Arms SA")], reason="legal name")
    correct_record(registry, record=lost.hash.hex(), reason="reported late",
                   changes=[("occurred_on", format_time(1_600_000_000 + 3 * SECONDS_PER_DAY))])
    belgium.views.BATCH_SIZE = 2
    belgium.views.catch_up(belgium.registry)
    assert both_ways(belgium) == ([], [])
    sql(belgium.db, f"UPDATE view_weapons SET since = 1 WHERE weapon_id = '{weapon}'")
    in_memory, reference = both_ways(belgium)
    assert in_memory == reference == [
        f"view_weapons weapon_id={weapon}: column since: expected {1_600_000_000 + 3 * SECONDS_PER_DAY}, found 1"]


def test_a_log_the_rows_in_memory_cannot_follow_is_compared_through_scratch_views(belgium, monkeypatch):
    """Past what it keeps in memory (here: no shipment at all), the comparison takes the reference path."""
    belgium.views.catch_up(belgium.registry)
    edit(belgium, EDITS[3][1])
    monkeypatch.setattr(projected_rows, "SHIPMENT_ROWS_LIMIT", 0)
    with pytest.raises(NotPlain):
        list(rows_by_stream(belgium.registry.recorder, 10 ** 9, Shipments()))
    in_memory, reference = both_ways(belgium)
    assert in_memory == reference and len(in_memory) == 1 and in_memory[0].startswith("view_weapons ")


def test_a_record_out_of_position_order_in_its_stream_is_not_plain(belgium):
    """A stream whose later version sits at an earlier log position: a rebuild projects it first."""
    events = belgium.registry.recorder.events_table_name
    position = "notification_id" if belgium.db.startswith("postgresql://") else "rowid"
    top = sql(belgium.db, f"SELECT MAX({position}) FROM {events}")[0][0]
    sql(belgium.db, f"UPDATE {events} SET {position} = ? WHERE originator_id = ? AND originator_version = 1", top + 1,
        row_id(belgium.db, belgium.ids.w1))
    with pytest.raises(NotPlain):
        list(rows_by_stream(belgium.registry.recorder, 10 ** 9, Shipments()))
    belgium.views.catch_up(belgium.registry)
    in_memory, reference = both_ways(belgium)
    assert in_memory == reference == []


@settings(max_examples=15, deadline=None)
@given(steps=steps, batch_size=st.integers(1, 7), edited=st.integers(0, len(WEAPON_IDS) - 1))
def test_random_logs_are_plain_and_compare_as_the_scratch_views_do(identity, steps, batch_size, edited):
    """Random command sequences (``test_rebuild_property``), the views caught up in batches of any size:
    the rows made in memory match them, and an edited weapon row is named as the reference names it (SQLite)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "ledger.db")
        registry = Registry(db, identity)
        views = Views.open(eventsourcing_env(db))
        try:
            play(registry, views, steps, batch_size)
            list(rows_by_stream(registry.recorder, 10 ** 9, Shipments()))  # plain: raises nothing
            assert [str(m) for m in compare_views(views, registry)] == []
            sql(db, "UPDATE view_weapons SET holder = 'Mallory', last_version = last_version + 1 WHERE weapon_id = ?",
                WEAPON_IDS[edited])
            in_memory = [str(m) for m in compare_views(views, registry)]
            assert in_memory == [str(m) for m in compare_with_scratch_views(views, registry)]
            assert in_memory == [str(m) for m in compare_views(views, registry, canonical_known=True)]
            assert len(in_memory) == (1 if views.lifecycle(WEAPON_IDS[edited]) else 0)
        finally:
            views.close()
            registry.close()


def stored_record(registry, record_type: str, body: dict, version: int = 1, prev: bytes = GENESIS_PREV):
    """A record signed by a key of its own, stored in BE's log as the library stores one (a new stream)."""
    key = generate_key()
    stream = uuid.uuid4()
    envelope = seal(key, node="BE", stream=str(stream), version=version, type=record_type, occurred_on=1_700_000_000,
                    recorded_at=1_700_000_000_000_000, authority=key_id(key), prev=prev, body=body)
    registry.recorder.insert_events([StoredEvent(originator_id=stream, originator_version=version,
                                                 topic=record_type, state=envelope.to_bytes())])
    return stream


ODD_BODIES = [
    ("a marking under another key", "Weapon.Manufactured",
     {"marking": {"manufacturer": "", "country": "", "serial": "", "batch": "7"}, "type": "pistol"}),
    ("a flag holding a comma", "Weapon.Seized", {"flags": ("obliterated,serial",), "state": "BE"}),
    ("an empty flag", "Weapon.Seized", {"flags": ("",), "state": "BE"}),
]


@pytest.mark.parametrize(("record_type", "body"), [c[1:] for c in ODD_BODIES], ids=[c[0] for c in ODD_BODIES])
def test_records_the_views_do_not_store_as_they_are_go_through_the_scratch_views(belgium, record_type, body):
    weapon = stored_record(belgium.registry, record_type, body)
    with pytest.raises(NotPlain):
        list(rows_by_stream(belgium.registry.recorder, 10 ** 9, Shipments()))
    belgium.views.catch_up(belgium.registry)
    assert both_ways(belgium) == ([], [])
    sql(belgium.db, f"UPDATE view_weapons SET place = 'XX' WHERE weapon_id = '{weapon}'")
    in_memory, reference = both_ways(belgium)
    assert in_memory == reference and len(in_memory) == 1 and "column place" in in_memory[0]


def test_a_record_the_fold_cannot_take_is_reported_as_the_scratch_views_report_it(belgium):
    """Flags that are no list: the fold raises, a catch-up stops there, and so does the comparison, as before
    (the views' position moved past the record by hand)."""
    belgium.views.catch_up(belgium.registry)
    stored_record(belgium.registry, "Weapon.Seized", {"flags": 0, "state": "BE"})
    with pytest.raises(TypeError):
        belgium.views.catch_up(belgium.registry)
    sql(belgium.db, "UPDATE views_tracking SET notification_id = ? WHERE application_name = ?",
        belgium.registry.recorder.max_notification_id(), belgium.registry.name)
    with pytest.raises(UnreadableLog, match="could not be projected"):
        list(compare_views(belgium.views, belgium.registry))


def test_stored_rows_read_out_of_key_order_are_not_plain():
    """The in-memory path reads the stored rows in the order of the database's index (PostgreSQL: its column
    collation, not "C"); rows that come out of Python's order of the keys give it up for the reference path."""
    from projections.compare import _Merge

    columns = [("weapon_id", "TEXT"), ("status", "TEXT")]
    in_order = _Merge("view_weapons", columns, (["weapon_id", "status"], iter([("a", "x"), ("c", "x")])), found := [])
    for row in (("a", "x"), ("b", "x"), ("c", "y")):
        in_order.add(row)
    in_order.finish()
    assert [str(m) for m in found] == ["view_weapons weapon_id=b: row missing (the log projects it)",
                                       "view_weapons weapon_id=c: column status: expected 'y', found 'x'"]
    out_of_order = _Merge("view_weapons", columns, (["weapon_id", "status"], iter([("b", "x"), ("a", "x")])), [])
    out_of_order.add(("a", "x"))  # "b" read first: "a" seems missing until the next stored row is read
    with pytest.raises(NotPlain, match="stored rows read out of key order"):
        out_of_order.add(("b", "x"))
    repeated = _Merge("view_weapons", columns, (["weapon_id", "status"], iter([("a", "x"), ("a", "x")])), [])
    with pytest.raises(NotPlain):
        repeated.finish()
