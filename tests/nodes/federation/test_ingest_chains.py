"""A small batch is checked against the partner chains as this ingest last wrote or read them, without
reading them, and a large one reads them but for the streams it starts (a version 1 in it), taken as known;
the write refuses a batch when a chain is not so (``InboxBatch.chains``), and the batch is then checked again
against the chains read. On both backends, with a second writer on the same database; the write's refusal
itself is held to the port in test_inbox_contract.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from eventsourcing.persistence import Tracking

from ledger.envelope import Envelope
from nodes.bootstrap import init_node
from nodes.federation.inbox import Inbox, InboxBatch
from nodes.federation.ingest import ASSUMED_BELOW, FORK, Ingest
from nodes.federation.relay import Relay
from nodes.federation.trust import trust_each_other
from nodes.federation.wire import RecordMessage, decode_message
from nodes.settings import Settings

from federation_nodes import PASSPHRASE, manufacture
from memory_transport import MemoryTransport


@pytest.fixture(scope="module")
def relayed(tmp_path_factory):
    """NL, what BE's relay sends it before the weapon's records (certificates, checkpoint), the weapon's
    records v1 to v3, and version 1 of 72 other weapons (enough for two large batches), each a (key, value) message."""
    root = tmp_path_factory.mktemp("chains")
    be = init_node(Settings.load(environ={}, home=root / "be", passphrase=PASSPHRASE), "BE")
    nl = init_node(Settings.load(environ={}, home=root / "nl", passphrase=PASSPHRASE), "NL")
    trust_each_other([be, nl])
    (root / "be" / "sharing.json").write_text(json.dumps({"share": {"Weapon.Manufactured": "all",
                                                                    "Weapon.Marked": "all"}}))
    weapon = manufacture(be, "C-1")
    for mark in ("NL-1", "NL-2"):
        be.registry.record("mark", by="licensing", weapon_id=weapon, mark=mark, reason="import")
    others = {str(manufacture(be, f"D-{i}")) for i in range(2 * ASSUMED_BELOW + 8)}
    transport = MemoryTransport()
    Relay(be, transport, be.inbox).relay()
    prelude, versions, firsts = [], {}, []
    for key, value in transport.published("NL"):
        message = decode_message(value)
        stream = Envelope.from_bytes(message.envelope).stream if isinstance(message, RecordMessage) else None
        if stream == str(weapon):
            versions[Envelope.from_bytes(message.envelope).version] = (key, value)
        elif stream in others:
            firsts.append((key, value))
        else:
            prelude.append((key, value))
    assert sorted(versions) == [1, 2, 3] and len(firsts) == len(others)
    yield nl, prelude, versions, firsts
    be.close()
    nl.close()


@pytest.fixture
def inboxes(db_url):
    """The inbox ingest writes, and a second one on the same database: another writer (another process)."""
    inbox, other = Inbox.open(db_url), Inbox.open(db_url)
    yield inbox, other
    inbox.close()
    other.close()


def _ingest(nl, inbox, prelude) -> Ingest:
    ingest = Ingest(nl, MemoryTransport(), inbox, lambda state, items: None, pool_size=1)
    report = ingest.process(_numbered(prelude))
    assert report.accepted or report.duplicates
    assert not report.quarantined
    return ingest


def _numbered(messages, start: int = 0):
    return [(start + i, key, value) for i, (key, value) in enumerate(messages)]


def _envelope(message: tuple[bytes, bytes]) -> Envelope:
    record = decode_message(message[1])
    assert isinstance(record, RecordMessage)
    return Envelope.from_bytes(record.envelope)


def _other_at(message: tuple[bytes, bytes]) -> tuple[Envelope, bytes]:
    """Another record at the message's version of its stream (its body changed), as a second writer kept it."""
    envelope = _envelope(message)
    other = replace(envelope, body={**envelope.body, "mark": "XX-9"})
    return other, other.to_bytes()


def _held(inbox, message) -> dict[int, bytes]:
    envelope = _envelope(message)
    return inbox.held([(envelope.node, envelope.stream)])[(envelope.node, envelope.stream)]


@pytest.mark.parametrize("follows", [False, True], ids=["another-v2", "its-v2"])
def test_a_record_checked_against_a_chain_another_writer_changed_is_checked_again(relayed, inboxes, follows):
    nl, prelude, versions, _ = relayed
    inbox, other = inboxes
    ingest = _ingest(nl, inbox, prelude)
    try:
        assert len(ingest.process(_numbered([versions[1]], 100)).accepted) == 1  # the chain, as written: v1
        # Another writer keeps a version 2: the one version 3 follows, or another.
        second = _envelope(versions[2])
        assert other.record(InboxBatch(accepted=[(second, second.to_bytes()) if follows else _other_at(versions[2])]))
        # Checked against v1 alone, v3 would pass either way; the write refuses that assumption, and v3 is checked
        # again against the chain read.
        report = ingest.process(_numbered([versions[3]], 101), tracking=Tracking("kafka:chains@", 102))
        assert not report.conflicts and inbox.position("kafka:chains@") == 102
        if follows:
            assert [e.version for e in report.accepted] == [3]
            assert _held(inbox, versions[3]) == {v: _envelope(versions[v]).to_bytes() for v in (1, 2, 3)}
            # What it wrote is what it assumes next: a redelivery of v3 is a duplicate, nothing written.
            assert ingest.process(_numbered([versions[3]], 103)).duplicates == 1
            assert inbox.quarantined() == []
        else:  # it does not follow the version 2 held: the origin's two histories, an alarm
            assert not report.accepted and report.alarms == 1
            assert [e["reason"] for e in inbox.quarantined()] == [FORK]
            assert sorted(_held(inbox, versions[3])) == [1, 2]
    finally:
        ingest.close()


def test_an_ingest_that_never_met_a_stream_checks_it_as_held(relayed, inboxes):
    # A restarted process (a cold cache), a stream it has not met: assumed empty, which the write refuses.
    nl, prelude, versions, _ = relayed
    inbox, other = inboxes
    first = _ingest(nl, inbox, prelude)
    try:
        assert len(first.process(_numbered([versions[1]], 100)).accepted) == 1
    finally:
        first.close()
    restarted = _ingest(nl, inbox, prelude)
    try:
        report = restarted.process(_numbered([versions[1]], 100))
        assert report.duplicates == 1 and not report.accepted
        assert other.record(InboxBatch(accepted=[_other_at(versions[2])]))
        report = restarted.process(_numbered([versions[3]], 101))  # does not follow the version 2 held
        assert not report.accepted and report.alarms == 1
        report = restarted.process(_numbered([versions[2]], 102))  # a second record at version 2
        assert not report.accepted and report.alarms == 1
        assert [e["reason"] for e in inbox.quarantined()] == [FORK, FORK]
        assert sorted(_held(inbox, versions[3])) == [1, 2]
    finally:
        restarted.close()


def _reads(inbox):
    """The streams ``inbox.held`` is asked for, as a list that grows with each call (a spy on the real adapter)."""
    asked: list[tuple[str, str]] = []
    held = inbox.held

    def spied(keys):
        keys = list(keys)
        asked.extend(keys)
        return held(keys)

    inbox.held = spied
    return asked


@pytest.fixture
def started(relayed, inboxes):
    """An ingest of NL writing the first of ``inboxes``, the prelude recorded: (ingest, its inbox, another writer)."""
    nl, prelude, _, _ = relayed
    inbox, other = inboxes
    ingest = _ingest(nl, inbox, prelude)
    yield ingest, inbox, other
    ingest.close()


def test_a_large_batch_takes_the_streams_it_starts_unread_and_the_write_holds_it_to_that(relayed, started):
    _, _, versions, firsts = relayed
    ingest, inbox, other = started
    # Another writer keeps another version 1 of the weapon.
    assert other.record(InboxBatch(accepted=[_other_at(versions[1])]))
    report = ingest.process(_numbered([*firsts, versions[1]], 100), tracking=Tracking("kafka:chains@", 200))
    # Taken as new, the weapon's v1 would pass; the write refuses that, and the batch checked against the chains
    # read finds the other version 1: an alarm, the rest accepted, nothing twice, the position moved once.
    assert not report.conflicts and inbox.position("kafka:chains@") == 200
    assert len(report.accepted) == len(firsts) and report.alarms == 1
    assert [e["reason"] for e in inbox.quarantined()] == [FORK]
    assert _held(inbox, versions[1]) == {1: _other_at(versions[1])[1]}


def test_a_stream_a_large_batch_starts_is_counted_though_no_row_collides(relayed, started):
    _, _, versions, firsts = relayed
    ingest, inbox, other = started
    # Another writer keeps a version 2 of a stream, which the version 1 in the batch does not precede.
    stray = firsts[0]
    follows = replace(_envelope(versions[2]), stream=_envelope(stray).stream, prev=b"\x02" * 32)
    assert other.record(InboxBatch(accepted=[(follows, follows.to_bytes())]))
    report = ingest.process(_numbered(firsts, 100))
    # Taken as new, v1 would be written beside it (no row collides); the write counts two rows where the batch
    # says one, and the batch checked against the chain read refuses v1.
    assert len(report.accepted) == len(firsts) - 1 and not report.conflicts
    assert [e["reason"] for e in inbox.quarantined()] == [FORK]
    assert sorted(_held(inbox, stray)) == [2]


def test_a_redelivered_large_batch_is_read_until_its_streams_are_new_again(relayed, inboxes):
    nl, prelude, versions, firsts = relayed
    inbox, _ = inboxes
    half = len(firsts) // 2
    first = _ingest(nl, inbox, prelude)
    try:
        assert len(first.process(_numbered(firsts[:half], 100)).accepted) == half
    finally:
        first.close()
    restarted = _ingest(nl, inbox, prelude)  # a cold cache: what it started, it takes as new
    asked = _reads(inbox)
    try:
        report = restarted.process(_numbered(firsts[:half], 100))  # redelivered: refused as assumed, then read
        assert report.duplicates == half and not report.accepted and not report.conflicts
        assert len(asked) == half
        report = restarted.process(_numbered(firsts[half:], 200))  # read, while starting streams were held lately
        assert len(report.accepted) == len(firsts) - half and len(asked) == len(firsts)
        report = restarted.process(_numbered([*firsts[:half], versions[1]], 300))  # new again: taken unread, once
        assert report.duplicates == half and len(report.accepted) == 1
        assert len(asked) == len(firsts)  # the weapon's stream taken as new, the others as the cache knows them
        assert inbox.quarantined() == []
    finally:
        restarted.close()
