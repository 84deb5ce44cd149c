"""The registry's log insert: one transaction (on PostgreSQL, one statement calling the insert function), its
positions in order, all or nothing, and every connection fit for the next one."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import RecordConflictError, StoredEvent

from nodes.bootstrap import init_node
from nodes.settings import Settings

from federation_nodes import PASSPHRASE


@pytest.fixture
def recorder(db_url, tmp_path):
    with init_node(Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase=PASSPHRASE), "BE") as node:
        yield node.registry.recorder


def a_stored_record(recorder) -> StoredEvent:
    return recorder.select_notifications(1, limit=1)[0]


def like(record: StoredEvent, **changes: object) -> StoredEvent:
    fields = {"originator_id": record.originator_id, "originator_version": record.originator_version,
              "topic": record.topic, "state": record.state}
    return StoredEvent(**{**fields, **changes})  # type: ignore[arg-type]


def logged(recorder) -> int:
    return len(recorder.select_notifications(1, limit=1_000_000))


def test_a_batch_gets_its_positions_in_order(recorder):
    record = a_stored_record(recorder)
    batch = [like(record, originator_id=uuid4()) for _ in range(3)]
    positions = recorder.insert_events(batch)
    assert positions is not None and len(positions) == 3
    assert list(positions) == sorted(positions) and positions[-1] == recorder.max_notification_id()
    stored = recorder.select_notifications(positions[0], limit=10)
    assert [(n.id, n.originator_id) for n in stored] == [(p, e.originator_id) for p, e in zip(positions, batch)]


def test_a_batch_with_a_taken_version_stores_nothing_and_the_next_inserts_work(recorder):
    """The taken (stream, version) is the batch's last row: the rows before it went in and are rolled back with
    it, and every connection of the pool writes again."""
    record = a_stored_record(recorder)
    rows_before = logged(recorder)
    new_stream = uuid4()
    with pytest.raises(RecordConflictError):
        recorder.insert_events([like(record, originator_id=new_stream), record])
    assert recorder.select_events(new_stream) == []
    assert logged(recorder) == rows_before
    newest = recorder.max_notification_id()
    for _ in range(10):  # more than the pool's connections: every one of them writes again
        stream = uuid4()
        (position,) = recorder.insert_events([like(record, originator_id=stream)])
        assert position > newest and [e.originator_id for e in recorder.select_events(stream)] == [stream]
        newest = position
    assert logged(recorder) == rows_before + 10


def test_every_byte_and_character_of_a_row_comes_back_as_inserted(recorder):
    """On PostgreSQL the rows go to the server in binary: a state with every byte value, quotes, backslashes
    and NULs, a topic beyond ASCII and a version past 32 bits read back unchanged."""
    record = a_stored_record(recorder)
    awkward = [like(record, originator_id=uuid4(), state=bytes(range(256)) + b'\\"(),{}\x00'),
               like(record, originator_id=uuid4(), originator_version=2**40, topic='topic:"é\\, ü(){}'),
               like(record, originator_id=uuid4(), state=b"")]
    recorder.insert_events(awkward)
    for inserted in awkward:
        (stored,) = recorder.select_events(inserted.originator_id)
        assert (stored.originator_id, stored.originator_version, stored.topic, stored.state) == (
            inserted.originator_id, inserted.originator_version, inserted.topic, inserted.state)
