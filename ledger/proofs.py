"""Verifiers of RFC 9162 Merkle proofs: inclusion (section 2.1.3.2) and consistency (section 2.1.4.2).

Pure functions over ``bytes`` and ``int``. Each returns ``True`` or raises a
``VerificationError`` subclass; none returns ``False``. A well-formed proof that
leads elsewhere raises with ``expected`` (the trusted root) and ``calculated``
(the root the proof leads to).

Besides the RFC's algorithms, the verifiers enforce what the RFC leaves
implicit, as transparency-dev/merkle does: hashes that enter a hash are 32
bytes, a proof has exactly the number of hashes its sizes call for, and a
consistency proof starts from a non-empty tree. The builders that pair with
these verifiers are in ``ledger.merkle``.

The two verifiers' loops look alike on purpose: each is its own RFC algorithm,
step by step, so that each can be read against the RFC text; the checks they
share (hash and proof lengths) are written once below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .errors import ConsistencyProofError, InclusionProofError, VerificationError
from .hashing import HASH_SIZE, node_hash


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> Literal[True]:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with root ``root``.

    ``proof`` is the audit path from ``merkle.inclusion_proof``, lowest sibling first.

    Requires ``0 <= index < size``; ``leaf_hash``, ``root`` and every proof
    hash 32 bytes long; and exactly as many proof hashes as a leaf at
    ``index`` of a tree of ``size`` leaves has siblings.

    Returns ``True``. Raises ``InclusionProofError`` when a requirement is not
    met (the message says which), or, carrying ``expected=root`` and
    ``calculated`` = the root the proof leads to, when the proof does not lead
    to ``root``.
    """
    if not 0 <= index < size:
        raise InclusionProofError(
            f"leaf index {index} is outside a tree of size {size}: requires 0 <= index < size"
        )
    _require_hash("leaf hash", leaf_hash, InclusionProofError)
    _require_hash("root", root, InclusionProofError)
    _require_proof(
        proof,
        _inclusion_proof_length(index, size),
        f"inclusion proof for leaf {index} of a tree of size {size}",
        InclusionProofError,
    )

    # RFC 9162 section 2.1.3.2, steps 2 to 5. fn walks up from the leaf, sn
    # from the last leaf; where they meet, the path has no right sibling.
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:  # step 4a; the length check above makes this unreachable
            raise InclusionProofError(f"inclusion proof is too long for a tree of size {size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 5; likewise unreachable after the length check
        raise InclusionProofError(f"inclusion proof is too short for a tree of size {size}")
    if r != root:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of a tree of size {size} leads to a different root",
            expected=bytes(root),
            calculated=r,
        )
    return True


def verify_inclusions(
    indexes: Sequence[int],
    size: int,
    leaf_hashes: Sequence[bytes],
    proofs: Sequence[Sequence[bytes]],
    root: bytes,
) -> Literal[True]:
    """Check, as ``verify_inclusion`` does for each, that every ``leaf_hashes[i]`` is leaf ``indexes[i]``
    of the tree of ``size`` leaves with root ``root``, by audit path ``proofs[i]``.

    The verdict is exactly that of ``verify_inclusion`` on each leaf in turn, but paths that meet
    are followed up once: where a leaf's walk reaches a node another leaf's walk reached with the
    same hash and the same remaining proof hashes, the rest of the walk is the same, so it ends
    there. A run of ``m`` contiguous leaves then costs about ``2 * m + log2(size)`` node hashes
    instead of ``m * log2(size)``; leaves in any order and with gaps are accepted (they share less).

    Requires ``len(indexes) == len(leaf_hashes) == len(proofs)`` and, for each leaf, what
    ``verify_inclusion`` requires. Returns ``True``. Raises ``InclusionProofError`` when the
    lengths differ, or else the error ``verify_inclusion`` raises for the first leaf (in the
    order given) whose proof fails.
    """
    if not len(indexes) == len(leaf_hashes) == len(proofs):
        raise InclusionProofError(
            f"{len(indexes)} leaf indexes, {len(leaf_hashes)} leaf hashes and {len(proofs)} proofs: "
            "requires one of each per leaf"
        )
    # (fn, sn) of a node reached -> (its hash, the proof hashes above it, whether they lead to root).
    reached: dict[tuple[int, int], tuple[bytes, tuple[bytes, ...], bool]] = {}
    for index, leaf_hash, proof in zip(indexes, leaf_hashes, proofs):
        if not (0 <= index < size and len(leaf_hash) == HASH_SIZE and len(root) == HASH_SIZE
                and len(proof) == _inclusion_proof_length(index, size)
                and all(map(HASH_SIZE.__eq__, map(len, proof)))):
            verify_inclusion(index, size, leaf_hash, proof, root)  # raises the precondition's error
        path = tuple(proof)
        # The walk of verify_inclusion (RFC 9162 section 2.1.3.2), remembering each node it reaches.
        fn, sn = index, size - 1
        r = bytes(leaf_hash)
        walked: list[tuple[tuple[int, int], bytes, int]] = []
        leads: bool | None = None
        for position, p in enumerate(path):
            if fn & 1 or fn == sn:
                r = node_hash(p, r)
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
            else:
                r = node_hash(r, p)
            fn >>= 1
            sn >>= 1
            known = reached.get((fn, sn))
            if known is not None and known[0] == r and known[1] == path[position + 1:]:
                leads = known[2]
                break
            walked.append(((fn, sn), r, position + 1))
        if leads is None:
            leads = r == root
        for node, value, rest in walked:
            reached[node] = (value, path[rest:], leads)
        if not leads:
            verify_inclusion(index, size, leaf_hash, proof, root)  # raises, with the calculated root
    return True


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> Literal[True]:
    """Check that the tree of ``size2`` leaves, root ``root2``, extends the one of ``size1``, root ``root1``.

    ``proof`` comes from ``merkle.consistency_proof``.

    Requires ``0 < size1 <= size2``. If ``size1 == size2``: ``proof`` must be
    empty and ``root1 == root2`` (compared as given, whatever their length).
    If ``size1 < size2``: ``root1``, ``root2`` and every proof hash are 32
    bytes long, and the proof has exactly the number of hashes the two sizes
    call for (never zero). A proof from ``size1 == 0`` is refused: every tree
    extends the empty tree, so it would prove nothing.

    Returns ``True``. Raises ``ConsistencyProofError`` when a requirement is
    not met (the message says which), or, carrying ``expected`` (the trusted
    root) and ``calculated`` (the root the proof leads to), when the proof
    does not lead to ``root1`` or to ``root2``.
    """
    if size2 < size1:
        raise ConsistencyProofError(
            f"size2 {size2} is smaller than size1 {size1}: a log only grows; requires size1 <= size2"
        )
    if size1 <= 0:
        raise ConsistencyProofError(
            f"no consistency proof starts from size {size1}: requires 0 < size1 "
            "(every tree extends the empty tree, so a proof from it would prove nothing)"
        )
    if size1 == size2:
        if proof:
            raise ConsistencyProofError(
                f"the consistency proof between two trees of size {size1} must be empty, "
                f"got {len(proof)} hashes"
            )
        if root1 != root2:
            raise ConsistencyProofError(
                f"two trees of the same size {size1} have different roots",
                expected=bytes(root2),
                calculated=bytes(root1),
            )
        return True

    # RFC 9162 section 2.1.4.2, step 1.
    if not proof:
        raise ConsistencyProofError(f"empty consistency proof from size {size1} to size {size2}")
    _require_hash("root1", root1, ConsistencyProofError)
    _require_hash("root2", root2, ConsistencyProofError)
    _require_proof(
        proof,
        _consistency_proof_length(size1, size2),
        f"consistency proof from size {size1} to size {size2}",
        ConsistencyProofError,
    )

    # Step 2: when the old tree is a complete subtree of the new one, the
    # proof leaves out its root, which the verifier already has.
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    # Steps 3 and 4: skip the levels where the old tree's last leaf is a right
    # child, up to the subtree whose root starts the path.
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Steps 5 and 6: fr rebuilds the old root, sr the new one.
    fr = sr = bytes(path[0])
    for c in path[1:]:
        if sn == 0:  # step 6a; the length check above makes this unreachable
            raise ConsistencyProofError(f"consistency proof is too long for size {size2}")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:  # likewise unreachable after the length check
        raise ConsistencyProofError(f"consistency proof is too short for size {size2}")
    if fr != root1:
        raise ConsistencyProofError(
            f"consistency proof from size {size1} to size {size2} leads to a different first root",
            expected=bytes(root1),
            calculated=fr,
        )
    if sr != root2:
        raise ConsistencyProofError(
            f"consistency proof from size {size1} to size {size2} leads to a different second root",
            expected=bytes(root2),
            calculated=sr,
        )
    return True


def _inclusion_proof_length(index: int, size: int) -> int:
    # Below the level where the paths to leaf `index` and to the last leaf
    # part, every level has a sibling ("inner"); above it, only the levels
    # where `index` is a right child do ("border"), as in transparency-dev/merkle.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_length(size1: int, size2: int) -> int:
    # The path of the old tree's last leaf in the new tree, less the levels
    # inside the complete subtree that ends the old tree (whose root the
    # verifier seeds with), plus that subtree's root unless it is root1 itself.
    shift = (size1 & -size1).bit_length() - 1
    old_tree_is_complete = size1 == 1 << shift
    return _inclusion_proof_length(size1 - 1, size2) - shift + (0 if old_tree_is_complete else 1)


def _require_hash(name: str, value: bytes, error: type[VerificationError]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def _require_proof(
    proof: Sequence[bytes], length: int, what: str, error: type[VerificationError]
) -> None:
    if len(proof) != length:
        raise error(f"{what} has {len(proof)} hashes, needs {length}")
    for position, element in enumerate(proof):
        _require_hash(f"proof[{position}]", element, error)
