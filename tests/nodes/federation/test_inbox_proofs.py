"""SQLite's kept proofs, keyed by their records' row ids, and the move of an inbox kept in the layout before
(keyed by origin, stream and version, as PostgreSQL's still is) to that one. The contract the two backends share
is in ``test_inbox``."""

from __future__ import annotations

import sqlite3
import uuid

from eventsourcing.persistence import Tracking

from nodes.federation.inbox import Inbox, InboxBatch, received_stream_id
from nodes.federation.inbox_proofs import UNMATCHED_TABLE, KeptProof

from signed_streams import marked_stream

#: The table as SQLite inboxes kept it before the layout by row id, word for word.
OLD_LAYOUT = ("CREATE TABLE IF NOT EXISTS inbox_proofs (origin TEXT NOT NULL, stream TEXT NOT NULL, "
              "version INTEGER NOT NULL, checkpoint_size INTEGER NOT NULL, leaf_index INTEGER NOT NULL, "
              "audit_path BLOB NOT NULL, PRIMARY KEY (origin, stream, version))")


def proof(envelope, index: int) -> KeptProof:
    return KeptProof(envelope.node, envelope.stream, envelope.version, 100 + index, index,
                     tuple(bytes([index, depth]) * 16 for depth in range(3)))


def columns(path: str, table: str = "inbox_proofs") -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def tables(path: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def old_layout_inbox(path: str, proved: list, unproved: list, orphans: list[KeptProof]) -> list[KeptProof]:
    """An inbox holding ``proved`` and ``unproved`` records, its proofs in the layout before: those of ``proved``
    and ``orphans`` (proofs of records the inbox does not hold). Returns the proofs of ``proved``."""
    with Inbox.open(path) as inbox:
        assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in proved + unproved]),
                            Tracking("kafka:x@1", 1))
    kept = [proof(e, i) for i, e in enumerate(proved)]
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE inbox_proofs")
        db.execute(OLD_LAYOUT)
        db.executemany("INSERT INTO inbox_proofs VALUES (?, ?, ?, ?, ?, ?)", [p.row() for p in kept + orphans])
    assert columns(path)[:3] == ["origin", "stream", "version"]
    return kept


def test_proofs_are_kept_by_their_records_row_ids(sqlite_url):
    stream = str(uuid.uuid4())
    first, second = marked_stream("BE", stream, 2)
    with Inbox.open(sqlite_url) as inbox:
        assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes()), (second, second.to_bytes())],
                                       proofs=[proof(first, 0), proof(second, 1)]), Tracking("kafka:x@1", 2))
        assert inbox.kept_proofs(node="BE", stream=stream) == {1: proof(first, 0), 2: proof(second, 1)}
    assert columns(sqlite_url) == ["record", "checkpoint_size", "leaf_index", "audit_path"]
    with sqlite3.connect(sqlite_url) as db:
        rows = db.execute("SELECT e.originator_id, e.originator_version, p.leaf_index FROM inbox_proofs p "
                          "JOIN inbox_events e ON e.rowid = p.record ORDER BY p.record").fetchall()
    assert rows == [(received_stream_id("BE", stream).hex, 1, 0), (received_stream_id("BE", stream).hex, 2, 1)]


def test_a_proof_left_at_a_row_id_the_batch_takes_is_replaced_by_the_records_own(sqlite_url):
    """A proof row at a row id the next record takes (not met: received records are never deleted, so their
    ids are never taken again) neither stops the batch nor stands for the record there."""
    stream = str(uuid.uuid4())
    first, second = marked_stream("BE", stream, 2)
    with Inbox.open(sqlite_url) as inbox:
        assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes())], proofs=[proof(first, 0)]),
                            Tracking("kafka:x@1", 1))
        with sqlite3.connect(sqlite_url) as db:
            (newest,) = db.execute("SELECT MAX(rowid) FROM inbox_events").fetchone()
            db.execute("INSERT INTO inbox_proofs VALUES (?, 7, 7, ?)", (newest + 1, bytes(32)))
        assert inbox.record(InboxBatch(accepted=[(second, second.to_bytes())], proofs=[proof(second, 1)]),
                            Tracking("kafka:x@1", 2))
        assert inbox.kept_proofs(node="BE", stream=stream) == {1: proof(first, 0), 2: proof(second, 1)}


def test_a_batch_refused_keeps_none_of_its_proofs(sqlite_url):
    stream = str(uuid.uuid4())
    first, second = marked_stream("BE", stream, 2)
    with Inbox.open(sqlite_url) as inbox:
        assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes())], proofs=[proof(first, 0)]),
                            Tracking("kafka:x@1", 1))
        # ``first`` held already: the batch is refused, ``second``'s proof with it, and ``first``'s stays.
        assert not inbox.record(InboxBatch(accepted=[(second, second.to_bytes()), (first, first.to_bytes())],
                                           proofs=[proof(second, 1), proof(first, 9)]), Tracking("kafka:x@1", 2))
        assert inbox.kept_proofs(node="BE", stream=stream) == {1: proof(first, 0)}
    with sqlite3.connect(sqlite_url) as db:
        assert db.execute("SELECT COUNT(*) FROM inbox_proofs").fetchone() == (1,)


def test_an_inbox_kept_in_the_layout_before_moves_its_proofs_and_keeps_what_it_holds(sqlite_url):
    stream, other = str(uuid.uuid4()), str(uuid.uuid4())
    proved = marked_stream("BE", stream, 3) + marked_stream("DE", other, 2)
    unproved = marked_stream("BE", str(uuid.uuid4()), 1)  # received before proofs were kept
    kept = old_layout_inbox(sqlite_url, proved, unproved, orphans=[])

    with Inbox.open(sqlite_url) as inbox:
        assert inbox.kept_proofs(node="BE", stream=stream) == {p.version: p for p in kept[:3]}
        assert inbox.kept_proofs(node="DE", stream=other) == {p.version: p for p in kept[3:]}
        assert inbox.kept_proofs(node="BE", stream=unproved[0].stream) == {}
        assert inbox.received(node="BE", stream=stream) == proved[:3]
        assert inbox.position("kafka:x@1") == 1
        # And it goes on: a new record is kept with its proof, in the new layout.
        later = marked_stream("BE", str(uuid.uuid4()), 1)[0]
        assert inbox.record(InboxBatch(accepted=[(later, later.to_bytes())], proofs=[proof(later, 5)]),
                            Tracking("kafka:x@1", 2))
        assert inbox.kept_proofs(node="BE", stream=later.stream) == {1: proof(later, 5)}
    assert columns(sqlite_url) == ["record", "checkpoint_size", "leaf_index", "audit_path"]
    assert UNMATCHED_TABLE not in tables(sqlite_url)  # every proof found its record

    with Inbox.open(sqlite_url) as inbox:  # opened again: nothing more to move, nothing lost
        assert inbox.kept_proofs(node="BE", stream=stream) == {p.version: p for p in kept[:3]}
        assert inbox.kept_proofs(node="BE", stream=later.stream) == {1: proof(later, 5)}


def test_a_proof_of_the_layout_before_with_no_record_is_kept_aside_not_dropped(sqlite_url):
    stream = str(uuid.uuid4())
    proved = marked_stream("BE", stream, 2)
    orphan = proof(marked_stream("BE", str(uuid.uuid4()), 1)[0], 9)  # its record is not in the inbox
    kept = old_layout_inbox(sqlite_url, proved, [], orphans=[orphan])

    with Inbox.open(sqlite_url) as inbox:
        assert inbox.kept_proofs(node="BE", stream=stream) == {p.version: p for p in kept}
        assert inbox.kept_proofs(node="BE", stream=orphan.stream) == {}
    assert columns(sqlite_url, UNMATCHED_TABLE)[:3] == ["origin", "stream", "version"]
    with sqlite3.connect(sqlite_url) as db:
        assert db.execute(f"SELECT * FROM {UNMATCHED_TABLE}").fetchall() == [orphan.row()]


def test_inboxes_opened_at_once_on_the_layout_before_move_the_proofs_once(sqlite_url):
    """Two openers (a node's processes starting together), each with its own connections: one moves the
    proofs under its write lock, the other waits for it and finds the new layout; neither fails."""
    import threading

    stream = str(uuid.uuid4())
    kept = old_layout_inbox(sqlite_url, marked_stream("BE", stream, 3), [], orphans=[])
    start, opened, failed = threading.Barrier(2), [], []

    def open_inbox() -> None:
        start.wait()
        try:
            opened.append(Inbox.open(sqlite_url))
        except Exception as e:  # reported below  # noqa: BLE001
            failed.append(e)

    threads = [threading.Thread(target=open_inbox) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failed == []
        for inbox in opened:
            assert inbox.kept_proofs(node="BE", stream=stream) == {p.version: p for p in kept}
    finally:
        for inbox in opened:
            inbox.close()
    with sqlite3.connect(sqlite_url) as db:
        assert db.execute("SELECT COUNT(*) FROM inbox_proofs").fetchone() == (3,)


def test_a_batch_with_proofs_waits_for_another_process_writing_instead_of_failing(sqlite_url):
    """A command or ``serve`` writing the node's database while ``node run`` records a batch: the batch waits for
    the other writer's lock and is then written whole. (Its first statement was a read: the snapshot it pinned
    made the insert after the other's commit fail at once with "database is locked", which stopped ``node run``.)"""
    import threading

    stream = str(uuid.uuid4())
    first, second = marked_stream("BE", stream, 2)
    with Inbox.open(sqlite_url) as inbox:
        assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes())], proofs=[proof(first, 0)]),
                            Tracking("kafka:x@1", 1))
        other = sqlite3.connect(sqlite_url, isolation_level=None)
        other.execute("CREATE TABLE other_work (n INTEGER)")
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction, open
        other.execute("INSERT INTO other_work VALUES (1)")
        recorded, failed = [], []

        def record() -> None:
            try:
                recorded.append(inbox.record(InboxBatch(accepted=[(second, second.to_bytes())],
                                                        proofs=[proof(second, 1)]), Tracking("kafka:x@1", 2)))
            except Exception as e:  # reported below  # noqa: BLE001
                failed.append(e)

        writer = threading.Thread(target=record)
        writer.start()
        writer.join(timeout=1.0)  # the batch meets the other's lock and waits (30 s at most)
        other.execute("COMMIT")
        other.close()
        writer.join()
        assert failed == [] and recorded == [True]
        assert inbox.kept_proofs(node="BE", stream=stream) == {1: proof(first, 0), 2: proof(second, 1)}
