"""RFC 9162 Merkle tree: hashing, proof builders, MerkleTree and verifiers.

Checked three ways:

- third-party vectors from transparency-dev/merkle (../shared/conformance/rfc6962),
  including every probe that must fail, each for the reason it is meant to fail;
- a naive reference written straight from the definitions of RFC 6962
  section 2.1 (MTH, PATH, PROOF/SUBPROOF), hashing leaf *data* with hashlib only;
- hypothesis properties: builders equal the reference, built proofs verify,
  mutated proofs and claims are rejected.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import assume, given, strategies as st

from ledger import (
    EMPTY_ROOT,
    ConsistencyProofError,
    InclusionProofError,
    MerkleTree,
    VerificationError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.merkle import (
    consistency_proof_from_nodes,
    consistency_proof_nodes,
    inclusion_proof_from_nodes,
    inclusion_proof_nodes,
    inclusion_proofs_from_nodes,
    inclusion_proofs_nodes,
)

# --- Naive reference: RFC 6962 section 2.1, transcribed literally --------------
# Recursion and list slicing on purpose: obviously right, not fast.


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf data (RFC 6962 section 2.1)."""
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 6962 section 2.1.1)."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 6962 section 2.1.2)."""
    return ref_subproof(m, d, True)


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


# The same recursions, recording only where each proof hash sits. A verifier's
# computation is fixed by this shape, so it must accept a proof with altered
# sizes exactly when they give the same shape.


def ref_path_shape(m: int, n: int) -> tuple[str, ...]:
    if n == 1:
        return ()
    k = _k(n)
    if m < k:
        return ref_path_shape(m, k) + ("right sibling",)
    return ref_path_shape(m - k, n - k) + ("left sibling",)


def ref_subproof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    if m == n:
        return () if b else ("old subtree",)
    k = _k(n)
    if m <= k:
        return ref_subproof_shape(m, k, b) + ("right sibling",)
    return ref_subproof_shape(m - k, n - k, False) + ("left sibling",)


def leaf_data(n: int, seed: int = 0) -> list[bytes]:
    """n distinct leaves of varying length (distinct, so no proof fits two leaves)."""
    return [b"%d:%d:" % (seed, i) + bytes(range(i % 7)) for i in range(n)]


def test_reference_reproduces_the_examples_of_rfc_6962_section_2_1_3():
    # RFC 6962 section 2.1.3: the audit path for d0 in the 7-leaf tree is [b, h, l]
    # (leaf d1, node over d2..d3, node over d4..d6); checked here by leaf ranges.
    d = leaf_data(7)
    assert ref_path(0, d) == [ref_mth(d[1:2]), ref_mth(d[2:4]), ref_mth(d[4:7])]
    # ... and the consistency proof between sizes 3 and 7 is [c, d, g, l].
    assert ref_proof(3, d) == [ref_mth(d[2:3]), ref_mth(d[3:4]), ref_mth(d[0:2]), ref_mth(d[4:7])]


# --- Third-party vectors -------------------------------------------------------


def _hashes(hex_list: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hex_list]


def _fields(vector: dict, *names: str) -> tuple:
    """The ``names`` fields of a proof vector in that order: hex as bytes, lists of hex as lists of bytes."""
    decoders = {str: bytes.fromhex, list: _hashes}
    return tuple(decoders.get(type(vector[name]), lambda value: value)(vector[name]) for name in names)


def test_leaf_hash_known_answers(rfc6962_vectors):
    for case in rfc6962_vectors["hasher"]["leaf_hash_cases"]:
        assert leaf_hash(bytes.fromhex(case["data_hex"])).hex() == case["leaf_hash"]
    leaves = _hashes(rfc6962_vectors["leaves_hex"])
    assert [leaf_hash(d).hex() for d in leaves] == rfc6962_vectors["leaf_hashes"]


def test_node_hash_known_answers(rfc6962_vectors):
    for case in rfc6962_vectors["hasher"]["node_hash_cases"]:
        left, right = bytes.fromhex(case["left_hex"]), bytes.fromhex(case["right_hex"])
        assert node_hash(left, right).hex() == case["node_hash"]


def test_empty_tree_root_is_sha256_of_nothing(rfc6962_vectors):
    assert EMPTY_ROOT.hex() == rfc6962_vectors["hasher"]["empty_tree_root"]
    assert merkle_root([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


def test_roots_of_the_reference_tree_for_sizes_0_to_8(rfc6962_vectors):
    leaves = _hashes(rfc6962_vectors["leaves_hex"])
    hashes = _hashes(rfc6962_vectors["leaf_hashes"])
    tree = MerkleTree(hashes)
    assert sorted(rfc6962_vectors["roots"], key=int) == [str(n) for n in range(9)]
    for size, root in rfc6962_vectors["roots"].items():
        n = int(size)
        assert merkle_root(hashes[:n]).hex() == root
        assert tree.root(n).hex() == root
        assert MerkleTree(hashes[:n]).root().hex() == root
        assert ref_mth(leaves[:n]).hex() == root


def test_node_hashes_by_level_of_the_reference_tree(rfc6962_vectors):
    levels = [_hashes(level) for level in rfc6962_vectors["node_hashes_by_level"]]
    hashes = _hashes(rfc6962_vectors["leaf_hashes"])
    assert levels[0] == hashes
    for height, level in enumerate(levels):
        width = 1 << height
        for position, node in enumerate(level):
            assert merkle_root(hashes[position * width : (position + 1) * width]) == node
            if height:
                below = levels[height - 1]
                assert node_hash(below[2 * position], below[2 * position + 1]) == node


def test_known_good_inclusion_proof(inclusion_case, rfc6962_vectors):
    index, size, leaf, proof, root = _fields(inclusion_case, "leaf_index", "tree_size", "leaf_hash", "proof", "root")
    leaves, hashes = _fields(rfc6962_vectors, "leaves_hex", "leaf_hashes")
    assert leaf == hashes[index]
    assert root.hex() == rfc6962_vectors["roots"][str(size)]

    assert inclusion_proof(index, hashes[:size]) == proof
    assert MerkleTree(hashes).inclusion_proof(index, size) == proof
    assert ref_path(index, leaves[:size]) == proof
    assert verify_inclusion(index, size, leaf, proof, root) is True


def test_known_good_consistency_proof(consistency_case, rfc6962_vectors):
    size1, size2, root1, root2, proof = _fields(consistency_case, "size1", "size2", "root1", "root2", "proof")
    leaves, hashes = _fields(rfc6962_vectors, "leaves_hex", "leaf_hashes")
    assert root1.hex() == rfc6962_vectors["roots"][str(size1)]
    assert root2.hex() == rfc6962_vectors["roots"][str(size2)]

    assert consistency_proof(size1, hashes[:size2]) == proof
    assert MerkleTree(hashes).consistency_proof(size1, size2) == proof
    assert ref_proof(size1, leaves[:size2]) == proof
    assert verify_consistency(size1, size2, root1, root2, proof) is True


def _malformed(hashes: dict[str, bytes], proof: list[bytes], shape: tuple[str, ...]) -> str | None:
    """The message for the first of ``hashes`` or ``proof`` that has the wrong length, as a regex; else None."""
    for name, value in hashes.items():
        if len(value) != 32:
            return f"{name} must be 32 bytes"
    if len(proof) != len(shape):
        return rf"has {len(proof)} hashes, needs {len(shape)}"
    if any(len(p) != 32 for p in proof):
        return r"proof\[\d+\] must be 32 bytes"
    return None


def _inclusion_failure(index, size, leaf, proof, root) -> str:
    """The message a verifier following ``probe_semantics`` must fail with, as a regex."""
    if not 0 <= index < size:
        return "outside a tree of size"
    shape = ref_path_shape(index, size)
    return _malformed({"leaf hash": leaf, "root": root}, proof, shape) or "leads to a different root"


def _consistency_failure(size1, size2, root1, root2, proof) -> str:
    """The message a verifier following ``probe_semantics`` must fail with, as a regex."""
    if size2 < size1:
        return "smaller than size1"
    if size1 <= 0:
        return "starts from size"
    if size1 == size2:
        return "must be empty" if proof else "have different roots"
    if not proof:
        return "empty consistency proof"
    shape = ref_subproof_shape(size1, size2)
    return _malformed({"root1": root1, "root2": root2}, proof, shape) or "leads to a different (first|second) root"


def _accepted_only_if(valid: bool, error: type[VerificationError], verifier, *args, match: str | None = None):
    """``verifier(*args)`` returns True if ``valid``; else it raises ``error`` (matching ``match``), returned."""
    if valid:
        assert verifier(*args) is True
        return None
    with pytest.raises(error, match=match) as failure:
        verifier(*args)
    return failure.value


def test_inclusion_probe(inclusion_probe):
    claim = _fields(inclusion_probe, "leaf_index", "tree_size", "leaf_hash", "proof", "root")
    root = claim[-1]
    reason = _inclusion_failure(*claim)
    error = _accepted_only_if(inclusion_probe["expect_valid"], InclusionProofError, verify_inclusion, *claim,
                              match=reason)
    if error is not None and reason == "leads to a different root":
        assert error.expected == root
        assert len(error.calculated) == 32 and error.calculated != root
        assert root.hex() in str(error)


def test_consistency_probe(consistency_probe):
    claim = _fields(consistency_probe, "size1", "size2", "root1", "root2", "proof")
    _, _, root1, root2, _ = claim
    reason = _consistency_failure(*claim)
    error = _accepted_only_if(consistency_probe["expect_valid"], ConsistencyProofError, verify_consistency, *claim,
                              match=reason)
    if error is None:
        return
    if reason == "have different roots":
        assert (error.expected, error.calculated) == (root2, root1)
    elif reason.startswith("leads to"):
        trusted = root1 if "first" in str(error) else root2
        assert error.expected == trusted
        assert len(error.calculated) == 32 and error.calculated != trusted


# --- Naive reference: exhaustive on small trees ----------------------------------


def test_every_proof_of_every_tree_up_to_32_leaves_matches_the_reference():
    data = leaf_data(32, seed=7)
    hashes = [leaf_hash(d) for d in data]
    tree = MerkleTree(hashes)
    roots = [ref_mth(data[:n]) for n in range(33)]
    for n in range(33):
        assert merkle_root(hashes[:n]) == roots[n] == tree.root(n)
        for index in range(n):
            path = ref_path(index, data[:n])
            assert inclusion_proof(index, hashes[:n]) == path == tree.inclusion_proof(index, n)
            assert verify_inclusion(index, n, hashes[index], path, roots[n])
        for m in range(1, n + 1):
            proof = ref_proof(m, data[:n])
            assert consistency_proof(m, hashes[:n]) == proof == tree.consistency_proof(m, n)
            assert verify_consistency(m, n, roots[m], roots[n], proof)


# --- Hypothesis: builders against the reference, round trips, mutations ----------

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def trees(draw, max_size=300, min_size=1):
    """(leaf data, leaf hashes) of a random tree of ``min_size`` leaves or more."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    data = leaf_data(n, draw(seeds))
    return data, [leaf_hash(d) for d in data]


@st.composite
def included_leaves(draw):
    """(leaf data, leaf hashes, index, root, inclusion proof of leaf ``index``) of a random tree."""
    data, hashes = draw(trees())
    index = draw(st.integers(0, len(hashes) - 1), label="index")
    return data, hashes, index, ref_mth(data), inclusion_proof(index, hashes)


@st.composite
def grown_trees(draw):
    """(leaf data, leaf hashes, size1, root1, root2, consistency proof from size1) of a tree that grew."""
    data, hashes = draw(trees(min_size=2))
    size1 = draw(st.integers(1, len(hashes) - 1), label="size1")
    return data, hashes, size1, ref_mth(data[:size1]), ref_mth(data), consistency_proof(size1, hashes)


@given(trees(), st.data())
def test_builders_equal_the_reference_and_their_proofs_verify(tree, draw):
    data, hashes = tree
    n = len(hashes)
    index = draw.draw(st.integers(0, n - 1), label="index")
    size1 = draw.draw(st.integers(1, n), label="size1")
    root, root1 = ref_mth(data), ref_mth(data[:size1])

    assert merkle_root(hashes) == root
    path = inclusion_proof(index, hashes)
    assert path == ref_path(index, data)
    assert verify_inclusion(index, n, hashes[index], path, root) is True
    proof = consistency_proof(size1, hashes)
    assert proof == ref_proof(size1, data)
    assert verify_consistency(size1, n, root1, root, proof) is True


@given(trees(), st.data())
def test_merkle_tree_agrees_with_the_pure_functions_while_it_grows(tree, draw):
    _, hashes = tree
    n = len(hashes)
    grown = draw.draw(st.integers(0, n), label="leaves appended before the first look")
    merkle = MerkleTree(hashes[:grown])
    for step in (grown, n):
        for leaf in hashes[len(merkle) : step]:
            assert merkle.append(leaf) == len(merkle) - 1
        assert len(merkle) == step
        assert merkle.root() == merkle_root(hashes[:step])
        if step == 0:
            continue
        size = draw.draw(st.integers(1, step), label="size")
        index = draw.draw(st.integers(0, size - 1), label="index")
        size1 = draw.draw(st.integers(1, size), label="size1")
        assert merkle.root(size) == merkle_root(hashes[:size])
        assert merkle.inclusion_proof(index, size) == inclusion_proof(index, hashes[:size])
        assert merkle.consistency_proof(size1, size) == consistency_proof(size1, hashes[:size])
    assert merkle.inclusion_proof(n - 1) == inclusion_proof(n - 1, hashes)
    assert merkle.consistency_proof(1) == consistency_proof(1, hashes)


@given(trees(max_size=200), st.data())
def test_a_tree_resumed_from_a_frontier_grows_and_proves_as_the_whole_tree(tree, draw):
    _, hashes = tree
    n = len(hashes)
    base = draw.draw(st.integers(0, n), label="size resumed at")
    whole = MerkleTree(hashes[:base])
    frontier = whole.frontier()
    assert len(frontier) == bin(base).count("1")
    resumed = MerkleTree.resume(base, frontier)
    assert len(resumed) == base
    assert resumed.root() == merkle_root(hashes[:base])
    assert resumed.frontier() == frontier
    for leaf in hashes[base:]:
        assert resumed.append(leaf) == whole.append(leaf)
    assert len(resumed) == n
    size = draw.draw(st.integers(max(base, 1), n), label="size")
    assert resumed.root(size) == merkle_root(hashes[:size])
    assert resumed.frontier(size) == whole.frontier(size)
    if base < size:
        index = draw.draw(st.integers(base, size - 1), label="index")
        assert resumed.inclusion_proof(index, size) == inclusion_proof(index, hashes[:size])
        assert resumed.inclusion_proofs([index, size - 1], size) == whole.inclusion_proofs([index, size - 1], size)
    if base > 0:
        size1 = draw.draw(st.integers(base, size), label="size1")
        assert resumed.consistency_proof(size1, size) == consistency_proof(size1, hashes[:size])


@given(trees(max_size=300), st.data())
def test_extend_by_runs_holds_every_node_that_appending_one_by_one_holds(tree, draw):
    _, hashes = tree
    n = len(hashes)
    base = draw.draw(st.integers(0, n), label="size resumed at (0: a whole tree)")
    one_by_one = MerkleTree.resume(base, MerkleTree(hashes[:base]).frontier()) if base else MerkleTree()
    by_runs = MerkleTree.resume(base, MerkleTree(hashes[:base]).frontier()) if base else MerkleTree()
    cuts = draw.draw(st.lists(st.integers(base, n), max_size=8), label="where one run ends and the next starts")
    grown = base
    for end in [*sorted(cuts), n]:
        by_runs.extend(b"".join(hashes[grown:end]))  # an empty run too
        for leaf in hashes[grown:end]:
            one_by_one.append(leaf)
        grown = max(grown, end)
        assert len(by_runs) == grown
        assert (by_runs._levels, by_runs._offsets) == (one_by_one._levels, one_by_one._offsets)
    if n > base:
        assert by_runs.root() == merkle_root(hashes)
        assert by_runs.frontier() == MerkleTree(hashes).frontier()


def test_extend_refuses_a_partial_hash_and_appends_nothing():
    merkle = MerkleTree([HASH])
    with pytest.raises(ValueError, match="32 bytes each"):
        merkle.extend(HASH + HASH[:31])
    assert len(merkle) == 1 and merkle.root() == merkle_root([HASH])


def _resumed_and_grown(hashes: list[bytes], base: int) -> MerkleTree:
    """A tree resumed at ``base`` from the frontier of the first ``base`` of ``hashes``, grown by the rest."""
    resumed = MerkleTree.resume(base, MerkleTree(hashes[:base]).frontier())
    for leaf in hashes[base:]:
        resumed.append(leaf)
    return resumed


@given(trees(min_size=2, max_size=100), st.data())
def test_a_resumed_tree_refuses_what_needs_nodes_it_does_not_hold(tree, draw):
    _, hashes = tree
    n = len(hashes)
    base = draw.draw(st.integers(1, n), label="size resumed at")
    resumed = _resumed_and_grown(hashes, base)
    # With base >= 2, leaf 0's path needs leaf 1, which no frontier holds: it lies inside a subtree.
    refused = 0
    for index in range(base):
        try:
            proof = resumed.inclusion_proof(index)
        except ValueError as e:
            assert f"resumed at size {base}" in str(e)
            refused += 1
        else:
            assert proof == inclusion_proof(index, hashes)
    assert refused >= 1 or base == 1


@given(trees(max_size=100), st.data())
def test_a_resumed_tree_names_its_resume_size_and_gives_the_leaves_it_holds(tree, draw):
    _, hashes = tree
    n = len(hashes)
    base = draw.draw(st.integers(0, n), label="size resumed at")
    resumed = _resumed_and_grown(hashes, base)
    assert resumed.resumed_at == base and MerkleTree(hashes).resumed_at == 0
    start = draw.draw(st.integers(base, n), label="start")
    assert list(resumed.leaf_hashes(start)) == hashes[start:]
    assert list(MerkleTree(hashes).leaf_hashes(start)) == hashes[start:]
    # A whole tree grown by the leaves held has the resumed tree's roots (what a sealer's lazy load does).
    whole = MerkleTree(hashes[:base])
    for leaf in resumed.leaf_hashes(base):
        whole.append(leaf)
    assert whole.root() == resumed.root() == merkle_root(hashes)
    for outside in (base - 1, n + 1):
        if outside >= 0:
            with pytest.raises(ValueError, match=f"requires {base} <= start <= {n}"):
                resumed.leaf_hashes(outside)


@given(trees(), st.data())
def test_proofs_from_the_nodes_they_name_equal_the_whole_trees(tree, draw):
    _, hashes = tree
    n = len(hashes)
    whole = MerkleTree(hashes)
    size = draw.draw(st.integers(1, n), label="size")
    index = draw.draw(st.integers(0, size - 1), label="index")
    size1 = draw.draw(st.integers(1, size), label="size1")
    for needed, build, expected in (
        (inclusion_proof_nodes(index, size), lambda nodes: inclusion_proof_from_nodes(index, size, nodes),
         inclusion_proof(index, hashes[:size])),
        (consistency_proof_nodes(size1, size), lambda nodes: consistency_proof_from_nodes(size1, size, nodes),
         consistency_proof(size1, hashes[:size])),
    ):
        assert len(set(needed)) == len(needed)
        assert all((position + 1) << height <= size for height, position in needed)  # complete, within size
        nodes = {node: whole.held_node(*node) for node in needed}
        assert build(nodes) == expected
        if needed:
            changed = draw.draw(st.sampled_from(needed), label="node changed")
            assert build({**nodes, changed: bytes(32)}) != expected
            with pytest.raises(KeyError):
                build({node: value for node, value in nodes.items() if node != changed})


@given(trees(), st.data())
def test_proofs_of_many_leaves_from_the_nodes_they_name_equal_each_leafs_own(tree, draw):
    # The paths of many leaves are walked each only up to where it meets the previous one's (a run of
    # neighbours, as the relay proves a page): a run, a run with gaps, any order and repeats give each leaf's own.
    _, hashes = tree
    size = draw.draw(st.integers(1, len(hashes)), label="size")
    first = draw.draw(st.integers(0, size - 1), label="first")
    run = list(range(first, min(size, first + draw.draw(st.integers(1, 64), label="run length"))))
    indexes = draw.draw(st.one_of(
        st.just(run),
        st.lists(st.sampled_from(run), max_size=len(run)).map(sorted),  # with gaps and repeats
        st.lists(st.integers(0, size - 1), max_size=20),  # any order
    ), label="indexes")
    needed = inclusion_proofs_nodes(indexes, size)
    assert len(set(needed)) == len(needed)
    assert set(needed) == {node for index in indexes for node in inclusion_proof_nodes(index, size)}
    whole = MerkleTree(hashes)
    nodes = {node: whole.held_node(*node) for node in needed}
    proofs = inclusion_proofs_from_nodes(indexes, size, nodes)
    assert proofs == [inclusion_proof(index, hashes[:size]) for index in indexes]
    assert all(a is not b for a, b in zip(proofs, proofs[1:]))  # each proof a list of its own
    if needed:
        changed = draw.draw(st.sampled_from(needed), label="node changed")
        assert inclusion_proofs_from_nodes(indexes, size, {**nodes, changed: bytes(32)}) != proofs


@given(trees(max_size=100), st.data())
def test_a_resumed_tree_holds_its_frontier_and_every_node_it_completed(tree, draw):
    _, hashes = tree
    n = len(hashes)
    base = draw.draw(st.integers(0, n), label="size resumed at")
    whole, resumed = MerkleTree(hashes), _resumed_and_grown(hashes, base)
    frontier = {(height, (base >> height) - 1) for height in range(base.bit_length()) if base >> height & 1}
    for height in range(n.bit_length() + 1):
        for position in range((n >> height) + 2):
            held = resumed.held_node(height, position)
            if (position + 1) << height > n:
                assert held is None and whole.held_node(height, position) is None  # not complete
            elif (position + 1) << height > base or (height, position) in frontier:  # completed since, or kept
                assert held == whole.held_node(height, position) is not None
            else:
                assert held is None


def test_proof_nodes_refuse_what_the_proofs_refuse():
    with pytest.raises(ValueError, match="requires 0 <= index < size"):
        inclusion_proof_nodes(3, 3)
    with pytest.raises(ValueError, match="requires 0 <= index < size"):
        inclusion_proof_from_nodes(-1, 3, {})
    for call in (lambda: consistency_proof_nodes(0, 3), lambda: consistency_proof_from_nodes(4, 3, {})):
        with pytest.raises(ValueError, match="requires 0 < size1 <= size2"):
            call()


def test_resume_refuses_a_frontier_of_the_wrong_shape():
    nodes = [leaf_hash(bytes([i])) for i in range(3)]
    with pytest.raises(ValueError, match="size 6 has 2 hashes, got 3"):
        MerkleTree.resume(6, nodes)
    with pytest.raises(ValueError, match="32 bytes, got 31"):
        MerkleTree.resume(6, [nodes[0], nodes[1][:31]])
    with pytest.raises(ValueError, match="at least 0"):
        MerkleTree.resume(-1, [])


def _mutations(proof: list[bytes], draw) -> list[tuple[str, list[bytes]]]:
    """Proofs that differ from ``proof``: a flipped byte, a dropped hash, an inserted hash."""
    mutated = []
    if proof:
        i = draw.draw(st.integers(0, len(proof) - 1), label="element to change")
        j = draw.draw(st.integers(0, 31), label="byte to change")
        x = draw.draw(st.integers(1, 255), label="xor mask")
        flipped = bytearray(proof[i])
        flipped[j] ^= x
        mutated.append(("flipped byte", proof[:i] + [bytes(flipped)] + proof[i + 1 :]))
        mutated.append(("dropped hash", proof[:i] + proof[i + 1 :]))
        mutated.append(("truncated hash", proof[:i] + [proof[i][:31]] + proof[i + 1 :]))
    k = draw.draw(st.integers(0, len(proof)), label="insert position")
    extra = draw.draw(st.binary(min_size=32, max_size=32), label="inserted hash")
    mutated.append(("inserted hash", proof[:k] + [extra] + proof[k:]))
    return mutated


@given(included_leaves(), st.data())
def test_mutated_inclusion_proofs_are_rejected(included, draw):
    data, hashes, index, root, proof = included
    n = len(hashes)

    for what, bad in _mutations(proof, draw):
        with pytest.raises(InclusionProofError):
            verify_inclusion(index, n, hashes[index], bad, root)
            pytest.fail(f"accepted a proof with a {what}")

    other = draw.draw(st.integers(0, n - 1), label="other leaf")
    if other != index:
        with pytest.raises(InclusionProofError, match="different root"):
            verify_inclusion(index, n, hashes[other], proof, root)
    wrong_root = ref_mth(data[: draw.draw(st.integers(0, n - 1), label="size of wrong root")])
    with pytest.raises(InclusionProofError):
        verify_inclusion(index, n, hashes[index], proof, wrong_root)


@given(included_leaves(), st.data())
def test_inclusion_proof_accepts_other_claims_only_where_the_tree_has_the_same_shape(included, draw):
    # The root binds the leaves, but not the claimed (index, size): a proof also
    # verifies for an (index, size) whose audit path has the same shape, e.g.
    # leaf 0 of size 3 and of size 4. The signed checkpoint binds the size.
    _, hashes, index, root, proof = included
    n = len(hashes)
    claimed_size = draw.draw(st.integers(0, 2 * n + 2), label="claimed size")
    claimed_index = draw.draw(st.integers(-1, claimed_size), label="claimed index")
    assume((claimed_index, claimed_size) != (index, n))

    same_shape = 0 <= claimed_index < claimed_size and (
        ref_path_shape(claimed_index, claimed_size) == ref_path_shape(index, n)
    )
    _accepted_only_if(same_shape, InclusionProofError,
                      verify_inclusion, claimed_index, claimed_size, hashes[index], proof, root)


@given(grown_trees(), st.data())
def test_mutated_consistency_proofs_are_rejected(grown, draw):
    data, hashes, size1, root1, root2, proof = grown
    n = len(hashes)

    for what, bad in _mutations(proof, draw) + [("no hashes", [])]:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(size1, n, root1, root2, bad)
            pytest.fail(f"accepted a proof with {what}")
    with pytest.raises(ConsistencyProofError):
        verify_consistency(size1, n, root2, root1, proof)
    other = draw.draw(st.integers(1, n), label="size of wrong root1")
    if other != size1:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(size1, n, ref_mth(data[:other]), root2, proof)


@given(grown_trees(), st.data())
def test_consistency_proof_accepts_other_sizes_only_where_the_trees_have_the_same_shape(grown, draw):
    _, hashes, size1, root1, root2, proof = grown
    n = len(hashes)
    claimed2 = draw.draw(st.integers(0, 2 * n + 2), label="claimed size2")
    claimed1 = draw.draw(st.integers(-1, claimed2 + 1), label="claimed size1")
    assume((claimed1, claimed2) != (size1, n))

    same_shape = 0 < claimed1 < claimed2 and (
        ref_subproof_shape(claimed1, claimed2) == ref_subproof_shape(size1, n)
    )
    _accepted_only_if(same_shape, ConsistencyProofError, verify_consistency, claimed1, claimed2, root1, root2, proof)


# --- Preconditions ---------------------------------------------------------------

HASH = leaf_hash(b"x")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: verify_inclusion(-1, 4, HASH, [HASH, HASH], HASH), "outside a tree of size 4"),
        (lambda: verify_inclusion(0, 0, HASH, [], EMPTY_ROOT), "outside a tree of size 0"),
        (
            lambda: verify_inclusion(0, 2, HASH, [HASH[:31]], HASH),
            re.escape("proof[0] must be 32 bytes, got 31"),
        ),
        (lambda: verify_inclusion(0, 2, HASH, [], HASH), "has 0 hashes, needs 1"),
        (lambda: verify_inclusion(0, 1, HASH, [], HASH + b"\0"), "root must be 32 bytes, got 33"),
    ],
    ids=["negative index", "empty tree", "short proof hash", "short proof", "long root"],
)
def test_verify_inclusion_names_the_broken_precondition(call, message):
    with pytest.raises(InclusionProofError, match=message) as failure:
        call()
    assert failure.value.expected is None and failure.value.calculated is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: verify_consistency(-1, 4, HASH, HASH, [HASH]), "starts from size -1"),
        (lambda: verify_consistency(0, 4, EMPTY_ROOT, HASH, [HASH]), "starts from size 0"),
        (lambda: verify_consistency(5, 4, HASH, HASH, []), "size2 4 is smaller than size1 5"),
        (
            lambda: verify_consistency(1, 2, HASH, HASH, [HASH[:31]]),
            re.escape("proof[0] must be 32 bytes, got 31"),
        ),
        (lambda: verify_consistency(1, 2, HASH[:4], HASH, [HASH]), "root1 must be 32 bytes, got 4"),
        (lambda: verify_consistency(3, 3, HASH, HASH, [HASH]), "must be empty, got 1 hashes"),
        (lambda: verify_consistency(3, 5, HASH, HASH, [HASH]), "has 1 hashes, needs 4"),
    ],
    ids=[
        "negative size1",
        "from empty tree",
        "shrinking",
        "short proof hash",
        "short root1",
        "equal sizes",
        "short proof",
    ],
)
def test_verify_consistency_names_the_broken_precondition(call, message):
    with pytest.raises(ConsistencyProofError, match=message) as failure:
        call()
    assert failure.value.expected is None and failure.value.calculated is None


def test_verification_errors_share_the_ledger_root():
    assert issubclass(InclusionProofError, VerificationError)
    assert issubclass(ConsistencyProofError, VerificationError)


@pytest.mark.parametrize(
    "call",
    [
        lambda: inclusion_proof(0, []),
        lambda: inclusion_proof(3, [HASH] * 3),
        lambda: inclusion_proof(-1, [HASH] * 3),
        lambda: consistency_proof(0, [HASH] * 3),
        lambda: consistency_proof(4, [HASH] * 3),
        lambda: MerkleTree([HASH] * 3).root(4),
        lambda: MerkleTree([HASH] * 3).root(-1),
        lambda: MerkleTree([HASH] * 3).inclusion_proof(2, 2),
        lambda: MerkleTree([HASH] * 3).consistency_proof(2, 1),
        lambda: MerkleTree([HASH] * 3).consistency_proof(1, 4),
        lambda: MerkleTree().append(HASH[:31]),
    ],
    ids=[
        "index in empty tree",
        "index == size",
        "negative index",
        "from empty tree",
        "size1 > size",
        "root beyond size",
        "negative root size",
        "index beyond given size",
        "size1 > size2",
        "size2 beyond size",
        "short leaf hash",
    ],
)
def test_builders_reject_arguments_outside_their_preconditions(call):
    with pytest.raises(ValueError, match="requires|bytes"):
        call()
