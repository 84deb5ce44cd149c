"""The paging helper over a real recorder (SQLite, PostgreSQL) and eventsourcing's in-memory one."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.utils import Environment

from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.registry.paging import notification_pages, notifications, paged, signed
from nodes.registry.storage import eventsourcing_env


@pytest.fixture(params=["popo", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def recorder(request):
    if request.param == "popo":
        yield POPOApplicationRecorder()
        return
    db = request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])
    factory = InfrastructureFactory.construct(Environment("paging", eventsourcing_env(db)))
    yield factory.application_recorder()
    factory.close()


def record(recorder, topics: list[str]) -> list[int]:
    """One stored event per topic; returns their notification ids."""
    stream = uuid.uuid4()
    recorder.insert_events([StoredEvent(originator_id=stream, originator_version=v, topic=t, state=b"%d" % v)
                            for v, t in enumerate(topics, start=1)])
    return [n.id for n in recorder.select_notifications(start=1, limit=10_000) if n.originator_id == stream]


def test_every_notification_once_in_order_across_page_boundaries(recorder):
    ids = record(recorder, ["A"] * 7)
    pages = list(notification_pages(recorder, limit=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [n.id for p in pages for n in p] == ids


def test_a_start_position_and_topics_select_what_is_read(recorder):
    ids = record(recorder, ["A", "B", "A", "C", "A", "B"])
    assert [n.id for n in notifications(recorder, topics=("B", "C"), limit=1)] == [ids[1], ids[3], ids[5]]
    assert [n.id for n in notifications(recorder, start=ids[2], topics=("A",), limit=2)] == [ids[2], ids[4]]
    assert list(notifications(recorder, start=ids[-1] + 1)) == []


def test_an_empty_log_gives_no_page(recorder):
    assert list(notification_pages(recorder)) == []


def test_positions_with_gaps_resume_after_the_last_one_returned():
    log = [(2, "a"), (5, "b"), (6, "c"), (40, "d"), (41, "e")]
    calls = []

    def read(start, limit):
        calls.append(start)
        return [item for item in log if item[0] >= start][:limit]

    assert [list(p) for p in paged(read, lambda item: item[0], limit=2)] == [log[:2], log[2:4], log[4:]]
    assert calls == [1, 6, 41]


def test_a_first_page_asks_for_first_and_each_next_for_twice_the_last_up_to_the_limit():
    log = [(position, str(position)) for position in range(1, 40)]
    asked = []

    def read(start, limit):
        asked.append((start, limit))
        return [item for item in log if item[0] >= start][:limit]

    pages = list(paged(read, lambda item: item[0], limit=10, first=3))
    assert [item for page in pages for item in page] == log  # every item once, in order
    assert asked == [(1, 3), (4, 6), (10, 10), (20, 10), (30, 10), (40, 10)]
    assert [len(page) for page in pages] == [3, 6, 10, 10, 10]


def test_a_first_page_shorter_than_asked_ends_the_reading():
    asked = []

    def read(start, limit):
        asked.append((start, limit))
        return [(1, "a"), (2, "b")][:limit]

    assert [list(p) for p in paged(read, lambda item: item[0], limit=100, first=5)] == [[(1, "a"), (2, "b")]]
    assert asked == [(1, 5)]


@pytest.mark.parametrize("start, limit, first", [(0, 10, None), (1, 0, None), (1, 10, 0), (1, 10, 11)])
def test_a_start_limit_or_first_out_of_range_is_refused(start, limit, first):
    with pytest.raises(ValueError):
        list(paged(lambda s, n: [], lambda item: 0, start=start, limit=limit, first=first))


def test_signed_takes_a_row_by_its_envelope_type_the_topic_column_only_narrows_the_read(recorder):
    key = generate_key()
    stream = str(uuid.uuid4())
    types = ["Weapon.Marked", "Shipment.Opened", "Weapon.Marked", "Shipment.Opened"]
    envelopes, prev = [], GENESIS_PREV
    for version, type_ in enumerate(types, start=1):
        envelope = seal(key, node="BE", stream=stream, version=version, type=type_, occurred_on=1,
                        recorded_at=version, authority=key_id(key), prev=prev, body={})
        envelopes.append(envelope)
        prev = envelope.hash
    # The columns lie both ways: an opening filed as a mark, a mark filed as an opening.
    columns = ["Weapon.Marked", "Weapon.Marked", "Shipment.Opened", "Shipment.Opened"]
    recorder.insert_events([StoredEvent(originator_id=uuid.UUID(stream), originator_version=e.version, topic=c,
                                        state=e.to_bytes()) for e, c in zip(envelopes, columns)])

    # The mark filed as an opening is not taken; the opening filed as a mark is not seen,
    # as a deleted row would not be (verify names it: tests/nodes/registry/test_verify_acceptance.py).
    assert list(signed(recorder, ["Shipment.Opened"], limit=1)) == [envelopes[3]]
