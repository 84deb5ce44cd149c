"""Reading a trace answer compares its checkpoints with the partner's kept at the sizes it cites, and only those:
the verdict is the one a comparison with every kept checkpoint gives, on the real inbox of each backend."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest

from domain.event_types import TRACE_RESPONDED
from domain.marking import Marking
from ledger.acceptance import NODE_KEY_CHANGE_TYPE, NodeKey
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import GENESIS_PREV, Envelope, seal
from ledger.keys import generate_key, key_id
from nodes.bootstrap import Node, init_node, open_node
from nodes.federation.inbox_records import InboxBatch
from nodes.federation.trust import Partner, TrustStore, trust_each_other
from nodes.registry.identity import authorities_stream
from nodes.registry.key_changes import rotate_node
from nodes.settings import Settings
from nodes.tracing.fragment import FragmentCheck, build_fragment, verify_fragment
from nodes.tracing.reading import verified_fragment

PASSPHRASE = "kept checkpoints"


@dataclass
class Answered:
    be: Node
    fr: Node
    items: tuple[bytes, ...]   # BE's fragment about its weapon
    kept: list[Checkpoint]     # every checkpoint of BE that FR keeps


@pytest.fixture
def answered(tmp_path, db_url):
    """BE with a weapon of 30 records, each sealed (some 30 checkpoints), all kept by FR (``db_url``)."""
    be = init_node(Settings.load(environ={}, home=tmp_path / "be", passphrase=PASSPHRASE), "BE")
    fr = init_node(Settings.load(environ={}, home=tmp_path / "fr", db=db_url, passphrase=PASSPHRASE), "FR")
    trust_each_other([be, fr])
    weapon = manufactured(be, "KEPT-1")
    for day in range(29):
        be.registry.record("mark", by="licensing", weapon_id=weapon, mark=f"BE-{day}", reason="proof house",
                           occurred_on=int(time.time()) - 80 + day)
        be.sealer.seal()
    items = build_fragment(be, weapon).items
    held(fr, be)
    yield Answered(be, fr, items, fr.inbox.partner_checkpoints("BE"))
    be.close()
    fr.close()


def manufactured(node: Node, serial: str) -> str:
    return str(node.registry.manufacture(marking=Marking.read("FN Herstal", "BE", serial), type="pistol", make="FN",
                                         model="57", calibre="5.7", year=2020, holder="FN Herstal",
                                         occurred_on=int(time.time()) - 90))


def held(fr: Node, be: Node) -> None:
    """FR holds BE's register and keeps every checkpoint BE signed, as ingest stores them."""
    register = be.registry.envelopes(authorities_stream("BE"))
    kept = {c.size for c in fr.inbox.partner_checkpoints("BE")}
    new = [c for c in be.sealer.checkpoints() if c.size not in kept]
    assert fr.inbox.record(InboxBatch(accepted=[(e, e.to_bytes()) for e in register
                                                if e.version > len(fr.inbox.received(node="BE", stream=str(
                                                    authorities_stream("BE"))))],
                                      checkpoints=[(c, len(kept) + n) for n, c in enumerate(new, start=1)]))


def answer(be: Node, items: tuple[bytes, ...] | list[bytes]) -> Envelope:
    """A response of BE carrying ``items`` (``verified_fragment`` reads its type and fragment)."""
    authority = be.identity.authority_key_ids["police"]
    return seal(be.identity.private_keys[authority], node="BE", stream=str(authorities_stream("XX")), version=1,
                type=TRACE_RESPONDED, occurred_on=int(time.time()), recorded_at=int(time.time()) * 1_000_000,
                authority=authority, prev=GENESIS_PREV, body={"fragment": tuple(items)})


def with_checkpoint(items: tuple[bytes, ...], checkpoint: Checkpoint) -> list[bytes]:
    """``items`` each citing ``checkpoint`` instead of its own."""
    return [canonical_encode({**canonical_decode(item), "checkpoint": checkpoint.to_bytes()}) for item in items]


def read(fr: Node, be: Node, items) -> FragmentCheck:
    check = verified_fragment(fr, "BE", [answer(be, items)])
    assert check is not None
    return check


def against_every_kept(fr: Node, items, partner: Partner) -> FragmentCheck:
    """What the reading gave when it compared with every checkpoint kept from BE."""
    return verify_fragment(items, origin="BE", node_key=partner.public_key, earlier_keys=partner.previous_keys,
                           kept=fr.inbox.partner_checkpoints("BE"),
                           certificates=fr.inbox.received(node="BE", stream=str(authorities_stream("BE"))))


def be_partner(fr: Node) -> Partner:
    partner = TrustStore(fr.settings.home).get("BE")
    assert partner is not None
    return partner


def test_an_honest_answer_verifies_as_against_every_kept_checkpoint(answered):
    assert len(answered.kept) > 20
    check = read(answered.fr, answered.be, answered.items)
    assert check.ok and len(check.records) == len(answered.items)
    assert check == against_every_kept(answered.fr, answered.items, be_partner(answered.fr))


def test_a_checkpoint_that_disagrees_with_one_kept_is_refused_as_two_histories(answered):
    be, fr = answered.be, answered.fr
    older = answered.kept[5]  # not the newest: the one a fork would rewrite
    other = sign_checkpoint(be.identity.private_keys[be.identity.node_key_id], "BE", older.size, os.urandom(32),
                            older.timestamp)
    items = with_checkpoint(answered.items, other)
    check = read(fr, be, items)
    assert check.records == () and len(check.problems) == len(items)
    assert all(p.endswith(f"its checkpoint of size {older.size} has another root than the one BE sent us before: "
                          "two histories of one log") for p in check.problems)
    assert check == against_every_kept(fr, items, be_partner(fr))


def test_items_citing_many_kept_sizes_are_each_compared_with_theirs(answered):
    """An answer whose items cite many checkpoints (each at a size kept, each another root) is read against
    every kept checkpoint (no query per size): each item is refused as a second history at its size."""
    be, fr = answered.be, answered.fr
    key = be.identity.private_keys[be.identity.node_key_id]
    cited = answered.kept[:len(answered.items)]
    assert len({c.size for c in cited}) > 8
    items = [with_checkpoint((item,), sign_checkpoint(key, "BE", c.size, os.urandom(32), c.timestamp))[0]
             for item, c in zip(answered.items, cited, strict=False)]
    check = read(fr, be, items)
    assert check.records == () and len(check.problems) == len(items)
    assert all(f"its checkpoint of size {c.size} has another root" in p for p, c in zip(check.problems, cited,
                                                                                     strict=False))
    assert check == against_every_kept(fr, items, be_partner(fr))


@pytest.mark.parametrize("signer", ["BE", "another key"])
def test_a_checkpoint_we_do_not_keep_is_judged_on_its_own_as_before(answered, signer):
    """Not kept here: signed by another key, refused as such; signed by BE, the items' proofs fail against it."""
    be, fr = answered.be, answered.fr
    size = answered.kept[-1].size + 7
    assert size not in {c.size for c in answered.kept}
    key = be.identity.private_keys[be.identity.node_key_id] if signer == "BE" else generate_key()
    items = with_checkpoint(answered.items, sign_checkpoint(key, "BE", size, os.urandom(32), 1))
    check = read(fr, be, items)
    assert check.records == () and len(check.problems) == len(items)
    if signer == "BE":
        assert all("BE's record" in p and "two histories" not in p for p in check.problems)
    else:
        assert all("its checkpoint is not signed by BE's node key" in p for p in check.problems)
    assert check == against_every_kept(fr, items, be_partner(fr))


def test_an_answer_of_a_partner_that_rotated_its_key_verifies_with_its_keys_by_range(answered):
    """BE rotates its node key: its register and checkpoints before are the old key's, its answer's checkpoint
    the new key's. FR, trusting the new key and keeping the old one for its range, verifies the answer."""
    be, fr = answered.be, answered.fr
    settings = be.settings
    rotate_node(be)
    be.close()
    answered.be = be = open_node(settings, unlock=True)
    weapon = manufactured(be, "KEPT-2")
    items = build_fragment(be, weapon).items
    held(fr, be)
    old = be.identity.earlier_node_keys[0]
    announcement = next(e for e in be.registry.envelopes(authorities_stream("BE")) if e.type == NODE_KEY_CHANGE_TYPE)
    last_size = max(c.size for c in be.sealer.checkpoints() if c.signer == key_id(old))
    TrustStore(fr.settings.home).write(Partner("BE", be.identity.node_key_id, be.identity.node_public_key,
                                               (NodeKey(key_id(old), old, announcement.recorded_at, last_size),)))
    check = read(fr, be, items)
    assert check.ok, check.problems
    assert NODE_KEY_CHANGE_TYPE in {e.type for e in check.records}
    assert check == against_every_kept(fr, items, be_partner(fr))
    # Without the old key, what it signed is refused, as it was when every kept checkpoint was read.
    TrustStore(fr.settings.home).write(Partner("BE", be.identity.node_key_id, be.identity.node_public_key))
    alone = read(fr, be, items)
    assert not alone.ok
    assert alone == against_every_kept(fr, items, be_partner(fr))
