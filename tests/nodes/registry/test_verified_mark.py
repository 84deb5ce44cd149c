"""The verified mark file (``nodes.registry.verified_mark``): written and read back under the node key with
the Merkle frontier of its checkpoint; refused when altered, signed by another key, of another state, made
by an older version, or holding a frontier that does not rebuild its checkpoint's root."""

from __future__ import annotations

import pytest

from ledger.checkpoint import sign_checkpoint
from ledger.encoding import canonical_decode, canonical_encode
from ledger.errors import CheckpointError
from ledger.hashing import leaf_hash
from ledger.keys import generate_key, key_id, public_bytes, sign
from ledger.merkle import MerkleTree
from nodes.registry.verified_mark import MARK_FILE, VerifiedMarkFile

TREE = MerkleTree(leaf_hash(bytes([n])) for n in range(7))
FRONTIER = TREE.frontier(7)


def _written(tmp_path, key, origin="BE", size=7):
    checkpoint = sign_checkpoint(key, origin, size, TREE.root(size), 1_700_000_000_000_000)
    VerifiedMarkFile(tmp_path, [public_bytes(key)], origin).write(key, checkpoint, TREE.frontier(size), 41,
                                                                  1_700_000_000_000_001)
    return checkpoint


def _resigned(tmp_path, key, **changes):
    """The mark file with ``changes`` made to its fields and signed again by ``key``: what only the holder of the
    node key can make."""
    path = tmp_path / MARK_FILE
    value = dict(canonical_decode(path.read_bytes())) | changes
    del value["sig"]
    value["sig"] = sign(key, canonical_encode(value))
    path.write_bytes(canonical_encode(value))


def test_a_mark_reads_back_with_its_frontier_and_position_and_a_missing_one_is_none(tmp_path):
    key = generate_key()
    marks = VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE")
    assert marks.read() is None
    checkpoint = _written(tmp_path, key)
    mark = marks.read()
    assert mark is not None and mark.checkpoint == checkpoint and mark.size == 7
    assert mark.frontier == tuple(FRONTIER) and len(mark.frontier) == 3  # 7 = 4 + 2 + 1
    assert MerkleTree.resume(7, mark.frontier).root() == checkpoint.root
    assert (mark.position, mark.verified_at, mark.signer) == (41, 1_700_000_000_000_001, key_id(key))


def test_a_mark_signed_by_an_earlier_node_key_still_reads(tmp_path):
    old, new = generate_key(), generate_key()
    _written(tmp_path, old)
    assert VerifiedMarkFile(tmp_path, [public_bytes(old), public_bytes(new)], "BE").read() is not None


@pytest.mark.parametrize("flip", [10, -1, -40, -120])
def test_an_altered_mark_is_refused(tmp_path, flip):
    key = generate_key()
    _written(tmp_path, key)
    path = tmp_path / MARK_FILE
    data = bytearray(path.read_bytes())
    data[flip] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="verified mark"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()


def test_a_mark_of_another_key_or_state_is_refused(tmp_path):
    key, other = generate_key(), generate_key()
    _written(tmp_path, other)
    with pytest.raises(CheckpointError, match="no node key of this node"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()
    _written(tmp_path, key, origin="NL")
    with pytest.raises(CheckpointError, match="of 'NL', not of 'BE'"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()


@pytest.mark.parametrize("frontier", [
    (FRONTIER[0], FRONTIER[2], FRONTIER[1]),  # the right hashes in the wrong order
    (FRONTIER[0], FRONTIER[1]),  # one hash short for size 7
    (FRONTIER[0], FRONTIER[1], bytes(32)),  # one hash of another tree
    (FRONTIER[0], FRONTIER[1], FRONTIER[2][:31]),  # not a 32-byte hash
])
def test_a_signed_mark_whose_frontier_does_not_rebuild_its_root_is_refused(tmp_path, frontier):
    key = generate_key()
    _written(tmp_path, key)
    _resigned(tmp_path, key, frontier=list(frontier))
    with pytest.raises(CheckpointError, match="frontier that does not rebuild the root"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()


def test_writing_a_frontier_that_does_not_rebuild_the_root_is_refused(tmp_path):
    key = generate_key()
    checkpoint = sign_checkpoint(key, "BE", 7, TREE.root(7), 1_700_000_000_000_000)
    with pytest.raises(ValueError, match="does not rebuild"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").write(key, checkpoint, TREE.frontier(6), 41, 1)
    assert not (tmp_path / MARK_FILE).exists()


def test_a_mark_of_an_older_version_reads_as_such(tmp_path):
    key = generate_key()
    checkpoint = sign_checkpoint(key, "BE", 7, TREE.root(7), 1_700_000_000_000_000)
    value = {"purpose": "armsledger verified checkpoint v1", "checkpoint": checkpoint.to_bytes(),
             "rows_digest": bytes(32), "verified_at": 1, "signer": key_id(key)}
    value["sig"] = sign(key, canonical_encode(value))
    (tmp_path / MARK_FILE).write_bytes(canonical_encode(value))
    with pytest.raises(CheckpointError, match="made by an older version of armsledger"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()


def test_a_mark_of_another_purpose_is_refused(tmp_path):
    key = generate_key()
    _written(tmp_path, key)
    _resigned(tmp_path, key, purpose="armsledger sealed checkpoint v1")
    with pytest.raises(CheckpointError, match="field 'purpose'"):
        VerifiedMarkFile(tmp_path, [public_bytes(key)], "BE").read()
