"""What the relay's gossip tells each partner (``nodes.federation.gossip.Gossip``): the newest checkpoint kept of every
other partner, each size once, read from the inbox (on SQLite, PostgreSQL and the in-memory stand-in) as it grows."""

from __future__ import annotations

import uuid

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.keys import generate_key
from nodes.federation.gossip import Gossip
from nodes.federation.inbox import Inbox, InboxBatch
from nodes.federation.wire import GossipMessage, decode_message

from memory_federation import MemoryInbox
from signed_streams import marked_stream

KEY = generate_key()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def inbox(request):
    opened = MemoryInbox() if request.param == "memory" else Inbox.open(
        request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param]))
    yield opened
    opened.close()


def checkpoint(origin: str, size: int) -> Checkpoint:
    return sign_checkpoint(KEY, origin, size, size.to_bytes(32, "big"), size)


def keep(inbox, *checkpoints: Checkpoint) -> None:
    """Keep ``checkpoints`` as ingest does: each the next version of its origin's stream, with a record beside."""
    versions = {c.origin: len(inbox.partner_checkpoints(c.origin)) for c in checkpoints}
    batch = []
    for c in checkpoints:
        versions[c.origin] += 1
        batch.append((c, versions[c.origin]))
    record = marked_stream("BE", str(uuid.uuid4()), 1)[0]
    assert inbox.record(InboxBatch(accepted=[(record, record.to_bytes())], checkpoints=batch))


class Sent:
    def __init__(self) -> None:
        self.told: list[tuple[str, int, str]] = []  # (to, size, origin)

    def __call__(self, to: str, items) -> None:
        for _, value in items:
            told = Checkpoint.from_bytes(decode_message(value).checkpoint)
            self.told.append((to, told.size, told.origin))


def test_each_partner_is_told_the_newest_checkpoint_kept_of_the_others_once(inbox):
    sent = Sent()
    gossip = Gossip("NL", inbox, sent)
    assert gossip.spread(["BE", "DE", "FR"]) == 0  # nothing kept yet

    keep(inbox, checkpoint("BE", 3), checkpoint("DE", 5))
    assert gossip.due(["BE", "DE", "FR"]) == {"BE": [checkpoint("DE", 5)], "DE": [checkpoint("BE", 3)],
                                              "FR": [checkpoint("BE", 3), checkpoint("DE", 5)]}
    assert gossip.spread(["BE", "DE", "FR"]) == 4
    assert gossip.spread(["BE", "DE", "FR"]) == 0  # each size once

    keep(inbox, checkpoint("BE", 7))
    keep(inbox, checkpoint("BE", 9))
    sent.told.clear()
    assert gossip.spread(["BE", "DE", "FR"]) == 2
    assert sorted(sent.told) == [("DE", 9, "BE"), ("FR", 9, "BE")]


def test_a_checkpoint_in_a_batch_that_was_not_written_is_never_told(inbox):
    gossip = Gossip("NL", inbox, Sent())
    record = marked_stream("BE", str(uuid.uuid4()), 1)[0]
    assert inbox.record(InboxBatch(accepted=[(record, record.to_bytes())], checkpoints=[(checkpoint("BE", 3), 1)]))
    assert gossip.due(["BE", "DE"]) == {"DE": [checkpoint("BE", 3)]}

    # Another writer held the record already: the whole batch, its checkpoint with it, is not written.
    assert not inbox.record(InboxBatch(accepted=[(record, record.to_bytes())], checkpoints=[(checkpoint("BE", 8), 2)]))
    assert gossip.due(["BE", "DE"]) == {"DE": [checkpoint("BE", 3)]}


def test_a_partner_trusted_again_is_read_anew(inbox):
    gossip = Gossip("NL", inbox, Sent())
    keep(inbox, checkpoint("BE", 3), checkpoint("DE", 5))
    assert gossip.due(["BE", "DE"]) == {"BE": [checkpoint("DE", 5)], "DE": [checkpoint("BE", 3)]}

    # DE is not a partner for a while (its trust withdrawn), and more of it is kept meanwhile.
    assert gossip.due(["BE"]) == {}
    keep(inbox, checkpoint("DE", 6))
    assert gossip.due(["BE"]) == {}
    keep(inbox, checkpoint("FR", 2))
    assert gossip.due(["BE", "DE", "FR"])["BE"] == [checkpoint("DE", 6), checkpoint("FR", 2)]


def test_what_another_process_kept_is_told_and_only_what_it_committed(db_url):
    # ``sync`` while ``node run`` runs: each ingests into the same inbox; either relay tells what either kept.
    with Inbox.open(db_url) as inbox, Inbox.open(db_url) as other:
        gossip = Gossip("NL", inbox, Sent())
        keep(inbox, checkpoint("BE", 3))
        assert gossip.due(["BE", "DE"]) == {"DE": [checkpoint("BE", 3)]}
        keep(other, checkpoint("BE", 4))
        assert gossip.due(["BE", "DE"]) == {"DE": [checkpoint("BE", 4)]}
        record = marked_stream("DE", str(uuid.uuid4()), 1)[0]
        assert other.record(InboxBatch(accepted=[(record, record.to_bytes())]))
        assert not other.record(InboxBatch(accepted=[(record, record.to_bytes())],
                                           checkpoints=[(checkpoint("BE", 11), 3)]))
        assert gossip.due(["BE", "DE"]) == {"DE": [checkpoint("BE", 4)]}


def test_gossip_messages_name_the_witness_and_carry_the_checkpoint(inbox):
    gossip = Gossip("NL", inbox, Sent())
    [(key, value)] = gossip.messages([checkpoint("BE", 3)])
    assert key == b"NL"
    assert decode_message(value) == GossipMessage(origin="NL", checkpoint=checkpoint("BE", 3).to_bytes())


def test_a_gossiped_checkpoint_verified_once_under_a_key_is_not_verified_again_under_it(monkeypatch):
    """``SignedCheckpoints``: the same bytes under the same node key are one Ed25519 verification; bytes that do
    not verify, and the same bytes under a key that changed (its end set by a rotation, or gone), are checked
    again each time and refused."""
    from dataclasses import replace

    from ledger.acceptance import NodeKey
    from ledger.keys import key_id, public_bytes
    from nodes.federation import gossip
    from nodes.federation.gossip import SignedCheckpoints

    verified = []

    def counted(checkpoint, node_keys):
        verified.append(checkpoint.size)
        return real(checkpoint, node_keys)

    real = gossip.checkpoint_refusal
    monkeypatch.setattr(gossip, "checkpoint_refusal", counted)
    node_key = NodeKey(key_id(KEY), public_bytes(KEY))
    keys = {node_key.key_id: node_key}
    good = checkpoint("BE", 7)
    forged = replace(checkpoint("BE", 8), root=bytes(32))  # signed by the node key over another root
    signed = SignedCheckpoints()

    assert signed.refusal(good, good.to_bytes(), keys) is None
    assert signed.refusal(good, good.to_bytes(), keys) is None
    assert verified == [7]
    for _ in range(2):
        assert signed.refusal(forged, forged.to_bytes(), keys) is not None
    assert verified == [7, 8, 8]
    ended = {node_key.key_id: NodeKey(node_key.key_id, node_key.public_key, last_size=5)}
    assert "handed over" in signed.refusal(good, good.to_bytes(), ended)
    assert signed.refusal(good, good.to_bytes(), {}) is not None
    assert verified == [7, 8, 8, 7, 7]


def test_with_one_partner_nothing_is_due_and_the_inbox_is_not_read(inbox, monkeypatch):
    # The relay asks before every pass: a node with one partner has no third state to tell it of.
    gossip = Gossip("NL", inbox, Sent())
    keep(inbox, checkpoint("BE", 3))
    reads = []
    newest_partner_checkpoints = inbox.newest_partner_checkpoints
    monkeypatch.setattr(inbox, "newest_partner_checkpoints",
                        lambda after: reads.append(after) or newest_partner_checkpoints(after))
    assert gossip.due(["BE"]) == {}
    assert gossip.spread(["BE"]) == 0
    assert reads == []
    # A second partner: the first is told of it, read from the inbox then.
    keep(inbox, checkpoint("DE", 5))
    assert gossip.due(["BE", "DE"]) == {"BE": [checkpoint("DE", 5)], "DE": [checkpoint("BE", 3)]}
    assert len(reads) == 1
