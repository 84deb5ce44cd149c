"""A rebuild whose rows are made on worker processes, a range of stream ids each (``projections.range_rows``):
the views of a rebuild in position order, the old views whole when it fails, and ranges that cover every id.

Run on SQLite and PostgreSQL (``db_url``) with the scenario of this folder's conftest; PostgreSQL's rebuild
makes its rows in its own process, and starts no worker.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given, strategies as st

from domain.event_types import EXPORTED, RECEIPT_CONFIRMED, SHIPMENT_OPENED, SHIPMENT_RECEIPT_CONFIRMED
from nodes.workers import start_pool
from projections import range_rows, rebuild_aside as aside
from projections.batch import ViewEvent
from projections.projected_rows import Shipments
from projections.range_rows import id_ranges
from projections.store import VIEW_TABLES
from tests.projections import test_rebuild_aside as aside_tests
from tests.projections.test_rebuild_aside import tables


@pytest.fixture
def on_workers(belgium, monkeypatch):
    """BE's views set to rebuild on workers even this small a log, a few log rows per range; the pools started."""
    started: list[int] = []

    def start_workers(workers: int):
        started.append(workers)
        return start_pool(workers)

    monkeypatch.setattr(aside, "WORKERS_FROM", 1)
    monkeypatch.setattr(range_rows, "RANGE_ROWS", 3)
    belgium.views.start_workers = start_workers
    return started


def on_sqlite(belgium) -> bool:
    return belgium.views.store.dialect["bytes"] == "BLOB"


def test_rows_made_on_workers_give_the_views_of_a_rebuild_in_position_order(belgium, dump_views, on_workers):
    log, views = belgium.registry, belgium.views
    last = log.recorder.max_notification_id()
    views.REBUILD_ASIDE = False
    assert views.rebuild(log) == last
    by_position = dump_views(views)
    assert by_position["view_shipments"] and by_position["view_shipment_weapons"]
    # The scenario's streams fall in several ranges: some made here, the others on the worker.
    assert len(id_ranges(last)) > range_rows.FIRST_MADE_HERE

    views.REBUILD_ASIDE = True
    reads: list[tuple[int, int | None]] = []
    assert views.rebuild(log, progress=lambda done, total: reads.append((done, total))) == last
    assert on_workers == ([aside.WORKERS] if on_sqlite(belgium) else [])
    assert dump_views(views) == by_position
    assert views.position(log) == last and reads[-1] == (last, last)
    assert [done for done, _ in reads] == sorted(done for done, _ in reads)
    assert tables(views) == set(VIEW_TABLES)
    assert [found["weapon_id"] for found in views.search_serial("AB-7*")] == [str(belgium.ids.w1)]


@pytest.mark.parametrize("until", [5, 17])
def test_rows_made_on_workers_up_to_a_position_give_the_views_of_a_rebuild_in_position_order(
        belgium, dump_views, on_workers, until):
    # As in test_rebuild_aside, with the rows of the records up to ``until`` made on the worker and here.
    aside_tests.test_a_rebuild_aside_up_to_a_position_gives_the_views_of_one_in_position_order(
        belgium, dump_views, until)
    assert on_workers == ([aside.WORKERS] if on_sqlite(belgium) else [])


@pytest.mark.parametrize("made", ["here", "on-a-worker"])
def test_a_log_not_plain_in_a_range_is_rebuilt_in_position_order(belgium, dump_views, on_workers, made):
    log, views = belgium.registry, belgium.views
    # A row that is not an envelope in the first range (made here) or the third (made on the worker): the
    # position-order projection skips it, as a catch-up does.
    low = id_ranges(log.recorder.max_notification_id() + 1)[0 if made == "here" else 2][0] or "0000"
    stream = UUID(low + uuid4().hex[len(low):])
    log.recorder.insert_events([StoredEvent(originator_id=stream, originator_version=1, topic="unknown",
                                            state=b"not an envelope")])
    views.catch_up(log)
    caught_up = dump_views(views)
    assert views.rebuild(log) == log.recorder.max_notification_id()
    assert dump_views(views) == caught_up
    assert tables(views) == set(VIEW_TABLES)
    assert on_workers == ([aside.WORKERS] if on_sqlite(belgium) else [])


def test_a_failure_while_writing_rows_made_on_workers_leaves_the_old_views(belgium, dump_views, on_workers,
                                                                          monkeypatch):
    # The failure of a write of the fresh tables, as in test_rebuild_aside, with the rows made on the worker.
    aside_tests.test_a_failure_mid_rebuild_leaves_the_old_views_and_their_position(belgium, dump_views,
                                                                               monkeypatch, 3)
    assert on_workers == ([aside.WORKERS] if on_sqlite(belgium) else [])


@pytest.mark.parametrize("count", [0, 1, 2_499, 2_500, 7_600, 10**6])  # 0 to 400 ranges
@given(ids=st.lists(st.one_of(st.uuids().map(lambda u: u.hex), st.text(max_size=40)), max_size=60))
def test_each_id_falls_in_exactly_one_range_and_the_ranges_are_in_id_order(count, ids):
    ranges = id_ranges(count)
    assert 1 <= len(ranges) <= max(1, count // range_rows.RANGE_ROWS) and ranges[0][0] is None
    assert ranges[-1][1] is None
    assert all(high == low for (_, high), (low, _) in zip(ranges, ranges[1:]))  # no gap, no overlap
    assert [low for low, _ in ranges[1:]] == sorted({low for low, _ in ranges[1:]})
    for stream in ids:
        holding = [index for index, (low, high) in enumerate(ranges)
                   if (low is None or low <= stream) and (high is None or stream < high)]
        assert len(holding) == 1
    # Ids of a lower range sort before those of a higher one (code point order, SQLite's BINARY): the rows come
    # back in the views' key order.
    indexes = [next(index for index, (low, high) in enumerate(ranges)
                    if (low is None or low <= stream) and (high is None or stream < high)) for stream in sorted(ids)]
    assert indexes == sorted(indexes)


def _shipment_event(position: int, record_type: str, stream: str, occurred_on: int, body: dict) -> ViewEvent:
    return ViewEvent(stream, "BE", 1, position, record_type, occurred_on, occurred_on, 0, "key", b"", body)


SHIPMENT_EVENTS = [  # two exports of shipment s1 and two receipts (the later-positioned one received first)
    _shipment_event(3, EXPORTED, "w1", 100, {"shipment": "s1", "licence": "EL-1", "to_state": "FR"}),
    _shipment_event(9, EXPORTED, "w2", 101, {"shipment": "s1", "licence": "EL-2", "to_state": "FR"}),
    _shipment_event(5, SHIPMENT_OPENED, "s2", 90, {"export_licence": "EL-3", "weapons": ["w3", "w4"]}),
    _shipment_event(12, RECEIPT_CONFIRMED, "w1", 130, {"shipment": "s1"}),
    _shipment_event(11, SHIPMENT_RECEIPT_CONFIRMED, "s1", 120, {}),
    _shipment_event(14, SHIPMENT_RECEIPT_CONFIRMED, "s2", 120, {}),
    _shipment_event(13, RECEIPT_CONFIRMED, "w3", 120, {"shipment": "s2"}),
]


@given(st.permutations(range(len(SHIPMENT_EVENTS))), st.integers(0, len(SHIPMENT_EVENTS)))
def test_shipments_seen_in_two_parts_and_merged_are_those_seen_at_once(order, cut):
    whole, first, second = Shipments(), Shipments(), Shipments()
    for event in SHIPMENT_EVENTS:
        whole.add(event.notification_id, event)
    for index, event in enumerate(SHIPMENT_EVENTS[i] for i in order):
        (first if index < cut else second).add(event.notification_id, event)
    first.merge(second)
    assert first.shipment_rows() == whole.shipment_rows()
    assert first.shipment_weapon_rows() == whole.shipment_weapon_rows()


def test_the_ranges_of_a_very_large_log_stop_at_four_hex_digits():
    ranges = id_ranges(10**9)
    assert len(ranges) == 0x10000 and ranges[1][0] == "0001" and ranges[-1][0] == "ffff"


def test_a_worker_imports_no_eventsourcing_nor_cryptography():
    # A rebuild starts its worker each time: the library's import was about 35 ms of the worker's CPU,
    # cryptography's (through ledger.envelope) about 9.
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, projections.range_rows; print(*sorted(m for m in sys.modules "
                               "if m.split('.')[0] in ('eventsourcing', 'psycopg', 'cryptography')))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]).stdout.split()
    assert imported == []


def test_while_a_workers_range_is_not_back_this_process_makes_the_workers_next_ones(belgium, monkeypatch):
    # A worker that makes nothing until this process has made as many of the workers' ranges as it keeps
    # (RANGES_AHEAD): they are the workers' next ones not handed out, and every range comes out once, in order.
    if not on_sqlite(belgium):
        pytest.skip("only a log in an SQLite file has its rows made on workers")
    monkeypatch.setattr(range_rows, "RANGE_ROWS", 1)  # a range per log row, about: some ranges empty
    ranges = id_ranges(belgium.registry.recorder.max_notification_id())
    first, ahead = range_rows.FIRST_MADE_HERE, range_rows.RANGES_AHEAD
    theirs = list(range(first, len(ranges)))
    assert len(theirs) > 2 * ahead
    made_here = made_with_a_worker_held_back(belgium, monkeypatch, ranges)
    assert made_here[:first + ahead] == [*range(first), *theirs[ahead:2 * ahead]]
    assert sorted(made_here) == sorted(set(made_here))


def test_once_every_range_is_handed_out_this_process_takes_back_those_no_worker_started(belgium, monkeypatch):
    # Eight ranges: this process makes the two of the workers' share not handed out, then the last two handed
    # out, which the worker has not started.
    if not on_sqlite(belgium):
        pytest.skip("only a log in an SQLite file has its rows made on workers")
    ranges = id_ranges(8 * range_rows.RANGE_ROWS)
    monkeypatch.setattr(range_rows, "id_ranges", lambda count: ranges)
    assert (range_rows.FIRST_MADE_HERE, range_rows.RANGES_AHEAD, len(ranges)) == (2, 4, 8)
    # Handed out: 2, 3, 4, 5 (the worker started 2); not handed out: 6, 7.
    assert made_with_a_worker_held_back(belgium, monkeypatch, ranges) == [0, 1, 6, 7, 5, 4]


def made_with_a_worker_held_back(belgium, monkeypatch, ranges) -> list[int]:
    """The indexes of ``ranges`` (those ``rows_from_workers`` makes of BE's log) made by this process, in order,
    while a worker thread is stuck in its first range until this process has made as many as it may keep
    (``FIRST_MADE_HERE`` + ``RANGES_AHEAD``). Asserts that every range comes out once, in order, as made alone."""
    recorder = belgium.registry.recorder
    log, end = range_rows.LogFile.of(recorder, copy_envelopes=False), recorder.max_notification_id()
    assert log is not None
    made_here: list[int] = []
    worker_may_go_on = threading.Event()
    make = range_rows.range_rows

    def made(log, low, high, until):
        if threading.current_thread() is threading.main_thread():
            made_here.append(ranges.index((low, high)))
            if len(made_here) == range_rows.FIRST_MADE_HERE + range_rows.RANGES_AHEAD:
                worker_may_go_on.set()
        else:
            assert worker_may_go_on.wait(30)
        return make(log, low, high, until)

    monkeypatch.setattr(range_rows, "range_rows", made)
    with ThreadPoolExecutor(1) as pool:
        out = list(range_rows.rows_from_workers(pool, log, end, end, Shipments()))
    expected = [make(log, low, high, end) for low, high in ranges]
    assert [(events, weapons) for events, weapons, _read in out] == [(e, w) for e, w, _s, _r in expected]
    assert out[-1][2] == sum(read for _e, _w, _s, read in expected)
    return made_here
