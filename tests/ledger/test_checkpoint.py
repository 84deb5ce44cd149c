"""Signed checkpoints: encoding, signing, verification, and proofs against a checkpoint's root."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import msgpack
import pytest
from hypothesis import given, strategies as st

from ledger.checkpoint import (
    CHECKPOINT_FORMAT,
    LEGACY_CHECKPOINT_FORMAT,
    Checkpoint,
    checkpoint_verifier,
    envelope_leaf,
    sign_checkpoint,
    verify_checkpoint,
)
from ledger.encoding import canonical_decode, canonical_encode
from ledger.envelope import GENESIS_PREV, seal
from ledger.errors import CheckpointError, InclusionProofError
from ledger.hashing import EMPTY_ROOT, leaf_hash
from ledger.keys import generate_key, key_id
from ledger.merkle import MerkleTree, merkle_root
from ledger.note import open_note, parse_checkpoint_body
from ledger.proofs import verify_consistency, verify_inclusion

NODE_KEY = generate_key()
OTHER_KEY = generate_key()
ROOT = hashlib.sha256(b"root").digest()
T = 1_700_000_000_000_000


def test_a_signed_checkpoint_verifies_with_the_signers_key():
    checkpoint = sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T)
    assert checkpoint.signer == key_id(NODE_KEY)
    assert len(checkpoint.sig) == 64
    assert verify_checkpoint(checkpoint, NODE_KEY.public_key()) is True


def test_bytes_round_trip_and_are_canonical():
    checkpoint = sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T)
    data = checkpoint.to_bytes()
    assert Checkpoint.from_bytes(data) == checkpoint
    decoded = canonical_decode(data)
    assert decoded["format"] == CHECKPOINT_FORMAT
    assert canonical_encode(decoded) == data


def test_the_empty_log_can_be_checkpointed():
    checkpoint = sign_checkpoint(NODE_KEY, "BE", 0, EMPTY_ROOT, T)
    assert verify_checkpoint(Checkpoint.from_bytes(checkpoint.to_bytes()), NODE_KEY.public_key())


@pytest.mark.parametrize("change", [
    {"size": 8}, {"root": hashlib.sha256(b"other").digest()}, {"origin": "FR"}, {"timestamp": T + 1},
])
def test_an_altered_field_breaks_the_signature(change):
    altered = replace(sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T), **change)
    with pytest.raises(CheckpointError, match="signature does not verify"):
        verify_checkpoint(altered, NODE_KEY.public_key())


def test_an_altered_signature_is_rejected():
    checkpoint = sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T)
    flipped = bytes([checkpoint.sig[0] ^ 1]) + checkpoint.sig[1:]
    with pytest.raises(CheckpointError, match="signature does not verify"):
        verify_checkpoint(replace(checkpoint, sig=flipped), NODE_KEY.public_key())


def test_a_checkpoint_signed_by_another_key_is_rejected_with_both_key_ids():
    forged = sign_checkpoint(OTHER_KEY, "BE", 7, ROOT, T)
    with pytest.raises(CheckpointError, match="signed by another key") as caught:
        verify_checkpoint(forged, NODE_KEY.public_key())
    assert caught.value.expected == key_id(NODE_KEY)
    assert caught.value.calculated == key_id(OTHER_KEY)


def test_a_forgery_claiming_the_node_key_as_signer_is_rejected():
    forged = sign_checkpoint(OTHER_KEY, "BE", 7, ROOT, T)
    with pytest.raises(CheckpointError, match="signature does not verify"):
        verify_checkpoint(replace(forged, signer=key_id(NODE_KEY)), NODE_KEY.public_key())


@pytest.mark.parametrize("fields, message", [
    ({"size": -1}, "'size' must be >= 0"),
    ({"root": b"short"}, "'root' must be 32 bytes"),
    ({"origin": ""}, "'origin' must not be empty"),
    ({"size": True}, "'size' must be int"),
])
def test_sign_refuses_malformed_fields(fields, message):
    arguments = {"origin": "BE", "size": 3, "root": ROOT, "timestamp": T} | fields
    with pytest.raises(CheckpointError, match=message):
        sign_checkpoint(NODE_KEY, **arguments)


def _encoded(**changes) -> bytes:
    value = canonical_decode(sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T).to_bytes())
    for name, new in changes.items():
        if new is None:
            del value[name]
        else:
            value[name] = new
    return canonical_encode(value)


@pytest.mark.parametrize("data, message", [
    (b"\xc1", "not valid msgpack"),
    (canonical_encode([1, 2]), "not a map"),
    (_encoded(root=None), "missing field 'root'"),
    (_encoded(extra=1), "unexpected field 'extra'"),
    (_encoded(format="other/1"), "field 'format'"),
    (_encoded(size="7"), "'size' must be int"),
    (_encoded(sig=b"x" * 10), "'sig' must be 64 bytes"),
])
def test_from_bytes_rejects_what_is_not_a_checkpoint(data, message):
    with pytest.raises(CheckpointError, match=message):
        Checkpoint.from_bytes(data)


def test_from_bytes_rejects_non_canonical_bytes():
    value = canonical_decode(sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T).to_bytes())
    unsorted = msgpack.packb(dict(reversed(value.items())), use_bin_type=True)
    with pytest.raises(CheckpointError, match="canonical"):
        Checkpoint.from_bytes(unsorted)


def test_the_leaf_of_a_record_is_the_rfc9162_leaf_hash_of_its_envelope_hash():
    digest = hashlib.sha256(b"envelope").digest()
    assert envelope_leaf(digest) == hashlib.sha256(b"\x00" + digest).digest() == leaf_hash(digest)


def _envelope_hash(key, stream: int, body: dict) -> bytes:
    return seal(key, node="BE", stream=f"s{stream}", version=1, type="Test.Recorded", occurred_on=1,
                recorded_at=2, authority=key_id(key), prev=GENESIS_PREV, body=body).hash


bodies = st.dictionaries(st.sampled_from(["a", "b", "serial"]), st.integers(-2**63, 2**64 - 1) | st.text(max_size=8),
                         max_size=3)


@given(st.lists(bodies, min_size=1, max_size=40), st.data())
def test_any_sealed_record_is_proved_included_under_the_checkpoint(records, data):
    leaves = [envelope_leaf(_envelope_hash(NODE_KEY, i, body)) for i, body in enumerate(records)]
    tree = MerkleTree(leaves)
    checkpoint = Checkpoint.from_bytes(sign_checkpoint(NODE_KEY, "BE", len(tree), tree.root(), T).to_bytes())
    assert verify_checkpoint(checkpoint, NODE_KEY.public_key())
    assert checkpoint.root == merkle_root(leaves)

    index = data.draw(st.integers(0, len(leaves) - 1), label="index")
    proof = tree.inclusion_proof(index)
    assert verify_inclusion(index, checkpoint.size, leaves[index], proof, checkpoint.root)
    other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: leaves[i] != leaves[index]) | st.none(),
                      label="other")
    if other is not None:
        with pytest.raises(InclusionProofError):
            verify_inclusion(index, checkpoint.size, leaves[other], proof, checkpoint.root)


@given(st.integers(1, 40), st.data())
def test_an_older_checkpoint_is_consistent_with_a_newer_one(size2, data):
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size2)]
    tree = MerkleTree(leaves)
    size1 = data.draw(st.integers(1, size2), label="size1")
    older = sign_checkpoint(NODE_KEY, "BE", size1, tree.root(size1), T)
    newer = sign_checkpoint(NODE_KEY, "BE", size2, tree.root(), T + 1)
    assert verify_consistency(older.size, newer.size, older.root, newer.root,
                              tree.consistency_proof(size1, size2))


# --- format /2: the signature is a C2SP note signature; format /1 still verifies ---------------------


def test_the_signature_is_a_note_signature_over_the_tlog_checkpoint_text():
    checkpoint = sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T)
    assert checkpoint.format == CHECKPOINT_FORMAT == "armsledger-checkpoint/2"
    assert checkpoint.signed_bytes() == checkpoint.note_body().encode()
    opened = open_note(checkpoint.to_note(NODE_KEY.public_key()), [checkpoint_verifier("BE", NODE_KEY.public_key())])
    assert parse_checkpoint_body(opened.text) == ("armsledger/BE", 7, ROOT, (f"armsledger/timestamp-us {T}",))
    with pytest.raises(CheckpointError, match="signed by another key"):
        checkpoint.to_note(OTHER_KEY.public_key())


def _legacy(origin: str = "BE", size: int = 7, key=NODE_KEY) -> Checkpoint:
    unsigned = Checkpoint(origin, size, ROOT, T, key_id(key), format=LEGACY_CHECKPOINT_FORMAT)
    return replace(unsigned, sig=key.sign(unsigned.signed_bytes()))


def test_checkpoints_of_format_1_still_parse_and_verify():
    legacy = _legacy()
    data = legacy.to_bytes()
    assert canonical_decode(data)["format"] == LEGACY_CHECKPOINT_FORMAT
    assert canonical_decode(legacy.signed_bytes())["format"] == LEGACY_CHECKPOINT_FORMAT
    assert Checkpoint.from_bytes(data) == legacy
    assert verify_checkpoint(Checkpoint.from_bytes(data), NODE_KEY.public_key()) is True
    with pytest.raises(CheckpointError, match="signature does not verify"):
        verify_checkpoint(replace(legacy, size=8), NODE_KEY.public_key())
    with pytest.raises(CheckpointError, match="no note signature"):
        legacy.to_note(NODE_KEY.public_key())


def test_a_checkpoint_relabelled_to_the_other_format_does_not_verify():
    new, old = sign_checkpoint(NODE_KEY, "BE", 7, ROOT, T), _legacy()
    for relabelled in (replace(new, format=LEGACY_CHECKPOINT_FORMAT), replace(old, format=CHECKPOINT_FORMAT)):
        with pytest.raises(CheckpointError, match="signature does not verify"):
            verify_checkpoint(Checkpoint.from_bytes(relabelled.to_bytes()), NODE_KEY.public_key())


def test_an_origin_that_cannot_name_a_note_key_is_refused():
    for origin in ("B E", "B+E"):
        with pytest.raises(CheckpointError, match="field 'origin'"):
            sign_checkpoint(NODE_KEY, origin, 1, ROOT, T)


@given(origin=st.from_regex(r"[A-Z]{2}(/read-audit)?", fullmatch=True), size=st.integers(0, 2**63 - 1),
       root=st.binary(min_size=32, max_size=32), timestamp=st.integers(0, 2**63 - 1))
def test_any_checkpoint_note_opens_and_reads_back_its_fields(origin, size, root, timestamp):
    checkpoint = sign_checkpoint(NODE_KEY, origin, size, root, timestamp)
    opened = open_note(checkpoint.to_note(NODE_KEY.public_key()), [checkpoint_verifier(origin, NODE_KEY.public_key())])
    assert parse_checkpoint_body(opened.text) == (f"armsledger/{origin}", size, root,
                                                  (f"armsledger/timestamp-us {timestamp}",))
