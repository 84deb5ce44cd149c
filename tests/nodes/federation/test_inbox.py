"""The inbox on both backends: one transaction per batch, positions that only advance, quarantine.

Every test takes ``db_url`` and so runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pickle
import time
import uuid

import pytest
from eventsourcing.persistence import Tracking
from hypothesis import given, strategies as st

from domain.marking import ARMSLEDGER_NAMESPACE
from ledger.checkpoint import sign_checkpoint
from ledger.encoding import canonical_encode
from ledger.keys import generate_key
from nodes.federation.inbox import KIND_ALARM, KIND_ERROR, Inbox, InboxBatch, QuarantineEntry, received_stream_id

from signed_streams import marked_stream

STREAM = str(uuid.uuid4())


@pytest.fixture
def inbox(db_url):
    inbox = Inbox.open(db_url)
    yield inbox
    inbox.close()


def entry(reason: str = "malformed", message: bytes = b"junk", kind: str = KIND_ERROR) -> QuarantineEntry:
    return QuarantineEntry(received_at=time.time_ns() // 1000, topic="t.inbox.NL", offset=7, origin="BE",
                           reason=reason, kind=kind, detail="why", key=b"k", message=message)


def test_a_batch_and_its_position_are_written_together_or_not_at_all(inbox):
    first, second = marked_stream("BE", STREAM, 2)
    assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes())]), Tracking("kafka:x@1", 5))
    assert inbox.position("kafka:x@1") == 5
    # A conflicting event (the same stream version again) rolls back the new position too.
    assert not inbox.record(InboxBatch(accepted=[(second, second.to_bytes()), (first, first.to_bytes())]),
                            Tracking("kafka:x@1", 9))
    assert inbox.position("kafka:x@1") == 5
    assert inbox.received(node="BE", stream=STREAM) == [first]
    # As does a position that is not beyond the tracked one (a redelivered batch).
    assert not inbox.record(InboxBatch(accepted=[(second, second.to_bytes())]), Tracking("kafka:x@1", 5))
    assert inbox.received(node="BE", stream=STREAM) == [first]
    assert inbox.record(InboxBatch(accepted=[(second, second.to_bytes())]), Tracking("kafka:x@1", 6))
    assert inbox.received(node="BE", stream=STREAM) == [first, second]


def test_a_position_alone_moves_only_forward_and_one_not_beyond_is_a_conflict(inbox):
    assert inbox.record(InboxBatch(), Tracking("kafka:y@1", 3))  # a name not tracked yet
    assert inbox.record(InboxBatch(), Tracking("kafka:y@1", 4))
    assert not inbox.record(InboxBatch(), Tracking("kafka:y@1", 4))  # another ingest recorded there first
    assert not inbox.record(InboxBatch(), Tracking("kafka:y@1", 2))
    assert inbox.position("kafka:y@1") == 4
    first = marked_stream("BE", STREAM, 1)[0]
    assert not inbox.record(InboxBatch(accepted=[(first, first.to_bytes())]), Tracking("kafka:y@1", 4))
    assert inbox.received(node="BE", stream=STREAM) == []  # the batch rolled back with its position
    assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes())]), Tracking("kafka:y@1", 5))
    assert inbox.position("kafka:y@1") == 5 and inbox.received(node="BE", stream=STREAM) == [first]


def test_received_records_are_kept_byte_for_byte_per_node_and_stream(inbox):
    be = marked_stream("BE", STREAM, 3)
    de = marked_stream("DE", STREAM, 1)
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in be + de]))
    stored = inbox.recorder.select_events(received_stream_id("BE", STREAM))
    assert [bytes(s.state) for s in stored] == [e.to_bytes() for e in be]
    assert [s.topic for s in stored] == ["Weapon.Marked"] * 3
    assert inbox.received_about(STREAM, ["DE", "BE", "FR"]) == de + be
    assert inbox.held([("BE", STREAM), ("FR", STREAM)]) == {
        ("BE", STREAM): {e.version: e.to_bytes() for e in be}, ("FR", STREAM): {}}


def test_held_and_existing_read_every_stream_asked_beyond_one_statement_of_them(inbox):
    # 500 ids per statement: 1,201 streams take three, each read in autocommit on PostgreSQL.
    streams = [str(uuid.uuid4()) for _ in range(1200)]
    records = [marked_stream("BE", stream, 1)[0] for stream in streams]
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in records]))

    held = inbox.held([("BE", stream) for stream in [*streams, STREAM]])

    assert held == {**{("BE", e.stream): {1: e.to_bytes()} for e in records}, ("BE", STREAM): {}}
    ids = [received_stream_id("BE", stream) for stream in streams]
    assert inbox.existing([*ids, uuid.uuid4()]) == set(ids)


def test_newest_recorded_covers_what_this_inbox_wrote(inbox, db_url):
    ours = marked_stream("BE", STREAM, 2)
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in ours]))
    written = [n for n, _ in inbox.received_notifications(1, 10)]
    with Inbox.open(db_url) as other:  # another process's ingest records after ours
        theirs = marked_stream("DE", STREAM, 1)[0]
        assert other.record(InboxBatch(accepted=[(theirs, theirs.to_bytes())]))
    later = [n for n, e in inbox.received_notifications(1, 10) if e == theirs]

    newest = inbox.newest_recorded()

    assert newest >= max(written)
    if db_url.startswith("postgresql"):
        assert newest == max(written) < later[0]  # as the insert returned it: nothing read, theirs not claimed


def test_newest_recorded_covers_a_large_batch_after_a_small_one(inbox, db_url):
    """A batch from ``COPY_FROM`` rows (written by COPY on PostgreSQL) moves what the inbox says it wrote too,
    so the reactions' position after it is not the small batch's."""
    from nodes.federation.inbox_postgres import COPY_FROM

    records = marked_stream("BE", STREAM, COPY_FROM + 1)
    assert inbox.record(InboxBatch(accepted=[(records[0], records[0].to_bytes())]))
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in records[1:]]))
    written = [n for n, _ in inbox.received_notifications(1, 1000)]

    assert len(written) == COPY_FROM + 1
    assert inbox.newest_recorded() == max(written)


def test_received_notifications_skip_bookkeeping_and_resume_after_the_last_id(inbox):
    key = generate_key()
    checkpoint = sign_checkpoint(key, "BE", 3, bytes(32), 1)
    a = marked_stream("BE", STREAM, 1)[0]
    b = marked_stream("BE", str(uuid.uuid4()), 1)[0]
    assert inbox.record(InboxBatch(accepted=[(a, a.to_bytes())], checkpoints=[(checkpoint, 1)],
                                   quarantined=[entry()]))
    assert inbox.record(InboxBatch(accepted=[(b, b.to_bytes())]))
    first = inbox.received_notifications(1, 1)
    assert [e for _, e in first] == [a]
    rest = inbox.received_notifications(first[-1][0] + 1, 10)
    assert [e for _, e in rest] == [b]
    assert inbox.received_notifications(rest[-1][0] + 1, 10) == []


def test_partner_checkpoints_come_back_by_size(inbox):
    key = generate_key()
    checkpoints = [sign_checkpoint(key, "BE", size, bytes([size]) * 32, size) for size in (5, 9, 2)]
    assert inbox.record(InboxBatch(checkpoints=[(c, v) for v, c in enumerate(checkpoints, start=1)]))
    assert [c.size for c in inbox.partner_checkpoints("BE")] == [2, 5, 9]
    assert inbox.partner_checkpoints("BE")[0] == checkpoints[2]
    assert inbox.partner_checkpoints("NL") == []


def test_quarantine_lists_unresolved_entries_once_each(inbox):
    junk, fork = entry(), entry("fork-or-rewrite", b"other", KIND_ALARM)
    assert inbox.record(InboxBatch(quarantined=[junk, fork]))
    assert not inbox.record(InboxBatch(quarantined=[junk]))  # the same bytes, same reason: one entry
    listed = inbox.quarantined()
    assert [(e["reason"], e["kind"], e["size"], e["origin"], e["offset"]) for e in listed] == [
        ("malformed", "error", 4, "BE", 7), ("fork-or-rewrite", "alarm", 5, "BE", 7)]
    assert inbox.existing([junk.id, uuid.uuid4()]) == {junk.id}
    assert inbox.record(InboxBatch(resolved=[(junk.id, "accepted")]))
    assert [e["reason"] for e in inbox.quarantined()] == ["fork-or-rewrite"]
    assert [p.entry for p in inbox.parked(["fork-or-rewrite"])] == [fork]


def test_positions_only_move_forward(inbox):
    assert inbox.position("relay:NL@a") == 0
    inbox.advance("relay:NL@a", 10)
    inbox.advance("relay:NL@a", 4)
    assert inbox.position("relay:NL@a") == 10
    assert inbox.position("relay:NL@b") == 0


def test_a_position_another_writer_tracked_further_stays_and_the_others_still_move(db_url, inbox):
    # Two processes of one node (``sync`` while ``node run`` runs) track the relay's positions in one table.
    other = Inbox.open(db_url)
    try:
        inbox.advance_all({"relay:NL@a": 5, "relay:DE@b": 5})
        other.advance_all({"relay:NL@a": 20})
        inbox.advance_all({"relay:NL@a": 12, "relay:DE@b": 12, "reactions": 3})
        assert [other.position(n) for n in ("relay:NL@a", "relay:DE@b", "reactions")] == [20, 12, 3]
        other.advance("reactions", 2)
        assert inbox.position("reactions") == 3
    finally:
        other.close()


@pytest.mark.postgres
def test_positions_and_gossip_reads_outlive_connections_the_server_dropped(pg_url):
    import psycopg

    with Inbox.open(pg_url) as inbox:
        inbox.advance_all({"relay:NL@a": 5})
        assert inbox.newest_partner_checkpoints({"BE": 0})[1] == {}
        with psycopg.connect(pg_url, autocommit=True) as admin:  # the server ends every other session
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        inbox.advance_all({"relay:NL@a": 7})  # tried again on a new connection, as the library's recorder does
        kept = sign_checkpoint(generate_key(), "BE", 3, bytes(32), 3)
        assert inbox.record(InboxBatch(checkpoints=[(kept, 1)]))
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert inbox.newest_partner_checkpoints({"BE": 0})[1] == {"BE": kept}
        assert inbox.position("relay:NL@a") == 7


def test_the_inbox_has_tables_of_its_own(sqlite_url):
    import sqlite3

    from nodes.registry.application import Registry  # noqa: F401  (the registry's tables live in the same file)

    with Inbox.open(sqlite_url) as inbox:
        a = marked_stream("BE", STREAM, 1)[0]
        assert inbox.record(InboxBatch(accepted=[(a, a.to_bytes())]), Tracking("kafka:x@1", 1))
    tables = {row[0] for row in sqlite3.connect(sqlite_url).execute("SELECT name FROM sqlite_master")}
    assert {"inbox_events", "inbox_tracking"} <= tables
    assert "stored_events" not in tables and "tracking" not in tables


def test_the_sqlite_connection_that_writes_a_batch_has_a_larger_page_cache(sqlite_url):
    from nodes.federation.inbox import _WRITER_CACHE_KIB

    with Inbox.open(sqlite_url) as inbox:
        a = marked_stream("BE", STREAM, 1)[0]
        assert inbox.record(InboxBatch(accepted=[(a, a.to_bytes())]), Tracking("kafka:x@1", 1))
        with inbox.recorder.datastore.get_connection(commit=True) as connection:  # the pool's writer
            cursor = connection.cursor()
            cursor.execute("PRAGMA cache_size")
            (size,) = cursor.fetchone()
    assert size == -_WRITER_CACHE_KIB


def test_received_records_are_told_apart_by_their_bytes_not_by_the_topic_column(inbox):
    from eventsourcing.persistence import StoredEvent

    hidden, shown = marked_stream("BE", STREAM, 2)
    # A received record whose topic column names bookkeeping, as an edit of the table would leave it.
    inbox.recorder.insert_events([StoredEvent(originator_id=received_stream_id("BE", STREAM), originator_version=1,
                                              topic="armsledger.Cosignature", state=hidden.to_bytes())])
    assert inbox.record(InboxBatch(accepted=[(shown, shown.to_bytes())], quarantined=[entry()]))
    assert [e for _, e in inbox.received_notifications(1, 10)] == [hidden, shown]


def test_the_quarantine_is_read_a_page_at_a_time_skipping_resolved_entries(inbox):
    entries = [entry(message=f"junk {i}".encode()) for i in range(7)]
    assert inbox.record(InboxBatch(quarantined=entries))
    assert inbox.record(InboxBatch(resolved=[(entries[2].id, "accepted")]))
    pages, after = [], 0
    while page := inbox.quarantined(after=after, limit=2):
        pages.append([e["size"] for e in page])
        after = page[-1]["id"]
    assert pages == [[6, 6], [6, 6], [6, 6]]  # six unresolved entries of 6 bytes, in three pages
    assert [e["detail"] for e in inbox.quarantined(after=0, limit=10)] == ["why"] * 6
    assert inbox.quarantined(after=after) == []


def test_beyond_its_cap_the_oldest_entries_expire_but_alarms_never_do(inbox):
    alarm = entry("fork-or-rewrite", b"two histories", KIND_ALARM)
    old = [entry(message=f"old {i}".encode()) for i in range(5)]
    assert inbox.record(InboxBatch(quarantined=[alarm, *old]))
    assert inbox.record(InboxBatch(resolved=[(old[0].id, "accepted")]))
    newest = entry(message=b"newest")
    assert inbox.record(InboxBatch(quarantined=[newest]))
    assert inbox.expire_quarantine(max_entries=10, max_bytes=10**9) == 0
    assert inbox.expire_quarantine(max_entries=3, max_bytes=10**9) == 4  # old[0] (resolved) to old[3]
    assert [e["kind"] for e in inbox.quarantined()] == ["alarm", "error", "error"]
    assert {e["detail"] for e in inbox.quarantined()} == {"why"}
    assert inbox.existing([e.id for e in (alarm, *old, newest)]) == {alarm.id, old[4].id, newest.id}
    # Even a cap of one entry and one byte keeps the alarm (and the newest row, whose id must not be reused).
    assert inbox.expire_quarantine(max_entries=1, max_bytes=1) == 1
    assert inbox.existing([alarm.id, old[4].id, newest.id]) == {alarm.id, newest.id}
    size = sum(len(e.to_bytes()) for e in (alarm, newest))
    assert inbox.expire_quarantine(max_entries=2, max_bytes=size) == 0


def test_alarms_are_counted_without_reading_the_other_entries_and_a_lookalike_is_no_alarm(inbox):
    lookalike = entry(message=b"junk" + canonical_encode("kind") + canonical_encode("alarm"))  # bytes of an attacker
    fork, other_fork = entry("fork-or-rewrite", b"1", KIND_ALARM), entry("fork-or-rewrite", b"2", KIND_ALARM)
    assert inbox.record(InboxBatch(quarantined=[lookalike, fork, entry(), other_fork]))
    assert inbox.alarm_count() == 2
    assert inbox.record(InboxBatch(resolved=[(other_fork.id, "settled")]))
    assert inbox.alarm_count() == 1


@given(node=st.text(max_size=8), stream=st.text(max_size=40))
def test_received_stream_ids_are_the_uuid5_of_node_and_stream(node, stream):
    made, reference = received_stream_id(node, stream), uuid.uuid5(ARMSLEDGER_NAMESPACE, f"{node}|{stream}")
    assert made == reference
    assert made.version == 5 and made.variant == uuid.RFC_4122
    assert (str(made), made.hex, made.bytes, hash(made), made.is_safe) == (
        str(reference), reference.hex, reference.bytes, hash(reference), reference.is_safe)
    assert pickle.loads(pickle.dumps(made)) == reference


def test_a_large_batch_is_kept_with_its_proofs_and_position_together_or_not_at_all(inbox):
    """From ``COPY_FROM`` rows a PostgreSQL batch is written by COPY, not the library's insert: the same
    rows, proofs and position, all or none when another writer got there first."""
    from nodes.federation.inbox_postgres import COPY_FROM
    from nodes.federation.inbox_proofs import KeptProof

    def proof(envelope, index):
        return KeptProof("BE", envelope.stream, envelope.version, 100, index, (bytes([index]) * 32,) * 7)

    records = marked_stream("BE", STREAM, 2 * COPY_FROM + 1)
    first, rest = records[:COPY_FROM], records[COPY_FROM:]
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in first],
                                   proofs=[proof(e, i) for i, e in enumerate(first)]), Tracking("kafka:x@1", 40))
    assert inbox.received(node="BE", stream=STREAM) == first
    assert inbox.kept_proofs(node="BE", stream=STREAM) == {e.version: proof(e, i) for i, e in enumerate(first)}
    assert [e for _, e in inbox.received_notifications(1, 1000)] == first  # in the batch's order
    # One record held already: nothing of the batch is kept, nor its position.
    again = [records[0], *rest]
    assert not inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in again],
                                       proofs=[proof(e, 0) for e in again]), Tracking("kafka:x@1", 80))
    # A position tracked already: the same.
    assert not inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in rest],
                                       proofs=[proof(e, 1) for e in rest]), Tracking("kafka:x@1", 40))
    assert inbox.position("kafka:x@1") == 40
    assert inbox.received(node="BE", stream=STREAM) == first
    assert len(inbox.kept_proofs(node="BE", stream=STREAM)) == COPY_FROM
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in rest],
                                   proofs=[proof(e, 2) for e in rest]), Tracking("kafka:x@1", 80))
    assert inbox.received(node="BE", stream=STREAM) == records
    assert inbox.kept_proofs(node="BE", stream=STREAM)[records[-1].version] == proof(records[-1], 2)


@pytest.mark.postgres
def test_a_proof_kept_already_stays_as_it_is_in_a_large_batch(pg_url):
    """A proof row with no record beside it (not met: they are written together) does not stop a large
    batch: its records are kept, and that proof stays as it was (the COPY falls back to the statement).
    PostgreSQL's layout only: SQLite keys a proof by its record's row (``test_inbox_proofs``)."""
    from nodes.federation.inbox_postgres import COPY_FROM
    from nodes.federation.inbox_proofs import KeptProof, insert_proofs

    records = marked_stream("BE", STREAM, COPY_FROM)
    earlier = KeptProof("BE", STREAM, records[3].version, 50, 3, (bytes(32),))
    with Inbox.open(pg_url) as inbox:
        with inbox.recorder.datastore.transaction(commit=True) as cursor:
            insert_proofs(cursor, inbox.recorder.datastore.schema, [earlier])
        proofs = [KeptProof("BE", e.stream, e.version, 100, i, (bytes([i]) * 32,) * 7) for i, e in enumerate(records)]
        assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in records], proofs=proofs),
                            Tracking("kafka:x@1", 40))
        assert inbox.received(node="BE", stream=STREAM) == records
        kept = inbox.kept_proofs(node="BE", stream=STREAM)
        assert kept == {p.version: p for p in proofs} | {earlier.version: earlier}


def test_a_small_batch_is_kept_with_its_proofs_and_position_together_or_not_at_all(inbox):
    """Below ``COPY_FROM`` rows a PostgreSQL batch is one statement, the call of the inbox's insert function: a
    batch refused (a record held already, a position not beyond) keeps none of its rows, proofs or position, and
    the connections it used go on working (more refusals in a row than the pool holds connections)."""
    from nodes.federation.inbox_proofs import KeptProof

    def proof(envelope, index):
        return KeptProof("BE", envelope.stream, envelope.version, 100, index, (bytes([index]) * 32,) * 7)

    first, second, third = marked_stream("BE", STREAM, 3)
    assert inbox.record(InboxBatch(accepted=[(first, first.to_bytes())], proofs=[proof(first, 0)]),
                        Tracking("kafka:x@1", 1))
    for attempt in range(4):
        assert not inbox.record(InboxBatch(accepted=[(second, second.to_bytes()), (first, first.to_bytes())],
                                           proofs=[proof(second, 1), proof(first, 9)]), Tracking("kafka:x@1", 2))
        assert not inbox.record(InboxBatch(accepted=[(second, second.to_bytes())], proofs=[proof(second, 1)]),
                                Tracking("kafka:x@1", 1))
    assert inbox.position("kafka:x@1") == 1
    assert inbox.received(node="BE", stream=STREAM) == [first]
    assert inbox.kept_proofs(node="BE", stream=STREAM) == {first.version: proof(first, 0)}
    assert inbox.record(InboxBatch(accepted=[(second, second.to_bytes()), (third, third.to_bytes())],
                                   proofs=[proof(second, 1), proof(third, 2)]), Tracking("kafka:x@1", 3))
    assert inbox.position("kafka:x@1") == 3
    assert inbox.received(node="BE", stream=STREAM) == [first, second, third]
    assert inbox.kept_proofs(node="BE", stream=STREAM) == {e.version: proof(e, i)
                                                           for i, e in enumerate([first, second, third])}
    assert inbox.newest_recorded() == max(n for n, _ in inbox.received_notifications(1, 10))
