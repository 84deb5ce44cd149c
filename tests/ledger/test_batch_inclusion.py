"""Batch inclusion: ``verify_inclusions``, ``MerkleTree.inclusion_proofs`` and ``check_inclusions``.

The batch verifier must give exactly the verdict of ``verify_inclusion`` on each leaf in
turn, errors included. Checked with the third-party vectors (each probe, alone and among
good leaves), a table of runs with one leaf broken in each way, and hypothesis properties
against the per-leaf verifier.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, strategies as st

from ledger import (
    InclusionProofError,
    MerkleTree,
    inclusion_proof,
    leaf_hash,
    verify_inclusion,
    verify_inclusions,
)
from ledger.acceptance import Reason, check_inclusion, check_inclusions
from ledger.checkpoint import Checkpoint, envelope_leaf


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(b"leaf %d" % i) for i in range(n)]


def _verdict(verifier, *args) -> tuple[str, bytes | None, bytes | None]:
    """("ok", None, None), or the error's message with its expected and calculated roots."""
    try:
        assert verifier(*args) is True
    except InclusionProofError as e:
        return str(e), e.expected, e.calculated
    return "ok", None, None


def _first_per_leaf_verdict(indexes, size, hashes, proofs, root):
    """The reference: ``verify_inclusion`` on each leaf in turn, the first failure wins."""
    for index, leaf, proof in zip(indexes, hashes, proofs):
        verdict = _verdict(verify_inclusion, index, size, leaf, proof, root)
        if verdict[0] != "ok":
            return verdict
    return "ok", None, None


def test_known_good_inclusion_proofs_together(rfc6962_vectors):
    hashes = [bytes.fromhex(h) for h in rfc6962_vectors["leaf_hashes"]]
    for size in range(1, len(hashes) + 1):
        tree = MerkleTree(hashes[:size])
        proofs = tree.inclusion_proofs(range(size))
        assert proofs == [inclusion_proof(i, hashes[:size]) for i in range(size)]
        assert verify_inclusions(range(size), size, hashes[:size], proofs, tree.root()) is True


def test_each_probe_among_good_leaves_fails_as_it_fails_alone(inclusion_probe, rfc6962_vectors):
    index, size, leaf, root = (inclusion_probe[k] for k in ("leaf_index", "tree_size", "leaf_hash", "root"))
    leaf, root = bytes.fromhex(leaf), bytes.fromhex(root)
    proof = [bytes.fromhex(p) for p in inclusion_probe["proof"]]
    alone = _verdict(verify_inclusion, index, size, leaf, proof, root)
    assert _verdict(verify_inclusions, [index], size, [leaf], [proof], root) == alone
    hashes = [bytes.fromhex(h) for h in rfc6962_vectors["leaf_hashes"]]
    good = [i for i in range(min(size, len(hashes))) if i != index]
    if len(hashes) >= size > 0 and root.hex() == rfc6962_vectors["roots"].get(str(size)):
        indexes = [*good[:2], index, *good[2:]]
        leaves = [hashes[i] if i != index else leaf for i in indexes]
        proofs = [inclusion_proof(i, hashes[:size]) if i != index else proof for i in indexes]
        assert _verdict(verify_inclusions, indexes, size, leaves, proofs, root) == alone


def _broken(kind: str, run: list[int], hashes: list[bytes], proofs: list[list[bytes]], size: int):
    """The run with its middle leaf broken in way ``kind``: (indexes, leaf hashes, proofs)."""
    at = len(run) // 2
    indexes, leaves, paths = list(run), [hashes[i] for i in run], [list(p) for p in proofs]
    if kind == "wrong leaf":
        leaves[at] = leaf_hash(b"not in the tree")
    elif kind == "leaf of a neighbour":
        leaves[at] = hashes[run[at] + 1 if run[at] + 1 < size else run[at] - 1]
    elif kind == "proof hash flipped low":
        paths[at][0] = bytes([paths[at][0][0] ^ 1]) + paths[at][0][1:]
    elif kind == "proof hash flipped high":
        paths[at][-1] = bytes([paths[at][-1][0] ^ 1]) + paths[at][-1][1:]
    elif kind == "proof too short":
        paths[at] = paths[at][:-1]
    elif kind == "proof too long":
        paths[at] = paths[at] + [paths[at][0]]
    elif kind == "short proof hash":
        paths[at][0] = paths[at][0][:31]
    elif kind == "short leaf hash":
        leaves[at] = leaves[at][:31]
    elif kind == "index out of the tree":
        indexes[at] = size
    elif kind == "index of a neighbour":
        indexes[at] = run[at] + 1 if run[at] + 1 < size else run[at] - 1
    elif kind == "proofs swapped":
        paths[at], paths[at - 1] = paths[at - 1], paths[at]
    else:
        raise AssertionError(kind)
    return indexes, leaves, paths


BREAKS = ["wrong leaf", "leaf of a neighbour", "proof hash flipped low", "proof hash flipped high",
          "proof too short", "proof too long", "short proof hash", "short leaf hash", "index out of the tree",
          "index of a neighbour", "proofs swapped"]


@pytest.mark.parametrize("size, run", [(37, list(range(10, 20))), (64, list(range(0, 64))),
                                       (100, [3, 4, 9, 50, 51, 52, 99]), (1000, list(range(990, 1000)))],
                         ids=["run in a tree of 37", "whole tree of 64", "scattered in 100", "right edge of 1000"])
@pytest.mark.parametrize("kind", BREAKS)
def test_a_broken_leaf_in_a_run_fails_as_it_fails_alone(size, run, kind):
    hashes = _leaves(size)
    tree = MerkleTree(hashes)
    root = tree.root()
    proofs = tree.inclusion_proofs(run)
    assert verify_inclusions(run, size, [hashes[i] for i in run], proofs, root) is True
    indexes, leaves, paths = _broken(kind, run, hashes, proofs, size)
    expected = _first_per_leaf_verdict(indexes, size, leaves, paths, root)
    assert expected[0] != "ok", kind  # each break is a failure, per leaf
    assert _verdict(verify_inclusions, indexes, size, leaves, paths, root) == expected


def test_the_wrong_root_or_size_fails_as_per_leaf():
    hashes = _leaves(20)
    tree = MerkleTree(hashes)
    proofs = tree.inclusion_proofs(range(5, 15))
    leaves = hashes[5:15]
    for size, root in [(20, tree.root(19)), (12, tree.root()), (20, b"\x00" * 31)]:
        expected = _first_per_leaf_verdict(range(5, 15), size, leaves, proofs, root)
        assert expected[0] != "ok"
        assert _verdict(verify_inclusions, range(5, 15), size, leaves, proofs, root) == expected


def test_lengths_that_differ_are_refused():
    hashes = _leaves(4)
    tree = MerkleTree(hashes)
    with pytest.raises(InclusionProofError, match="requires one of each per leaf"):
        verify_inclusions([0, 1], 4, hashes[:2], tree.inclusion_proofs([0]), tree.root())


def test_no_leaves_prove_nothing_and_pass():
    assert verify_inclusions([], 4, [], [], MerkleTree(_leaves(4)).root()) is True


def test_inclusion_proofs_refuses_an_index_outside_the_tree():
    tree = MerkleTree(_leaves(8))
    with pytest.raises(ValueError, match="outside a tree of size 6"):
        tree.inclusion_proofs([1, 6], 6)


@st.composite
def runs(draw):
    size = draw(st.integers(1, 200))
    first = draw(st.integers(0, size - 1))
    count = draw(st.integers(1, size - first))
    indexes = draw(st.one_of(st.just(list(range(first, first + count))),
                             st.lists(st.integers(0, size - 1), min_size=1, max_size=20)))
    return size, indexes


@given(runs(), st.integers(0, 70))
def test_the_batch_proofs_are_the_naive_proof_of_each_leaf(run, more):
    """``MerkleTree.inclusion_proofs`` walks levels, not RFC 9162's recursion: held to ``inclusion_proof``
    over the leaves, for a tree of ``size`` within a larger one (its right edge is then no cached node)."""
    size, indexes = run
    leaves = _leaves(size + more)
    assert MerkleTree(leaves).inclusion_proofs(indexes, size) == [inclusion_proof(i, leaves[:size]) for i in indexes]


@given(st.integers(1, 150), st.integers(1, 150), st.data())
def test_a_resumed_tree_proves_as_the_whole_or_refuses(base, more, data):
    """A tree resumed at ``base`` gives the whole tree's proofs, or ``ValueError`` when a path needs a
    node left of ``base`` that its frontier does not hold (as ``inclusion_proof`` of that one leaf does)."""
    leaves = _leaves(base + more)
    whole = MerkleTree(leaves)
    resumed = MerkleTree.resume(base, whole.frontier(base))
    for leaf in leaves[base:]:
        resumed.append(leaf)
    size = data.draw(st.integers(base, base + more))
    indexes = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=10))
    held = []
    for index in indexes:
        try:
            held.append(resumed.inclusion_proof(index, size))
        except ValueError:
            with pytest.raises(ValueError, match="resumed at size"):
                resumed.inclusion_proofs(indexes, size)
            return
    assert resumed.inclusion_proofs(indexes, size) == held == whole.inclusion_proofs(indexes, size)


@given(runs(), st.data())
def test_the_batch_verdict_is_the_per_leaf_verdict(run, data):
    size, indexes = run
    hashes = _leaves(size)
    tree = MerkleTree(hashes)
    root = tree.root()
    proofs = tree.inclusion_proofs(indexes)
    assert proofs == [tree.inclusion_proof(i) for i in indexes]
    leaves = [hashes[i] for i in indexes]
    assert verify_inclusions(indexes, size, leaves, proofs, root) is True
    # Break one leaf's proof or hash at random: the verdict is still the per-leaf one.
    at = data.draw(st.integers(0, len(indexes) - 1))
    if proofs[at] and data.draw(st.booleans()):
        element = data.draw(st.integers(0, len(proofs[at]) - 1))
        proofs[at][element] = hashlib.sha256(proofs[at][element]).digest()
    else:
        leaves[at] = hashlib.sha256(leaves[at]).digest()
    expected = _first_per_leaf_verdict(indexes, size, leaves, proofs, root)
    assert _verdict(verify_inclusions, indexes, size, leaves, proofs, root) == expected


class _Record:
    def __init__(self, n: int):
        self.hash = hashlib.sha256(b"record %d" % n).digest()


def test_check_inclusions_gives_check_inclusion_of_each():
    records = [_Record(n) for n in range(12)]
    tree = MerkleTree(envelope_leaf(r.hash) for r in records)
    checkpoint = Checkpoint(origin="BE", size=12, root=tree.root(), timestamp=0, signer="k", sig=b"")
    proofs = tree.inclusion_proofs(range(12))
    assert check_inclusions(records, range(12), proofs, checkpoint) == [None] * 12
    proofs[3] = proofs[4]
    proofs[7] = proofs[7][:-1]
    verdicts = check_inclusions(records, range(12), proofs, checkpoint)
    assert verdicts == [check_inclusion(r, i, p, checkpoint) for r, i, p in zip(records, range(12), proofs)]
    assert [i for i, v in enumerate(verdicts) if v is not None] == [3, 7]
    assert {v.reason for v in verdicts if v is not None} == {Reason.INCLUSION}
