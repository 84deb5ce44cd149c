"""An independent RFC 9162 verifier for the tests: hashlib and ``cryptography`` only, nothing of the project.

Written from the RFC text, not from ``ledger.proofs``: the inclusion check folds the audit path by the
recursive definition of PATH (section 2.1.3.1: at each split k, the sibling is the root of the other
side), the consistency check by the recursive SUBPROOF (section 2.1.4.1), each rebuilding the roots
it implies. Returns False instead of raising, so a test can assert either way.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_from_path(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes | None:
    """The root PATH(index, D_size) implies, consuming ``path`` from its end (the top sibling first)."""
    if size == 1:
        return leaf_hash if not path else None
    if not path:
        return None
    k = _split(size)
    sibling, rest = path[-1], path[:-1]
    if index < k:
        below = _root_from_path(index, k, leaf_hash, rest)
        return None if below is None else node(below, sibling)
    below = _root_from_path(index - k, size - k, leaf_hash, rest)
    return None if below is None else node(sibling, below)


def inclusion_ok(index: int, size: int, leaf_hash: bytes, path: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size or any(len(h) != 32 for h in (leaf_hash, root, *path)):
        return False
    return _root_from_path(index, size, leaf_hash, list(path)) == root


def _subproof_roots(m: int, n: int, whole: bool, proof: list[bytes], old: bytes) -> tuple[bytes, bytes] | None:
    """(root of the first m leaves, root of all n) that SUBPROOF(m, D_n, whole) implies, consuming
    ``proof`` from its end; ``old`` is root1, used where the proof leaves it out (m a whole subtree)."""
    if m == n:
        if whole:
            return (old, old) if not proof else None
        return (proof[0], proof[0]) if len(proof) == 1 else None
    if not proof:
        return None
    k = _split(n)
    top, rest = proof[-1], proof[:-1]
    if m <= k:
        found = _subproof_roots(m, k, whole, rest, old)
        return None if found is None else (found[0], node(found[1], top))
    found = _subproof_roots(m - k, n - k, False, rest, old)
    return None if found is None else (node(top, found[0]), node(top, found[1]))


def consistency_ok(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> bool:
    if not 0 < size1 <= size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if any(len(h) != 32 for h in (root1, root2, *proof)):
        return False
    found = _subproof_roots(size1, size2, True, list(proof), root1)
    return found is not None and found == (root1, root2)


def ed25519_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
