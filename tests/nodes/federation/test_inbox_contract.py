"""The inbox port (``nodes.ports.Inbox``): the real inbox on SQLite and PostgreSQL, and ``MemoryInbox``.

Written once against the port; what only the real adapter has (its tables, ``held``) is
tested in test_inbox.py.
"""

from __future__ import annotations

import time
import uuid

import pytest
from eventsourcing.persistence import Tracking

from ledger.checkpoint import sign_checkpoint
from ledger.encoding import canonical_encode
from ledger.envelope import Envelope
from ledger.keys import generate_key
from nodes.federation.inbox import (
    KIND_ERROR,
    Cosignature,
    GossipedCheckpoint,
    Inbox,
    InboxBatch,
    QuarantineEntry,
    received_stream_id,
)
from nodes.ports import Inbox as InboxPort
from nodes.registry.paging import received

from memory_federation import MemoryInbox
from signed_streams import marked_stream


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def inbox(request):
    opened: InboxPort
    if request.param == "memory":
        opened = MemoryInbox()
    else:
        opened = Inbox.open(request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param]))
    yield opened
    opened.close()


def accepted(*items: Envelope) -> InboxBatch:
    return InboxBatch(accepted=[(e, e.to_bytes()) for e in items])


def refused(reason: str, message: bytes) -> QuarantineEntry:
    return QuarantineEntry(received_at=time.time_ns() // 1000, topic="t.inbox.NL", offset=7, origin="BE",
                           reason=reason, kind=KIND_ERROR, detail="why", key=b"k", message=message)


def test_records_come_back_per_partner_and_stream_in_version_order(inbox):
    stream = str(uuid.uuid4())
    be, de = marked_stream("BE", stream, 3), marked_stream("DE", stream, 1)
    assert inbox.record(accepted(be[1], de[0], be[0]))
    assert inbox.record(accepted(be[2]))

    assert inbox.received(node="BE", stream=stream) == be
    assert inbox.received(node="FR", stream=stream) == []
    assert inbox.received_about(stream, ["DE", "FR", "BE"]) == de + be


def test_a_batch_holding_a_record_held_already_writes_nothing(inbox):
    stream = str(uuid.uuid4())
    first, second = marked_stream("BE", stream, 2)
    assert inbox.record(accepted(first))
    before = inbox.max_notification_id()

    assert not inbox.record(accepted(second, first))

    assert inbox.received(node="BE", stream=stream) == [first]
    assert inbox.max_notification_id() == before


def test_a_batch_and_its_position_are_written_together_or_not_at_all(inbox):
    stream = str(uuid.uuid4())
    first, second, third = marked_stream("BE", stream, 3)
    assert inbox.record(accepted(first), Tracking("kafka:x", 5))
    assert inbox.position("kafka:x") == 5

    assert not inbox.record(accepted(second), Tracking("kafka:x", 5))  # a redelivered batch
    assert not inbox.record(accepted(second, first), Tracking("kafka:x", 9))
    assert inbox.position("kafka:x") == 5
    assert inbox.received(node="BE", stream=stream) == [first]

    assert inbox.record(accepted(second, third), Tracking("kafka:x", 7))
    assert (inbox.position("kafka:x"), inbox.received(node="BE", stream=stream)) == (7, [first, second, third])


def test_positions_start_at_zero_and_only_move_forward(inbox):
    assert inbox.position("relay:NL") == 0
    inbox.advance("relay:NL", 10)
    inbox.advance("relay:NL", 4)
    inbox.advance("relay:NL", 10)
    assert inbox.position("relay:NL") == 10
    assert inbox.position("relay:FR") == 0


def test_advance_all_moves_each_position_forward_and_none_back(inbox):
    inbox.advance("relay:NL@a", 7)
    inbox.advance_all({"relay:NL@a": 5, "relay:DE@b": 3, "relay:FR@c": 9})
    assert [inbox.position(n) for n in ("relay:NL@a", "relay:DE@b", "relay:FR@c")] == [7, 3, 9]
    inbox.advance_all({"relay:NL@a": 8, "relay:DE@b": 3, "relay:FR@c": 12})
    assert [inbox.position(n) for n in ("relay:NL@a", "relay:DE@b", "relay:FR@c")] == [8, 3, 12]


def test_positions_are_listed_by_the_start_of_their_names(inbox):
    assert inbox.positions("relay:") == {}
    inbox.advance_all({"relay:NL@a": 5, "relay:NL@b": 2, "relay:DE@c": 9, "reactions": 4, "kafka:relay:x": 1})
    assert inbox.positions("relay:") == {"relay:NL@a": 5, "relay:NL@b": 2, "relay:DE@c": 9}
    assert inbox.positions("relay:NL@") == {"relay:NL@a": 5, "relay:NL@b": 2}
    assert inbox.positions("nothing") == {}


def test_received_notifications_skip_bookkeeping_page_by_page_in_arrival_order(inbox):
    key = generate_key()
    streams = [str(uuid.uuid4()) for _ in range(5)]
    records = [marked_stream("BE", s, 1)[0] for s in streams]
    assert inbox.record(InboxBatch(accepted=[(records[0], records[0].to_bytes())],
                                   checkpoints=[(sign_checkpoint(key, "BE", 3, bytes(32), 1), 1)],
                                   quarantined=[refused("malformed", b"junk")]))
    for record in records[1:]:
        assert inbox.record(accepted(record))

    first = inbox.received_notifications(1, 2)
    assert [e for _, e in first] == records[:2]
    rest = inbox.received_notifications(first[-1][0] + 1, 10)
    assert [e for _, e in rest] == records[2:]
    assert inbox.received_notifications(rest[-1][0] + 1, 10) == []
    assert [e for _, e in received(inbox, limit=2)] == records
    assert inbox.max_notification_id() >= rest[-1][0]


def test_partner_checkpoints_come_back_smallest_first(inbox):
    key = generate_key()
    big, small = sign_checkpoint(key, "BE", 9, bytes(32), 2), sign_checkpoint(key, "BE", 4, bytes(32), 1)
    assert inbox.record(InboxBatch(checkpoints=[(big, 1), (small, 2)]))
    assert inbox.record(InboxBatch(checkpoints=[(sign_checkpoint(key, "DE", 1, bytes(32), 1), 1)]))

    assert inbox.partner_checkpoints("BE") == [small, big]
    assert inbox.partner_checkpoints("FR") == []


def test_partner_checkpoints_at_sizes_come_back_by_size_and_no_others(inbox):
    key = generate_key()
    # Sizes of every width canonical msgpack gives an integer; one root holds the bytes of ``"size": 7``.
    sizes = (0, 7, 127, 128, 255, 256, 65_535, 65_536, 2**32, 2**40)
    decoy = canonical_encode("size") + canonical_encode(7)
    kept = [sign_checkpoint(key, "BE", size, (decoy + bytes(32))[:32] if size == 65_536 else bytes(32), size + 1)
            for size in sizes]
    assert inbox.record(InboxBatch(checkpoints=[(c, version) for version, c in enumerate(kept, 1)]))
    assert inbox.record(InboxBatch(checkpoints=[(sign_checkpoint(key, "DE", 7, bytes(32), 1), 1)]))

    assert inbox.partner_checkpoints_at("BE", sizes) == {c.size: c for c in kept}
    assert inbox.partner_checkpoints_at("BE", [7, 8, 2**40, 2**41]) == {7: kept[1], 2**40: kept[-1]}
    assert inbox.partner_checkpoints_at("BE", [8]) == {}  # the decoy's root holds "size": 7, not 8
    assert inbox.partner_checkpoints_at("BE", []) == {}
    assert inbox.partner_checkpoints_at("FR", [7]) == {}


def test_the_newest_partner_checkpoint_is_the_last_kept(inbox):
    key = generate_key()
    # Ingest keeps a partner's checkpoints in size order, each the next version of its stream.
    kept = [sign_checkpoint(key, "BE", size, bytes(32), size) for size in (3, 7, 12)]
    assert inbox.record(InboxBatch(checkpoints=[(c, version) for version, c in enumerate(kept, 1)]))

    assert inbox.newest_partner_checkpoint("BE") == kept[-1]
    assert inbox.newest_partner_checkpoint("FR") is None


def test_the_newest_partner_checkpoints_are_read_at_once_and_then_only_those_kept_after_a_row(inbox):
    key = generate_key()
    be = [sign_checkpoint(key, "BE", size, bytes(32), size) for size in (3, 7, 12)]
    de = sign_checkpoint(key, "DE", 5, bytes(32), 5)
    assert inbox.record(InboxBatch(checkpoints=[(be[0], 1), (be[1], 2), (de, 1)]))
    assert inbox.newest_partner_checkpoints({}) == (inbox.max_notification_id(), {})

    top, newest = inbox.newest_partner_checkpoints({"BE": 0, "DE": 0, "FR": 0})
    assert (top, newest) == (inbox.max_notification_id(), {"BE": be[1], "DE": de})
    assert inbox.newest_partner_checkpoints({"BE": top, "DE": top, "FR": top}) == (top, {})

    # Rows of other kinds come and go unread; only what was kept after ``top`` comes back.
    assert inbox.record(accepted(marked_stream("BE", str(uuid.uuid4()), 1)[0]))
    assert inbox.record(InboxBatch(checkpoints=[(be[2], 3)], quarantined=[refused("malformed", b"junk")]))
    later, newest = inbox.newest_partner_checkpoints({"BE": top, "DE": top, "FR": top})
    assert (later, newest) == (inbox.max_notification_id(), {"BE": be[2]})
    assert later > top
    assert inbox.newest_partner_checkpoints({"BE": later, "DE": 0}) == (later, {"DE": de})


def test_a_checkpoint_in_a_batch_that_was_not_written_is_never_the_newest(inbox):
    key = generate_key()
    record = marked_stream("BE", str(uuid.uuid4()), 1)[0]
    kept = sign_checkpoint(key, "BE", 3, bytes(32), 3)
    assert inbox.record(InboxBatch(accepted=[(record, record.to_bytes())], checkpoints=[(kept, 1)]))
    top, _ = inbox.newest_partner_checkpoints({"BE": 0})

    # A batch holding a record held already is written not at all: its checkpoint was never kept.
    rolled_back = sign_checkpoint(key, "BE", 9, bytes(32), 9)
    assert not inbox.record(InboxBatch(accepted=[(record, record.to_bytes())], checkpoints=[(rolled_back, 2)]))

    assert inbox.newest_partner_checkpoints({"BE": top}) == (top, {})
    assert inbox.newest_partner_checkpoints({"BE": 0}) == (top, {"BE": kept})


def test_gossiped_claims_come_back_in_arrival_order_once_each(inbox):
    key = generate_key()
    claims = [GossipedCheckpoint(witness=w, origin="BE", size=size, received_at=size,
                                 checkpoint=sign_checkpoint(key, "BE", size, bytes(32), 1).to_bytes())
              for w, size in (("DE", 40), ("FR", 41))]
    assert inbox.record(InboxBatch(gossiped=claims[:1]))
    assert inbox.record(InboxBatch(gossiped=claims[1:]))
    assert not inbox.record(InboxBatch(gossiped=claims[:1]))  # the same checkpoint again: kept once

    assert inbox.gossiped() == claims


def test_quarantine_lists_unresolved_entries_once_each_in_arrival_order(inbox):
    junk, forged = refused("malformed", b"junk"), refused("bad_signature", b"forged")
    assert inbox.record(InboxBatch(quarantined=[junk, forged]))
    assert not inbox.record(InboxBatch(quarantined=[junk]))  # the same bytes refused again: one entry

    assert [(q["reason"], q["size"], q["origin"]) for q in inbox.quarantined()] == [
        ("malformed", 4, "BE"), ("bad_signature", 6, "BE")]

    assert inbox.record(InboxBatch(resolved=[(junk.id, "accepted")]))
    assert [q["reason"] for q in inbox.quarantined()] == ["bad_signature"]


def test_held_gives_the_bytes_of_each_version_accepted_per_partner_and_stream(inbox):
    stream = str(uuid.uuid4())
    be = marked_stream("BE", stream, 2)
    assert inbox.record(accepted(*be))

    assert inbox.held([("BE", stream), ("DE", stream)]) == {
        ("BE", stream): {1: be[0].to_bytes(), 2: be[1].to_bytes()}, ("DE", stream): {}}


def test_existing_names_the_stored_ids_only(inbox):
    junk = refused("malformed", b"junk")
    assert inbox.record(InboxBatch(quarantined=[junk]))

    assert inbox.existing([junk.id, uuid.uuid4()]) == {junk.id}


def test_parked_gives_unresolved_entries_of_the_reasons_asked_with_their_bytes(inbox):
    waiting, junk = refused("uncertified", b"early"), refused("malformed", b"junk")
    assert inbox.record(InboxBatch(quarantined=[waiting, junk]))

    assert [p.entry for p in inbox.parked(["uncertified"])] == [waiting]
    assert [p.entry.message for p in inbox.parked()] == [b"early", b"junk"]
    assert inbox.record(InboxBatch(resolved=[(waiting.id, "accepted")]))
    assert inbox.parked(["uncertified"]) == []


def test_cosignatures_come_back_in_arrival_order(inbox):
    first = Cosignature(witness="NL", witness_key="k1", checkpoint=b"c1", sig=b"s1", received_at=1)
    second = Cosignature(witness="DE", witness_key="k2", checkpoint=b"c1", sig=b"s2", received_at=2)
    assert inbox.record(InboxBatch(cosignatures=[first]))
    assert inbox.record(InboxBatch(cosignatures=[second]))

    assert inbox.cosignatures() == [first, second]


def test_stored_rows_hold_records_and_bookkeeping_in_arrival_order(inbox):
    record = marked_stream("BE", str(uuid.uuid4()), 1)[0]
    junk = refused("malformed", b"junk")
    assert inbox.record(InboxBatch(accepted=[(record, record.to_bytes())], quarantined=[junk]))

    assert [bytes(row.state) for row in inbox.stored_rows()] == [record.to_bytes(), junk.to_bytes()]


@pytest.mark.parametrize("padding", [0, 32], ids=["small", "large"])  # PostgreSQL: one statement, COPY
def test_a_batch_whose_chains_are_not_as_it_says_writes_nothing(inbox, padding):
    # ``InboxBatch.chains``: how many versions each stream holds once the batch is written, as ingest assumed.
    stream = str(uuid.uuid4())
    first, second, third = marked_stream("BE", stream, 3)
    chain = received_stream_id("BE", stream)
    assert inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in (first, second)], chains={chain: 2}))
    entries = [refused("malformed", bytes([i])) for i in range(padding)]
    # v3 checked as if v1 alone were held: the stream would hold 2 versions; it holds v2 too.
    wrong = InboxBatch(accepted=[(third, third.to_bytes())], quarantined=entries, chains={chain: 2})
    assert not inbox.record(wrong, Tracking("kafka:t@", 10))
    assert [e.version for e in inbox.received(node="BE", stream=stream)] == [1, 2]
    assert inbox.position("kafka:t@") == 0 and inbox.quarantined() == []
    assert not inbox.record(InboxBatch(chains={chain: 1}), Tracking("kafka:t@", 10))  # no rows: checked all the same
    assert inbox.position("kafka:t@") == 0
    unknown = received_stream_id("BE", str(uuid.uuid4()))  # a stream of none of the batch's rows, assumed held
    assert not inbox.record(InboxBatch(accepted=[(third, third.to_bytes())], chains={chain: 3, unknown: 1}))
    right = InboxBatch(accepted=[(third, third.to_bytes())], quarantined=entries, chains={chain: 3, unknown: 0})
    assert inbox.record(right, Tracking("kafka:t@", 10))
    assert [e.version for e in inbox.received(node="BE", stream=stream)] == [1, 2, 3]
    assert inbox.position("kafka:t@") == 10 and len(inbox.quarantined()) == padding
